"""Replay planning: from a replay's origin (and end) to the new offset of every partition. Pure.

The offset-reset menu of Kafka's own tool, decided before anything moves so a dry run and the
real run agree: to a timestamp (or N seconds ago), to the earliest retained offset, to explicit
offsets, shifted by N, or back to the snapshot an earlier replay took (roll back).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from eventsub.api.replay import ReplayOrigin, ReplayScope
from eventsub.core.refusal import Refusal


@dataclass(frozen=True)
class PartitionState:
    """What Kafka says about one partition when the replay is planned."""

    topic: str
    partition: int
    log_start: int
    log_end: int
    committed: int | None  # the subscription group's committed offset
    at_timestamp: int | None = None  # first offset at or after the origin's timestamp; None: past end


@dataclass(frozen=True)
class Move:
    topic: str
    partition: int
    current: int | None
    new: int
    end: int | None  # Job mode: stop before this offset
    messages: int  # messages the replay processes in this partition


@dataclass(frozen=True)
class Plan:
    moves: tuple[Move, ...]

    @property
    def messages(self) -> int:
        return sum(m.messages for m in self.moves)


def in_scope(scope: ReplayScope | None, topic: str, partition: int) -> bool:
    if scope is None:
        return True
    return (not scope.topics or topic in scope.topics) and \
        (not scope.partitions or partition in scope.partitions)


def origin_timestamp_ms(origin: ReplayOrigin, timestamp_ms: int | None, now_ms: int) -> int | None:
    """The timestamp to look offsets up for, if the origin is a time (secondsAgo resolves here)."""
    if origin.seconds_ago is not None:
        return now_ms - origin.seconds_ago * 1000
    return timestamp_ms


def plan_replay(origin: ReplayOrigin, partitions: Sequence[PartitionState], *, now_ms: int,
                origin_ms: int | None, job_mode: bool, end_ms: int | None = None,
                ends_at_timestamp: Mapping[tuple[str, int], int | None] | None = None,
                snapshot: Mapping[tuple[str, int], int] | None = None,
                scope: ReplayScope | None = None) -> Plan | Refusal:
    """Where each in-scope partition starts (and, in Job mode, ends). A refusal moves nothing."""
    if origin_ms is not None and origin_ms > now_ms:
        return Refusal("TimestampInFuture",
                       f"spec.from is {(origin_ms - now_ms) / 1000:.0f}s in the future: nothing to replay")
    if end_ms is not None and origin_ms is not None and end_ms < origin_ms:
        return Refusal("InvalidRange", "spec.to.timestamp is before the replay's start")
    explicit = {(o.topic, o.partition): o.offset for o in origin.offsets or []}
    if origin.snapshot_of is not None and not snapshot:
        return Refusal("SnapshotNotFound",
                       f"EventReplay {origin.snapshot_of} has no snapshot of offsets to return to")
    moves = []
    for p in partitions:
        if not in_scope(scope, p.topic, p.partition):
            continue
        key = (p.topic, p.partition)
        if origin.offsets is not None and key not in explicit:
            continue  # explicit offsets move only the partitions they name
        new = _start(origin, p, explicit.get(key), origin_ms, (snapshot or {}).get(key))
        if isinstance(new, Refusal):
            return new
        end = None
        if job_mode:
            end = p.log_end
            if ends_at_timestamp is not None:
                at_end = ends_at_timestamp.get(key)
                end = p.log_end if at_end is None else at_end
            end = max(new, end)
            messages = end - new
        else:
            messages = max(0, (p.committed if p.committed is not None else p.log_end) - new)
        moves.append(Move(p.topic, p.partition, p.committed, new, end, messages))
    unknown = set(explicit) - {(p.topic, p.partition) for p in partitions}
    if unknown:
        names = ", ".join(f"{t}[{n}]" for t, n in sorted(unknown))
        return Refusal("UnknownPartition", f"spec.from.offsets names partitions the subscription "
                                           f"does not consume: {names}")
    if not moves:
        return Refusal("NothingInScope", "no partition of the subscription is in spec.scope")
    return Plan(tuple(moves))


def _start(origin: ReplayOrigin, p: PartitionState, explicit: int | None, origin_ms: int | None,
           snapshotted: int | None) -> int | Refusal:
    where = f"{p.topic}[{p.partition}]"
    if explicit is not None:
        if explicit > p.log_end:
            return Refusal("OffsetOutOfRange",
                           f"offset {explicit} is beyond the log end {p.log_end} of {where}")
        if explicit < p.log_start:
            return Refusal("OffsetOutOfRange", f"offset {explicit} of {where} was removed by "
                                               f"retention; the earliest is {p.log_start}")
        return explicit
    if origin_ms is not None:
        return p.log_end if p.at_timestamp is None else max(p.at_timestamp, p.log_start)
    if origin.earliest:
        return p.log_start
    if origin.shift_by is not None:
        base = p.committed if p.committed is not None else p.log_end
        return min(max(base + origin.shift_by, p.log_start), p.log_end)
    if origin.snapshot_of is not None:
        if snapshotted is None:
            return p.committed if p.committed is not None else p.log_end  # not in the snapshot
        return min(max(snapshotted, p.log_start), p.log_end)
    return Refusal("InvalidSpec", "spec.from has no origin")


def remaining(moves: Sequence[Move], committed: Mapping[tuple[str, int], int | None],
              job_mode: bool) -> int:
    """Messages of the replayed range not processed yet (the replay's progress)."""
    left = 0
    for m in moves:
        position = committed.get((m.topic, m.partition))
        position = m.new if position is None else position
        target = m.end if job_mode and m.end is not None else (m.current if m.current is not None
                                                                else m.new)
        left += max(0, target - position)
    return left
