"""Consumers decode with the registry: real consumer processes (the stack's consumer runner,
eventsub.consumer's run_decoded) read an Avro topic and a JSON Schema topic, get values written
before and after a compatible schema change decoded, and a message that does not decode lands in
the dead-letter topic with the reason."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from confluent_kafka import Consumer, Producer

from conftest import Kube
from eventsub.consumer import registry_client
from localstack import StackInfo
from localstack.consumers import ConsumerRunner
from resources import CONSUMER_TEMPLATE, create, get, patch_spec, resource, wait_condition
from schema_cases import A_B_DEF, J_CLOSED, J_CLOSED_B, A, serialize
from support import eventually, unique

pytestmark = pytest.mark.usefixtures("operator")


def _version(kube: Kube, namespace: str, name: str) -> int | None:
    body = wait_condition(kube, namespace, "EventTopic", name, reason="InSync")
    return int(((body.get("status") or {}).get("schema") or {}).get("value", {}).get("version") or 0)


def _dead_letters(bootstrap: str, topic: str) -> list[dict[str, str]]:
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": unique("dlq-reader"),
                         "auto.offset.reset": "earliest"})
    consumer.subscribe([topic])
    found: list[dict[str, str]] = []
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not found:
        message = consumer.poll(0.5)
        if message is not None and message.error() is None:
            found.append({k: (v or b"").decode() for k, v in message.headers() or []})
    consumer.close()
    return found


def test_consumers_decode_old_and_new_values_and_park_undecodable(
        kube: Kube, namespace: str, stack_info: StackInfo, tmp_path: Path) -> None:
    create(kube, namespace, resource("KafkaConnection", "local", {
        "bootstrapServers": [stack_info.kafka_bootstrap],
        "schemaRegistry": {"url": stack_info.registry_url}}))
    orders, clicks = unique("orders"), unique("clicks")
    for name, topic, type_, schema in (("orders", orders, "Avro", A),
                                       ("clicks", clicks, "JsonSchema", J_CLOSED)):
        create(kube, namespace, resource("EventTopic", name, {
            "connectionRef": {"name": "local"}, "topicName": topic,
            "schema": {"value": {"type": type_, "inline": schema}}}))
    for name in ("orders", "clicks"):
        assert _version(kube, namespace, name) == 1
    create(kube, namespace, resource("EventSubscription", "readers", {
        "connectionRef": {"name": "local"}, "topics": [{"eventTopic": "orders"}, {"eventTopic": "clicks"}],
        "startPosition": "Earliest", "scaling": {"mode": "Manual", "minReplicas": 1},
        "deadLetterTopic": f"{orders}.dlq", "template": CONSUMER_TEMPLATE}))
    wait_condition(kube, namespace, "EventSubscription", "readers", reason="Running")
    deployment = kube.apps.read_namespaced_deployment("readers-consumer", namespace)
    env = {e.name: e.value for e in deployment.spec.template.spec.containers[0].env}
    assert env["EVENTSUB_SCHEMA_REGISTRY_URL"] == stack_info.registry_url
    assert json.loads(env["EVENTSUB_SCHEMAS"])[orders] == {
        "value": {"subject": f"{orders}-value", "type": "Avro"}}

    registry = registry_client({"EVENTSUB_SCHEMA_REGISTRY_URL": stack_info.registry_url})
    producer = Producer({"bootstrap.servers": stack_info.kafka_bootstrap})
    with ConsumerRunner(kube.core, namespace, "readers", tmp_path) as runner:
        producer.produce(orders, serialize(registry, orders, "Avro", A, {"id": "o-1"}))
        producer.produce(clicks, serialize(registry, clicks, "JsonSchema", J_CLOSED, {"id": "c-1"}))
        assert producer.flush(30) == 0
        # Compatible changes: a field with a default, an optional property.
        patch_spec(kube, namespace, "EventTopic", "orders",
                   {"schema": {"value": {"type": "Avro", "inline": A_B_DEF}}})
        patch_spec(kube, namespace, "EventTopic", "clicks",
                   {"schema": {"value": {"type": "JsonSchema", "inline": J_CLOSED_B}}})
        for name in ("orders", "clicks"):
            eventually(lambda n=name: _version(kube, namespace, n) == 2, timeout=60,  # type: ignore[misc]
                       what=f"{name} schema version 2")
        producer.produce(orders, serialize(registry, orders, "Avro", A_B_DEF, {"id": "o-2", "b": 7}))
        producer.produce(clicks, serialize(registry, clicks, "JsonSchema", J_CLOSED_B,
                                            {"id": "c-2", "b": 3}))
        producer.produce(orders, b"not in the registry's wire format")
        assert producer.flush(30) == 0
        expected = [{"id": "o-1"}, {"id": "o-2", "b": 7}, {"id": "c-1"}, {"id": "c-2", "b": 3}]
        eventually(lambda: all(v in [d["value"] for d in runner.decoded()] for v in expected),
                   timeout=60, what="old and new values decoded")
        eventually(lambda: len(runner.processed()) == 4, timeout=30, what="4 messages handled")
    parked = eventually(lambda: _dead_letters(stack_info.kafka_bootstrap, f"{orders}.dlq"),
                        timeout=30, what="the undecodable message in the dead-letter topic")
    assert parked[0]["eventsub.reason"].startswith("Undecodable: the value does not decode")
    assert parked[0]["eventsub.topic"] == orders
    assert get(kube, namespace, "EventSubscription", "readers")["status"]["consumerGroup"]
