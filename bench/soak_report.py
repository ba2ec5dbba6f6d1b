"""The soak's figures, computed from what the run recorded. Pure: no clock, no I/O.

Times are wall-clock seconds (time.time()), so they compare with Kubernetes Event timestamps.
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from soak_load import Position, Processing

DROP_LAG = 1000  # a recommendation of <= 1 replica while the lag is above this is a drop
FLAP_SECONDS = 60  # a change of direction within this of the previous scale event is a flap
REBALANCE_SECONDS = 30  # a duplicate this soon after a scale event is put down to its rebalance
RSS_WARMUP_SECONDS = 60  # an operator process's first minute (imports, caches filling) is not a trend
RSS_TREND_SECONDS = 240  # a slope over less than this says nothing about a leak


@dataclass(frozen=True)
class Window:
    """A chaos action, from its start until the system had time to recover from it; `scope`:
    the one subscription it disturbs, or None for all (the broker, the operator, the API server)."""

    name: str
    start: float
    end: float
    scope: str | None = None

    def holds(self, t: float, subscription: str) -> bool:
        return self.start <= t <= self.end and self.scope in (None, subscription)


@dataclass(frozen=True)
class Rewind:
    """A Rewind replay: from `start` until `end` (its window) the consumers read its partitions
    again from the new offsets, so a message at or after one of them is processed once more:
    the plan's [new, current) range, and what was consumed between the plan and the pause."""

    moves: tuple[tuple[str, int, int, int], ...]  # topic, partition, new offset, current offset
    start: float
    end: float

    def covers(self, position: Position, seen: float) -> bool:
        topic, partition, offset = position
        return self.start <= seen <= self.end and any(
            t == topic and p == partition and new <= offset for t, p, new, _ in self.moves)

    def size(self) -> int:
        return sum(max(0, current - new) for _, _, new, current in self.moves)


@dataclass(frozen=True)
class ScaleEvent:
    time: float
    subscription: str
    before: int
    after: int
    reason: str


@dataclass(frozen=True)
class Sample:
    """One reading of the leader's recommendation for a subscription."""

    time: float
    subscription: str
    lag: float
    desired: float


@dataclass(frozen=True)
class TopicFigures:
    produced: int
    failed: int
    processed: int
    missing: int
    duplicates: Counter[str]  # cause -> extra processings
    repeats: list[tuple[float, str]]  # (when seen, cause) of each extra processing


def in_chaos(windows: Sequence[Window], t: float, subscription: str) -> Window | None:
    """The window of the subscription that t falls in; where windows overlap, the one that
    began last (the freshest disturbance)."""
    return max((w for w in windows if w.holds(t, subscription)), key=lambda w: w.start,
               default=None)


def topic_figures(subscription: str, delivered: Iterable[Position], failed: int,
                  records: dict[Position, list[Processing]], windows: Sequence[Window],
                  rewind: Rewind | None, scale_times: Sequence[float]) -> TopicFigures:
    """The figures of the one topic a subscription reads: `delivered` are its messages,
    `records` its processings, `scale_times` the subscription's scale events."""
    produced = set(delivered)
    processed = produced & set(records)
    repeats = []
    for position, processings in records.items():
        for n, again in enumerate(sorted(processings, key=lambda p: p.seen)[1:]):
            cause = _cause(subscription, position, n, again, windows, rewind, scale_times)
            repeats.append((again.seen, cause))
    return TopicFigures(produced=len(produced), failed=failed, processed=len(processed),
                        missing=len(produced - processed),
                        duplicates=Counter(cause for _, cause in repeats), repeats=sorted(repeats))


def _cause(subscription: str, position: Position, n: int, again: Processing,
           windows: Sequence[Window],
           rewind: Rewind | None, scale_times: Sequence[float]) -> str:
    """Why a message was processed once more: the Rewind (its first repeat, if the rewind moved
    back over it while it ran), else the chaos action whose window it fell in (redelivery from
    the last committed offset after a hand-over), else a scale event's rebalance just before,
    else unexplained."""
    if n == 0 and rewind is not None and rewind.covers(position, again.seen):
        return "Rewind replay"
    window = in_chaos(windows, again.seen, subscription)
    if window is not None:
        return f"redelivery in window: {window.name}"
    if any(0 <= again.seen - t <= REBALANCE_SECONDS for t in scale_times):
        return "redelivery after a scale event's rebalance"
    return "unexplained"


