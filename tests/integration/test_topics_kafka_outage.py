"""Kafka unreachable: reported, retried, isolated to its connection, and converged afterwards.

Stops and restarts the shared broker, so it lives in its own module.
"""

from __future__ import annotations

import socket
import time
from pathlib import Path

import pytest
from confluent_kafka.admin import AdminClient, ConfigResource, ResourceType

from conftest import Kube
from localstack import LocalStack, StackInfo
from resources import (
    condition,
    create,
    delete,
    event_posted,
    get,
    gone,
    resource,
    wait_condition,
)
from support import eventually, unique

pytestmark = pytest.mark.usefixtures("operator")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _topic(name: str, topic: str, connection: str = "local", **spec: object) -> dict[str, object]:
    return resource("EventTopic", name, {"connectionRef": {"name": connection}, "topicName": topic,
                                         **spec})


def test_broker_restart_while_reconciling_50_topics(
        kube: Kube, namespace: str, stack_info: StackInfo, kafka_admin: AdminClient) -> None:
    create(kube, namespace, resource("KafkaConnection", "local",
                                     {"bootstrapServers": [stack_info.kafka_bootstrap]}))
    wait_condition(kube, namespace, "KafkaConnection", "local", reason="Connected")
    prefix = unique("outage")
    specs = {f"{prefix}-{i}": {"partitions": 1 + i % 4, "config": {"retention.ms": str(60000 + i)}}
             for i in range(50)}
    stack = LocalStack(Path(stack_info.run_dir))
    for i, (topic, spec) in enumerate(specs.items()):
        create(kube, namespace, _topic(f"o-{i}", topic, **spec))
        if i == 20:
            stack.stop_kafka(stack_info)  # in the middle of the burst
    try:
        body = wait_condition(kube, namespace, "EventTopic", "o-49", status="False",
                              reason="KafkaUnavailable", timeout=60)
        assert "Kafka" in condition(body)["message"]  # type: ignore[index]
        wait_condition(kube, namespace, "KafkaConnection", "local", status="False",
                       reason="KafkaUnavailable", timeout=30)
    finally:
        stack.start_kafka(stack_info)
    for i in range(50):
        wait_condition(kube, namespace, "EventTopic", f"o-{i}", reason="InSync", timeout=120)

    listed = [t for t in kafka_admin.list_topics(timeout=10).topics if t.startswith(prefix)]
    assert sorted(listed) == sorted(specs)  # each exactly once
    metadata = kafka_admin.list_topics(timeout=10).topics
    resources = [ConfigResource(ResourceType.TOPIC, t) for t in specs]
    configs = kafka_admin.describe_configs(resources)
    for resource_ in resources:
        spec = specs[resource_.name]
        assert len(metadata[resource_.name].partitions) == spec["partitions"]
        entries = configs[resource_].result(10)
        assert entries["retention.ms"].value == spec["config"]["retention.ms"]  # type: ignore[index]


def test_unreachable_cluster_is_isolated_and_its_deletions_do_not_wedge(
        kube: Kube, namespace: str, stack_info: StackInfo, kafka_admin: AdminClient) -> None:
    create(kube, namespace, resource("KafkaConnection", "dead",
                                     {"bootstrapServers": [f"127.0.0.1:{_free_port()}"]}))
    create(kube, namespace, resource("KafkaConnection", "live",
                                     {"bootstrapServers": [stack_info.kafka_bootstrap]}))
    create(kube, namespace, _topic("lost", unique("lost"), connection="dead",
                                   deletionPolicy="Delete"))
    served = unique("served")
    create(kube, namespace, _topic("served", served, connection="live"))
    wait_condition(kube, namespace, "KafkaConnection", "dead", status="False",
                   reason="KafkaUnavailable")
    wait_condition(kube, namespace, "EventTopic", "lost", status="False", reason="KafkaUnavailable")
    wait_condition(kube, namespace, "EventTopic", "served", reason="InSync")
    assert served in kafka_admin.list_topics(timeout=10).topics

    # Deleting a Delete-policy topic of an unreachable cluster waits for the deadline, then
    # keeps the (unreachable) topic and releases the resource: the namespace is not wedged.
    delete(kube, namespace, "EventTopic", "lost")
    assert get(kube, namespace, "EventTopic", "lost")["metadata"]["deletionTimestamp"]
    eventually(lambda: gone(kube, namespace, "EventTopic", "lost"), timeout=90,
               what="EventTopic released after the deletion deadline")
    event_posted(kube, namespace, "lost", "TopicDeletionPending")
    event_posted(kube, namespace, "lost", "TopicRetained")


def test_broker_down_during_scaling_holds_replicas(
        kube: Kube, namespace: str, stack_info: StackInfo) -> None:
    from confluent_kafka import Producer

    create(kube, namespace, resource("KafkaConnection", "local",
                                     {"bootstrapServers": [stack_info.kafka_bootstrap]}))
    topic = unique("held")
    create(kube, namespace, _topic("held", topic, partitions=4))
    wait_condition(kube, namespace, "EventTopic", "held", reason="InSync")
    create(kube, namespace, resource("EventSubscription", "held", {
        "connectionRef": {"name": "local"}, "topics": [{"eventTopic": "held"}],
        "startPosition": "Earliest",
        "scaling": {"minReplicas": 0, "maxReplicas": 4, "lagThreshold": 100,
                    "pollIntervalSeconds": 1, "cooldownSeconds": 2,
                    "scaleDownStabilizationSeconds": 2},
        "template": {"spec": {"containers": [{"name": "c", "image": "example/consumer:1"}]}}}))
    producer = Producer({"bootstrap.servers": stack_info.kafka_bootstrap})
    for i in range(300):  # nobody consumes: lag 300 -> 3 replicas, and it stays
        producer.produce(topic, b"x", partition=i % 4)
    assert producer.flush(30) == 0

    def replicas() -> int:
        return int(kube.apps.read_namespaced_deployment("held-consumer", namespace).spec.replicas)

    eventually(lambda: replicas() == 3, timeout=30, what="scaled to 3 on lag 300")
    stack = LocalStack(Path(stack_info.run_dir))
    stack.stop_kafka(stack_info)
    try:
        wait_condition(kube, namespace, "EventSubscription", "held", type_="LagAvailable",
                       status="False", reason="LagUnavailable", timeout=60)
        seen = set()
        for _ in range(8):  # several polls, past the windows and the cooldown: still held
            seen.add(replicas())
            time.sleep(1)
        assert seen == {3}
    finally:
        stack.start_kafka(stack_info)
    wait_condition(kube, namespace, "EventSubscription", "held", type_="LagAvailable",
                   reason="LagRead", timeout=90)
    assert replicas() == 3
    event_posted(kube, namespace, "held", "LagUnavailable")
