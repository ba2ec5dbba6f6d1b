"""make bench-failover: how long two operator replicas take to hand over when the leader dies.

Each trial starts two operators on one Lease, SIGKILLs the leader and measures, from the kill,
(a) until the standby leads (its /readyz says so) and (b) until it has acted: an EventTopic
created right after the kill is Ready. The target is a take-over within 20 s.

The same run measures eventsub's default lease (12 s) and the settings controller-runtime ships
and operators built on it (KEDA's, operator-sdk ones) keep by default: a 15 s lease, 10 s renew
deadline, 2 s retry. The comparison is of the settings, run by eventsub's elector (which follows
client-go's rules), not of those operators' code: their hand-over is bounded by the same lease.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import uuid
from pathlib import Path

from common import custom_resource, kube_clients, local_stack, namespace_with_connection
from kubernetes import client

from localstack import StackInfo
from operator_process import OperatorProcess
from support import eventually

GROUP, VERSION = "eventsub.io", "v1alpha1"


def _ready(custom: client.CustomObjectsApi, ns: str, name: str) -> bool:
    body = custom.get_namespaced_custom_object(GROUP, VERSION, ns, "eventtopics", name)
    return any(c["type"] == "Ready" and c["status"] == "True"
               for c in (body.get("status") or {}).get("conditions", []))


def trial(info: StackInfo, custom: client.CustomObjectsApi, ns: str, lease_seconds: int, n: int,
          logs: Path) -> tuple[float, float]:
    lease = f"bench-failover-{uuid.uuid4().hex[:8]}"
    env = {"EVENTSUB_NAMESPACES": ns, "EVENTSUB_LEASE_DURATION_SECONDS": str(lease_seconds)}
    first = OperatorProcess(info, logs / f"{lease}-first.log", env, lease=lease)
    second = OperatorProcess(info, logs / f"{lease}-second.log", env, lease=lease, expect_leader=False)
    try:
        time.sleep(lease_seconds / 7.5 + 1)  # the standby has seen the lease at least once
        first.kill()
        killed = time.monotonic()
        eventually(second.leading, timeout=60, interval=0.05, what="the standby leads")
        leads = time.monotonic() - killed
        name = f"after-{lease_seconds}-{n}"
        topic = custom_resource("EventTopic", name, {"connectionRef": {"name": "local"},
                                                     "topicName": f"{ns}.{name}", "partitions": 1})
        custom.create_namespaced_custom_object(GROUP, VERSION, ns, "eventtopics", topic)
        eventually(lambda: _ready(custom, ns, name), timeout=60, interval=0.05, what="topic Ready")
        acts = time.monotonic() - killed
    finally:
        first.stop()
        second.stop()
    return leads, acts


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=3)
    args = parser.parse_args()
    with local_stack() as info:
        core, _, custom = kube_clients(info)
        ns = f"bench-failover-{uuid.uuid4().hex[:6]}"
        namespace_with_connection(info, ns)
        logs = Path(tempfile.mkdtemp())
        results: dict[int, list[tuple[float, float]]] = {}
        try:
            for lease_seconds in (12, 15):
                results[lease_seconds] = [trial(info, custom, ns, lease_seconds, n, logs)
                                          for n in range(args.trials)]
        finally:
            core.delete_namespace(ns)
    print(f"\nhand-over after SIGKILL of the leader, {args.trials} trials each (seconds from the kill)")
    print(f"{'settings':<44} {'leads median':>12} {'leads max':>10} {'acts median':>12} {'acts max':>9}")
    medians = {}
    for lease_seconds, label in ((12, "eventsub default (12 s lease)"),
                                 (15, "controller-runtime default (15/10/2 s)")):
        leads = [r[0] for r in results[lease_seconds]]
        acts = [r[1] for r in results[lease_seconds]]
        medians[lease_seconds] = statistics.median(acts)
        print(f"{label:<44} {statistics.median(leads):>12.1f} {max(leads):>10.1f} "
              f"{statistics.median(acts):>12.1f} {max(acts):>9.1f}")
    print(f"\nratio (controller-runtime settings / eventsub, median time to act): "
          f"{medians[15] / medians[12]:.2f}x; target: acting within 20 s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
