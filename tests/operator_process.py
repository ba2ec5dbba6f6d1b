"""The operator as a real process (`python -m eventsub`) against the local stack, logs captured."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from localstack import StackInfo
from localstack.processes import terminate
from support import eventually

REPO = Path(__file__).resolve().parents[1]
LEADER_LINE = "became the leader"

# Short intervals so tests see resyncs, probes and deadlines in seconds, not minutes.
TEST_SETTINGS = {
    "EVENTSUB_RESYNC_SECONDS": "3",
    "EVENTSUB_PROBE_SECONDS": "2",
    "EVENTSUB_KAFKA_TIMEOUT_SECONDS": "3",
    "EVENTSUB_TOPIC_DELETION_TIMEOUT_SECONDS": "15",
}


class OperatorProcess:
    """lease: the leader-election Lease to campaign on (in namespace default). None: a fresh one
    per start, so a restarted process leads at once instead of waiting out its predecessor's."""

    def __init__(self, info: StackInfo, log_path: Path, extra_env: dict[str, str] | None = None,
                 lease: str | None = None, expect_leader: bool = True):
        self.log_path = log_path
        self.metrics_port = _free_port()
        self.lease = lease
        self._env = {**os.environ, "KUBECONFIG": info.kubeconfig, **TEST_SETTINGS,
                     "EVENTSUB_METRICS_HOST": "127.0.0.1", "EVENTSUB_METRICS_PORT": str(self.metrics_port),
                     "EVENTSUB_LEASE_NAMESPACE": "default", **(extra_env or {})}
        self._log = open(log_path, "ab")  # noqa: SIM115 — kept open for the process's lifetime
        self.start(expect_leader)

    def start(self, expect_leader: bool = True) -> None:
        log = self.log()
        ready_lines, leader_lines = log.count(" ready\n"), log.count(LEADER_LINE)
        lease = self.lease or f"eventsub-test-{uuid.uuid4().hex[:8]}"
        self.process = subprocess.Popen([sys.executable, "-m", "eventsub"], cwd=REPO,
                                        env={**self._env, "EVENTSUB_LEASE_NAME": lease},
                                        stdout=self._log, stderr=subprocess.STDOUT)
        try:
            eventually(lambda: self.log().count(" ready\n") > ready_lines, timeout=60,
                       what="operator ready")
            if expect_leader:
                eventually(lambda: self.log().count(LEADER_LINE) > leader_lines, timeout=60,
                           what="operator leading")
        except BaseException:
            terminate(self.process)  # a failed start leaves no operator behind
            raise

    def leading(self) -> bool:
        """What the process's own /readyz says about its leadership."""
        return bool(self.probe("/readyz")[1].get("leader"))

    def probe(self, path: str) -> tuple[int, dict[str, Any]]:
        """GET one of the JSON endpoints: (HTTP status, body)."""
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.metrics_port}{path}", timeout=10) as r:
                return r.status, json.loads(r.read())
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read())

    def kill(self) -> None:
        """SIGKILL: the operator gets no chance to finish what it was doing."""
        self.process.kill()
        self.process.wait()

    def metrics(self) -> str:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.metrics_port}/metrics", timeout=10) as r:
            text: str = r.read().decode()
            return text

    def metric(self, name: str, labels: dict[str, str]) -> float | None:
        """One sample of the process's /metrics, or None when it is not there."""
        return self.metric_values(labels).get(name)

    def metric_values(self, labels: dict[str, str]) -> dict[str, float]:
        """Every sample with exactly these labels, by name, from one scrape (so they agree)."""
        return {sample.name: float(sample.value)
                for family in text_string_to_metric_families(self.metrics())
                for sample in family.samples if sample.labels == labels}

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self) -> int:
        code = terminate(self.process)
        self._log.close()
        return code


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port
