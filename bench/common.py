"""Shared pieces of the benchmarks: the stack, clients, the operator process, RSS readings."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "stack"), str(REPO / "tests"), str(REPO / "operator")]

from confluent_kafka.admin import AdminClient  # noqa: E402
from kubernetes import client, config  # noqa: E402

from kubectl import install_crds  # noqa: E402
from localstack import LocalStack, StackInfo  # noqa: E402
from localstack.processes import terminate  # noqa: E402

GROUP, VERSION = "eventsub.io", "v1alpha1"


@contextmanager
def local_stack() -> Iterator[StackInfo]:
    """The running stack (from `make up`), or one started for this run and stopped after it."""
    stack = LocalStack()
    info, started = stack.up()
    install_crds(info)
    try:
        yield info
    finally:
        if started:
            stack.down()


def kube_clients(info: StackInfo) -> tuple[client.CoreV1Api, client.AppsV1Api, client.CustomObjectsApi]:
    api = config.new_client_from_config(config_file=info.kubeconfig)
    return client.CoreV1Api(api), client.AppsV1Api(api), client.CustomObjectsApi(api)


@contextmanager
def operator_process(info: StackInfo, **env: str) -> Iterator[subprocess.Popen[bytes]]:
    log = Path(tempfile.mkdtemp()) / "operator.log"
    print(f"  operator log: {log}", flush=True)
    with open(log, "wb") as out:
        process = subprocess.Popen([sys.executable, "-m", "eventsub"], cwd=REPO, stdout=out,
                                   stderr=subprocess.STDOUT,
                                   env={**os.environ, "KUBECONFIG": info.kubeconfig, **env})
    try:
        yield process
    finally:
        terminate(process, grace_seconds=60)


def cpu_seconds(pid: int) -> tuple[float, float]:
    """CPU time a process has used so far: (user, kernel) seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    tick = os.sysconf("SC_CLK_TCK")
    return int(fields[11]) / tick, int(fields[12]) / tick


def rss_mib(pid: int, peak: bool = False) -> float:
    field = "VmHWM:" if peak else "VmRSS:"
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field):
            return int(line.split()[1]) / 1024
    return 0.0


def namespace(core: client.CoreV1Api, name: str) -> None:
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=name)))


def namespace_with_connection(info: StackInfo, name: str) -> None:
    """A namespace with KafkaConnection "local" to the stack's broker."""
    core, _, custom = kube_clients(info)
    namespace(core, name)
    custom.create_namespaced_custom_object(GROUP, VERSION, name, "kafkaconnections", custom_resource(
        "KafkaConnection", "local", {"bootstrapServers": [info.kafka_bootstrap]}))


def custom_resource(kind: str, name: str, spec: dict[str, object]) -> dict[str, object]:
    return {"apiVersion": f"{GROUP}/{VERSION}", "kind": kind, "metadata": {"name": name},
            "spec": spec}


def delete_topics(bootstrap: str, names: list[str]) -> None:
    admin = AdminClient({"bootstrap.servers": bootstrap})
    for start in range(0, len(names), 500):
        for future in admin.delete_topics(names[start:start + 500], operation_timeout=60).values():
            with contextlib.suppress(Exception):  # a topic the run never created
                future.result(60)
