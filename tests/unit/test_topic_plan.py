"""The topic plan: what to do to a Kafka topic, what to refuse, what the client would refuse."""

from __future__ import annotations

import pytest

from eventsub.core.topic_plan import (
    DesiredTopic,
    ObservedTopic,
    check_limits,
    plan_topic,
    request_batches,
)


def desired(partitions: int = 3, rf: int | None = None, **config: str) -> DesiredTopic:
    return DesiredTopic("t", partitions, rf, config)


def observed(partitions: int = 3, rf: int = 1, **overrides: str) -> ObservedTopic:
    return ObservedTopic("t", "id", partitions, rf, overrides)


@pytest.mark.parametrize(("topic", "problem"), [
    (desired(), None),
    (desired(rf=10000), None),
    (desired(partitions=100000), None),
    (desired(rf=10001), "spec.replicationFactor 10001 is outside 1..10000"),
    (desired(rf=0), "spec.replicationFactor 0"),
    (desired(partitions=100001), "spec.partitions 100001 is outside 1..100000"),
    (desired(partitions=0), "spec.partitions 0"),
    (DesiredTopic("t", 1, None, {"": "x"}), "spec.config has an empty key"),
])
def test_client_limits(topic: DesiredTopic, problem: str | None) -> None:
    refusal = check_limits(topic)
    assert (refusal is None) == (problem is None)
    if refusal is not None:
        assert refusal.reason == "InvalidSpec"
        assert problem is not None and problem in refusal.message


def test_several_problems_are_named_together() -> None:
    refusal = check_limits(DesiredTopic("t", 0, 20000, {"": "x"}))
    assert refusal is not None and refusal.message.count(";") == 2


@pytest.mark.parametrize(("want", "have", "acts", "refused", "changes"), [
    (desired(), None, True, (), ("created with 3 partitions",)),
    (desired(), observed(), False, (), ()),
    (desired(partitions=5), observed(), True, (), ("partitions 3 -> 5",)),
    (desired(partitions=2), observed(), False, ("NotSupported",), ()),
    (desired(rf=3), observed(rf=1), False, ("NotSupported",), ()),
    (desired(**{"retention.ms": "5"}), observed(), True, (), ("retention.ms (default) -> 5",)),
    (desired(), observed(**{"retention.ms": "5"}), True, (), ("retention.ms 5 -> (default)",)),
    (desired(**{"retention.ms": "5"}), observed(**{"retention.ms": "5"}), False, (), ()),
])
def test_plan(want: DesiredTopic, have: ObservedTopic | None, acts: bool, refused: tuple[str, ...],
              changes: tuple[str, ...]) -> None:
    plan = plan_topic(want, have)
    assert plan.acts == acts
    assert tuple(r.reason for r in plan.refusals) == refused
    assert plan.changes == changes


@pytest.mark.parametrize(("partitions", "batches"), [
    ({}, []),
    ({"a": 1, "b": 3, "c": 6}, [["a", "b", "c"]]),
    # One topic above Kafka's per-request limit goes alone; the others are not failed with it.
    ({"a": 1, "huge": 10001, "b": 2}, [["a", "b"], ["huge"]]),
    # Each fits alone, not together: two requests.
    ({"a": 6000, "b": 6000, "c": 4000}, [["a", "c"], ["b"]]),
    ({"a": 10000, "b": 1}, [["a"], ["b"]]),
])
def test_request_batches_stay_within_kafkas_partitions_per_request(
        partitions: dict[str, int], batches: list[list[str]]) -> None:
    assert request_batches(partitions) == batches

