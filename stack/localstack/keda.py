"""KEDA on the local stack, started on demand (by `make bench-keda`), not by `make up`.

Its operator and its metrics adapter run as processes of the stack, built from KEDA's Go module
(`stack/build-go.sh keda`). The adapter is registered as the `v1beta1.external.metrics.k8s.io`
APIService; the API server reaches it through a Service without selector whose EndpointSlice names
the address of the stack's network namespace (see netns.py), and dials that address directly
(`--enable-aggregator-routing`). The controller-manager's HPA controller reads the external
metrics through the API server, as on a cluster. The operator serves KEDA's metrics service
(gRPC, client certificates both ways) on 127.0.0.1; the adapter is its client.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

from localstack import netns, processes
from localstack.certs import write_keda_pki
from localstack.errors import StackError
from localstack.paths import cache_dir, read_versions
from localstack.ports import free_port

NAMESPACE = "keda"
SERVICE = "keda-metrics-apiserver"
API_SERVICE = "v1beta1.external.metrics.k8s.io"
# Start order; stopped in reverse.
PROCESSES = ("keda_operator", "keda_adapter")


@dataclass(frozen=True)
class KedaBinaries:
    operator: Path
    adapter: Path
    crds: Path

    @classmethod
    def locate(cls) -> KedaBinaries:
        version = read_versions()["KEDA_VERSION"]
        base = cache_dir() / f"keda-{version}"
        found = cls(base / "bin" / "keda", base / "bin" / "keda-adapter", base / "crds")
        if not (found.operator.is_file() and found.adapter.is_file() and found.crds.is_dir()):
            raise StackError(f"KEDA {version} not built yet; run 'bash stack/build-go.sh keda' "
                             "(cold: tens of minutes)")
        return found


@dataclass
class KedaInfo:
    """The running KEDA; persisted as keda/state.json in the stack's run directory."""

    pids: dict[str, int]
    address: str  # the adapter's, on the stack's network namespace link
    ports: dict[str, int]

    @property
    def operator_metrics(self) -> str:
        return f"http://127.0.0.1:{self.ports['operator_metrics']}/metrics"

    @property
    def adapter_metrics(self) -> str:
        # The adapter binds its metrics port on every address; its flags offer no other choice.
        return f"http://127.0.0.1:{self.ports['adapter_metrics']}/metrics"


def _state(run_dir: Path) -> Path:
    return run_dir / "keda" / "state.json"


def _kubectl(bin_dir: str, kubeconfig: str, *args: str, stdin: str | None = None) -> str:
    done = subprocess.run([str(Path(bin_dir) / "kubectl"), *args], input=stdin, text=True,
                          capture_output=True, timeout=120, env={**os.environ, "KUBECONFIG": kubeconfig})
    if done.returncode != 0:
        raise StackError(f"kubectl {' '.join(args[:3])}: {done.stderr.strip()}")
    return done.stdout


def _registration(address: str, port: int, ca_pem: bytes) -> list[dict[str, object]]:
    """The namespace, the selector-less Service and its EndpointSlice, and the APIService."""
    meta = {"name": SERVICE, "namespace": NAMESPACE}
    return [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}},
        {"apiVersion": "v1", "kind": "Service", "metadata": meta,
         "spec": {"ports": [{"name": "https", "port": 443, "targetPort": port}]}},
        # The aggregator resolves a Service through its EndpointSlices; a slice of our own (no
        # managed-by label: no controller touches it) names the adapter's address.
        {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice", "addressType": "IPv4",
         "metadata": {"name": SERVICE, "namespace": NAMESPACE,
                      "labels": {"kubernetes.io/service-name": SERVICE}},
         "endpoints": [{"addresses": [address], "conditions": {"ready": True}}],
         "ports": [{"name": "https", "port": port, "protocol": "TCP"}]},
        {"apiVersion": "apiregistration.k8s.io/v1", "kind": "APIService",
         "metadata": {"name": API_SERVICE},
         "spec": {"group": "external.metrics.k8s.io", "version": "v1beta1",
                  "service": {"name": SERVICE, "namespace": NAMESPACE, "port": 443},
                  "caBundle": base64.b64encode(ca_pem).decode(),
                  "groupPriorityMinimum": 100, "versionPriority": 100}},
    ]


def _operator_argv(b: KedaBinaries, pki: Path, ports: dict[str, int]) -> list[str]:
    return [str(b.operator), "--leader-elect=false", f"--cert-dir={pki}",
            f"--metrics-bind-address=127.0.0.1:{ports['operator_metrics']}",
            f"--health-probe-bind-address=127.0.0.1:{ports['operator_probe']}",
            f"--metrics-service-bind-address=127.0.0.1:{ports['grpc']}",
            f"--ca-dir={pki}", "--zap-log-level=info"]


