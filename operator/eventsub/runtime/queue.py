"""A work queue of object keys: deduplicated, delayed re-adds, per-key exponential backoff.

A key is never handed to two workers at once; a key added while it is being processed is
processed again afterwards, so no change is lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable


class WorkQueue:
    def __init__(self, backoff_base: float = 1.0, backoff_max: float = 30.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.backoff_base, self.backoff_max = backoff_base, backoff_max
        self._clock = clock
        self._ready: dict[str, None] = {}  # insertion-ordered set
        self._delayed: dict[str, float] = {}  # key -> due time
        self._processing: set[str] = set()
        self._again: set[str] = set()
        self._failures: dict[str, int] = {}
        self._wakeup = asyncio.Event()

    def add(self, key: str, delay: float = 0.0) -> None:
        if delay > 0:
            due = self._clock() + delay
            if key not in self._ready and self._delayed.get(key, due + 1) > due:
                self._delayed[key] = due
        elif key in self._processing:
            self._again.add(key)
        else:
            self._delayed.pop(key, None)
            self._ready[key] = None
        self._wakeup.set()

    def retry(self, key: str) -> float:
        """Re-adds key after a backoff that doubles with each consecutive failure."""
        failures = self._failures.get(key, 0) + 1
        self._failures[key] = failures
        delay = min(self.backoff_base * 2.0 ** (failures - 1), self.backoff_max)
        self.add(key, delay)
        return delay

    def forget(self, key: str) -> None:
        """Resets the backoff of key after a success."""
        self._failures.pop(key, None)

    def busy(self, key: str) -> bool:
        """True while a worker is processing key."""
        return key in self._processing

    def at_hand(self) -> int:
        """Keys being processed or ready to be (delayed ones are not at hand yet)."""
        return len(self._ready) + len(self._processing)

    def failures(self, key: str) -> int:
        return self._failures.get(key, 0)

    def done(self, key: str) -> None:
        self._processing.discard(key)
        if key in self._again:
            self._again.discard(key)
            self.add(key)

    def __len__(self) -> int:
        return len(self._ready) + len(self._delayed)

    def _promote_due(self) -> float | None:
        """Moves due keys to ready; returns seconds until the next delayed key, if any."""
        now = self._clock()
        for key, due in list(self._delayed.items()):
            if due <= now:
                del self._delayed[key]
                self.add(key)
        return min(self._delayed.values()) - now if self._delayed else None

    def take_ready(self, max_items: int) -> list[str]:
        self._promote_due()
        batch: list[str] = []
        for key in list(self._ready):
            if len(batch) >= max_items:
                break
            del self._ready[key]
            self._processing.add(key)
            batch.append(key)
        return batch

    async def take(self, max_items: int = 500, linger: float = 0.05) -> list[str]:
        """Waits for work; lingers briefly so that keys arriving together leave together."""
        while True:
            wait = self._promote_due()
            if self._ready:
                await asyncio.sleep(linger)
                return self.take_ready(max_items)
            self._wakeup.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wakeup.wait(), timeout=wait)
