"""A topic's schema over its life on the real registry: two subscriptions read the topic; a
breaking change is refused naming both while their consumers keep consuming; a compatible one is
registered; a subject deleted in the registry is restored; while the registry is down the
EventTopic says so, Kafka topics are still managed, and it converges when the registry is back.
Registry credentials (basic authentication, behind a proxy) never show."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import Producer

from conftest import Kube
from eventsub.consumer import registry_client
from localstack import LocalStack, StackInfo
from localstack.consumers import ConsumerRunner
from operator_process import OperatorProcess
from registry_proxy import AuthenticatingProxy
from resources import (
    CONSUMER_TEMPLATE,
    assert_never_shown,
    condition,
    create,
    event_posted,
    event_reasons,
    get,
    patch_spec,
    put_secret,
    resource,
    wait_condition,
)
from schema_cases import A_B, A_B_DEF, A, serialize
from support import eventually, unique

pytestmark = pytest.mark.usefixtures("operator")


def _value(body: dict[str, Any]) -> dict[str, Any]:
    return ((body.get("status") or {}).get("schema") or {}).get("value") or {}


def _avro(text: str) -> dict[str, Any]:
    return {"value": {"type": "Avro", "inline": text}}


def _registry(stack_info: StackInfo, method: str, path: str) -> Any:
    request = urllib.request.Request(stack_info.registry_url + path, method=method)
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def _latest_schema(stack_info: StackInfo, topic: str) -> Any:
    """The latest value schema of the topic, parsed (the registry stores it compacted)."""
    return json.loads(_registry(stack_info, "GET", f"/subjects/{topic}-value/versions/latest")["schema"])


def _topic(kube: Kube, namespace: str, stack_info: StackInfo, name: str, **spec: Any) -> str:
    topic = unique(name)
    create(kube, namespace, resource("EventTopic", name, {
        "connectionRef": {"name": "local"}, "topicName": topic, **spec}))
    return topic


def _wait_version(kube: Kube, namespace: str, name: str, version: int) -> dict[str, Any]:
    """Waits until the EventTopic is Ready with this version of its value schema registered."""
    def reached() -> dict[str, Any] | None:
        body = wait_condition(kube, namespace, "EventTopic", name, reason="InSync")
        return body if _value(body).get("version") == version else None
    found: dict[str, Any] = eventually(reached, timeout=60, what=f"{name} at version {version}")
    return found


def _connection(kube: Kube, namespace: str, stack_info: StackInfo, **registry: Any) -> None:
    create(kube, namespace, resource("KafkaConnection", "local", {
        "bootstrapServers": [stack_info.kafka_bootstrap],
        "schemaRegistry": {"url": stack_info.registry_url, **registry}}))


def _subscription(kube: Kube, namespace: str, name: str, group: str | None = None,
                  expects: int | None = None) -> None:
    entry: dict[str, Any] = {"eventTopic": "orders"}
    if expects is not None:
        entry["expectsSchemaVersion"] = expects
    create(kube, namespace, resource("EventSubscription", name, {
        "connectionRef": {"name": "local"}, "topics": [entry],
        "startPosition": "Earliest", "scaling": {"mode": "Manual", "minReplicas": 1},
        "template": CONSUMER_TEMPLATE, **({"consumerGroup": group} if group else {})}))
    wait_condition(kube, namespace, "EventSubscription", name, reason="Running")


def test_refused_change_names_readers_compatible_registered_deleted_restored(
        kube: Kube, namespace: str, stack_info: StackInfo, tmp_path: Path) -> None:
    _connection(kube, namespace, stack_info)
    topic = _topic(kube, namespace, stack_info, "orders", schema=_avro(A))
    body = wait_condition(kube, namespace, "EventTopic", "orders", reason="InSync")
    assert _value(body)["subject"] == f"{topic}-value" and _value(body)["version"] == 1
    first_id = _value(body)["id"]
    assert _registry(stack_info, "GET", f"/subjects/{topic}-value/versions/latest")["id"] == first_id
    _subscription(kube, namespace, "billing", expects=1)
    wait_condition(kube, namespace, "EventSubscription", "billing", type_="SchemaVersion",
                   reason="AsExpected")
    _subscription(kube, namespace, "audit", group="audit-readers")
    producer = Producer({"bootstrap.servers": stack_info.kafka_bootstrap})
    registry = registry_client({"EVENTSUB_SCHEMA_REGISTRY_URL": stack_info.registry_url})
    with ConsumerRunner(kube.core, namespace, "billing", tmp_path / "billing") as billing, \
            ConsumerRunner(kube.core, namespace, "audit", tmp_path / "audit") as audit:
        def produce(first: int, count: int) -> set[tuple[str, int, int]]:
            for n in range(count):
                producer.produce(topic, serialize(registry, topic, "Avro", A, {"id": f"o-{n}"}))
            assert producer.flush(30) == 0
            return {(topic, 0, o) for o in range(first, first + count)}

        expected = produce(0, 5)
        # A required field without a default breaks BACKWARD: refused, naming both readers.
        patch_spec(kube, namespace, "EventTopic", "orders", {"schema": _avro(A_B)})
        refused = wait_condition(kube, namespace, "EventTopic", "orders", status="False",
                                 reason="IncompatibleSchema")
        message = condition(refused)["message"]  # type: ignore[index]
        assert (f"{namespace}/billing (consumer group {namespace}.billing, written for version 1)"
                in message)
        assert f"{namespace}/audit (consumer group audit-readers)" in message
        assert "spec.schema.value" in message and "version 1 stays" in message
        assert _value(refused)["version"] == 1
        assert _registry(stack_info, "GET", f"/subjects/{topic}-value/versions") == [1]
        event_posted(kube, namespace, "orders", "IncompatibleSchema")
        # Announced once: the schema writer posts it, the topic's Ready that follows does not.
        assert event_reasons(kube, namespace, "orders").count("IncompatibleSchema") == 1
        # The consumers are not disturbed.
        expected |= produce(5, 5)
        for runner in (billing, audit):
            eventually(lambda r=runner: set(r.processed()) >= expected, timeout=60,  # type: ignore[misc]
                       what="both subscriptions keep consuming")
    # A field with a default is BACKWARD compatible: registered as version 2.
    patch_spec(kube, namespace, "EventTopic", "orders", {"schema": _avro(A_B_DEF)})
    _wait_version(kube, namespace, "orders", 2)
    moved = wait_condition(kube, namespace, "EventSubscription", "billing", status="False",
                           type_="SchemaVersion", reason="SchemaMovedOn")
    assert "spec.topics[0].expectsSchemaVersion" in condition(moved, "SchemaVersion")["message"]  # type: ignore[index]
    assert _registry(stack_info, "GET", f"/subjects/{topic}-value/versions") == [1, 2]
    # Deleted in the registry (every version): reported and restored on the next resync.
    _registry(stack_info, "DELETE", f"/subjects/{topic}-value")
    eventually(lambda: "SubjectRestored" in event_reasons(kube, namespace, "orders"), timeout=60,
               what="SubjectRestored Event")
    eventually(lambda: _latest_schema(stack_info, topic) == json.loads(A_B_DEF), timeout=60,
               what="declared schema registered again")
    restored = wait_condition(kube, namespace, "EventTopic", "orders", reason="InSync")
    assert _value(restored)["subject"] == f"{topic}-value"


def test_registry_down_reported_topics_still_managed_converges(
        kube: Kube, namespace: str, stack_info: StackInfo) -> None:
    _connection(kube, namespace, stack_info)
    topic = _topic(kube, namespace, stack_info, "orders", schema=_avro(A))
    wait_condition(kube, namespace, "EventTopic", "orders", reason="InSync")
    stack = LocalStack(Path(stack_info.run_dir))
    stack.stop_registry(stack_info)
    try:
        patch_spec(kube, namespace, "EventTopic", "orders", {"partitions": 2})
        down = wait_condition(kube, namespace, "EventTopic", "orders", status="False",
                              reason="SchemaRegistryUnavailable")
        assert "is unreachable" in condition(down)["message"]  # type: ignore[index]
        # The Kafka side is managed all the same: the partition was added...
        eventually(lambda: (get(kube, namespace, "EventTopic", "orders").get("status") or {})
                   .get("partitions") == 2, timeout=60, what="partitions grown while registry down")
        # ...and a topic without a schema becomes Ready.
        _topic(kube, namespace, stack_info, "plain")
        wait_condition(kube, namespace, "EventTopic", "plain", reason="InSync")
    finally:
        stack.start_registry(stack_info)
    # The registry keeps schemas in memory: it came back empty, and gets the schema again.
    back = wait_condition(kube, namespace, "EventTopic", "orders", reason="InSync", timeout=90)
    assert _value(back)["version"] == 1
    assert _latest_schema(stack_info, topic) == json.loads(A)


def test_registry_credentials_from_a_secret_never_shown(
        kube: Kube, namespace: str, stack_info: StackInfo, operator: OperatorProcess) -> None:
    password = f"pw-{unique('s')}"
    with AuthenticatingProxy(stack_info.registry_url, "eventsub", password) as proxy:
        put_secret(kube, namespace, "registry-user", {"username": "eventsub", "password": password})
        put_secret(kube, namespace, "wrong-user", {"username": "eventsub", "password": "nope-" + password})
        create(kube, namespace, resource("KafkaConnection", "local", {
            "bootstrapServers": [stack_info.kafka_bootstrap],
            "schemaRegistry": {"url": proxy.url, "basicAuth": {"secretName": "registry-user"}}}))
        create(kube, namespace, resource("KafkaConnection", "wrong", {
            "bootstrapServers": [stack_info.kafka_bootstrap],
            "schemaRegistry": {"url": proxy.url, "basicAuth": {"secretName": "wrong-user"}}}))
        topic = _topic(kube, namespace, stack_info, "orders", schema=_avro(A))
        create(kube, namespace, resource("EventTopic", "refused", {
            "connectionRef": {"name": "wrong"}, "topicName": unique("refused"), "schema": _avro(A)}))
        body = wait_condition(kube, namespace, "EventTopic", "orders", reason="InSync")
        assert _value(body)["subject"] == f"{topic}-value" and proxy.served > 0
        wait_condition(kube, namespace, "EventTopic", "refused", status="False",
                       reason="SchemaRegistryUnauthorized")
        assert proxy.refused > 0
    assert_never_shown(kube, namespace, operator, password, "nope-" + password)
