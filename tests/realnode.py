"""Placing pods on the stack's real node (kubelet + containerd) and reading what they did."""

from __future__ import annotations

import threading
from typing import Any

from kubernetes import client, watch

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


class PodRecorder:
    """What the kubelet reported of every pod a selector matches, and each pod's whole log.

    A pod deleted by a scale-down leaves the API (and `kubectl logs`) as soon as its containers
    exited: its last status (the container's terminated state) is seen only by a watch, and its
    last log lines only by following the log while it runs."""

    def __init__(self, core: client.CoreV1Api, namespace: str, selector: str) -> None:
        self.core, self.namespace, self.selector = core, namespace, selector
        self.pods: dict[str, client.V1Pod] = {}  # by name, as last seen
        self.logs: dict[str, str] = {}
        # The grace period each pod was deleted with (the kubelet's final delete has 0).
        self.grace_seconds: dict[str, int] = {}
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._watch, daemon=True)]

    def __enter__(self) -> PodRecorder:
        self._threads[0].start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=10)

    def terminated(self, name: str) -> client.V1ContainerStateTerminated | None:
        """The first container's terminated state, once the kubelet reported it."""
        statuses = self.pods[name].status.container_statuses or []
        return statuses[0].state.terminated if statuses else None

    def _watch(self) -> None:
        version: str | None = None
        while not self._stop.is_set():
            # Short watches, each resumed where the last ended: no change is missed between them.
            stream = watch.Watch().stream(
                self.core.list_namespaced_pod, self.namespace, label_selector=self.selector,
                resource_version=version, timeout_seconds=2)
            try:
                for event in stream:
                    version = event["object"].metadata.resource_version
                    self._record(event["object"])
            except client.ApiException as error:
                if error.status != 410:  # 410: that version is compacted away; list afresh
                    raise
                version = None

    def _record(self, pod: client.V1Pod) -> None:
        self.pods[pod.metadata.name] = pod
        if pod.metadata.deletion_timestamp is not None:
            self.grace_seconds.setdefault(pod.metadata.name,
                                          pod.metadata.deletion_grace_period_seconds)
        if _running(pod) and pod.metadata.name not in self.logs:
            self._follow(pod.metadata.name)

    def _follow(self, name: str) -> None:
        self.logs[name] = ""
        thread = threading.Thread(target=self._read_log, args=(name,), daemon=True)
        self._threads.append(thread)
        thread.start()

    def _read_log(self, name: str) -> None:
        # Ends when the container exits (the kubelet closes the stream).
        response = self.core.read_namespaced_pod_log(name, self.namespace, follow=True,
                                                     _preload_content=False)
        for chunk in response.stream():
            self.logs[name] += chunk.decode(errors="replace")


def _running(pod: client.V1Pod) -> bool:
    statuses = pod.status.container_statuses or []
    return bool(statuses and statuses[0].state.running)
