"""A second, independent stack comes up beside the first and `down` leaves none of its processes.

Also: a taken port, a missing toolchain and missing binaries stop with one clear line.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

from confluent_kafka.admin import AdminClient

from localstack import LocalStack, StackInfo, processes
from localstack.kube import ApiClient

REPO = Path(__file__).resolve().parents[2]


def _localstack(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "localstack", *args], cwd=REPO,
                          env={**os.environ, "PYTHONPATH": str(REPO / "stack"), **env},
                          capture_output=True, text=True, timeout=300)


def test_second_stack_is_independent_and_down_stops_everything(
        stack_info: StackInfo, tmp_path: Path) -> None:
    run_dir = tmp_path / "second"
    started = _localstack(["up"], {"EVENTSUB_RUN_DIR": str(run_dir)})
    assert started.returncode == 0, started.stderr
    assert "export KUBECONFIG=" in started.stdout and "kubectl get nodes" in started.stdout
    second = StackInfo.load(run_dir)
    assert second is not None
    try:
        assert set(second.ports.values()).isdisjoint(stack_info.ports.values())
        kubectl = subprocess.run([str(Path(second.bin_dir) / "kubectl"), "get", "nodes"],
                                 env={**os.environ, "KUBECONFIG": second.kubeconfig},
                                 capture_output=True, text=True, timeout=60)
        assert kubectl.returncode == 0 and " Ready " in kubectl.stdout, kubectl.stdout
        brokers = AdminClient({"bootstrap.servers": second.kafka_bootstrap}).list_topics(timeout=10)
        assert [b.port for b in brokers.brokers.values()] == [second.ports["kafka"]]
        # A second `up` on the same run directory reuses the stack instead of starting another.
        again = _localstack(["up"], {"EVENTSUB_RUN_DIR": str(run_dir)})
        assert again.returncode == 0 and "reused" in again.stdout
        assert StackInfo.load(run_dir).pids == second.pids  # type: ignore[union-attr]
    finally:
        stopped = _localstack(["down"], {"EVENTSUB_RUN_DIR": str(run_dir)})
    assert stopped.returncode == 0, stopped.stderr
    assert not [name for name, pid in second.pids.items() if processes.alive(pid)]
    # The first stack did not notice.
    assert ApiClient(Path(stack_info.run_dir) / "pki", stack_info.ports["apiserver"]).ready()
    assert LocalStack(Path(stack_info.run_dir)).running() is not None


def test_taken_port_is_one_clear_line(stack_info: StackInfo, tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = _localstack(["up"], {"EVENTSUB_RUN_DIR": str(tmp_path / "s"),
                                      "EVENTSUB_PORT_KAFKA": str(port)})
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"error: port {port} for kafka on 127.0.0.1 is already in use: free it, or unset "
        "EVENTSUB_PORT_KAFKA to let the stack choose a free port"]
    assert "Traceback" not in result.stdout + result.stderr


def _path_without(tmp_path: Path, *missing: str) -> str:
    """A PATH with the usual tools but none of `missing`: symlinks to everything else needed."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("bash", "dirname", "mktemp", "rm", "mkdir", "sed", "grep", "cat", "ls", "wc",
                 "touch", "mv", "go", "mvn", "java"):
        found = shutil.which(tool)
        if tool not in missing and found:
            (bin_dir / tool).symlink_to(found)
    return str(bin_dir)


def test_missing_toolchains_are_one_clear_line(tmp_path: Path) -> None:
    cases = [
        ("build-go.sh", "go", "error: 'go' not found on PATH"),
        ("build-kafka.sh", "mvn", "error: 'mvn' not found on PATH"),
        ("build-kafka.sh", "java", "error: 'java' not found on PATH"),
        ("build-apicurio.sh", "mvn", "error: 'mvn' not found on PATH"),
    ]
    for i, (script, tool, message) in enumerate(cases):
        case_dir = tmp_path / str(i)
        case_dir.mkdir()
        env = {"PATH": _path_without(case_dir, tool), "HOME": str(case_dir),
               "EVENTSUB_CACHE": str(case_dir / "cache")}
        result = subprocess.run([shutil.which("bash") or "bash", str(REPO / "stack" / script)],
                                env=env, capture_output=True, text=True, timeout=60)
        assert result.returncode == 1, (script, tool, result.stdout)
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith(message), (script, tool, lines)


def test_missing_java_or_binaries_is_one_clear_line(tmp_path: Path) -> None:
    no_java = _localstack(["up"], {"EVENTSUB_RUN_DIR": str(tmp_path / "a"),
                                   "PATH": _path_without(tmp_path, "java")})
    assert no_java.returncode == 1
    assert no_java.stderr.strip().splitlines() == [
        "error: 'java' not found on PATH: install a Java 17+ runtime (it runs Kafka)"]
    empty_cache = _localstack(["up"], {"EVENTSUB_RUN_DIR": str(tmp_path / "b"),
                                       "EVENTSUB_CACHE": str(tmp_path / "empty")})
    assert empty_cache.returncode == 1
    lines = empty_cache.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: not built yet: etcd, kube-apiserver")
    assert "make binaries" in lines[0]


def test_up_stops_a_stack_whose_state_an_older_version_wrote(tmp_path: Path) -> None:
    """A state.json without the fields this version needs: the stack it describes is not
    reused, and `up` stops its processes before starting anything."""
    run_dir = tmp_path / "old"
    old = {name: processes.start(name, ["sleep", "300"], run_dir / "logs", tmp_path)
           for name in ("etcd", "apiserver", "kafka")}
    try:
        (run_dir / "state.json").write_text(json.dumps({
            "run_dir": str(run_dir), "kubeconfig": str(run_dir / "kubeconfig"),
            "kafka_bootstrap": "127.0.0.1:1", "kafka_sasl_bootstrap": "127.0.0.1:2",
            "sasl_username": "u", "sasl_password": "p", "kafka_cluster_id": "c",
            "ports": {}, "pids": old, "bin_dir": ""}))
        assert LocalStack(run_dir).running() is None
        # With no binaries, `up` fails right after clearing what was left: nothing new starts.
        result = _localstack(["up"], {"EVENTSUB_RUN_DIR": str(run_dir),
                                      "EVENTSUB_CACHE": str(tmp_path / "empty")})
        assert result.returncode == 1 and "not built yet" in result.stderr, result.stderr
        assert not [name for name, pid in old.items() if processes.alive(pid)]
        assert not (run_dir / "state.json").exists()
    finally:
        for pid in old.values():
            processes.stop(pid, grace_seconds=1)
