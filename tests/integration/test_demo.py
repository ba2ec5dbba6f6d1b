"""`make demo` runs start to finish on the local stack and cleans up after itself."""

from __future__ import annotations

import os
import re
import subprocess
import sys

from conftest import Kube
from localstack import StackInfo
from operator_process import REPO

PROGRESS = re.compile(r"lag\s+(?P<lag>\d+).*desired (?P<desired>\d+)")


def test_the_demo_scales_out_and_back_replays_and_cleans_up(crds: StackInfo, kube: Kube) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO / "stack"), "EVENTSUB_DEMO_EXIT": "1"}
    env.pop("EVENTSUB_DEMO_KAFKA", None)
    done = subprocess.run([sys.executable, str(REPO / "stack" / "demo.py")], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=420, stdin=subprocess.DEVNULL)
    out = done.stdout
    assert done.returncode == 0, out[-4000:] + done.stderr[-2000:]
    assert "reused the running local stack" in out  # it never stops a stack it did not start
    for step in ("TopicCreated", "ScaledUp: 0 -> 6 replicas", "scaled to zero", "OffsetsMoved",
                 "CaughtUp", "deleted Kafka topics", "deleted namespace eventsub-demo",
                 "operator stopped"):
        assert step in out, f"{step!r} missing from the demo's output:\n{out[-4000:]}"
    # A trustworthy signal while draining: no stall alarm, no recommendation collapsing under a
    # backlog (e.g. while the group rebalances after scaling out).
    assert "PartitionStalled" not in out, out[-4000:]
    drops = [line for line in out.splitlines() if (m := PROGRESS.search(line))
             and int(m["lag"]) > 1000 and int(m["desired"]) <= 1]
    assert not drops, "\n".join(drops)
    namespace = kube.core.read_namespace("eventsub-demo") if _exists(kube) else None
    assert namespace is None or namespace.status.phase == "Terminating"


def _exists(kube: Kube) -> bool:
    return any(n.metadata.name == "eventsub-demo" for n in kube.core.list_namespace().items)
