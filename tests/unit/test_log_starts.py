"""Log-start offsets are remembered between lag cycles and read again when stale or unknown."""

from __future__ import annotations

from eventsub.kafka.errors import KafkaUnavailable
from eventsub.kafka.lag import LogStarts


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_nothing_is_remembered_before_the_first_read() -> None:
    assert LogStarts(clock=Clock()).remembered([("t", 0)]) is None


def test_offsets_read_within_max_age_are_used_and_older_ones_are_not() -> None:
    clock = Clock()
    starts = LogStarts(max_age=60, clock=clock)
    starts.remember({("t", 0): 5, ("t", 1): 7})
    clock.now += 60
    assert starts.remembered([("t", 1), ("t", 0)]) == {("t", 1): 7, ("t", 0): 5}
    clock.now += 0.5
    assert starts.remembered([("t", 0)]) is None


def test_a_partition_never_read_makes_the_cycle_read_again() -> None:
    starts = LogStarts(clock=Clock())
    starts.remember({("t", 0): 5})
    assert starts.remembered([("t", 0), ("t", 1)]) is None
    assert starts.remembered([("t", 0)]) == {("t", 0): 5}


def test_a_partition_that_failed_is_not_remembered() -> None:
    starts = LogStarts(clock=Clock())
    starts.remember({("t", 0): 5, ("u", 0): KafkaUnavailable("no leader")})
    assert starts.remembered([("u", 0)]) is None


def test_each_partition_ages_from_its_own_read() -> None:
    # Cycles read different groups: a partition read later stays usable longer.
    clock = Clock()
    starts = LogStarts(max_age=60, clock=clock)
    starts.remember({("t", 0): 5})
    clock.now += 40
    starts.remember({("u", 0): 9})
    clock.now += 30
    assert starts.remembered([("u", 0)]) == {("u", 0): 9}
    assert starts.remembered([("t", 0), ("u", 0)]) is None
