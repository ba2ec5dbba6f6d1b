"""From one lag read to what the decision and the status need, with the history it learns from.

The history (per partition: recent log-end and committed offsets) is plain data the caller keeps
between polls; every function here returns a new one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from eventsub.core.health import STALL, HealthSample, partition_health, worst
from eventsub.core.lag import OffsetSample, PartitionOffsets, lag_seconds, partition_lag, rate
from eventsub.core.scaling import LagSnapshot

HISTORY_SECONDS = 900.0  # how far back the (offset, time) table reaches for time lag
PartitionKey = tuple[str, int]


@dataclass(frozen=True)
class PartitionHistory:
    log_end: tuple[OffsetSample, ...] = ()
    health: tuple[HealthSample, ...] = ()


@dataclass(frozen=True)
class History:
    partitions: Mapping[PartitionKey, PartitionHistory] = field(default_factory=dict)
    per_replica_rate: float | None = None  # learned messages/s per replica (EWMA)


@dataclass(frozen=True)
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


def _advanced(previous: int | None, current: int | None) -> bool:
    return current is not None and (previous is None or current > previous)


def observe(history: History, offsets: Sequence[PartitionOffsets], *, members: int, replicas: int,
            start_position: str, poll_seconds: float, now: float) -> Observation:
    """Folds one successful read into the history and summarizes it.

    A partition's lag drives scale-out only while its consumer makes progress (its committed
    offset advanced since the previous poll), or while the group has no consumer at all: more
    replicas cannot speed up a partition that is stuck, e.g. on a poison message, since one
    partition is consumed by one consumer. A fresh backlog therefore scales out on the second
    poll that sees it, once its consumer has committed.
    """
    window = max(6 * poll_seconds, 30.0)  # Burrow-style evaluation window
    partitions: dict[PartitionKey, PartitionHistory] = {}
    views: list[PartitionView] = []
    consumed = produced = 0.0
    busy = False
    counted: list[bool] = []
    for o in sorted(offsets, key=lambda o: (o.topic, o.partition)):
        key = (o.topic, o.partition)
        past = history.partitions.get(key, PartitionHistory())
        previous = past.health[-1].committed if past.health else None
        counted.append(members == 0 or _advanced(previous, o.committed))
        lag = partition_lag(o, start_position)
        ends = _append(past.log_end, OffsetSample(now, o.log_end))
        recent = (s for s in past.health if s.time >= now - window * 2)
        healths = (*recent, HealthSample(now, o.committed, lag))
        partitions[key] = PartitionHistory(ends, healths)
        position = o.committed if o.committed is not None else o.log_end - lag
        views.append(PartitionView(o.topic, o.partition, lag,
                                   lag_seconds(ends, position, o.log_end, now),
                                   partition_health(healths, window, members)))
        produced += rate(ends, window, now) or 0.0
        committed = [OffsetSample(s.time, s.committed) for s in healths if s.committed is not None]
        consumed += rate(committed, window, now) or 0.0
        busy = busy or any(s.lag > 0 for s in healths)
    per_replica = history.per_replica_rate
    if replicas > 0 and busy and consumed > 0:
        sample = consumed / replicas
        per_replica = sample if per_replica is None else 0.5 * per_replica + 0.5 * sample
    moving = [v for v, c in zip(views, counted, strict=True) if c and v.health != STALL]
    snapshot = LagSnapshot(
        ok=True, total_lag=sum(v.lag for v in views), scaling_lag=sum(v.lag for v in moving),
        partitions=len(views), partitions_with_lag=sum(1 for v in moving if v.lag > 0),
        stalled_partitions=sum(1 for v in views if v.lag > 0) - sum(1 for v in moving if v.lag > 0),
        max_lag_seconds=max((v.lag_seconds for v in views), default=0.0),
        arrival_rate=produced, per_replica_rate=per_replica)
    return Observation(History(partitions, per_replica), tuple(views), snapshot,
                       worst(v.health for v in views))
