"""core.schema_plan: subjects, the plan for one subject, who a refused change breaks, outcomes."""

from __future__ import annotations

from typing import Any

import pytest

from eventsub.api.base import Condition
from eventsub.api.subscription import EventSubscriptionSpec
from eventsub.api.topic import RegisteredSchema, TopicSchemas
from eventsub.core import schema_plan as plan
from eventsub.registry.client import RegistrySettings, display_url


def recorded(version: int | None = 1, level: str = "BACKWARD") -> RegisteredSchema:
    return RegisteredSchema(subject="orders-value", version=version, id=7, compatibility=level)


def test_subjects_follow_the_topic_name_strategy() -> None:
    assert plan.subject_of("orders", "value") == "orders-value"
    assert plan.subject_of("orders", "key") == "orders-key"
    schemas = TopicSchemas.model_validate({"value": {"type": "Avro", "inline": "{}"}})
    assert list(plan.declared_parts(schemas)) == ["value"]
    with_key = TopicSchemas.model_validate({"value": {"type": "Avro", "inline": "{}"},
                                            "key": {"type": "JsonSchema", "inline": "{}"}})
    assert list(plan.declared_parts(with_key)) == ["value", "key"]


@pytest.mark.parametrize(("state", "rec", "expected"), [
    # a new subject: set the level, check and register
    (plan.SubjectState(None, None), None, plan.SubjectPlan("BACKWARD", register=True)),
    # in sync: nothing to do
    (plan.SubjectState("BACKWARD", (1, 7), (1,)), recorded(), plan.SubjectPlan()),
    # a spec change: the new schema is not in the subject yet
    (plan.SubjectState("BACKWARD", None, (1,)), recorded(), plan.SubjectPlan(register=True)),
    # the declared level changed in the spec: set it, no drift
    (plan.SubjectState("BACKWARD", (1, 7), (1,)), recorded(level="BACKWARD"),
     plan.SubjectPlan("FULL")),
])
def test_plan_without_drift(state: plan.SubjectState, rec: RegisteredSchema | None,
                            expected: plan.SubjectPlan) -> None:
    level = expected.set_compatibility or "BACKWARD"
    assert plan.plan_subject("orders-value", level, state, rec) == expected


def test_a_deleted_subject_is_registered_again_and_announced() -> None:
    decided = plan.plan_subject("orders-value", "BACKWARD", plan.SubjectState(None, None, ()),
                                recorded())
    assert decided.register and decided.set_compatibility == "BACKWARD"
    assert [a.reason for a in decided.announcements] == ["SubjectRestored"]


def test_a_level_changed_outside_is_set_back_and_announced() -> None:
    decided = plan.plan_subject("orders-value", "BACKWARD",
                                plan.SubjectState("NONE", (1, 7), (1,)), recorded())
    assert decided.set_compatibility == "BACKWARD" and not decided.register
    assert [a.reason for a in decided.announcements] == ["CompatibilityRestored"]


def test_versions_registered_outside_are_deleted() -> None:
    decided = plan.plan_subject("orders-value", "BACKWARD",
                                plan.SubjectState("BACKWARD", (2, 9), (1, 2, 3, 4)), recorded(2))
    assert decided.delete_versions == (3, 4)
    assert [a.reason for a in decided.announcements] == ["SchemaDriftReverted"]


def test_going_back_to_an_earlier_declared_version_deletes_nothing() -> None:
    # The spec asks for version 1's schema again; version 2 is eventsub's own (recorded).
    decided = plan.plan_subject("orders-value", "BACKWARD",
                                plan.SubjectState("BACKWARD", (1, 7), (1, 2)), recorded(2))
    assert decided == plan.SubjectPlan()


def sub(topics: list[dict[str, Any]], group: str | None = None,
        connection: str = "kafka") -> EventSubscriptionSpec:
    spec = {"connectionRef": {"name": connection}, "topics": topics, "template": {}}
    if group:
        spec["consumerGroup"] = group
    return EventSubscriptionSpec.model_validate(spec)


def test_readers_are_the_namespace_subscriptions_of_the_topic() -> None:
    subscriptions = [
        ("ns/billing", sub([{"eventTopic": "orders"}])),
        ("ns/audit", sub([{"name": "orders.v1"}], group="audit-g")),
        ("ns/other-cluster", sub([{"name": "orders.v1"}], connection="elsewhere")),
        ("ns/unrelated", sub([{"eventTopic": "payments"}])),
        ("other/billing", sub([{"eventTopic": "orders"}])),
    ]
    readers = plan.readers_of("ns", "orders", "orders.v1", "kafka", subscriptions)
    assert readers == (plan.Reader("ns/audit", "audit-g"), plan.Reader("ns/billing", "ns.billing"))
    said = plan.describe_readers(readers)
    assert "ns/audit (consumer group audit-g)" in said and "ns/billing (consumer group ns.billing)" in said
    assert plan.describe_readers(()) == "no subscription reads the topic yet"


