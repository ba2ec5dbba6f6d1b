"""A pod on the real node: a real container from the stack's base image, run by the kubelet."""

from __future__ import annotations

import json

from conftest import Kube, fresh_namespace
from kubectl import kubectl, kubectl_ok
from localstack import StackInfo
from realnode import RESTRICTED_CONTAINER, api_server_env, placement
from support import eventually

# What the container reports of itself: who it runs as, whether / is writable, its memory
# cgroup's limit, and whether the API server's port answers on the host's loopback.
PROBE = """
import os, socket
print("uid", os.getuid(), "gid", os.getgid())
try:
    open("/written", "w")
    print("root writable")
except OSError as error:
    print("root read-only", error.errno)
print("memory limit", open("/sys/fs/cgroup/memory/memory.limit_in_bytes").read().strip())
address = (os.environ["KUBERNETES_SERVICE_HOST"], int(os.environ["KUBERNETES_SERVICE_PORT"]))
socket.create_connection(address, timeout=5).close()
print("api server reached")
"""


def test_a_restricted_pod_runs_as_a_real_container_and_kubectl_reads_its_log(
        real_node: StackInfo, kube: Kube) -> None:
    labels = {"pod-security.kubernetes.io/warn": "restricted"}
    with fresh_namespace(kube, "node", labels) as namespace:
        pod = {
            "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "probe", "namespace": namespace},
            "spec": {**placement(), "restartPolicy": "Never", "containers": [{
                "name": "probe", "image": real_node.node_images["base"],
                "imagePullPolicy": "Never", "command": ["python", "-c", PROBE],
                "env": api_server_env(real_node), "securityContext": RESTRICTED_CONTAINER,
                "resources": {"limits": {"memory": "64Mi", "cpu": "250m"}}}]},
        }
        created = kubectl(real_node, "create", "-f", "-", stdin=json.dumps(pod))
        assert created.returncode == 0, created.stderr
        # Pod Security "restricted" finds one thing only: the host's network, which the node's
        # pods share for want of a pod network.
        assert 'would violate PodSecurity "restricted:latest": host namespaces (hostNetwork=true)\n' \
            in created.stderr, created.stderr

        def phase() -> str | None:
            status = kube.core.read_namespaced_pod("probe", namespace).status
            return status.phase if status.phase in ("Succeeded", "Failed") else None

        assert eventually(phase, 120, what="the pod's container exited") == "Succeeded"
        log = kubectl_ok(real_node, "logs", "-n", namespace, "probe").splitlines()
        assert log == ["uid 65532 gid 65532", "root read-only 30",
                       f"memory limit {64 * 1024 * 1024}", "api server reached"]
        node = kube.core.read_namespaced_pod("probe", namespace).spec.node_name
        assert node == "127.0.0.1"
