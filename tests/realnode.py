"""Placing pods on the stack's real node (kubelet + containerd) and reading what they did."""

from __future__ import annotations

from typing import Any

from localstack import StackInfo
from localstack.node import NODE_LABEL, NODE_TAINT

# The container-level settings of Pod Security "restricted" (the chart's defaults).
RESTRICTED_CONTAINER = {
    "runAsNonRoot": True, "runAsUser": 65532, "runAsGroup": 65532,
    "readOnlyRootFilesystem": True, "allowPrivilegeEscalation": False,
    "capabilities": {"drop": ["ALL"]}, "seccompProfile": {"type": "RuntimeDefault"},
}


def placement() -> dict[str, Any]:
    """The pod spec fields that put a pod on the real node. The node has no pod network (no CNI
    plugin that gives addresses, no kube-proxy): its pods share the host's network."""
    return {
        "hostNetwork": True,
        "nodeSelector": {NODE_LABEL[0]: NODE_LABEL[1]},
        "tolerations": [{"key": NODE_TAINT["key"], "operator": "Equal",
                         "value": NODE_TAINT["value"], "effect": NODE_TAINT["effect"]}],
    }


def api_server_env(info: StackInfo) -> list[dict[str, str]]:
    """In-cluster clients find the API server through these; without kube-proxy the Service's
    address leads nowhere, so they name the API server itself (explicit env wins over the
    kubelet's)."""
    return [{"name": "KUBERNETES_SERVICE_HOST", "value": "127.0.0.1"},
            {"name": "KUBERNETES_SERVICE_PORT", "value": str(info.ports["apiserver"])}]
