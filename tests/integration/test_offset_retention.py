"""The retention guard on a broker whose offset retention is one minute: a subscription whose
group has no consumer keeps its committed offsets past the retention period (renewed twice, at
half the period), while an unguarded group on the same broker loses them; woken afterwards, it
resumes where it was."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition

from conftest import Kube
from localstack.consumers import ConsumerRunner
from localstack.extra_broker import extra_broker
from resources import CONSUMER_TEMPLATE, create, event_posted, get, resource, wait_condition
from support import eventually, unique

pytestmark = pytest.mark.usefixtures("operator")

RETENTION_SECONDS = 60
# Past one retention period and Kafka's 2 s expiry check: the guarded offsets outlive the moment
# Kafka would have expired their first commit, and two renewals (at half the period) fall inside.
WATCHED_SECONDS = 75


@pytest.fixture(scope="module")
def short_retention(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A broker of its own that expires an idle group's offsets after one minute (the shared
    broker keeps Kafka's default)."""
    with extra_broker(tmp_path_factory.mktemp("short-retention"), {
            "offsets.retention.minutes": str(RETENTION_SECONDS // 60),
            "offsets.retention.check.interval.ms": "2000"}) as bootstrap:
        yield bootstrap


def _produce(bootstrap: str, topic: str, per_partition: int) -> None:
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 5})
    for partition in (0, 1):
        for i in range(per_partition):
            producer.produce(topic, f"{partition}-{i}".encode(), partition=partition)
    assert producer.flush(30) == 0


def _committed(bootstrap: str, group: str, topic: str) -> dict[int, int]:
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": group})
    try:
        found = consumer.committed([TopicPartition(topic, p) for p in (0, 1)], timeout=10)
        return {tp.partition: tp.offset for tp in found if tp.offset >= 0}
    finally:
        consumer.close()


def _consume_and_leave(bootstrap: str, group: str, topic: str, count: int) -> None:
    """An unguarded classic group: reads, commits, leaves (Empty from now on)."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": group,
                         "auto.offset.reset": "earliest", "enable.auto.commit": False})
    consumer.subscribe([topic])
    try:
        read = 0
        deadline = time.monotonic() + 30
        while read < count and time.monotonic() < deadline:
            message = consumer.poll(0.5)
            read += message is not None and message.error() is None
        assert read == count
        consumer.commit(asynchronous=False)
    finally:
        consumer.close()


def test_a_quiet_group_keeps_its_offsets_while_an_unguarded_one_loses_them(
        kube: Kube, namespace: str, short_retention: str, tmp_path: Path) -> None:
    bootstrap = short_retention
    create(kube, namespace, resource("KafkaConnection", "short", {"bootstrapServers": [bootstrap]}))
    topic = unique("quiet")
    create(kube, namespace, resource("EventTopic", "quiet", {
        "connectionRef": {"name": "short"}, "topicName": topic, "partitions": 2}))
    wait_condition(kube, namespace, "EventTopic", "quiet", reason="InSync")
    _produce(bootstrap, topic, 10)  # before the subscription: never processed by it
    create(kube, namespace, resource("EventSubscription", "workers", {
        "connectionRef": {"name": "short"}, "topics": [{"eventTopic": "quiet"}],
        "startPosition": "Latest", "template": CONSUMER_TEMPLATE,
        "scaling": {"minReplicas": 0, "maxReplicas": 2, "lagThreshold": 10,
                    "pollIntervalSeconds": 2, "cooldownSeconds": 5}}))
    body = wait_condition(kube, namespace, "EventSubscription", "workers", reason="Running")
    group = body["status"]["consumerGroup"]
    control = unique("unguarded")
    _consume_and_leave(bootstrap, control, topic, 20)
    kept = {0: 10, 1: 10}
    assert _committed(bootstrap, group, topic) == kept
    assert _committed(bootstrap, control, topic) == kept

    started, control_lost = time.monotonic(), None
    while (elapsed := time.monotonic() - started) < WATCHED_SECONDS:
        assert _committed(bootstrap, group, topic) == kept, f"guarded offsets lost after {elapsed:.0f}s"
        if control_lost is None and not _committed(bootstrap, control, topic):
            control_lost = elapsed
        time.sleep(2)
    assert control_lost is not None, "the unguarded group kept its offsets: retention not short"
    assert event_posted(kube, namespace, "workers", "OffsetsRenewed").count("OffsetsRenewed") >= 2
    assert get(kube, namespace, "EventSubscription", "workers")["status"]["offsetsRenewedTime"]

    with ConsumerRunner(kube.core, namespace, "workers", tmp_path) as runner:
        _produce(bootstrap, topic, 15)  # lag 30 over a threshold of 10: wakes from zero
        expected = {(topic, p, o) for p in (0, 1) for o in range(10, 25)}
        eventually(lambda: expected <= set(runner.processed()), timeout=90,
                   what="the new messages processed from the kept offsets")
        assert all(o >= 10 for _, _, o in runner.processed()), "re-processed from the start"
