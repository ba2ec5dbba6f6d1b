"""Lag health per partition, in the spirit of Burrow: OK, Warn, Stall, Stop.

Judged over the collector's polls of (committed offset, lag) within a window, from three polls on:
- Stall: lag > 0 and the committed offset did not move while consumers are in the group, e.g. a
  poison message. More replicas would not help, so a stalled partition does not drive scale-out.
- Stop: lag > 0 and the committed offset did not move, with no consumer in the group.
- Warn: the committed offset moves but lag grew over the whole window.
- OK otherwise; Unknown until the window holds enough polls.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

OK, WARN, STALL, STOP, UNKNOWN = "OK", "Warn", "Stall", "Stop", "Unknown"
_SEVERITY = {OK: 0, UNKNOWN: 1, WARN: 2, STOP: 3, STALL: 4}


@dataclass(frozen=True)
class HealthSample:
    time: float
    committed: int | None
    lag: int


def partition_health(samples: Sequence[HealthSample], window: float, members: int) -> str:
    """Health from samples (oldest first) covering at least `window` seconds."""
    if not samples:
        return UNKNOWN
    latest = samples[-1]
    if latest.lag == 0:
        return OK
    recent = [s for s in samples if s.time >= latest.time - window]
    if len(recent) < 3:  # two poll intervals without progress is enough to judge
        return UNKNOWN
    committed = {s.committed for s in recent}
    if len(committed) == 1 and all(s.lag > 0 for s in recent):
        return STALL if members > 0 else STOP
    lags = [s.lag for s in recent]
    if all(b > a for a, b in itertools.pairwise(lags)):
        return WARN
    return OK


def worst(healths: Iterable[str]) -> str:
    return max(healths, key=lambda h: _SEVERITY[h], default=UNKNOWN)
