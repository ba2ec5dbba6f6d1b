"""Where the stack finds its binaries and keeps its run state."""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from localstack.errors import StackError

REPO_ROOT = Path(__file__).resolve().parents[2]
VERSIONS_FILE = REPO_ROOT / "stack" / "versions.env"


def read_versions() -> dict[str, str]:
    versions: dict[str, str] = {}
    for line in VERSIONS_FILE.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            versions[key] = value
    return versions


def cache_dir() -> Path:
    return Path(os.environ.get("EVENTSUB_CACHE", Path.home() / ".cache" / "eventsub"))


def run_dir() -> Path:
    # One run directory per checkout by default, so two clones run two independent stacks.
    return Path(os.environ.get("EVENTSUB_RUN_DIR", REPO_ROOT / ".run" / "stack")).absolute()


@dataclass(frozen=True)
class Binaries:
    etcd: Path
    kube_apiserver: Path
    kube_controller_manager: Path
    kube_scheduler: Path
    kubectl: Path
    kwok: Path
    kwok_stages: Path
    helm: Path
    kafka_libs: Path
    apicurio: Path  # the unpacked Apicurio Registry application (quarkus-run.jar and lib/)
    java: Path

    @classmethod
    def locate(cls) -> Binaries:
        v = read_versions()
        cache = cache_dir()
        k8s = cache / f"k8s-{v['K8S_VERSION']}" / "bin"
        found = cls(
            etcd=cache / f"etcd-{v['ETCD_VERSION']}" / "bin" / "etcd",
            kube_apiserver=k8s / "kube-apiserver",
            kube_controller_manager=k8s / "kube-controller-manager",
            kube_scheduler=k8s / "kube-scheduler",
            kubectl=k8s / "kubectl",
            kwok=cache / f"kwok-{v['KWOK_VERSION']}" / "bin" / "kwok",
            kwok_stages=cache / f"kwok-{v['KWOK_VERSION']}" / "stages.yaml",
            helm=cache / f"helm-{v['HELM_VERSION']}" / "bin" / "helm",
            kafka_libs=cache / (f"kafka-{v['KAFKA_VERSION']}-log4j-{v['LOG4J_VERSION']}"
                                f"-slf4j-{v['SLF4J_VERSION']}") / "libs",
            apicurio=_apicurio_app(cache / f"apicurio-{v['APICURIO_VERSION']}"),
            java=Path(shutil.which("java") or "java"),
        )
        found.check()
        return found

    def check(self) -> None:
        if not self.java.is_file():
            raise StackError("'java' not found on PATH: install a Java 17+ runtime (it runs Kafka)")
        missing = [
            p.name
            for p in (self.etcd, self.kube_apiserver, self.kube_controller_manager,
                      self.kube_scheduler, self.kubectl, self.kwok, self.kwok_stages, self.helm)
            if not p.is_file()
        ]
        if not (self.kafka_libs / ".complete").is_file():
            missing.append("kafka jars")
        if not (self.apicurio / "quarkus-run.jar").is_file():
            missing.append("apicurio registry")
        if missing:
            raise StackError(
                f"not built yet: {', '.join(missing)}; run 'make binaries' (cold: tens of minutes)"
            )


def _apicurio_app(directory: Path) -> Path:
    """Where quarkus-run.jar is in the unpacked package (its top directory may be wrapped)."""
    if (directory / ".complete").is_file():
        for jar in sorted((directory / "app").rglob("quarkus-run.jar")):
            return jar.parent
    return directory / "app"


@dataclass(frozen=True)
class NodeBinaries:
    """What the real node runs: the kubelet from the cache, containerd, runc and the CNI
    plugins from the machine's packages (stack/node-prereqs.sh)."""

    kubelet: Path
    containerd: Path
    cni_bin: Path

    @classmethod
    def locate(cls) -> NodeBinaries:
        v = read_versions()
        found = cls(
            kubelet=cache_dir() / f"kubelet-{v['K8S_VERSION']}" / "bin" / "kubelet",
            containerd=Path(shutil.which("containerd") or "/usr/bin/containerd"),
            cni_bin=Path("/usr/lib/cni"),
        )
        if not found.kubelet.is_file():
            raise StackError("not built yet: kubelet; run 'make node' (it builds it, minutes)")
        missing = [p.name for p in (found.containerd, found.cni_bin / "loopback") if not p.exists()]
        if shutil.which("runc") is None:
            missing.append("runc")
        if shutil.which("ctr") is None:
            missing.append("ctr")
        if missing:
            raise StackError(f"the real node needs {', '.join(missing)}: run stack/node-prereqs.sh "
                             "(as root it installs them)")
        return found
