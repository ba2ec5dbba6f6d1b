"""A bound on the requests one client has in flight, counted in requests, not in calls."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator


class InFlightLimit:
    """At most `capacity` requests in flight at once; a call holds as many as it sends.

    A call larger than the capacity waits until nothing else is in flight and then goes alone,
    so it is never starved and never split here (callers split their own waves).
    """

    def __init__(self, capacity: int) -> None:
        if capacity < 1:
            raise ValueError("capacity must be at least 1")
        self.capacity = capacity
        self.in_flight = 0
        self._changed = asyncio.Condition()

    @contextlib.asynccontextmanager
    async def hold(self, requests: int) -> AsyncIterator[None]:
        held = min(max(requests, 0), self.capacity)
        async with self._changed:
            await self._changed.wait_for(lambda: self.in_flight + held <= self.capacity)
            self.in_flight += held
        try:
            yield
        finally:
            async with self._changed:
                self.in_flight -= held
                self._changed.notify_all()
