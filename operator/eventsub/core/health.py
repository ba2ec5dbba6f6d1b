"""Lag health per partition, in the spirit of Burrow: OK, Warn, Stall, Stop.

A partition is judged over a window of time, from what its consumer had a chance to do: the
clock starts when its current owner got it (a rebalance restarts it) or when its committed
offset last moved, whichever is later. Not from one poll to the next, so a rebalance, or a
consumer working through another partition's batch, is never a stall.
- Stall: lag > 0 all along, and the committed offset has not moved for a whole window since the
  partition's current owner got it and since it got work (lag went from 0 to more), e.g. a
  poison message. More replicas would not help, so a
  stalled partition does not drive scale-out.
- Stop: lag > 0 and the committed offset has not moved for a whole window, with no consumer in
  the group.
- Warn: the committed offset moves but lag grew over a whole window.
- OK otherwise; Unknown while there is too little history, or while nobody owns the partition
  although the group has members (a rebalance).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

OK, WARN, STALL, STOP, UNKNOWN = "OK", "Warn", "Stall", "Stop", "Unknown"
_SEVERITY = {OK: 0, UNKNOWN: 1, WARN: 2, STOP: 3, STALL: 4}


@dataclass(frozen=True, slots=True)
class HealthSample:
    time: float
    committed: int | None
    lag: int
    owner: str | None = None  # the group member the partition is assigned to, if any


def _since(samples: Sequence[HealthSample], same: Callable[[HealthSample], Any]) -> float:
    """When the trailing run of samples with the latest sample's value of `same` began."""
    latest, start = same(samples[-1]), samples[-1].time
    for sample in reversed(samples):
        if same(sample) != latest:
            break
        start = sample.time
    return start


def progressing(samples: Sequence[HealthSample], window: float) -> bool:
    """Has the committed offset moved within the last window (seen moving, not just found)?"""
    if not samples:
        return False
    moved_at = _since(samples, lambda s: s.committed)
    return moved_at > samples[0].time and samples[-1].time - moved_at < window


def partition_health(samples: Sequence[HealthSample], window: float, members: int) -> str:
    """Health from samples (oldest first)."""
    if not samples:
        return UNKNOWN
    latest = samples[-1]
    if latest.lag == 0:
        return OK
    if members > 0 and latest.owner is None:
        return UNKNOWN  # being reassigned: nobody had a chance yet
    moved_at = _since(samples, lambda s: s.committed)  # when it reached its current offset
    # The window runs from the latest of: the offset last moved, the partition got work (lag
    # went from 0 to more), its current owner got it. Nobody is stuck before there was work.
    starts = [moved_at, _since(samples, lambda s: s.lag > 0)]
    if members > 0:
        starts.append(_since(samples, lambda s: s.owner))
    if latest.time - max(starts) >= window:
        return STALL if members > 0 else STOP
    if latest.time - samples[0].time < window:  # too little history for a trend
        return OK if moved_at > samples[0].time else UNKNOWN
    lags = [s.lag for s in samples if s.time >= latest.time - window]
    if len(lags) >= 3 and all(b > a for a, b in itertools.pairwise(lags)):
        return WARN
    return OK


def worst(healths: Iterable[str]) -> str:
    return max(healths, key=lambda h: _SEVERITY[h], default=UNKNOWN)
