"""Where a subscription's consumer group starts, decided when the subscription is created.

Kafka leaves "Latest" to the first consumer that happens to start: a group scaled to zero has
no committed offset, so its lag counts nothing and it never wakes. The operator instead commits
the group's start offsets before any consumer runs (Latest: the log end as it is then;
Earliest: the log start), so lag counts everything produced since. After that, a partition
without a committed offset can only be one added later (or one whose offsets Kafka expired):
it is read from its beginning, never skipped.
"""

from __future__ import annotations

from collections.abc import Iterable

from eventsub.core.lag import START_EARLIEST, PartitionOffsets

# What a consumer does with a partition that has no committed offset, once the operator has
# committed the start offsets: read it from its beginning (EVENTSUB_OFFSET_RESET).
OFFSET_RESET_AFTER_START = "earliest"


def start_offsets(partitions: Iterable[PartitionOffsets], start_position: str
                  ) -> dict[tuple[str, int], int]:
    """The offsets to commit for the partitions that have none; a committed one is never moved."""
    return {(p.topic, p.partition): p.log_start if start_position == START_EARLIEST else p.log_end
            for p in partitions if p.committed is None}


def lag_start_position(start_position: str, started: bool) -> str:
    """How lag counts a partition without a committed offset: once the start offsets are set,
    such a partition is new and will be read from its beginning, so all of it is lag."""
    return START_EARLIEST if started else start_position
