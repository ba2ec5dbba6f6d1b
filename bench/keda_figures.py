"""The figures of `make bench-keda`, from samples: pure functions, unit-tested without I/O.

A run samples, per scenario and system, the Deployment's replicas and the count of messages
processed, each with the time since the scenario started. The figures:
- first scale-out: from the backlog (the first message of the scenario's load) to the first
  sample with more replicas than the Deployment had then;
- drain: from the last message produced to the sample where every message that can be
  processed was (a poison message's partition stops at it);
- replica-seconds: replicas integrated over the scenario's window (a step function);
- scale events: changes of replicas; flaps: two in opposite directions within FLAP_SECONDS
  (a scale to zero is not one: it comes after its own cooldown).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

FLAP_SECONDS = 60.0


@dataclass(frozen=True)
class Point:
    time: float
    value: int


def first_scale_out(replicas: Sequence[Point], backlog: float) -> float | None:
    """Seconds from the backlog to the first sample with more replicas than at the backlog."""
    before = [p for p in replicas if p.time <= backlog]
    base = before[-1].value if before else (replicas[0].value if replicas else 0)
    for p in replicas:
        if p.time > backlog and p.value > base:
            return p.time - backlog
    return None


def drained_after(processed: Sequence[Point], last_produced: float, expected: int) -> float | None:
    """Seconds from the last message produced until the count processed reached expected."""
    for p in processed:
        if p.value >= expected:
            return max(p.time - last_produced, 0.0)
    return None


def replica_seconds(replicas: Sequence[Point], end: float) -> float:
    total = 0.0
    for p, following in itertools.pairwise([*replicas, Point(end, 0)]):
        total += p.value * max(min(following.time, end) - p.time, 0.0)
    return total


@dataclass(frozen=True)
class ScaleEvent:
    time: float
    before: int
    after: int


def scale_events(replicas: Sequence[Point]) -> list[ScaleEvent]:
    return [ScaleEvent(b.time, a.value, b.value)
            for a, b in itertools.pairwise(replicas) if a.value != b.value]


def flaps(events: Sequence[ScaleEvent]) -> int:
    count = 0
    for previous, event in itertools.pairwise(events):
        opposite = (previous.after > previous.before) != (event.after > event.before)
        if opposite and event.time - previous.time < FLAP_SECONDS and event.after != 0:
            count += 1
    return count


def value_at(replicas: Sequence[Point], time: float) -> int | None:
    """The replicas at a time: the last change at or before it (samples record changes)."""
    before = [p for p in replicas if p.time <= time]
    return before[-1].value if before else None


def first_time_at(replicas: Sequence[Point], after: float, value: int) -> float | None:
    """Seconds from after until replicas equal value (0 when they already do then)."""
    if value_at(replicas, after) == value:
        return 0.0
    for p in replicas:
        if p.time >= after and p.value == value:
            return p.time - after
    return None


def wake_up(replicas: Sequence[Point], after: float) -> float | None:
    """Seconds from after until replicas leave zero; None unless they were at zero then."""
    if value_at(replicas, after) != 0:
        return None
    for p in replicas:
        if p.time >= after and p.value > 0:
            return p.time - after
    return None


def ratio(ours: float | None, theirs: float | None) -> str:
    """theirs / ours, as the table prints it ("-" when either is missing or ours is 0)."""
    if ours is None or theirs is None or ours == 0:
        return "-"
    return f"{theirs / ours:.1f}x"
