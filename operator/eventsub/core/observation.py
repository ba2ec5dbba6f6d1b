"""From one lag read to what the decision and the status need, with the history it learns from.

The history (per partition: recent log-end and committed offsets) is plain data the caller keeps
between polls; every function here returns a new one.

Health is judged from one sample per partition per read over the last two windows (core.health).
Kept as such, that is a dozen objects per partition: 130 MiB at 10,000 idle subscriptions of 8
partitions. So the history keeps the times of the reads once, and per partition only the reads
at which its (committed offset, lag, owner) changed; the samples are rebuilt from both when
judged, exactly as they were read (a partition is in every read from its first one on, or its
history is dropped).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from eventsub.core.health import STALL, HealthSample, partition_health, progressing, worst
from eventsub.core.lag import OffsetSample, PartitionOffsets, lag_seconds, partition_lag, rate
from eventsub.core.scaling import LagSnapshot

HISTORY_SECONDS = 900.0  # how far back the (offset, time) table reaches for time lag
PartitionKey = tuple[str, int]


@dataclass(frozen=True, slots=True)
class PartitionHistory:
    since: float  # the first read that had this partition
    log_end: tuple[OffsetSample, ...] = ()
    changes: tuple[HealthSample, ...] = ()  # the reads at which its sample changed, oldest first

    def samples(self, reads: Sequence[float]) -> tuple[HealthSample, ...]:
        """One sample per read (reads: their times, oldest first) from the first that had this
        partition: each the value of the latest change at or before it."""
        out: list[HealthSample] = []
        changes, i = self.changes, 0
        for time in reads:
            if time < self.since:
                continue
            while i + 1 < len(changes) and changes[i + 1].time <= time:
                i += 1
            c = changes[i]
            out.append(c if c.time == time else HealthSample(time, c.committed, c.lag, c.owner))
        return tuple(out)


@dataclass(frozen=True)
class History:
    partitions: Mapping[PartitionKey, PartitionHistory] = field(default_factory=dict)
    per_replica_rate: float | None = None  # learned messages/s per replica (EWMA)
    reads: tuple[float, ...] = ()  # when the reads within the health history happened


@dataclass(frozen=True, slots=True)
class PartitionView:
    topic: str
    partition: int
    lag: int
    lag_seconds: float
    health: str


@dataclass(frozen=True)
class Observation:
    history: History
    partitions: tuple[PartitionView, ...]
    snapshot: LagSnapshot
    health: str


def _append(samples: Sequence[OffsetSample], sample: OffsetSample) -> tuple[OffsetSample, ...]:
    kept = [s for s in samples if s.time >= sample.time - HISTORY_SECONDS]
    if kept and kept[-1].offset == sample.offset:
        # Only the first time an offset was seen tells when it was produced.
        return tuple(kept)
    return (*kept, sample)


def _changed(changes: Sequence[HealthSample], sample: HealthSample,
             reach: float) -> tuple[HealthSample, ...]:
    """The changes still needed to rebuild the samples of the reads since `reach`, with this
    read's sample if it differs from the latest change."""
    first = 0
    while first + 1 < len(changes) and changes[first + 1].time <= reach:
        first += 1  # a later change applies to every read since reach
    kept = tuple(changes[first:])
    if kept and (kept[-1].committed, kept[-1].lag, kept[-1].owner) == (
            sample.committed, sample.lag, sample.owner):
        return kept
    return (*kept, sample)


def observe(history: History, offsets: Sequence[PartitionOffsets], *, members: int, replicas: int,
            start_position: str, poll_seconds: float, now: float,
            owners: Mapping[PartitionKey, str] | None = None) -> Observation:
    """Folds one successful read into the history and summarizes it.

    Every partition's lag drives scale-out, from the first poll that sees it, except a stalled
    one (core.health: no progress for a whole window since its owner got it): more replicas
    cannot speed up a partition that is stuck, e.g. on a poison message, since one partition is
    consumed by one consumer. owners: partition -> the group member it is assigned to. `now`
    increases from one read to the next (the caller's monotonic clock).
    """
    window = max(6 * poll_seconds, 30.0)  # Burrow-style evaluation window
    reach = now - window * 2  # how far back health samples are kept
    reads = (*(t for t in history.reads if t >= reach), now)
    partitions: dict[PartitionKey, PartitionHistory] = {}
    views: list[PartitionView] = []
    consumed = produced = 0.0
    busy = False
    progress: list[bool] = []
    for o in sorted(offsets, key=lambda o: (o.topic, o.partition)):
        key = (o.topic, o.partition)
        past = history.partitions.get(key) or PartitionHistory(since=now)
        lag = partition_lag(o, start_position)
        ends = _append(past.log_end, OffsetSample(now, o.log_end))
        read = HealthSample(now, o.committed, lag, (owners or {}).get(key))
        partitions[key] = PartitionHistory(past.since, ends, _changed(past.changes, read, reach))
        healths = partitions[key].samples(reads)
        progress.append(progressing(healths, window))
        position = o.committed if o.committed is not None else o.log_end - lag
        views.append(PartitionView(o.topic, o.partition, lag,
                                   lag_seconds(ends, position, o.log_end, now),
                                   partition_health(healths, window, members)))
        produced += rate(((s.time, s.offset) for s in ends), window, now) or 0.0
        consumed += rate(((s.time, s.committed) for s in healths), window, now) or 0.0
        busy = busy or any(s.lag > 0 for s in healths)
    per_replica = history.per_replica_rate
    if replicas > 0 and busy and consumed > 0:
        sample = consumed / replicas
        per_replica = sample if per_replica is None else 0.5 * per_replica + 0.5 * sample
    # Counted in full: partitions whose consumer is seen progressing, or all of them while the
    # group has no consumer; a stalled one not at all; the others for one replica at most.
    proven = [v for v, p in zip(views, progress, strict=True)
              if v.health != STALL and (members == 0 or p)]
    unproven = [v for v, p in zip(views, progress, strict=True)
                if v.health != STALL and members > 0 and not p]
    moving = proven + unproven
    snapshot = LagSnapshot(
        ok=True, total_lag=sum(v.lag for v in views), scaling_lag=sum(v.lag for v in proven),
        unproven_lags=tuple(v.lag for v in unproven if v.lag > 0),
        partitions=len(views), partitions_with_lag=sum(1 for v in moving if v.lag > 0),
        stalled_partitions=sum(1 for v in views if v.lag > 0) - sum(1 for v in moving if v.lag > 0),
        max_lag_seconds=max((v.lag_seconds for v in views), default=0.0),
        arrival_rate=produced, per_replica_rate=per_replica)
    return Observation(History(partitions, per_replica, reads), tuple(views), snapshot,
                       worst(v.health for v in views))
