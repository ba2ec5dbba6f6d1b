"""LocalStack: bring the whole stack up (or reuse a running one), describe it, tear it down."""

from __future__ import annotations

import fcntl
import json
import os
import secrets
import shutil
import subprocess
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

from localstack import kafka, keda, kube, node, processes, registry
from localstack.certs import NODE_NAME, write_kafka_pki, write_pki
from localstack.errors import StackError
from localstack.kwok_stages import write_stages
from localstack.paths import REPO_ROOT, Binaries, NodeBinaries, run_dir
from localstack.ports import choose_ports

# Start order; stopped in reverse.
COMPONENTS = ("registry", "etcd", "apiserver", "controller_manager", "scheduler", "kwok", "kafka")
# The real node, started on request after the rest (`up --node`).
NODE_COMPONENTS = ("containerd", "kubelet")


@dataclass
class StackInfo:
    """What a client needs to use the stack; persisted as state.json in the run directory."""

    run_dir: str
    kubeconfig: str
    kafka_bootstrap: str
    kafka_sasl_bootstrap: str
    kafka_ssl_bootstrap: str  # TLS, server certificate only
    kafka_mtls_bootstrap: str  # TLS that requires a client certificate
    kafka_sasl_ssl_bootstrap: str  # SASL over TLS, the same users as kafka_sasl_bootstrap
    kafka_ca: str  # path of the PEM CA certificate that signed the broker's certificate
    kafka_client_certificate: str  # paths of a PEM client certificate and its key, for MTLS
    kafka_client_key: str
    sasl_username: str
    sasl_password: str
    kafka_cluster_id: str
    ports: dict[str, int]
    pids: dict[str, int] = field(default_factory=dict)
    bin_dir: str = ""
    registry_url: str = ""  # the schema registry's Confluent-compatible API

    @property
    def registry_management_port(self) -> int:
        return self.ports["registry_management"]
    # The real node's images as named in its containerd (pause, base, ...), once it runs.
    node_images: dict[str, str] = field(default_factory=dict)

    @property
    def node_running(self) -> bool:
        return all(name in self.pids for name in NODE_COMPONENTS)

    def save(self) -> None:
        path = Path(self.run_dir) / "state.json"
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(asdict(self), indent=2))
        tmp.chmod(0o600)
        tmp.replace(path)

    @classmethod
    def load(cls, directory: Path) -> StackInfo | None:
        try:
            return cls(**json.loads((directory / "state.json").read_text()))
        except (OSError, ValueError, TypeError):  # TypeError: written by another version
            return None

    @staticmethod
    def recorded_pids(directory: Path) -> dict[str, int]:
        """The pids state.json records, even when the rest of it is from another version."""
        try:
            pids = json.loads((directory / "state.json").read_text()).get("pids") or {}
            return {str(name): int(pid) for name, pid in pids.items()}
        except (OSError, ValueError, TypeError, AttributeError):
            return {}


