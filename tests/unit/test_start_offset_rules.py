"""Start offsets: committed at creation per the start position; a committed offset never moves."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from eventsub.core.lag import START_EARLIEST, START_LATEST, PartitionOffsets, partition_lag
from eventsub.core.start_offsets import lag_start_position, start_offsets


def p(partition: int, start: int, end: int, committed: int | None) -> PartitionOffsets:
    return PartitionOffsets("t", partition, start, end, committed)


def test_latest_starts_at_the_log_end_and_earliest_at_the_log_start() -> None:
    partitions = [p(0, 5, 100, None), p(1, 0, 7, None)]
    assert start_offsets(partitions, START_LATEST) == {("t", 0): 100, ("t", 1): 7}
    assert start_offsets(partitions, START_EARLIEST) == {("t", 0): 5, ("t", 1): 0}


def test_committed_partitions_are_never_touched() -> None:
    assert start_offsets([p(0, 0, 10, 3), p(1, 0, 10, None)], START_LATEST) == {("t", 1): 10}
    assert start_offsets([p(0, 0, 10, 3)], START_EARLIEST) == {}


def test_after_the_start_an_uncommitted_partition_is_all_lag() -> None:
    new_partition = p(3, 0, 40, None)
    assert partition_lag(new_partition, lag_start_position(START_LATEST, started=False)) == 0
    assert partition_lag(new_partition, lag_start_position(START_LATEST, started=True)) == 40
    assert lag_start_position(START_EARLIEST, started=False) == START_EARLIEST


@given(st.lists(st.tuples(st.integers(0, 100), st.integers(0, 100), st.none() | st.integers(0, 200)),
                max_size=8), st.sampled_from([START_LATEST, START_EARLIEST]))
def test_every_uncommitted_partition_gets_an_offset_inside_its_log(
        raw: list[tuple[int, int, int | None]], position: str) -> None:
    partitions = [p(i, min(a, b), max(a, b), c) for i, (a, b, c) in enumerate(raw)]
    chosen = start_offsets(partitions, position)
    assert set(chosen) == {("t", x.partition) for x in partitions if x.committed is None}
    for x in partitions:
        if x.committed is None:
            assert x.log_start <= chosen[("t", x.partition)] <= x.log_end
            # Right after the start, nothing already in the log counts for Latest.
            committed = PartitionOffsets("t", x.partition, x.log_start, x.log_end,
                                         chosen[("t", x.partition)])
            expected = 0 if position == START_LATEST else x.log_end - x.log_start
            assert partition_lag(committed, position) == expected
