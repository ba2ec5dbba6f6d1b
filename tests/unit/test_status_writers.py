"""Status parts: one writer per field and condition, and a write only when something changed."""

from __future__ import annotations

from typing import Any

import pytest

from eventsub.api.base import Condition
from eventsub.api.subscription import (
    EventSubscriptionStatus,
    SubscriptionLagStatus,
    SubscriptionWiringStatus,
)
from eventsub.api.topic import EventTopicStatus
from eventsub.core.conditions import condition, find, is_true
from eventsub.core.status import (
    SCALER,
    SUBSCRIPTION,
    TOPIC,
    WRITERS,
    NotOwned,
    document,
    needs_write,
    topic_status,
)
from eventsub.core.topic_plan import ObservedTopic

NOW, LATER = "2026-12-02T10:00:00Z", "2026-12-02T10:05:00Z"


def ready(ok: bool = True, reason: str = "InSync", message: str = "fine", now: str = NOW) -> Condition:
    return condition(None, type_="Ready", ok=ok, reason=reason, message=message, generation=1, now=now)


def stored(status: Any) -> dict[str, Any]:
    dumped: dict[str, Any] = status.model_dump(by_alias=True, exclude_none=True, mode="json")
    return dumped


def test_transition_time_moves_only_when_the_status_does() -> None:
    first = ready(now=NOW)
    same = condition(first, type_="Ready", ok=True, reason="Other", message="m", generation=2, now=LATER)
    flipped = condition(first, type_="Ready", ok=False, reason="Bad", message="m", generation=2, now=LATER)
    unknown = condition(first, type_="Ready", ok=None, reason="Wait", message="m", generation=2, now=LATER)
    assert same.last_transition_time == NOW and same.observed_generation == 2
    assert flipped.last_transition_time == LATER and flipped.status == "False"
    assert unknown.status == "Unknown"
    assert is_true([first], "Ready") and not is_true([flipped], "Ready") and not is_true([], "Ready")
    assert find([first, flipped], "Missing") is None


def test_the_subscription_parts_split_its_status_without_overlap() -> None:
    wiring = set(SubscriptionWiringStatus.model_fields) - {"conditions"}
    lag = set(SubscriptionLagStatus.model_fields) - {"conditions"}
    assert not wiring & lag
    assert wiring | lag | {"conditions"} == set(EventSubscriptionStatus.model_fields)


def test_each_condition_type_of_a_kind_has_one_writer() -> None:
    by_part: dict[str, list[str]] = {}
    for writer in WRITERS:
        kind = writer.part.__module__
        for type_ in writer.condition_types:
            assert type_ not in by_part.get(kind, []), f"{type_} has two writers in {kind}"
            by_part.setdefault(kind, []).append(type_)
    assert len({w.manager for w in WRITERS}) == len(WRITERS)


def test_a_writer_refuses_what_it_does_not_own() -> None:
    with pytest.raises(NotOwned):
        document(SCALER, SubscriptionWiringStatus())
    with pytest.raises(NotOwned):
        document(SCALER, SubscriptionLagStatus(conditions=[ready()]))
    assert document(SUBSCRIPTION, SubscriptionWiringStatus(conditions=[ready()]))["conditions"]


def test_unchanged_status_is_not_written_and_other_writers_parts_are_ignored() -> None:
    mine = SubscriptionLagStatus(replicas=2, total_lag=5, conditions=[
        condition(None, type_="LagAvailable", ok=True, reason="LagRead", message="a", generation=1,
                  now=NOW)])
    theirs = SubscriptionWiringStatus(consumer_group="g", conditions=[ready()])
    both = {**stored(theirs), **stored(mine),
            "conditions": stored(theirs)["conditions"] + stored(mine)["conditions"]}
    assert not needs_write(SCALER, both, mine)
    assert not needs_write(SUBSCRIPTION, both, theirs)
    assert needs_write(SCALER, both, SubscriptionLagStatus(replicas=3, conditions=mine.conditions))


def test_a_removed_map_key_or_field_is_a_change() -> None:
    before = EventTopicStatus(topic_name="t", config={"a": "1", "b": "2"}, conditions=[ready()])
    after = EventTopicStatus(topic_name="t", config={"a": "1"}, conditions=[ready()])
    assert needs_write(TOPIC, stored(before), after)
    assert not needs_write(TOPIC, stored(after), after)
    without_topic = EventTopicStatus(conditions=[ready()])
    assert needs_write(TOPIC, stored(before), without_topic)


def test_messages_can_be_ignored_but_reasons_cannot() -> None:
    def lag(message: str, reason: str = "LagRead") -> SubscriptionLagStatus:
        return SubscriptionLagStatus(replicas=1, conditions=[condition(
            None, type_="LagAvailable", ok=True, reason=reason, message=message, generation=1,
            now=NOW)])
    assert needs_write(SCALER, stored(lag("old")), lag("new"))
    assert not needs_write(SCALER, stored(lag("old")), lag("new"), ignore_messages=True)
    assert needs_write(SCALER, stored(lag("old")), lag("old", "Other"), ignore_messages=True)


def test_an_unreadable_stored_status_is_rewritten() -> None:
    assert needs_write(TOPIC, {"partitions": "many"}, EventTopicStatus())


def test_topic_status_from_kafka_from_memory_or_none() -> None:
    observed = ObservedTopic("t", "id", 3, 1, {"retention.ms": "1"})
    fresh = topic_status(observed, ready(), 4)
    assert (fresh.topic_name, fresh.partitions, fresh.config, fresh.observed_generation) == \
        ("t", 3, {"retention.ms": "1"}, 4)
    kept = topic_status(fresh, ready(False, "KafkaUnavailable"), 5)
    assert kept.topic_id == "id" and kept.conditions[0].reason == "KafkaUnavailable"
    assert topic_status(None, ready(False, "ResourceConflict"), 5).topic_name is None