class LocalStack:
    def __init__(self, directory: Path | None = None) -> None:
        self.dir = directory or run_dir()

    # -- public ---------------------------------------------------------------------------------

    def running(self) -> StackInfo | None:
        """The stack in this run directory, if every process is alive and answering."""
        info = StackInfo.load(self.dir)
        if info is None or not set(COMPONENTS) <= set(info.pids):
            return None
        if not all(processes.alive(pid) for pid in info.pids.values()):
            return None
        try:
            api = kube.ApiClient(self.dir / "pki", info.ports["apiserver"])
            if not (api.ready() and kafka.is_ready(info.kafka_bootstrap)
                    and registry.is_ready(info.registry_management_port)):
                return None
        except Exception:
            return None
        return info

    def up(self, with_node: bool = False) -> tuple[StackInfo, bool]:
        """Ensures the stack runs (with the real node if asked); returns its info and whether
        this call started anything."""
        with self._lock():
            info = self.running()
            if info is not None:
                if with_node and not info.node_running:
                    self._start_node_or_stop_it(info)
                    return info, True
                return info, False
            self._stop_leftovers()
            binaries = Binaries.locate()
            node_binaries = NodeBinaries.locate() if with_node else None
            info = self._fresh(binaries)
            try:
                # The registry is the slowest to start: it starts first and is waited for last.
                self._launch_registry(info, binaries)
                self._start_control_plane(binaries, info)
                self.start_kafka(info, binaries)
                self._wait_registry(info)
                if node_binaries is not None:
                    self._start_node(info, node_binaries)
            except BaseException:
                self._stop_all(info)
                raise
            return info, True

    def down(self) -> list[str]:
        """Stops every process this run directory started; returns the names stopped."""
        with self._lock():
            stopped = keda.stop(self.dir)  # started on demand only; the API server goes too
            pids = {**node.running(self._node_paths), **StackInfo.recorded_pids(self.dir)}
            stopped += _stop_pids(pids, self._node_paths)
            (self.dir / "state.json").unlink(missing_ok=True)
            return stopped

    def stop_kafka(self, info: StackInfo) -> None:
        """Stops only the broker (its data stays), e.g. to test behaviour while Kafka is down."""
        pid = info.pids.pop("kafka", None)
        if pid:
            processes.stop(pid)
        info.save()

    def start_kafka(self, info: StackInfo, binaries: Binaries | None = None) -> None:
        binaries = binaries or Binaries.locate()
        config = self.dir / "kafka" / "server.properties"
        argv = kafka.java_argv(binaries.java, binaries.kafka_libs, "kafka.Kafka", str(config))
        self._launch(info, "kafka", argv)
        processes.wait_until("kafka", lambda: kafka.is_ready(info.kafka_bootstrap), 90,
                             info.pids["kafka"], self._log("kafka"))

    def stop_registry(self, info: StackInfo) -> None:
        """Stops only the schema registry (its in-memory schemas are lost), e.g. to test an
        outage."""
        pid = info.pids.pop("registry", None)
        if pid:
            processes.stop(pid)
        info.save()

    def start_registry(self, info: StackInfo, binaries: Binaries | None = None) -> None:
        self._launch_registry(info, binaries or Binaries.locate())
        self._wait_registry(info)

    def _launch_registry(self, info: StackInfo, binaries: Binaries) -> None:
        java = registry.find_java()
        self._launch(info, "registry", registry.argv(java, binaries.apicurio, info.ports["registry"],
                                                     info.registry_management_port))

    def _wait_registry(self, info: StackInfo) -> None:
        processes.wait_until("schema registry",
                             lambda: registry.is_ready(info.registry_management_port), 180,
                             info.pids["registry"], self._log("registry"))

    def restart_apiserver(self, info: StackInfo, while_down: Callable[[], None] = lambda: None,
                          binaries: Binaries | None = None) -> None:
        """Stops the API server (etcd keeps the data), calls while_down, and starts it again
        with the same flags and port: every watch is cut, as in a control-plane upgrade."""
        binaries = binaries or Binaries.locate()
        pid = info.pids.pop("apiserver", None)
        if pid:
            processes.stop(pid)
        info.save()
        while_down()
        self._launch(info, "apiserver", kube.apiserver_argv(
            binaries.kube_apiserver, self.dir / "pki", info.ports["etcd"], info.ports["apiserver"]))
        api = kube.ApiClient(self.dir / "pki", info.ports["apiserver"])
        processes.wait_until("kube-apiserver", api.ready, 120, info.pids["apiserver"],
                             self._log("apiserver"))

    # -- internals ------------------------------------------------------------------------------

    @contextmanager
    def _lock(self) -> Iterator[None]:
        self.dir.mkdir(parents=True, exist_ok=True)
        with open(self.dir / ".lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            yield

    @property
    def _node_paths(self) -> node.NodePaths:
        return node.NodePaths(self.dir / "node")

    def node_image(self, info: StackInfo, image: str) -> str:
        """Builds (or takes from the cache) one of the node's images, e.g. "operator", and
        imports it into the running node's containerd; returns its name there."""
        (name, archive), = build_node_images(image).values()
        if info.node_images.get(image) != name:
            node.import_image(self._node_paths, name, archive)
            info.node_images[image] = name
            info.save()
        return name

    def _start_node_or_stop_it(self, info: StackInfo) -> None:
        """Adds the real node to a running stack; a failed start leaves no half of it."""
        try:
            self._start_node(info, NodeBinaries.locate())
        except BaseException:
            _stop_node({name: info.pids.pop(name) for name in NODE_COMPONENTS if name in info.pids},
                       self._node_paths)
            info.save()
            raise

    def _start_node(self, info: StackInfo, b: NodeBinaries) -> None:
        """containerd, the images, then a kubelet whose Node registers tainted and gets Ready."""
        paths, pki = self._node_paths, self.dir / "pki"
        running = node.other_kubelets()
        if running:
            raise StackError(f"a kubelet already runs on this machine (pid {running[0]}): one real "
                             "node per machine; 'make down' in the checkout that started it")
        node.unmount_under(paths.root)
        shutil.rmtree(paths.root, ignore_errors=True)
        images = build_node_images("pause", "base")
        node.write_configs(paths, pki, images["pause"][0], b.cni_bin, info.ports["apiserver"],
                           info.ports["kubelet"], info.ports["kubelet_healthz"])
        self._launch(info, "containerd", node.containerd_argv(b.containerd, paths))
        processes.wait_until("containerd", lambda: node.runtime_ready(paths), 60,
                             info.pids["containerd"], self._log("containerd"))
        for name, archive in images.values():
            node.import_image(paths, name, archive)
        info.node_images = {image: name for image, (name, _) in images.items()}
        api = kube.ApiClient(pki, info.ports["apiserver"])
        api.bind_node_role(NODE_NAME)
        self._launch(info, "kubelet", node.kubelet_argv(b.kubelet, paths))
        processes.wait_until("kubelet node", lambda: api.node_ready(NODE_NAME), 120,
                             info.pids["kubelet"], self._log("kubelet"))

    def _log(self, name: str) -> Path:
        return self.dir / "logs" / f"{name}.log"

    def _fresh(self, binaries: Binaries) -> StackInfo:
        """A clean run directory: new ports, certificates, kubeconfig and broker storage."""
        for sub in ("etcd", "kafka", "pki", "logs", "bin"):
            shutil.rmtree(self.dir / sub, ignore_errors=True)
        ports = choose_ports()
        pki = self.dir / "pki"
        write_pki(pki)
        kafka_pki = write_kafka_pki(pki / "kafka")
        kubeconfig = self.dir / "kubeconfig"
        kube.write_kubeconfig(kubeconfig, pki, ports["apiserver"])
        bin_dir = self.dir / "bin"
        bin_dir.mkdir(parents=True)
        for tool in (binaries.kubectl, binaries.helm):
            (bin_dir / tool.name).symlink_to(tool)
        info = StackInfo(
            run_dir=str(self.dir), kubeconfig=str(kubeconfig),
            kafka_bootstrap=f"127.0.0.1:{ports['kafka']}",
            kafka_sasl_bootstrap=f"127.0.0.1:{ports['kafka_sasl']}",
            kafka_ssl_bootstrap=f"127.0.0.1:{ports['kafka_ssl']}",
            kafka_mtls_bootstrap=f"127.0.0.1:{ports['kafka_mtls']}",
            kafka_sasl_ssl_bootstrap=f"127.0.0.1:{ports['kafka_sasl_ssl']}",
            kafka_ca=str(kafka_pki.ca), kafka_client_certificate=str(kafka_pki.client_certificate),
            kafka_client_key=str(kafka_pki.client_key),
            sasl_username="eventsub-test", sasl_password=secrets.token_urlsafe(18),
            kafka_cluster_id=kafka.new_cluster_id(), ports=ports, bin_dir=str(bin_dir),
            registry_url=f"http://127.0.0.1:{ports['registry']}{registry.CONFLUENT_API}",
        )
        config = kafka.write_config(
            self.dir / "kafka", binaries.kafka_libs,
            kafka.server_properties(self.dir / "kafka" / "data", ports, kafka_pki,
                                    info.sasl_username, info.sasl_password))
        kafka.format_storage(binaries.java, binaries.kafka_libs, config, info.kafka_cluster_id,
                             info.sasl_username, info.sasl_password)
        info.save()
        return info

    def _launch(self, info: StackInfo, name: str, argv: list[str]) -> None:
        info.pids[name] = processes.start(name, argv, self.dir / "logs", self.dir)
        info.save()

    def _start_control_plane(self, b: Binaries, info: StackInfo) -> None:
        pki, kubeconfig, ports = self.dir / "pki", Path(info.kubeconfig), info.ports
        self._launch(info, "etcd", kube.etcd_argv(b.etcd, self.dir / "etcd", ports["etcd"],
                                                  ports["etcd_peer"]))
        self._launch(info, "apiserver", kube.apiserver_argv(b.kube_apiserver, pki, ports["etcd"],
                                                            ports["apiserver"]))
        api = kube.ApiClient(pki, ports["apiserver"])
        processes.wait_until("kube-apiserver", api.ready, 120, info.pids["apiserver"],
                             self._log("apiserver"))
        self._launch(info, "controller_manager", kube.controller_manager_argv(
            b.kube_controller_manager, kubeconfig, pki, ports["controller_manager"]))
        self._launch(info, "scheduler", kube.scheduler_argv(b.kube_scheduler, kubeconfig,
                                                            ports["scheduler"]))
        stages = write_stages(b.kwok_stages, self.dir / "kwok-stages.yaml")
        self._launch(info, "kwok", kube.kwok_argv(b.kwok, stages, kubeconfig, ports["kwok"]))
        processes.wait_until("kwok node", lambda: (api.ensure_node(), api.node_ready())[1], 60,
                             info.pids["kwok"], self._log("kwok"))
        # Pods are refused until the controller-manager has made the namespace's ServiceAccount.
        processes.wait_until("default ServiceAccount", api.default_service_account_exists, 60,
                             info.pids["controller_manager"], self._log("controller_manager"))

    def _stop_all(self, info: StackInfo) -> list[str]:
        stopped = _stop_pids(info.pids, self._node_paths)
        info.pids.clear()
        return stopped

    def _stop_leftovers(self) -> None:
        """What is left of an earlier stack (a crash, a reboot, or one started by an older
        version whose state this one cannot use): stop it."""
        keda.stop(self.dir)
        _stop_pids(StackInfo.recorded_pids(self.dir), self._node_paths)
        (self.dir / "state.json").unlink(missing_ok=True)


def build_node_images(*images: str) -> dict[str, tuple[str, Path]]:
    """Builds (or takes from the cache) the real node's images: image -> (name, OCI archive)."""
    done = subprocess.run(["bash", str(REPO_ROOT / "stack" / "node-images.sh"), *images],
                          capture_output=True, text=True)
    if done.returncode != 0:
        raise StackError(f"building the node's images: {done.stderr.strip()[-2000:]}")
    lines = [line.split() for line in done.stdout.splitlines() if line.strip()]
    return {image: (name, Path(archive)) for image, (name, archive) in zip(images, lines, strict=True)}


def _stop_node(pids: dict[str, int], paths: node.NodePaths) -> list[str]:
    """The kubelet first (it would restart containers), then every container, then containerd
    (its shims outlive it otherwise), then what they left mounted."""
    stopped = []
    kubelet = pids.get("kubelet")
    if kubelet and processes.alive(kubelet):
        processes.stop(kubelet)
        stopped.append("kubelet")
    containerd = pids.get("containerd")
    if containerd and processes.alive(containerd):
        node.kill_containers(paths)
        processes.stop(containerd)
        stopped.append("containerd")
    node.unmount_under(paths.root)
    return stopped


def _stop_pids(pids: dict[str, int], node_paths: node.NodePaths) -> list[str]:
    stopped = _stop_node(pids, node_paths)
    for name in reversed(COMPONENTS):
        pid = pids.get(name)
        if pid and processes.alive(pid):
            processes.stop(pid)
            stopped.append(name)
    return stopped


def environment(info: StackInfo) -> dict[str, str]:
    """Environment variables that point clients (tests, the operator, kubectl) at this stack."""
    return {
        "KUBECONFIG": info.kubeconfig,
        "EVENTSUB_KAFKA_BOOTSTRAP": info.kafka_bootstrap,
        "EVENTSUB_SCHEMA_REGISTRY_URL": info.registry_url,
        "PATH": f"{info.bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
    }
