"""The chart's operator as a real container on the real node: the image built from the
Dockerfile, started, probed and restarted by a kubelet; it reconciles a topic and a
subscription."""

from __future__ import annotations

import json
import socket
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from confluent_kafka.admin import AdminClient
from kubernetes import client

from conftest import Kube, fresh_namespace
from helm import helm
from kubectl import kubectl_ok
from localstack import LocalStack, StackInfo
from localstack.node import NodePaths, ctr
from manifests import CHART
from realnode import api_server_env, placement
from resources import CONSUMER_TEMPLATE, create, resource, wait_condition
from support import eventually, unique

RENDERER = Path(__file__).resolve().parents[1] / "host_network_renderer.py"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture
def release(real_node: StackInfo, crds: StackInfo, kube: Kube) -> Iterator[tuple[str, str, str]]:
    """(release, its namespace, the namespace it watches): the chart installed with the image
    built from the Dockerfile, on the real node."""
    image = LocalStack().node_image(real_node, "operator")
    repository, tag = image.rsplit(":", 1)
    on_node = placement()
    labels = {"pod-security.kubernetes.io/warn": "restricted"}
    with fresh_namespace(kube, "nodesys", labels) as home, fresh_namespace(kube, "nodew") as watched:
        name = unique("node")
        # The pod shares the host's network: its port is a free one, on the loopback only.
        env = [*api_server_env(real_node), {"name": "EVENTSUB_METRICS_HOST", "value": "127.0.0.1"}]
        installed = helm(
            real_node, "install", name, str(CHART), "--namespace", home,
            "--set", f"image.repository={repository}", "--set", f"image.tag={tag}",
            "--set", "image.pullPolicy=Never", "--set", f"watchNamespaces={{{watched}}}",
            "--set", f"metrics.port={_free_port()}",
            "--set-json", f"nodeSelector={json.dumps(on_node['nodeSelector'])}",
            "--set-json", f"tolerations={json.dumps(on_node['tolerations'])}",
            "--set-json", f"extraEnv={json.dumps(env)}",
            "--post-renderer", sys.executable, "--post-renderer-args", str(RENDERER))
        assert installed.returncode == 0, installed.stderr
        try:
            yield name, home, watched, installed.stderr
        finally:
            helm(real_node, "uninstall", name, "--namespace", home, "--wait")


def _operator_pod(kube: Kube, namespace: str) -> client.V1Pod | None:
    pods = kube.core.list_namespaced_pod(namespace).items
    for pod in pods:
        statuses = pod.status.container_statuses or []
        if statuses and statuses[0].ready:
            return pod
    return None


def test_the_chart_runs_the_dockerfile_image_on_the_real_node(
        real_node: StackInfo, kube: Kube, kafka_admin: AdminClient,
        release: tuple[str, str, str, str]) -> None:
    name, home, watched, warnings = release
    # Pod Security "restricted" objects to the chart's Deployment for one thing only: the host's
    # network, which the real node's pods share for want of a pod network (helm logs the
    # API server's warning quoted).
    assert r'would violate PodSecurity \"restricted:latest\": host namespaces (hostNetwork=true)"' \
        in warnings, warnings
    # The kubelet's startup and readiness probes pass: the container is ready.
    pod = eventually(lambda: _operator_pod(kube, home), 180, what="the operator pod ready")
    assert pod.spec.node_name == "127.0.0.1"
    assert pod.status.container_statuses[0].image == LocalStack().node_image(real_node, "operator")
    lease = client.CoordinationV1Api(kube.api)
    eventually(lambda: lease.read_namespaced_lease(f"{name}-eventsub-operator", home).spec
               .holder_identity.startswith(f"{pod.metadata.name}_"), 60, what="the operator leads")
    assert "became the leader" in kubectl_ok(real_node, "logs", "-n", home, pod.metadata.name)

    create(kube, watched, resource("KafkaConnection", "kafka", {
        "bootstrapServers": [real_node.kafka_bootstrap]}))
    wait_condition(kube, watched, "KafkaConnection", "kafka", reason="Connected")
    topic = unique("node")
    create(kube, watched, resource("EventTopic", "first", {
        "connectionRef": {"name": "kafka"}, "topicName": topic, "partitions": 2}))
    wait_condition(kube, watched, "EventTopic", "first", reason="InSync")
    assert topic in kafka_admin.list_topics(timeout=10).topics
    create(kube, watched, resource("EventSubscription", "readers", {
        "connectionRef": {"name": "kafka"}, "topics": [{"eventTopic": "first"}],
        "template": CONSUMER_TEMPLATE, "scaling": {"minReplicas": 0, "maxReplicas": 2}}))
    body = wait_condition(kube, watched, "EventSubscription", "readers", reason="Running")
    assert body["status"]["consumerGroup"]
    assert kube.apps.read_namespaced_deployment("readers-consumer", watched).spec.replicas == 0

    # Its container killed, the kubelet starts it again; it leads again and carries on.
    def container_id() -> str | None:
        status = kube.core.read_namespaced_pod(pod.metadata.name, home).status
        found: str | None = status.container_statuses[0].container_id
        return found

    running = eventually(container_id, 30, what="the container's id in the pod's status")
    ctr(NodePaths(Path(real_node.run_dir) / "node"), "tasks", "kill", "--signal=SIGKILL",
        running.removeprefix("containerd://"))

    def restarted() -> bool:
        current = kube.core.read_namespaced_pod(pod.metadata.name, home).status.container_statuses[0]
        return bool(current.restart_count >= 1 and current.ready)

    eventually(restarted, 180, what="the operator container restarted and ready")
    second = unique("node")
    create(kube, watched, resource("EventTopic", "second", {
        "connectionRef": {"name": "kafka"}, "topicName": second, "partitions": 1}))
    wait_condition(kube, watched, "EventTopic", "second", reason="InSync", timeout=120)
    assert second in kafka_admin.list_topics(timeout=10).topics
