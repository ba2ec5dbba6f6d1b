"""Is anyone still producing an event? From the log-end offsets the lag collector reads each
poll anyway: the rate over the last minutes and when the log end last moved. Time comes in as
an argument (wall-clock seconds)."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping

from eventsub.core.catalog_graph import Event
from eventsub.core.catalog_snapshot import Activity

WINDOW_SECONDS = 300.0  # the rate is over this much history, at most
RESOLUTION_SECONDS = 10.0  # samples kept at most this often (memory at 10,000 topics)


class ActivityTracker:
    def __init__(self, window: float = WINDOW_SECONDS, resolution: float = RESOLUTION_SECONDS
                 ) -> None:
        self.window, self.resolution = window, resolution
        self._samples: dict[Event, deque[tuple[float, int]]] = {}  # (time, sum of log ends)
        self._last: dict[Event, int] = {}  # the latest sum of log ends read
        self._moved: dict[Event, float] = {}  # when the log end was last seen moving

    def observe(self, log_ends: Mapping[Event, int], now: float) -> None:
        """The summed log-end offsets of some events, read at `now`."""
        for event, end in log_ends.items():
            samples = self._samples.setdefault(event, deque())
            if event in self._last and end != self._last[event]:
                self._moved[event] = now
            self._last[event] = end
            if samples and now - samples[-1][0] < self.resolution:
                continue
            samples.append((now, end))
            while len(samples) > 2 and samples[1][0] <= now - self.window:
                samples.popleft()

    def forget(self, keep: Iterable[Event]) -> None:
        kept = set(keep)
        for event in [e for e in self._samples if e not in kept]:
            self._samples.pop(event, None)
            self._last.pop(event, None)
            self._moved.pop(event, None)

    def activity(self, event: Event) -> Activity | None:
        samples = self._samples.get(event)
        if not samples:
            return None
        (t0, first), (t1, last) = samples[0], samples[-1]
        rate = (last - first) / (t1 - t0) if t1 > t0 else None
        return Activity(messages_per_second=max(rate, 0.0) if rate is not None else None,
                        last_message_time=self._moved.get(event))

    def all(self) -> dict[Event, Activity]:
        return {e: a for e in self._samples if (a := self.activity(e)) is not None}
