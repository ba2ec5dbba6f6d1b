"""Lag per partition, time lag from offset history, health, and the summary of one read."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from eventsub.api.subscription import ScalingPolicy
from eventsub.core.health import OK, STALL, STOP, UNKNOWN, WARN, HealthSample, partition_health, worst
from eventsub.core.lag import OffsetSample, PartitionOffsets, lag_seconds, offset_time, partition_lag, rate
from eventsub.core.observation import History, observe
from eventsub.core.scaling import ScalerMemory, decide


@pytest.mark.parametrize(("start", "log_start", "log_end", "committed", "expected"), [
    ("Earliest", 0, 100, 40, 60),
    ("Earliest", 30, 100, None, 70),  # retention removed 0..29: not lag
    ("Latest", 30, 100, None, 0),
    ("Latest", 0, 100, 100, 0),
    ("Earliest", 50, 100, 20, 50),  # committed below log-start: resumes at log-start
    ("Earliest", 0, 0, None, 0),
])
def test_partition_lag(start: str, log_start: int, log_end: int, committed: int | None,
                       expected: int) -> None:
    assert partition_lag(PartitionOffsets("t", 0, log_start, log_end, committed), start) == expected


@given(st.integers(0, 10**6), st.integers(0, 10**6), st.one_of(st.none(), st.integers(0, 2 * 10**6)),
       st.sampled_from(["Earliest", "Latest"]))
def test_lag_is_never_negative_nor_above_the_log(a: int, b: int, committed: int | None,
                                                 start: str) -> None:
    log_start, log_end = sorted((a, b))
    value = partition_lag(PartitionOffsets("t", 0, log_start, log_end, committed), start)
    assert 0 <= value <= log_end - log_start


SAMPLES = (OffsetSample(100.0, 0), OffsetSample(110.0, 100), OffsetSample(120.0, 300))


def test_offset_time_interpolates_between_samples() -> None:
    assert offset_time(SAMPLES, 50) == pytest.approx(105.0)
    assert offset_time(SAMPLES, 200) == pytest.approx(115.0)
    assert offset_time(SAMPLES, 400) == 120.0


def test_offset_time_extrapolates_before_the_first_sample() -> None:
    later = (OffsetSample(100.0, 1000), OffsetSample(110.0, 1100))
    assert offset_time(later, 900) == pytest.approx(90.0)


def test_lag_seconds() -> None:
    assert lag_seconds(SAMPLES, position=300, log_end=300, now=130.0) == 0.0
    # the first unconsumed message (offset 101) was produced at about t=110.05
    assert lag_seconds(SAMPLES, position=100, log_end=300, now=130.0) == pytest.approx(19.95)


def test_rate_over_a_window() -> None:
    pairs = [(s.time, s.offset) for s in SAMPLES]
    assert rate(pairs, window=30, now=120.0) == pytest.approx(15.0)
    assert rate(pairs[:1], window=30, now=120.0) is None
    assert rate([(90.0, 0), (95.0, None), (120.0, 300)], window=30, now=120.0) == pytest.approx(10.0)
    assert rate([(90.0, 300), (120.0, 0)], window=30, now=120.0) == 0.0  # never negative


def _samples(*rows: tuple[float, int | None, int, str | None]) -> list[HealthSample]:
    return [HealthSample(t, c, lag, owner) for t, c, lag, owner in rows]


@pytest.mark.parametrize(("rows", "members", "expected"), [
    ([(0, 10, 0, "m")], 1, OK),
    ([(0, 10, 5, "m")], 1, UNKNOWN),  # too little history to judge
    ([(0, 10, 5, "m"), (15, 10, 8, "m"), (30, 10, 12, "m")], 1, STALL),  # a window, no progress
    ([(0, 10, 5, None), (15, 10, 8, None), (30, 10, 12, None)], 0, STOP),
    ([(0, 10, 5, "m"), (15, 20, 8, "m"), (30, 30, 12, "m")], 1, WARN),
    ([(0, 10, 50, "m"), (15, 40, 30, "m"), (30, 60, 10, "m")], 1, OK),
    # Not a whole window of no progress yet: two polls are not enough.
    ([(0, 10, 5, "m"), (5, 10, 8, "m"), (10, 10, 12, "m"), (29, 10, 12, "m")], 1, UNKNOWN),
    # A rebalance: a new owner got it at 25 s; its clock restarts there.
    ([(0, 10, 5, "a"), (15, 10, 8, "a"), (25, 10, 8, "b"), (40, 10, 8, "b")], 1, OK),
    # ...and a poison message is still caught a window after the new owner got it.
    ([(0, 10, 5, "a"), (10, 10, 5, "b"), (25, 10, 5, "b"), (40, 10, 5, "b")], 1, STALL),
    # Idle with no work, then a poison at 40 s: stalled one window after the work arrived,
    # not only once the idle samples have left the history...
    ([(0, 10, 0, "m"), (20, 10, 0, "m"), (40, 10, 5, "m"), (55, 10, 5, "m"), (70, 10, 5, "m")],
     1, STALL),
    # ...and not before a whole window of work.
    ([(0, 10, 0, "m"), (20, 10, 0, "m"), (40, 10, 5, "m"), (55, 10, 5, "m"), (69, 10, 5, "m")],
     1, OK),
    # The same without consumers: stopped a window after the work arrived.
    ([(0, 10, 0, None), (40, 10, 5, None), (70, 10, 5, None)], 0, STOP),
    # Being reassigned (the group has members, nobody owns it yet): not judged.
    ([(0, 10, 5, "a"), (40, 10, 8, None)], 1, UNKNOWN),
    # A consumer busy with another partition's batch, then back here: moving, OK.
    ([(0, 10, 5, "m"), (10, 10, 8, "m"), (20, 10, 9, "m"), (28, 40, 3, "m")], 1, OK),
])
def test_partition_health(rows: list[tuple[float, int | None, int, str | None]], members: int,
                          expected: str) -> None:
    assert partition_health(_samples(*rows), window=30, members=members) == expected


def test_worst_health() -> None:
    assert worst([OK, WARN, STALL, OK]) == STALL
    assert worst([]) == UNKNOWN


OWNED = {("t", 0): "m", ("t", 1): "m"}


def test_observe_summarizes_and_learns() -> None:
    history = History()
    for i in range(8):  # a consumer committing 10/s on one partition, a stuck second one
        offsets = [PartitionOffsets("t", 0, 0, 1000 + 100 * i, 500 + 50 * i),
                   PartitionOffsets("t", 1, 0, 600, 100)]
        seen = observe(history, offsets, members=1, replicas=1, start_position="Earliest",
                       poll_seconds=5, now=5.0 * i, owners=OWNED)
        history = seen.history
    views = {v.partition: v for v in seen.partitions}
    assert views[0].lag == 1700 - 850 and views[1].lag == 500
    assert views[1].health == STALL and seen.health == STALL
    assert seen.snapshot.scaling_lag == views[0].lag and seen.snapshot.stalled_partitions == 1
    assert seen.snapshot.arrival_rate == pytest.approx(20.0)
    assert seen.history.per_replica_rate == pytest.approx(10.0)
    assert seen.snapshot.max_lag_seconds is not None and seen.snapshot.max_lag_seconds > 0


POLICY = ScalingPolicy.model_validate({"minReplicas": 1, "maxReplicas": 8, "lagThreshold": 100})


def _desired(seen: Any) -> int:
    return decide(POLICY, 1, seen.snapshot, ScalerMemory(), 0.0).desired


def _eight(end: int, committed: int) -> list[PartitionOffsets]:
    return [PartitionOffsets("t", p, 0, end, committed) for p in range(8)]


def test_a_fresh_backlog_scales_out_on_the_first_poll_that_sees_it() -> None:
    owners = {("t", p): "m" for p in range(8)}
    quiet = observe(History(), _eight(100, 100), members=1, replicas=1,
                    start_position="Earliest", poll_seconds=5, now=0.0, owners=owners)
    burst = observe(quiet.history, _eight(900, 100), members=1, replicas=1,
                    start_position="Earliest", poll_seconds=5, now=5.0, owners=owners)
    assert burst.snapshot.total_lag == 6400
    assert _desired(burst) == 8  # one replica per lagging partition, at once


def test_a_stuck_partition_alone_never_drives_replicas_to_the_maximum() -> None:
    history, desired = History(), []
    for i in range(10):  # partition 0 stuck from the start on a poison message, others idle
        offsets = [PartitionOffsets("t", 0, 0, 5000, 10)] + \
            [PartitionOffsets("t", p, 0, 100, 100) for p in range(1, 8)]
        seen = observe(history, offsets, members=1, replicas=1, start_position="Earliest",
                       poll_seconds=5, now=5.0 * i, owners={("t", p): "m" for p in range(8)})
        history = seen.history
        desired.append(_desired(seen))
    assert max(desired) == 1
    assert seen.partitions[0].health == STALL  # judged after a whole window


def test_commits_paused_by_a_rebalance_never_drop_the_recommendation() -> None:
    history, desired = History(), []
    owners_by_poll = ["a", "a", "a", None, None, "b", "b", "b"]
    for i, owner in enumerate(owners_by_poll):
        # Consuming (commits moving), then a scale-out: commits pause while the group
        # rebalances and the partitions change owner.
        committed = 100 + 300 * min(i, 2)
        seen = observe(history, _eight(6000, committed), members=2, replicas=2,
                       start_position="Earliest", poll_seconds=5, now=5.0 * i,
                       owners={("t", p): owner for p in range(8)} if owner else {})
        history = seen.history
        assert all(v.health != STALL for v in seen.partitions), f"poll {i}"
        desired.append(_desired(seen))
    assert desired == [8] * len(owners_by_poll), desired


def test_without_consumers_all_lag_counts() -> None:
    seen = observe(History(), [PartitionOffsets("t", 0, 0, 900, 100)], members=0, replicas=0,
                   start_position="Earliest", poll_seconds=5, now=0.0)
    assert seen.snapshot.scaling_lag == 800


@given(st.lists(st.tuples(st.integers(1, 10), st.integers(0, 3), st.integers(0, 50),
                          st.sampled_from(["a", "b", None])), min_size=1, max_size=12))
def test_no_stall_without_a_whole_window_of_no_progress_since_the_owner_got_it(
        steps: list[tuple[int, int, int, str | None]]) -> None:
    samples, t, committed = [], 0.0, 0
    for gap, advance, lag, owner in steps:
        t, committed = t + gap, committed + advance
        samples.append(HealthSample(t, committed, lag, owner))
    health = partition_health(samples, window=30, members=1)
    if health == STALL:
        latest = samples[-1]
        quiet = [s for s in samples if s.time >= latest.time - 30]
        assert latest.owner is not None and all(s.lag > 0 for s in quiet)
        assert len({s.committed for s in quiet}) == 1 and len({s.owner for s in quiet}) == 1


# One read of a partition: (seconds since the previous read, present in this read (mostly),
# committed offset, lag, owner). Few distinct values, so that runs of equal samples are common.
_READ = st.tuples(st.one_of(st.integers(1, 6), st.integers(1, 40)), st.integers(0, 9).map(bool),
                  st.sampled_from([None, 5, 6, 9]), st.sampled_from([0, 3, 4]),
                  st.sampled_from([None, "a", "b"]))


@settings(max_examples=400)
@given(st.lists(_READ, min_size=1, max_size=40), st.sampled_from([1, 5, 10]))
def test_the_kept_history_rebuilds_every_sample_of_the_health_window(
        reads: list[tuple[int, bool, int | None, int, str | None]], poll_seconds: int) -> None:
    """The history keeps only changes; the health rules must see exactly the samples a plain
    list of every read (within two windows, reset when the partition was missing) holds."""
    history, plain, now = History(), list[HealthSample](), 0.0
    window = max(6 * poll_seconds, 30.0)
    for gap, present, committed, lag, owner in reads:
        now += gap
        offsets = [PartitionOffsets("other", 0, 0, 10, 10)]  # keeps the reads going
        if present:
            end = lag + (committed or 0)
            offsets.append(PartitionOffsets("t", 0, 0, end, committed))
            plain = [s for s in plain if s.time >= now - 2 * window]
            plain.append(HealthSample(now, committed, lag, owner))
        else:
            plain = []
        history = observe(history, offsets, members=1, replicas=1, start_position="Earliest",
                          poll_seconds=poll_seconds, now=now, owners={("t", 0): owner} if owner else {}
                          ).history
        kept = history.partitions.get(("t", 0))
        if present:
            assert kept is not None and kept.samples(history.reads) == tuple(plain)
        else:
            assert kept is None
