"""Lag per partition, time lag from offset history, health, and the summary of one read."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from eventsub.core.health import OK, STALL, STOP, UNKNOWN, WARN, HealthSample, partition_health, worst
from eventsub.core.lag import OffsetSample, PartitionOffsets, lag_seconds, offset_time, partition_lag, rate
from eventsub.core.observation import History, observe


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
    assert rate(SAMPLES, window=30, now=120.0) == pytest.approx(15.0)
    assert rate(SAMPLES[:1], window=30, now=120.0) is None


def _samples(*rows: tuple[float, int | None, int]) -> list[HealthSample]:
    return [HealthSample(t, c, lag) for t, c, lag in rows]


@pytest.mark.parametrize(("rows", "members", "expected"), [
    ([(0, 10, 0)], 1, OK),
    ([(0, 10, 5)], 1, UNKNOWN),  # too little history to judge
    ([(0, 10, 5), (15, 10, 8), (30, 10, 12)], 1, STALL),
    ([(0, 10, 5), (15, 10, 8), (30, 10, 12)], 0, STOP),
    ([(0, 10, 5), (15, 20, 8), (30, 30, 12)], 1, WARN),
    ([(0, 10, 50), (15, 40, 30), (30, 60, 10)], 1, OK),
])
def test_partition_health(rows: list[tuple[float, int | None, int]], members: int,
                          expected: str) -> None:
    assert partition_health(_samples(*rows), window=30, members=members) == expected


def test_worst_health() -> None:
    assert worst([OK, WARN, STALL, OK]) == STALL
    assert worst([]) == UNKNOWN


def test_observe_summarizes_and_learns() -> None:
    history = History()
    for i in range(8):  # a consumer committing 10/s on one partition, a stuck second one
        offsets = [PartitionOffsets("t", 0, 0, 1000 + 100 * i, 500 + 50 * i),
                   PartitionOffsets("t", 1, 0, 600, 100)]
        seen = observe(history, offsets, members=1, replicas=1, start_position="Earliest",
                       poll_seconds=5, now=5.0 * i)
        history = seen.history
    views = {v.partition: v for v in seen.partitions}
    assert views[0].lag == 1700 - 850 and views[1].lag == 500
    assert views[1].health == STALL and seen.health == STALL
    assert seen.snapshot.scaling_lag == views[0].lag and seen.snapshot.stalled_partitions == 1
    assert seen.snapshot.arrival_rate == pytest.approx(20.0)
    assert seen.history.per_replica_rate == pytest.approx(10.0)
    assert seen.snapshot.max_lag_seconds is not None and seen.snapshot.max_lag_seconds > 0


def test_a_fresh_backlog_counts_once_its_consumer_commits() -> None:
    quiet = observe(History(), [PartitionOffsets("t", 0, 0, 100, 100)], members=1, replicas=1,
                    start_position="Earliest", poll_seconds=5, now=0.0)
    burst = observe(quiet.history, [PartitionOffsets("t", 0, 0, 900, 100)], members=1, replicas=1,
                    start_position="Earliest", poll_seconds=5, now=5.0)
    assert burst.snapshot.total_lag == 800 and burst.snapshot.scaling_lag == 0
    consuming = observe(burst.history, [PartitionOffsets("t", 0, 0, 900, 200)], members=1,
                        replicas=1, start_position="Earliest", poll_seconds=5, now=10.0)
    assert consuming.snapshot.scaling_lag == 700


def test_without_consumers_all_lag_counts() -> None:
    seen = observe(History(), [PartitionOffsets("t", 0, 0, 900, 100)], members=0, replicas=0,
                   start_position="Earliest", poll_seconds=5, now=0.0)
    assert seen.snapshot.scaling_lag == 800
