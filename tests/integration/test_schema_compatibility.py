"""Schema compatibility through EventTopics on the real registry: for Avro, JSON Schema and
Protobuf, at every compatibility level, a compatible and a breaking change each give the
expected outcome (tests/schema_cases.py). One EventTopic per case, all at once, one operator:
the test only declares schemas and reads what the EventTopics report."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from conftest import Kube
from localstack import StackInfo
from resources import GROUP, VERSION, condition, create, event_posted, patch_spec, resource
from schema_cases import REFUSED, REGISTERED, Case, cases
from support import eventually, unique

pytestmark = pytest.mark.usefixtures("operator")


def _topics(kube: Kube, namespace: str) -> dict[str, dict[str, Any]]:
    listed = kube.custom.list_namespaced_custom_object(GROUP, VERSION, namespace, "eventtopics")
    return {item["metadata"]["name"]: item for item in listed["items"]}


def _value(body: dict[str, Any]) -> dict[str, Any]:
    return ((body.get("status") or {}).get("schema") or {}).get("value") or {}


def _current(body: dict[str, Any], type_: str = "Ready") -> dict[str, Any] | None:
    found = condition(body, type_)
    if found is None or found.get("observedGeneration") != body["metadata"]["generation"]:
        return None
    return found


def _registered(version: int) -> Callable[[dict[str, Any]], bool]:
    def check(body: dict[str, Any]) -> bool:
        ready = _current(body)
        return ready is not None and ready["status"] == "True" and _value(body).get("version") == version
    return check


def _refused(version: int) -> Callable[[dict[str, Any]], bool]:
    def check(body: dict[str, Any]) -> bool:
        ready = _current(body)
        return (ready is not None and ready["status"] == "False"
                and ready["reason"] == "IncompatibleSchema" and _value(body).get("version") == version)
    return check


def _all_reach(kube: Kube, namespace: str, wanted: dict[str, Callable[[dict[str, Any]], bool]],
               what: str) -> dict[str, dict[str, Any]]:
    def reached() -> dict[str, dict[str, Any]] | None:
        topics = _topics(kube, namespace)
        missing = [n for n, check in wanted.items() if not check(topics[n])]
        return None if missing else topics
    found: dict[str, dict[str, Any]] = eventually(reached, timeout=180, what=what)
    return found


def _schema(case: Case, text: str) -> dict[str, Any]:
    return {"value": {"type": case.type, "inline": text, "compatibility": case.level}}


def test_every_type_and_level_gives_the_registry_outcome(kube: Kube, namespace: str,
                                                         stack_info: StackInfo) -> None:
    create(kube, namespace, resource("KafkaConnection", "local", {
        "bootstrapServers": [stack_info.kafka_bootstrap],
        "schemaRegistry": {"url": stack_info.registry_url}}))
    table = {f"case-{i}": case for i, case in enumerate(cases())}
    prefix = unique("sch")
    for name, case in table.items():
        create(kube, namespace, resource("EventTopic", name, {
            "connectionRef": {"name": "local"}, "topicName": f"{prefix}-{name}",
            "schema": _schema(case, case.history[0])}))
    _all_reach(kube, namespace, {n: _registered(1) for n in table}, "first versions registered")
    # Later versions of the history (the transitive cases), one step at a time.
    longer = {n: c for n, c in table.items() if len(c.history) > 1}
    for step in range(1, max(len(c.history) for c in table.values())):
        for name, case in longer.items():
            patch_spec(kube, namespace, "EventTopic", name, {"schema": _schema(case, case.history[step])})
        _all_reach(kube, namespace, {n: _registered(step + 1) for n in longer},
                   f"history version {step + 1} registered")
    for name, case in table.items():
        patch_spec(kube, namespace, "EventTopic", name, {"schema": _schema(case, case.change)})
    expected = {n: (_registered(len(c.history) + 1) if c.expected == REGISTERED
                    else _refused(len(c.history))) for n, c in table.items()}
    topics = _all_reach(kube, namespace, expected, "every change decided")
    for name, case in table.items():
        body = topics[name]
        assert _value(body)["subject"] == f"{prefix}-{name}-value", case.id
        assert _value(body)["compatibility"] == case.level, case.id
        if case.expected == REFUSED:
            schema_condition = condition(body, "SchemaRegistered")
            assert schema_condition is not None and schema_condition["reason"] == REFUSED
            assert "spec.schema.value" in schema_condition["message"], case.id
            assert case.level in schema_condition["message"], case.id
    refused_one = next(n for n, c in table.items() if c.expected == REFUSED)
    event_posted(kube, namespace, refused_one, "IncompatibleSchema")