def test_an_incompatible_change_names_field_subject_kept_version_and_readers() -> None:
    refusal = plan.incompatible("value", "orders-value", "FULL", recorded(3), ("field n removed",),
                                (plan.Reader("ns/a", "g"),))
    assert refusal.reason == "IncompatibleSchema"
    for part in ("spec.schema.value", "orders-value", "FULL", "field n removed", "version 3",
                 "ns/a (consumer group g)"):
        assert part in refusal.message
    without_words = plan.incompatible("key", "orders-key", "BACKWARD", None, (), ())
    assert "the registry gave no details" in without_words.message
    assert "nothing was registered" in without_words.message


def test_the_condition_reports_every_part_and_the_first_refusal() -> None:
    ok = plan.PartOutcome(recorded())
    assert plan.schema_condition({"value": ok}) == (
        True, "Registered", "registered: orders-value version 1 (id 7)")
    refused = plan.PartOutcome(recorded(), plan.invalid("key", "orders-key", "syntax"))
    good, reason, message = plan.schema_condition({"value": ok, "key": refused})
    assert (good, reason) == (False, "InvalidSchema") and "spec.schema.key" in message


def cond(status: str, generation: int, reason: str = "Registered") -> Condition:
    return Condition(type="SchemaRegistered", status=status, reason=reason, message="m",  # type: ignore[arg-type]
                     observed_generation=generation, last_transition_time="2026-01-01T00:00:00Z")


@pytest.mark.parametrize(("schema", "expected"), [
    (None, (False, "SchemaPending")),
    (cond("True", 2), (False, "SchemaPending")),  # registered for an older spec
    (cond("True", 3), (True, "InSync")),
    (cond("False", 3, "IncompatibleSchema"), (False, "IncompatibleSchema")),
    (cond("False", 2, "SchemaRegistryUnavailable"), (False, "SchemaRegistryUnavailable")),
])
def test_ready_folds_in_the_schema(schema: Condition | None, expected: tuple[bool, str]) -> None:
    ok, reason, _ = plan.ready_with_schema(schema, 3, True, "InSync", "topic ok")
    assert (ok, reason) == expected


def test_a_kafka_problem_stays_the_reason() -> None:
    assert plan.ready_with_schema(cond("True", 3), 3, False, "KafkaUnavailable", "down")[1] == \
        "KafkaUnavailable"


def test_registry_settings_never_show_credentials() -> None:
    settings = RegistrySettings("https://user:hunter2@registry:8081/apis/ccompat/v7",
                                username="svc", password="s3cr3t-pw")
    assert "s3cr3t" not in repr(settings) and "hunter2" not in repr(settings)
    assert display_url(settings.url) == "https://registry:8081/apis/ccompat/v7"


def expectation(expects: int, version: int | None) -> plan.Expectation:
    registered = recorded(version) if version is not None else None
    return plan.Expectation("spec.topics[0].expectsSchemaVersion", "orders", expects, registered)


@pytest.mark.parametrize(("expectations", "expected"), [
    ([], None),
    ([expectation(2, 2)], (True, "AsExpected")),
    ([expectation(2, 3)], (False, "SchemaMovedOn")),
    ([expectation(2, 1)], (False, "SchemaVersionNotRegistered")),
    ([expectation(2, None)], (False, "SchemaVersionNotRegistered")),
    ([expectation(2, 3), expectation(1, None)], (False, "SchemaVersionNotRegistered")),
])
def test_schema_version_condition(expectations: list[plan.Expectation],
                                  expected: tuple[bool, str] | None) -> None:
    found = plan.schema_version_condition(expectations)
    assert (found[:2] if found else None) == expected
    if found is not None and not found[0]:
        assert "spec.topics[0].expectsSchemaVersion" in found[2]


def test_a_refusal_names_the_version_a_reader_expects() -> None:
    pinned = sub([{"eventTopic": "orders", "expectsSchemaVersion": 2}])
    readers = plan.readers_of("ns", "orders", "orders", "kafka", [("ns/billing", pinned)])
    assert readers == (plan.Reader("ns/billing", "ns.billing", 2),)
    assert "ns/billing (consumer group ns.billing, written for version 2)" in \
        plan.describe_readers(readers)
