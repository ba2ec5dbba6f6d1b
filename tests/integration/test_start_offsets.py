"""A consumer never loses its place: the group starts where the subscription says when it is
created, before any consumer runs, and partitions added later are read from their beginning."""

from __future__ import annotations

from pathlib import Path

import pytest
from confluent_kafka import Consumer, ConsumerGroupTopicPartitions, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from conftest import Kube
from localstack import StackInfo
from localstack.consumers import ConsumerRunner
from resources import (
    CONSUMER_TEMPLATE,
    condition,
    create,
    event_posted,
    get,
    patch_spec,
    resource,
    wait_condition,
)
from support import eventually, unique

pytestmark = pytest.mark.usefixtures("operator")


def _produce(bootstrap: str, topic: str, partitions: list[int], per_partition: int) -> None:
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 5})
    for partition in partitions:
        for i in range(per_partition):
            producer.produce(topic, f"{partition}-{i}".encode(), partition=partition)
    assert producer.flush(30) == 0


def _log_ends(bootstrap: str, topic: str, partitions: int) -> dict[int, int]:
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": unique("probe")})
    try:
        return {p: consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1]
                for p in range(partitions)}
    finally:
        consumer.close()


def _replicas(kube: Kube, namespace: str) -> int:
    return int(kube.apps.read_namespaced_deployment("workers-consumer", namespace).spec.replicas)


def _world(kube: Kube, namespace: str, bootstrap: str, partitions: int, min_replicas: int) -> str:
    create(kube, namespace, resource("KafkaConnection", "local", {"bootstrapServers": [bootstrap]}))
    topic = unique("start")
    create(kube, namespace, resource("EventTopic", "work", {
        "connectionRef": {"name": "local"}, "topicName": topic, "partitions": partitions}))
    wait_condition(kube, namespace, "EventTopic", "work", reason="InSync")
    return topic


def _subscribe(kube: Kube, namespace: str, min_replicas: int) -> dict[str, object]:
    create(kube, namespace, resource("EventSubscription", "workers", {
        "connectionRef": {"name": "local"}, "topics": [{"eventTopic": "work"}],
        "startPosition": "Latest", "template": CONSUMER_TEMPLATE,
        "scaling": {"minReplicas": min_replicas, "maxReplicas": 3, "lagThreshold": 20,
                    "pollIntervalSeconds": 1, "cooldownSeconds": 5}}))
    return wait_condition(kube, namespace, "EventSubscription", "workers", reason="Running")


def test_latest_with_min_replicas_zero_wakes_on_what_is_produced_after_it_exists(
        kube: Kube, namespace: str, stack_info: StackInfo, tmp_path: Path) -> None:
    bootstrap = stack_info.kafka_bootstrap
    topic = _world(kube, namespace, bootstrap, partitions=3, min_replicas=0)
    _produce(bootstrap, topic, [0, 1, 2], 10)  # before the subscription: never for it
    before = _log_ends(bootstrap, topic, 3)
    body = _subscribe(kube, namespace, min_replicas=0)
    assert body["status"]["startOffsetsTime"] and body["status"]["startOffsetsCommitted"] is True
    assert _replicas(kube, namespace) == 0
    with ConsumerRunner(kube.core, namespace, "workers", tmp_path) as runner:
        _produce(bootstrap, topic, [0, 1, 2], 34)  # 102 after it: lag 102, threshold 20
        eventually(lambda: _replicas(kube, namespace) >= 1, timeout=30, what="woken from zero")
        expected = {(topic, p, o) for p in range(3) for o in range(before[p], before[p] + 34)}
        eventually(lambda: expected <= set(runner.processed()), timeout=60, what="all 102 processed")
        assert all(o >= before[p] for _, p, o in runner.processed()), "a message from before"
    assert (get(kube, namespace, "EventSubscription", "workers")["status"]["startOffsetsTime"]
            == body["status"]["startOffsetsTime"])  # set once


