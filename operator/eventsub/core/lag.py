"""Lag maths: messages behind per partition, and seconds behind estimated from offset history.

Time lag needs no message fetch: the collector remembers when each log-end offset was seen, so
the age of a committed offset is read off that (offset, time) table by interpolation, as
kafka-lag-exporter does.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

START_EARLIEST, START_LATEST = "Earliest", "Latest"


@dataclass(frozen=True, slots=True)
class PartitionOffsets:
    topic: str
    partition: int
    log_start: int
    log_end: int
    committed: int | None  # None: the group has no committed offset for this partition


def partition_lag(offsets: PartitionOffsets, start_position: str) -> int:
    """Messages the group still has to consume in this partition.

    Without a committed offset, the start position decides: Earliest consumes what the log still
    holds (log-end minus log-start: messages removed by retention are not lag); Latest consumes
    nothing that is already there.
    """
    if offsets.committed is None:
        return offsets.log_end - offsets.log_start if start_position == START_EARLIEST else 0
    # A committed offset below log-start was removed by retention: the consumer resumes at start.
    return max(0, offsets.log_end - max(offsets.committed, offsets.log_start))


@dataclass(frozen=True, slots=True)
class OffsetSample:
    time: float
    offset: int


def offset_time(samples: Sequence[OffsetSample], offset: int) -> float | None:
    """When the log end reached `offset`, interpolated from (time, log-end) samples (oldest
    first); extrapolated from the overall rate when offset predates the samples."""
    if not samples:
        return None
    if offset >= samples[-1].offset:
        return samples[-1].time
    for older, newer in itertools.pairwise(samples):
        if older.offset <= offset <= newer.offset:
            if newer.offset == older.offset:
                return older.time
            fraction = (offset - older.offset) / (newer.offset - older.offset)
            return older.time + fraction * (newer.time - older.time)
    first, last = samples[0], samples[-1]
    if last.offset == first.offset or last.time == first.time:
        return first.time  # no rate known: at least as old as the oldest sample
    rate = (last.offset - first.offset) / (last.time - first.time)
    return first.time - (first.offset - offset) / rate


def lag_seconds(samples: Sequence[OffsetSample], position: int, log_end: int, now: float) -> float:
    """Seconds the consumer at `position` is behind: the age of the first unconsumed message."""
    if position >= log_end:
        return 0.0
    produced = offset_time(samples, position + 1)
    return max(0.0, now - produced) if produced is not None else 0.0


def rate(samples: Iterable[tuple[float, int | None]], window: float, now: float) -> float | None:
    """Offsets per second over the last `window` seconds of (time, offset) samples (oldest
    first; None offsets skipped), if two samples span it."""
    recent = [(t, o) for t, o in samples if o is not None and t >= now - window]
    if len(recent) < 2 or recent[-1][0] <= recent[0][0]:
        return None
    (first_time, first), (last_time, last) = recent[0], recent[-1]
    return max(0.0, (last - first) / (last_time - first_time))
