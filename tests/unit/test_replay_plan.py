"""Replay planning: every origin, the end of a bounded replay, scope, and the refusals."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from eventsub.api.replay import ReplayOrigin, ReplayScope
from eventsub.core.replay import PartitionState, Plan, Refusal, plan_replay, remaining

NOW = 1_800_000_000_000
PARTS = [PartitionState("t", 0, 10, 100, 90, at_timestamp=40),
         PartitionState("t", 1, 0, 50, None, at_timestamp=None),
         PartitionState("u", 0, 0, 30, 30, at_timestamp=5)]


def origin(**fields: Any) -> ReplayOrigin:
    return ReplayOrigin.model_validate(fields)


def plan(o: ReplayOrigin, origin_ms: int | None = None, **kw: Any) -> Plan:
    result = plan_replay(o, PARTS, now_ms=NOW, origin_ms=origin_ms, job_mode=kw.pop("job", False),
                         **kw)
    assert isinstance(result, Plan), result
    return result


def starts(p: Plan) -> dict[tuple[str, int], int]:
    return {(m.topic, m.partition): m.new for m in p.moves}


def test_to_a_timestamp() -> None:
    p = plan(origin(timestamp="2026-01-01T00:00:00Z"), origin_ms=NOW - 1000)
    assert starts(p) == {("t", 0): 40, ("t", 1): 50, ("u", 0): 5}
    assert [m.messages for m in p.moves] == [50, 0, 25]


def test_earliest_and_shift() -> None:
    assert starts(plan(origin(earliest=True))) == {("t", 0): 10, ("t", 1): 0, ("u", 0): 0}
    assert starts(plan(origin(shiftBy=-20))) == {("t", 0): 70, ("t", 1): 30, ("u", 0): 10}
    assert starts(plan(origin(shiftBy=-1000))) == {("t", 0): 10, ("t", 1): 0, ("u", 0): 0}
    assert starts(plan(origin(shiftBy=5))) == {("t", 0): 95, ("t", 1): 50, ("u", 0): 30}


def test_explicit_offsets_move_only_what_they_name() -> None:
    p = plan(origin(offsets=[{"topic": "t", "partition": 0, "offset": 12}]))
    assert starts(p) == {("t", 0): 12}


@pytest.mark.parametrize(("o", "reason"), [
    (origin(offsets=[{"topic": "t", "partition": 0, "offset": 101}]), "OffsetOutOfRange"),
    (origin(offsets=[{"topic": "t", "partition": 0, "offset": 5}]), "OffsetOutOfRange"),
    (origin(offsets=[{"topic": "t", "partition": 9, "offset": 5}]), "UnknownPartition"),
    (origin(snapshotOf="earlier"), "SnapshotNotFound"),
])
def test_refusals(o: ReplayOrigin, reason: str) -> None:
    result = plan_replay(o, PARTS, now_ms=NOW, origin_ms=None, job_mode=False)
    assert isinstance(result, Refusal) and result.reason == reason


def test_a_timestamp_in_the_future_is_refused() -> None:
    result = plan_replay(origin(timestamp="2099-01-01T00:00:00Z"), PARTS, now_ms=NOW,
                         origin_ms=NOW + 60_000, job_mode=False)
    assert isinstance(result, Refusal) and result.reason == "TimestampInFuture"


def test_roll_back_to_a_snapshot() -> None:
    p = plan(origin(snapshotOf="earlier"), snapshot={("t", 0): 60, ("u", 0): 0})
    assert starts(p) == {("t", 0): 60, ("t", 1): 50, ("u", 0): 0}


def test_scope() -> None:
    p = plan(origin(earliest=True), scope=ReplayScope.model_validate({"topics": ["t"],
                                                                      "partitions": [1]}))
    assert starts(p) == {("t", 1): 0}
    result = plan_replay(origin(earliest=True), PARTS, now_ms=NOW, origin_ms=None, job_mode=False,
                         scope=ReplayScope.model_validate({"topics": ["nope"]}))
    assert isinstance(result, Refusal) and result.reason == "NothingInScope"


def test_job_mode_ends_at_the_log_end_or_a_timestamp() -> None:
    p = plan(origin(earliest=True), job=True)
    assert [(m.new, m.end, m.messages) for m in p.moves] == [(10, 100, 90), (0, 50, 50), (0, 30, 30)]
    p = plan(origin(earliest=True), job=True, ends_at_timestamp={("t", 0): 20, ("t", 1): None,
                                                                ("u", 0): 0})
    assert [(m.new, m.end) for m in p.moves] == [(10, 20), (0, 50), (0, 0)]


def test_remaining_progress() -> None:
    p = plan(origin(earliest=True))
    assert remaining(p.moves, {}, job_mode=False) == 80 + 0 + 30  # back to where each was
    assert remaining(p.moves, {("t", 0): 90, ("u", 0): 30}, job_mode=False) == 0


@given(st.integers(0, 1000), st.integers(0, 1000), st.integers(-2000, 2000))
def test_a_shift_always_lands_inside_the_log(a: int, b: int, shift: int) -> None:
    low, high = sorted((a, b))
    parts = [PartitionState("t", 0, low, high, (low + high) // 2)]
    result = plan_replay(origin(shiftBy=shift or 1), parts, now_ms=NOW, origin_ms=None,
                         job_mode=False)
    assert isinstance(result, Plan) and low <= result.moves[0].new <= high
