"""EventTopic and KafkaConnection against the real broker and API server, with the operator running."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import (
    AdminClient,
    AlterConfigOpType,
    ConfigEntry,
    ConfigResource,
    NewPartitions,
    NewTopic,
    ResourceType,
)
from kubernetes import client

from conftest import Kube
from localstack import StackInfo
from operator_process import OperatorProcess
from resources import (
    condition,
    create,
    delete,
    event_posted,
    event_reasons,
    events,
    get,
    gone,
    patch_spec,
    put_secret,
    resource,
    wait_condition,
)
from support import eventually, unique

pytestmark = pytest.mark.usefixtures("operator")


def _connection(kube: Kube, namespace: str, bootstrap: str, name: str = "local",
                **spec: Any) -> dict[str, Any]:
    create(kube, namespace, resource("KafkaConnection", name, {"bootstrapServers": [bootstrap],
                                                               **spec}))
    return wait_condition(kube, namespace, "KafkaConnection", name, reason="Connected")


@pytest.fixture
def connection(kube: Kube, namespace: str, stack_info: StackInfo) -> str:
    _connection(kube, namespace, stack_info.kafka_bootstrap)
    return "local"


def _topic(name: str, connection: str = "local", **spec: Any) -> dict[str, Any]:
    return resource("EventTopic", name, {"connectionRef": {"name": connection}, **spec})


def _kafka_topic(admin: AdminClient, name: str) -> tuple[int, dict[str, str]] | None:
    """(partitions, topic-level overrides) as Kafka has them, or None."""
    metadata = admin.list_topics(timeout=10).topics.get(name)
    if metadata is None or metadata.error is not None:
        return None
    resource_ = ConfigResource(ResourceType.TOPIC, name)
    entries = admin.describe_configs([resource_])[resource_].result(10)
    overrides = {k: e.value for k, e in entries.items() if e.source == 1}  # DYNAMIC_TOPIC_CONFIG
    return len(metadata.partitions), overrides


def _alter(admin: AdminClient, name: str, **settings: str | None) -> None:
    entries = [ConfigEntry(k.replace("_", "."), v, incremental_operation=AlterConfigOpType.SET
                           if v is not None else AlterConfigOpType.DELETE)
               for k, v in settings.items()]
    resource_ = ConfigResource(ResourceType.TOPIC, name, incremental_configs=entries)
    admin.incremental_alter_configs([resource_])[resource_].result(10)


def test_topic_is_created_with_its_spec(kube: Kube, namespace: str, connection: str,
                                        kafka_admin: AdminClient) -> None:
    name = unique("orders")
    create(kube, namespace, _topic("orders", topicName=name, partitions=4,
                                   config={"retention.ms": "3600000", "cleanup.policy": "delete"}))
    body = wait_condition(kube, namespace, "EventTopic", "orders", reason="InSync")
    assert _kafka_topic(kafka_admin, name) == (4, {"retention.ms": "3600000",
                                                   "cleanup.policy": "delete"})
    status = body["status"]
    assert (status["topicName"], status["partitions"], status["replicationFactor"]) == (name, 4, 1)
    assert status["topicId"] and status["config"] == {"retention.ms": "3600000",
                                                      "cleanup.policy": "delete"}
    assert status["observedGeneration"] == body["metadata"]["generation"]
    event_posted(kube, namespace, "orders", "TopicCreated")


def test_existing_topic_is_adopted_and_its_differences_reconciled(
        kube: Kube, namespace: str, connection: str, kafka_admin: AdminClient) -> None:
    name = unique("legacy")
    kafka_admin.create_topics([NewTopic(name, 2, 1, config={
        "retention.ms": "1000", "segment.bytes": "1048576"})])[name].result(10)
    create(kube, namespace, _topic("legacy", topicName=name, partitions=3,
                                   config={"retention.ms": "2000"}))
    wait_condition(kube, namespace, "EventTopic", "legacy", reason="InSync")
    assert _kafka_topic(kafka_admin, name) == (3, {"retention.ms": "2000"})
    event_posted(kube, namespace, "legacy", "TopicAdopted")
    assert "TopicCreated" not in event_reasons(kube, namespace, "legacy")


def test_partitions_grow_and_config_changes_apply_incrementally(
        kube: Kube, namespace: str, connection: str, kafka_admin: AdminClient) -> None:
    name = unique("grow")
    create(kube, namespace, _topic("grow", topicName=name, partitions=2,
                                   config={"retention.ms": "1000", "max.message.bytes": "100000"}))
    wait_condition(kube, namespace, "EventTopic", "grow", reason="InSync")
    # a JSON merge patch: null removes a key from the spec's config
    patch_spec(kube, namespace, "EventTopic", "grow", {
        "partitions": 5, "config": {"retention.ms": "5000", "max.message.bytes": None,
                                    "cleanup.policy": "compact"}})
    wait_condition(kube, namespace, "EventTopic", "grow", reason="InSync")
    assert _kafka_topic(kafka_admin, name) == (5, {"retention.ms": "5000", "cleanup.policy": "compact"})
    event_posted(kube, namespace, "grow", "TopicUpdated")


def test_out_of_band_config_drift_is_reverted_with_an_event(
        kube: Kube, namespace: str, connection: str, kafka_admin: AdminClient) -> None:
    name = unique("drift")
    create(kube, namespace, _topic("drift", topicName=name, config={"retention.ms": "86400000"}))
    wait_condition(kube, namespace, "EventTopic", "drift", reason="InSync")
    _alter(kafka_admin, name, retention_ms="1000", segment_ms="600000")
    eventually(lambda: _kafka_topic(kafka_admin, name) == (1, {"retention.ms": "86400000"}),
               timeout=30, what="drift reverted")
    # The Event is posted after Kafka took the change back: it may trail what Kafka shows.
    drift_events = eventually(lambda: [e for e in events(kube, namespace)
                                       if e.reason == "DriftReverted"], timeout=15,
                              what="DriftReverted Event")
    assert "retention.ms 1000 -> 86400000" in drift_events[0].message
    assert "segment.ms 600000 -> (default)" in drift_events[0].message


def test_partition_decrease_and_replication_change_are_refused(
        kube: Kube, namespace: str, connection: str, kafka_admin: AdminClient) -> None:
    name = unique("refuse")
    create(kube, namespace, _topic("refuse", topicName=name, partitions=2))
    wait_condition(kube, namespace, "EventTopic", "refuse", reason="InSync")
    # Out of band the topic grows to 4: the spec's 2 would be a decrease, which Kafka cannot do.
    kafka_admin.create_partitions([NewPartitions(name, 4)])[name].result(10)
    body = wait_condition(kube, namespace, "EventTopic", "refuse", status="False",
                          reason="NotSupported", timeout=30)
    assert "Kafka cannot remove partitions" in condition(body)["message"]  # type: ignore[index]
    patch_spec(kube, namespace, "EventTopic", "refuse", {"partitions": 4, "replicationFactor": 3})
    body = wait_condition(kube, namespace, "EventTopic", "refuse", status="False",
                          reason="NotSupported")
    assert "spec.replicationFactor is 3 but the topic has 1" in condition(body)["message"]  # type: ignore[index]
    assert _kafka_topic(kafka_admin, name) == (4, {})
    event_posted(kube, namespace, "refuse", "NotSupported")


def test_two_resources_for_one_topic_the_older_keeps_it(
        kube: Kube, namespace: str, connection: str, stack_info: StackInfo,
        kafka_admin: AdminClient) -> None:
    name = unique("shared")
    create(kube, namespace, _topic("first", topicName=name, partitions=2))
    wait_condition(kube, namespace, "EventTopic", "first", reason="InSync")
    create(kube, namespace, _topic("second", topicName=name, partitions=6))
    body = wait_condition(kube, namespace, "EventTopic", "second", status="False",
                          reason="ResourceConflict")
    assert f"{namespace}/first" in condition(body)["message"]  # type: ignore[index]
    # Another namespace, another KafkaConnection to the same cluster: still the same topic.
    other = unique("t")
    kube.core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=other)))
    try:
        _connection(kube, other, stack_info.kafka_bootstrap)
        create(kube, other, _topic("third", topicName=name, partitions=8))
        wait_condition(kube, other, "EventTopic", "third", status="False", reason="ResourceConflict")
    finally:
        kube.core.delete_namespace(other)
    assert _kafka_topic(kafka_admin, name) == (2, {})


def _produce(bootstrap: str, topic: str, count: int) -> None:
    producer = Producer({"bootstrap.servers": bootstrap})
    for i in range(count):
        producer.produce(topic, f"m{i}".encode())
    assert producer.flush(30) == 0


def _count_messages(bootstrap: str, topic: str) -> int:
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": unique("count")})
    try:
        low, high = consumer.get_watermark_offsets(TopicPartition(topic, 0), timeout=10)
        return int(high - low)
    finally:
        consumer.close()


def test_retain_keeps_the_topic_and_its_data(kube: Kube, namespace: str, connection: str,
                                             stack_info: StackInfo, kafka_admin: AdminClient) -> None:
    name = unique("kept")
    create(kube, namespace, _topic("kept", topicName=name))
    body = wait_condition(kube, namespace, "EventTopic", "kept", reason="InSync")
    assert not body["metadata"].get("finalizers")  # Retain: deleting never waits on anything
    _produce(stack_info.kafka_bootstrap, name, 25)
    delete(kube, namespace, "EventTopic", "kept")
    eventually(lambda: gone(kube, namespace, "EventTopic", "kept"), what="EventTopic gone")
    assert _kafka_topic(kafka_admin, name) == (1, {})
    assert _count_messages(stack_info.kafka_bootstrap, name) == 25


def test_delete_policy_deletes_the_topic(kube: Kube, namespace: str, connection: str,
                                         kafka_admin: AdminClient) -> None:
    name = unique("doomed")
    create(kube, namespace, _topic("doomed", topicName=name, deletionPolicy="Delete"))
    wait_condition(kube, namespace, "EventTopic", "doomed", reason="InSync")
    eventually(lambda: get(kube, namespace, "EventTopic", "doomed")["metadata"].get("finalizers"),
               what="finalizer")
    delete(kube, namespace, "EventTopic", "doomed")
    eventually(lambda: gone(kube, namespace, "EventTopic", "doomed"), what="EventTopic gone")
    eventually(lambda: _kafka_topic(kafka_admin, name) is None, what="Kafka topic deleted")


def test_delete_policy_with_the_topic_already_gone(kube: Kube, namespace: str, connection: str,
                                                   kafka_admin: AdminClient) -> None:
    name = unique("vanished")
    create(kube, namespace, _topic("vanished", topicName=name, deletionPolicy="Delete"))
    wait_condition(kube, namespace, "EventTopic", "vanished", reason="InSync")
    kafka_admin.delete_topics([name])[name].result(10)
    delete(kube, namespace, "EventTopic", "vanished")
    eventually(lambda: gone(kube, namespace, "EventTopic", "vanished"), what="EventTopic gone")
    eventually(lambda: _kafka_topic(kafka_admin, name) is None, what="Kafka topic absent")


def test_a_topic_deleted_out_of_band_is_recreated(kube: Kube, namespace: str, connection: str,
                                                  kafka_admin: AdminClient) -> None:
    name = unique("phoenix")
    create(kube, namespace, _topic("phoenix", topicName=name, partitions=3))
    first = wait_condition(kube, namespace, "EventTopic", "phoenix", reason="InSync")
    kafka_admin.delete_topics([name])[name].result(10)
    eventually(lambda: get(kube, namespace, "EventTopic", "phoenix")["status"].get("topicId")
               not in (None, first["status"]["topicId"]), timeout=30, what="new topic id")
    assert _kafka_topic(kafka_admin, name) == (3, {})
    event_posted(kube, namespace, "phoenix", "TopicRecreated")


def test_invalid_kafka_config_is_reported_and_recovers(kube: Kube, namespace: str, connection: str,
                                                       kafka_admin: AdminClient) -> None:
    name = unique("badconf")
    create(kube, namespace, _topic("badconf", topicName=name, config={"retention.mss": "1"}))
    body = wait_condition(kube, namespace, "EventTopic", "badconf", status="False",
                          reason="InvalidConfig")
    assert "retention.mss" in condition(body)["message"]  # type: ignore[index]
    patch_spec(kube, namespace, "EventTopic", "badconf", {"config": {"retention.mss": None,
                                                                     "retention.ms": "1000"}})
    wait_condition(kube, namespace, "EventTopic", "badconf", reason="InSync")
    assert _kafka_topic(kafka_admin, name) == (1, {"retention.ms": "1000"})


def test_missing_connection_is_reported_then_converges(kube: Kube, namespace: str,
                                                       stack_info: StackInfo) -> None:
    create(kube, namespace, _topic("early", connection="later", topicName=unique("early")))
    body = wait_condition(kube, namespace, "EventTopic", "early", status="False",
                          reason="ConnectionNotFound")
    assert "KafkaConnection" in condition(body)["message"]  # type: ignore[index]
    _connection(kube, namespace, stack_info.kafka_bootstrap, name="later")
    wait_condition(kube, namespace, "EventTopic", "early", reason="InSync")


def _secret(kube: Kube, namespace: str, name: str, username: str, password: str) -> None:
    put_secret(kube, namespace, name, {"username": username, "password": password})


def test_sasl_scram_connection_never_leaks_the_password(
        kube: Kube, namespace: str, stack_info: StackInfo, operator: OperatorProcess,
        kafka_admin: AdminClient) -> None:
    wrong = f"wrong-{unique('pw')}"
    _secret(kube, namespace, "kafka-user", stack_info.sasl_username, wrong)
    create(kube, namespace, resource("KafkaConnection", "scram", {
        "bootstrapServers": [stack_info.kafka_sasl_bootstrap], "securityProtocol": "SASL_PLAINTEXT",
        "sasl": {"mechanism": "SCRAM-SHA-512", "secretName": "kafka-user"}}))
    body = wait_condition(kube, namespace, "KafkaConnection", "scram", status="False",
                          reason="AuthenticationFailed")
    assert "SCRAM-SHA-512" in condition(body)["message"]  # type: ignore[index]
    # The Secret is fixed: the next probe picks it up.
    _secret(kube, namespace, "kafka-user", stack_info.sasl_username, stack_info.sasl_password)
    body = wait_condition(kube, namespace, "KafkaConnection", "scram", reason="Connected")
    assert body["status"]["brokerCount"] == 1 and body["status"]["clusterId"]
    name = unique("secure")
    create(kube, namespace, _topic("secure", connection="scram", topicName=name))
    wait_condition(kube, namespace, "EventTopic", "secure", reason="InSync")
    assert _kafka_topic(kafka_admin, name) == (1, {})

    seen = [operator.log()]
    seen += [f"{e.reason} {e.message}" for e in events(kube, namespace)]
    seen += [str(get(kube, namespace, kind, n).get("status"))
             for kind, n in (("KafkaConnection", "scram"), ("EventTopic", "secure"))]
    for text in seen:
        assert wrong not in text and stack_info.sasl_password not in text


def test_many_topics_reach_kafka_in_batched_admin_calls(
        kube: Kube, namespace: str, connection: str, operator: OperatorProcess,
        kafka_admin: AdminClient) -> None:
    prefix = unique("bulk")
    names = [f"{prefix}-{i}" for i in range(60)]
    for i, name in enumerate(names):
        create(kube, namespace, _topic(f"bulk-{i}", topicName=name, partitions=2))
    for i in range(len(names)):
        wait_condition(kube, namespace, "EventTopic", f"bulk-{i}", reason="InSync")
    existing = kafka_admin.list_topics(timeout=10).topics
    assert all(len(existing[n].partitions) == 2 for n in names)
    creates = [line for line in operator.log().splitlines()
               if f"on {namespace}/local; Kafka admin requests:" in line and "create topics" in line]
    # 60 topics created one by one (as kubectl apply does) reach Kafka in a few create requests:
    # how many depends on how the watch events arrive, so only "far fewer than topics" is checked.
    calls = sum(int(line.split("create topics ")[1].split(",")[0]) for line in creates)
    assert 1 <= calls <= len(names) // 3, creates
    largest = max(int(line.split("pass over ")[1].split(" ")[0]) for line in creates)
    assert largest >= 5, creates
    # Each is announced once: the broker shows a new topic a while after Kafka took it, and a
    # pass that does not see it yet neither creates it again nor announces it again.
    def announced() -> Counter[str]:
        return Counter(e.involved_object.name for e in events(kube, namespace)
                       if e.reason == "TopicCreated")
    eventually(lambda: len(announced()) == len(names), what="a TopicCreated Event per topic")
    assert set(announced().values()) == {1}, announced()