def _adapter_argv(b: KedaBinaries, pki: Path, kubeconfig: str, address: str,
                  ports: dict[str, int]) -> list[str]:
    return [str(b.adapter), f"--secure-port={ports['adapter']}", f"--bind-address={address}",
            f"--cert-dir={pki}", f"--tls-cert-file={pki / 'tls.crt'}",
            f"--tls-private-key-file={pki / 'tls.key'}", f"--lister-kubeconfig={kubeconfig}",
            f"--authentication-kubeconfig={kubeconfig}", f"--authorization-kubeconfig={kubeconfig}",
            f"--metrics-service-address=127.0.0.1:{ports['grpc']}",
            f"--port={ports['adapter_metrics']}"]


def start(run_dir: Path, kubeconfig: str, bin_dir: str) -> KedaInfo:
    """Installs KEDA's CRDs, starts its operator and adapter, registers the APIService, and
    waits until the API server serves external metrics through it."""
    stop(run_dir, kubeconfig, bin_dir)
    binaries = KedaBinaries.locate()
    _kubectl(bin_dir, kubeconfig, "apply", "--server-side", "--force-conflicts", "-f",
             str(binaries.crds))
    _kubectl(bin_dir, kubeconfig, "wait", "--for=condition=Established", "--timeout=60s", "-f",
             str(binaries.crds))
    link = netns.create(run_dir)
    pki = run_dir / "keda" / "pki"
    write_keda_pki(pki, [f"{SERVICE}.{NAMESPACE}.svc", f"keda-operator.{NAMESPACE}.svc"],
                   [link.host_address])
    ports = {name: free_port() for name in
             ("operator_metrics", "operator_probe", "grpc", "adapter", "adapter_metrics")}
    info = KedaInfo({}, link.host_address, ports)
    env = {"KUBECONFIG": kubeconfig, "WATCH_NAMESPACE": "", "POD_NAMESPACE": NAMESPACE,
           "KEDA_CLUSTER_OBJECT_NAMESPACE": NAMESPACE}
    logs = run_dir / "logs"
    try:
        docs = _registration(link.host_address, ports["adapter"], (pki / "ca.crt").read_bytes())
        _kubectl(bin_dir, kubeconfig, "apply", "-f", "-",
                 stdin=json.dumps({"apiVersion": "v1", "kind": "List", "items": docs}))
        info.pids["keda_operator"] = processes.start(
            "keda_operator", _operator_argv(binaries, pki, ports), logs, run_dir, env)
        _save(run_dir, info)
        info.pids["keda_adapter"] = processes.start(
            "keda_adapter", _adapter_argv(binaries, pki, kubeconfig, link.host_address, ports),
            logs, run_dir, env)
        _save(run_dir, info)
        processes.wait_until(
            "KEDA's external metrics API",
            lambda: bool(_kubectl(bin_dir, kubeconfig, "get", "--raw",
                                  "/apis/external.metrics.k8s.io/v1beta1")),
            120, info.pids["keda_adapter"], logs / "keda_adapter.log")
    except BaseException:
        stop(run_dir, kubeconfig, bin_dir)
        raise
    return info


def stop(run_dir: Path, kubeconfig: str | None = None, bin_dir: str | None = None) -> list[str]:
    """Stops KEDA's processes and removes the network namespace. With a kubeconfig, also
    unregisters the APIService: an APIService without a backend makes API discovery partial,
    which stalls namespace deletion for every other client of the stack."""
    stopped = []
    for name in reversed(PROCESSES):
        pid = recorded_pids(run_dir).get(name)
        if pid and processes.alive(pid):
            processes.stop(pid)
            stopped.append(name)
    _state(run_dir).unlink(missing_ok=True)
    if kubeconfig and bin_dir:
        with contextlib.suppress(StackError):  # the API server is gone with the rest of the stack
            _kubectl(bin_dir, kubeconfig, "delete", "apiservice", API_SERVICE, "--ignore-not-found")
    netns.remove(run_dir)
    return stopped


def recorded_pids(run_dir: Path) -> dict[str, int]:
    try:
        return {str(k): int(v) for k, v in json.loads(_state(run_dir).read_text())["pids"].items()}
    except (OSError, ValueError, TypeError, KeyError, AttributeError):
        return {}


def _save(run_dir: Path, info: KedaInfo) -> None:
    path = _state(run_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(asdict(info), indent=2))


@contextmanager
def running(run_dir: Path, kubeconfig: str, bin_dir: str) -> Iterator[KedaInfo]:
    """KEDA for the length of a block (a benchmark), stopped and unregistered after it."""
    info = start(run_dir, kubeconfig, bin_dir)
    try:
        yield info
    finally:
        stop(run_dir, kubeconfig, bin_dir)
