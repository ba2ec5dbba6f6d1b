"""The real node's configuration files, as the stack writes them (no processes started)."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

from localstack.node import (
    NODE_TAINT,
    NodePaths,
    cni_loopback_config,
    containerd_config,
    kubelet_argv,
    kubelet_config,
    write_kubelet_kubeconfig,
)


def test_containerd_keeps_everything_under_the_run_directory(tmp_path: Path) -> None:
    paths = NodePaths(tmp_path / "node")
    config = tomllib.loads(containerd_config(paths, "eventsub.local/pause:3.10.2", Path("/cni")))
    assert config["version"] == 2
    for place in (config["root"], config["state"], config["grpc"]["address"]):
        assert place.startswith(str(paths.root) + "/")
    cri = config["plugins"]["io.containerd.grpc.v1.cri"]
    assert cri["sandbox_image"] == "eventsub.local/pause:3.10.2"
    assert cri["restrict_oom_score_adj"] is True
    assert cri["cni"] == {"bin_dir": "/cni", "conf_dir": str(paths.cni_config)}
    runc = cri["containerd"]["runtimes"]["runc"]
    assert runc["runtime_type"] == "io.containerd.runc.v2"
    assert runc["options"]["SystemdCgroup"] is False


def test_the_kubelet_fits_a_cgroup_v1_machine_without_systemd(tmp_path: Path) -> None:
    paths = NodePaths(tmp_path / "node")
    config = kubelet_config(paths, tmp_path / "pki", 10250, 10248)
    assert config["failCgroupV1"] is False
    assert config["cgroupDriver"] == "cgroupfs"
    assert config["protectKernelDefaults"] is False
    assert config["containerRuntimeEndpoint"] == f"unix://{paths.socket}"
    assert config["address"] == config["healthzBindAddress"] == "127.0.0.1"
    assert config["readOnlyPort"] == 0
    assert config["registerWithTaints"] == [NODE_TAINT]
    json.dumps(config)  # the kubelet reads it as JSON
    argv = kubelet_argv(Path("/bin/kubelet"), paths)
    assert "--hostname-override=127.0.0.1" in argv
    assert "--node-labels=eventsub.io/node=real" in argv


def test_the_kubelet_authenticates_with_the_node_certificate(tmp_path: Path) -> None:
    path = tmp_path / "kubelet.kubeconfig"
    write_kubelet_kubeconfig(path, tmp_path / "pki", 6443)
    config = json.loads(path.read_text())
    assert config["clusters"][0]["cluster"]["server"] == "https://127.0.0.1:6443"
    assert config["users"][0]["user"]["client-certificate"] == str(tmp_path / "pki" / "node.crt")
    assert path.stat().st_mode & 0o077 == 0


def test_the_only_network_is_the_loopback() -> None:
    assert [p["type"] for p in cni_loopback_config()["plugins"]] == ["loopback"]  # type: ignore[index, union-attr]
