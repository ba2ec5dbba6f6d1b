"""The real node: containerd (with runc) and a kubelet, configured here and run by the stack.

Everything lives under the run directory's ``node/``: containerd's root, state and socket, the
kubelet's root, certificates and pod logs. The Node is tainted, so pods land on it only when they
ask (a toleration of NODE_TAINT and a nodeSelector on NODE_LABEL); kwok's node keeps the rest.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from localstack.certs import NODE_NAME
from localstack.errors import StackError

NODE_LABEL = ("eventsub.io/node", "real")
NODE_TAINT = {"key": "eventsub.io/node", "value": "real", "effect": "NoSchedule"}
# The images the stack imports, as named in containerd (see stack/node-images.sh).
IMAGE_DOMAIN = "eventsub.local"


@dataclass(frozen=True)
class NodePaths:
    root: Path

    @property
    def containerd(self) -> Path:
        return self.root / "containerd"

    @property
    def socket(self) -> Path:
        return self.containerd / "containerd.sock"

    @property
    def containerd_config(self) -> Path:
        return self.containerd / "config.toml"

    @property
    def cni_config(self) -> Path:
        return self.root / "cni"

    @property
    def kubelet(self) -> Path:
        return self.root / "kubelet"

    @property
    def kubelet_config(self) -> Path:
        return self.root / "kubelet-config.json"

    @property
    def kubelet_kubeconfig(self) -> Path:
        return self.root / "kubelet.kubeconfig"

    @property
    def pod_logs(self) -> Path:
        return self.root / "pod-logs"


def containerd_config(paths: NodePaths, sandbox_image: str, cni_bin: Path) -> str:
    """containerd 1.6's config (version 2): its own root, state and socket; the CRI plugin with
    the pause image built here. restrict_oom_score_adj: a sandbox's oom_score_adj below the
    runtime's own needs a capability these machines lack (runc then fails with "can't get final
    child's PID from pipe")."""
    c = paths.containerd
    return f"""version = 2
root = "{c / 'root'}"
state = "{c / 'state'}"
disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs",
                    "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper"]

[grpc]
  address = "{paths.socket}"

[plugins."io.containerd.internal.v1.opt"]
  path = "{c / 'opt'}"

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "{sandbox_image}"
  restrict_oom_score_adj = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  enable_selinux = false
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "{cni_bin}"
    conf_dir = "{paths.cni_config}"
"""


def cni_loopback_config() -> dict[str, object]:
    """Pods share the host's network (hostNetwork); the runtime still wants one network
    configured before it reports itself ready, so: the loopback, and nothing that takes an
    address."""
    return {"cniVersion": "0.4.0", "name": "eventsub-loopback", "plugins": [{"type": "loopback"}]}


def kubelet_config(paths: NodePaths, pki: Path, port: int, healthz_port: int) -> dict[str, object]:
    return {
        "apiVersion": "kubelet.config.k8s.io/v1beta1",
        "kind": "KubeletConfiguration",
        # This machine has cgroup v1 and no systemd.
        "failCgroupV1": False,
        "cgroupDriver": "cgroupfs",
        # The kernel settings the kubelet would insist on are not ours to change.
        "protectKernelDefaults": False,
        "failSwapOn": False,
        "containerRuntimeEndpoint": f"unix://{paths.socket}",
        "address": "127.0.0.1", "port": port, "readOnlyPort": 0,
        "healthzBindAddress": "127.0.0.1", "healthzPort": healthz_port,
        # The API server reaches the kubelet (logs, exec) with the admin certificate.
        "authentication": {"anonymous": {"enabled": False}, "webhook": {"enabled": True},
                           "x509": {"clientCAFile": str(pki / "ca.crt")}},
        "authorization": {"mode": "Webhook"},
        "registerWithTaints": [NODE_TAINT],
        "podLogsDir": str(paths.pod_logs),
        # Disk pressure is the machine's business, not the tests': no evictions, no image GC.
        "evictionHard": {"memory.available": "100Mi", "nodefs.available": "1%",
                         "imagefs.available": "1%"},
        "imageGCHighThresholdPercent": 100, "imageGCLowThresholdPercent": 99,
        "serializeImagePulls": False,
        "resolvConf": "/etc/resolv.conf",
    }


def kubelet_argv(kubelet: Path, paths: NodePaths) -> list[str]:
    label = "=".join(NODE_LABEL)
    return [str(kubelet), f"--config={paths.kubelet_config}",
            f"--kubeconfig={paths.kubelet_kubeconfig}", f"--root-dir={paths.kubelet}",
            f"--cert-dir={paths.kubelet / 'pki'}", f"--hostname-override={NODE_NAME}",
            f"--node-labels={label}", "--v=1"]