def test_a_group_with_offsets_keeps_them_and_since_nothing_was_committed_it_is_renewed(
        kube: Kube, namespace: str, stack_info: StackInfo, kafka_admin: AdminClient) -> None:
    # Offsets committed before the subscription existed (an earlier consumer of the group): its
    # start moves nothing and commits nothing, so the moment it was settled says nothing of
    # when Kafka's offset retention clock started; the retention guard renews the Empty group
    # at once instead of a retention period later (when Kafka could have expired them).
    bootstrap = stack_info.kafka_bootstrap
    topic = _world(kube, namespace, bootstrap, partitions=2, min_replicas=0)
    _produce(bootstrap, topic, [0, 1], 5)
    group, committed = f"{namespace}.workers", [TopicPartition(topic, 0, 2), TopicPartition(topic, 1, 3)]
    kafka_admin.alter_consumer_group_offsets(
        [ConsumerGroupTopicPartitions(group, committed)])[group].result(15)
    body = _subscribe(kube, namespace, min_replicas=0)
    assert body["status"]["startOffsetsTime"] and body["status"]["startOffsetsCommitted"] is False
    event_posted(kube, namespace, "workers", "OffsetsRenewed", timeout=60)
    listed = kafka_admin.list_consumer_group_offsets(
        [ConsumerGroupTopicPartitions(group, [TopicPartition(topic, p) for p in (0, 1)])])
    offsets = {tp.partition: tp.offset for tp in listed[group].result(15).topic_partitions}
    assert offsets == {0: 2, 1: 3}  # renewed where they were, never moved to the start


def test_partitions_added_later_are_read_from_their_beginning(
        kube: Kube, namespace: str, stack_info: StackInfo, kafka_admin: AdminClient,
        tmp_path: Path) -> None:
    bootstrap = stack_info.kafka_bootstrap
    topic = _world(kube, namespace, bootstrap, partitions=2, min_replicas=1)
    _subscribe(kube, namespace, min_replicas=1)
    with ConsumerRunner(kube.core, namespace, "workers", tmp_path) as runner:
        _produce(bootstrap, topic, [0, 1], 5)
        eventually(lambda: len(set(runner.processed())) == 10, timeout=60, what="consuming")
        patch_spec(kube, namespace, "EventTopic", "work", {"partitions": 4})
        eventually(lambda: len(kafka_admin.list_topics(topic, timeout=10).topics[topic].partitions)
                   == 4, timeout=30, what="partitions added")
        # Produced to the new partitions before any consumer was assigned them.
        _produce(bootstrap, topic, [2, 3], 20)
        expected = {(topic, p, o) for p in (2, 3) for o in range(20)}
        eventually(lambda: expected <= set(runner.processed()), timeout=90,
                   what="the new partitions read from their beginning")


def test_a_subscription_to_a_missing_topic_waits_with_a_reason_and_no_consumer(
        kube: Kube, namespace: str, stack_info: StackInfo, kafka_admin: AdminClient) -> None:
    create(kube, namespace, resource("KafkaConnection", "local",
                                     {"bootstrapServers": [stack_info.kafka_bootstrap]}))
    topic = unique("not-yet")
    create(kube, namespace, resource("EventSubscription", "workers", {
        "connectionRef": {"name": "local"}, "topics": [{"name": topic}],
        "template": CONSUMER_TEMPLATE, "scaling": {"minReplicas": 1}}))
    body = wait_condition(kube, namespace, "EventSubscription", "workers", status="False",
                          reason="StartOffsetsNotSet")
    assert topic in (condition(body) or {})["message"]
    assert not kube.apps.list_namespaced_deployment(namespace).items  # no consumer started
    kafka_admin.create_topics([NewTopic(topic, 2)])[topic].result(15)
    body = wait_condition(kube, namespace, "EventSubscription", "workers", reason="Running",
                          timeout=90)
    assert body["status"]["startOffsetsTime"]