def flaps(events: Sequence[ScaleEvent],
          bursts: Sequence[float] = ()) -> list[tuple[ScaleEvent, ScaleEvent]]:
    """Pairs of scale events of one subscription in opposite directions within FLAP_SECONDS,
    except a scale to zero (it comes after its cooldown, which is its stabilization) and a
    scale-up within REBALANCE_SECONDS after a burst was produced (new load, not a flap)."""
    found = []
    ordered = sorted(events, key=lambda e: e.time)
    for previous, event in itertools.pairwise(ordered):
        opposite = (previous.after > previous.before) != (event.after > event.before)
        new_load = event.after > event.before and any(
            0 <= event.time - t <= REBALANCE_SECONDS for t in bursts)
        if opposite and event.time - previous.time < FLAP_SECONDS and event.after != 0 \
                and not new_load:
            found.append((previous, event))
    return found


def drops(samples: Sequence[Sample], windows: Sequence[Window]) -> dict[str, tuple[int, int]]:
    """Recommendation drops (desired <= 1 while lag > DROP_LAG), counted as episodes (a run of
    consecutive dropped samples of one subscription), split into {"healthy": (episodes,
    samples), "chaos": (episodes, samples)} by where each episode began."""
    counts = {"healthy": [0, 0], "chaos": [0, 0]}
    dropping: dict[str, bool] = {}
    for sample in sorted(samples, key=lambda s: s.time):
        dropped = sample.lag > DROP_LAG and sample.desired <= 1
        where = "chaos" if in_chaos(windows, sample.time, sample.subscription) else "healthy"
        if dropped:
            counts[where][1] += 1
            if not dropping.get(sample.subscription):
                counts[where][0] += 1
        dropping[sample.subscription] = dropped
    return {k: (v[0], v[1]) for k, v in counts.items()}


def split_by_windows(events: Iterable[tuple[float, str]],
                     windows: Sequence[Window]) -> tuple[int, int]:
    """Events (time, subscription): (outside every chaos window, inside one)."""
    inside = [in_chaos(windows, t, subscription) is not None for t, subscription in events]
    return inside.count(False), inside.count(True)


@dataclass(frozen=True)
class Rss:
    start: float
    peak: float
    end: float
    # MiB/h after the warm-up, and over the last half of the process's life (once its caches
    # and leadership settled); None when that spans too little time to say anything.
    slope_per_hour: float | None
    late_slope_per_hour: float | None
    seconds: float


def rss_figures(samples: Sequence[tuple[float, float]]) -> Rss:
    """From (time, MiB) samples of one process, oldest first."""
    first, last = samples[0][0], samples[-1][0]
    trend = [(t, m) for t, m in samples if t - first >= RSS_WARMUP_SECONDS]
    late = [(t, m) for t, m in samples if t >= (first + last) / 2]
    return Rss(start=samples[0][1], peak=max(m for _, m in samples), end=samples[-1][1],
               slope_per_hour=_hourly(trend), late_slope_per_hour=_hourly(late),
               seconds=last - first)


def _hourly(points: Sequence[tuple[float, float]]) -> float | None:
    if not points or points[-1][0] - points[0][0] < RSS_TREND_SECONDS:
        return None
    return _slope(points) * 3600


def _slope(points: Sequence[tuple[float, float]]) -> float:
    """Least-squares slope of y over x."""
    n = len(points)
    mean_x = sum(x for x, _ in points) / n
    mean_y = sum(y for _, y in points) / n
    var = sum((x - mean_x) ** 2 for x, _ in points)
    return sum((x - mean_x) * (y - mean_y) for x, y in points) / var if var else 0.0
