"""`python -m eventsub` starts against the kubeconfig, says it is ready, and stops cleanly on SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from conftest import Kube
from eventsub import __version__
from localstack import StackInfo
from operator_process import OperatorProcess
from resources import create, resource, wait_condition
from support import eventually

REPO = Path(__file__).resolve().parents[2]


def test_operator_starts_ready_and_stops_on_sigterm(stack_info: StackInfo) -> None:
    env = {**os.environ, "KUBECONFIG": stack_info.kubeconfig}
    proc = subprocess.Popen([sys.executable, "-m", "eventsub"], cwd=REPO, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(iter(proc.stdout.readline, "")),
                              daemon=True)
    reader.start()
    try:
        eventually(lambda: any("operator" in line and "ready" in line for line in lines),
                   timeout=60, what="ready log line")
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    reader.join(timeout=5)
    output = "".join(lines)
    assert "eventsub operator stopped" in output
    assert "Traceback" not in output


def test_endpoints_report_liveness_readiness_leadership_and_reconcile_metrics(
        operator: OperatorProcess, kube: Kube, namespace: str, stack_info: StackInfo) -> None:
    for path in ("/healthz", "/readyz"):
        status, body = operator.probe(path)
        assert (status, body["status"], body["leader"], body["version"]) == (200, "ok", True, __version__)
    create(kube, namespace, resource("KafkaConnection", "local",
                                     {"bootstrapServers": [stack_info.kafka_bootstrap]}))
    wait_condition(kube, namespace, "KafkaConnection", "local", reason="Connected")

    def read() -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
        return {(s.name, tuple(sorted(s.labels.items()))): s.value
                for family in text_string_to_metric_families(operator.metrics())
                for s in family.samples}
    success = ("eventsub_reconcile_total", (("kind", "KafkaConnection"), ("outcome", "success")))
    # Counted when the reconcile call returns, which is just after its status write is visible.
    eventually(lambda: read().get(success, 0) >= 1, timeout=10, what="reconcile counted")
    samples = read()
    assert samples[("eventsub_reconcile_duration_seconds_count", (("kind", "KafkaConnection"),))] >= 1
    assert samples[("eventsub_leader", ())] == 1
    assert samples[("eventsub_build_info", (("version", __version__),))] == 1
    with pytest.raises(urllib.error.HTTPError) as missing:
        urllib.request.urlopen(f"http://127.0.0.1:{operator.metrics_port}/nothing", timeout=10)
    assert missing.value.code == 404


def test_a_bad_setting_stops_the_operator_with_one_line_naming_it(stack_info: StackInfo) -> None:
    env = {**os.environ, "KUBECONFIG": stack_info.kubeconfig, "EVENTSUB_LEASE_DURATION_SECONDS": "2"}
    done = subprocess.run([sys.executable, "-m", "eventsub"], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "eventsub: EVENTSUB_LEASE_DURATION_SECONDS must be a positive whole number of seconds "
        "(at least 4), not '2'"]