def containerd_argv(containerd: Path, paths: NodePaths) -> list[str]:
    return [str(containerd), f"--config={paths.containerd_config}", "--log-level=warn"]


def write_kubelet_kubeconfig(path: Path, pki: Path, apiserver_port: int) -> None:
    config = {
        "apiVersion": "v1", "kind": "Config",
        "clusters": [{"name": "local", "cluster": {
            "server": f"https://127.0.0.1:{apiserver_port}",
            "certificate-authority": str(pki / "ca.crt")}}],
        "users": [{"name": "kubelet", "user": {
            "client-certificate": str(pki / "node.crt"), "client-key": str(pki / "node.key")}}],
        "contexts": [{"name": "local", "context": {"cluster": "local", "user": "kubelet"}}],
        "current-context": "local",
    }
    path.write_text(json.dumps(config, indent=2))
    path.chmod(0o600)


def write_configs(paths: NodePaths, pki: Path, sandbox_image: str, cni_bin: Path,
                  apiserver_port: int, kubelet_port: int, healthz_port: int) -> None:
    for directory in (paths.containerd, paths.cni_config, paths.kubelet, paths.pod_logs):
        directory.mkdir(parents=True, exist_ok=True)
    paths.containerd_config.write_text(containerd_config(paths, sandbox_image, cni_bin))
    (paths.cni_config / "10-loopback.conflist").write_text(json.dumps(cni_loopback_config()))
    paths.kubelet_config.write_text(json.dumps(kubelet_config(paths, pki, kubelet_port,
                                                              healthz_port), indent=2))
    write_kubelet_kubeconfig(paths.kubelet_kubeconfig, pki, apiserver_port)


def _command_lines() -> Iterator[tuple[int, list[str]]]:
    """Every process on this machine: its pid and its command line."""
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            argv = cmdline.read_bytes().decode(errors="replace").split("\0")
        except OSError:
            continue  # gone meanwhile
        yield int(cmdline.parent.name), argv


def other_kubelets() -> list[int]:
    """Pids of kubelets running on this machine. There can be one: every kubelet manages the
    same pod cgroups (/kubepods) and would remove the other's pods as orphans."""
    return [pid for pid, argv in _command_lines() if Path(argv[0]).name == "kubelet"]


def running(paths: NodePaths) -> dict[str, int]:
    """The kubelet and containerd started with this node's configuration, found by their
    command lines: `down` stops them even when state.json lost their pids."""
    configs = {"kubelet": f"--config={paths.kubelet_config}",
               "containerd": f"--config={paths.containerd_config}"}
    return {name: pid for pid, argv in _command_lines()
            if (name := Path(argv[0]).name) in configs and configs[name] in argv}


def ctr(paths: NodePaths, *args: str, timeout: float = 300) -> str:
    argv = ["ctr", f"--address={paths.socket}", "--namespace=k8s.io", *args]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0:
        raise StackError(f"{' '.join(argv[3:5])}: {done.stderr.strip() or done.stdout.strip()}")
    return done.stdout


def import_image(paths: NodePaths, name: str, archive: Path) -> None:
    """Imports an OCI archive whose ref name is name's tag, unpacked for the CRI."""
    repository = name.rsplit(":", 1)[0]
    ctr(paths, "images", "import", f"--base-name={repository}", str(archive))


def runtime_ready(paths: NodePaths) -> bool:
    # ctr version fails unless the server answers.
    return paths.socket.exists() and "Server:" in ctr(paths, "version", timeout=5)


def kill_containers(paths: NodePaths) -> None:
    """Kills every container of this containerd: its shims and their processes outlive it."""
    if not paths.socket.exists():
        return
    try:
        tasks = ctr(paths, "tasks", "list", "--quiet", timeout=10).split()
        for task in tasks:
            ctr(paths, "tasks", "kill", "--signal=SIGKILL", task, timeout=10)
        for task in tasks:
            subprocess.run(["ctr", f"--address={paths.socket}", "--namespace=k8s.io", "tasks",
                            "delete", "--force", task], capture_output=True, timeout=30)
    except (StackError, subprocess.TimeoutExpired, OSError):
        pass  # containerd already gone: nothing more can be asked of it


def unmount_under(directory: Path) -> None:
    """Unmounts what the runtime and the kubelet left mounted under directory (deepest first),
    so the run directory can be removed."""
    prefix = str(directory.resolve()) + os.sep
    mounts = [line.split()[4] for line in Path("/proc/self/mountinfo").read_text().splitlines()]
    for mount in sorted((m for m in mounts if m.startswith(prefix)), key=len, reverse=True):
        subprocess.run(["umount", "--lazy", mount], capture_output=True)
