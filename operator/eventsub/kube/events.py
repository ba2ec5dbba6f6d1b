"""Kubernetes Events, posted in the background.

An Event is best effort and nobody waits for it: a reconciler hands it over and goes on, and a
few senders post them behind its back. So a burst (a thousand topics created at once, each
announced) never queues status writes behind Event posts: what makes a resource Ready reaches
the API server first, and Events wait while reconcilers' writes wait for their answers or the
reconcilers work through a burst (up to DEFER_SECONDS): in a burst each Event costs the API
server about a third of a status write, on the same CPUs. The body is sent as plain JSON and the
answer is not decoded, which spares the client library's typed models (slow to import and to
convert, for nothing we read).
"""

from __future__ import annotations

import asyncio
import datetime
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

from eventsub.api.base import GROUP, VERSION
from eventsub.kube.client import call, post_json, writes_waiting
from eventsub.kube.errors import KubeError
from eventsub.kube.objects import ObjectRef

logger = logging.getLogger("eventsub.kube")
SENDERS = 4  # Events in flight at once; the rest of the client pool stays for reconcilers
MAX_PENDING = 10_000  # beyond this (the API server down for long), the oldest are dropped
# The longest an Event waits for a busy operator: longer than a burst of a thousand topics
# takes to become Ready, so that its Events follow it instead of slowing it down.
DEFER_SECONDS = 20.0


def event_body(ref: ObjectRef, type_: str, reason: str, message: str,
               now: datetime.datetime) -> dict[str, Any]:
    """A core/v1 Event as `kubectl describe` shows it."""
    stamp = now.strftime("%Y-%m-%dT%H:%M:%SZ")
    return {
        "apiVersion": "v1", "kind": "Event",
        "metadata": {"generateName": f"{ref.name}.", "namespace": ref.namespace},
        "involvedObject": {"apiVersion": f"{GROUP}/{VERSION}", "kind": ref.kind,
                           "name": ref.name, "namespace": ref.namespace, "uid": ref.uid},
        "reason": reason, "message": message[:1024], "type": type_,
        "firstTimestamp": stamp, "lastTimestamp": stamp, "count": 1,
        "source": {"component": "eventsub"},
        "reportingComponent": "eventsub.io/operator", "reportingInstance": "eventsub",
    }


Send = Callable[[dict[str, Any]], Awaitable[None]]


async def create_event(body: dict[str, Any]) -> None:
    await call(post_json, f"/api/v1/namespaces/{body['metadata']['namespace']}/events", body)


class EventPoster:
    """Takes Events at once, posts them with a few senders."""

    def __init__(self, send: Send = create_event, senders: int = SENDERS,
                 max_pending: int = MAX_PENDING, busy: Callable[[], bool] = lambda: False,
                 defer_seconds: float = DEFER_SECONDS, clock: Callable[[], float] = time.monotonic
                 ) -> None:
        self._send_one = send
        self._busy, self._defer_seconds, self._clock = busy, defer_seconds, clock
        self._working: Callable[[], bool] = lambda: False
        self._pending: deque[tuple[float, dict[str, Any]]] = deque()  # (when queued, body)
        self._senders = senders
        self._max_pending = max_pending
        self._wakeup: asyncio.Event | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._sending = 0
        self._dropped = 0

    def defer_while(self, working: Callable[[], bool]) -> None:
        """Events also wait while `working` says the reconcilers work through a burst."""
        self._working = working

    def post(self, ref: ObjectRef, type_: str, reason: str, message: str) -> None:
        """Logs the Event and queues it for posting; never waits."""
        logger.info("%s %s/%s: %s: %s", ref.kind, ref.namespace, ref.name, reason, message)
        if len(self._pending) >= self._max_pending:
            self._pending.popleft()
            self._dropped += 1
            if self._dropped == 1 or self._dropped % 1000 == 0:
                logger.warning("%d Event(s) dropped: the API server is not taking them",
                               self._dropped)
        self._pending.append((self._clock(), event_body(ref, type_, reason, message,
                                                        datetime.datetime.now(datetime.UTC))))
        self._start()
        assert self._wakeup is not None
        self._wakeup.set()

    async def flush(self, timeout: float) -> int:
        """Waits until every queued Event was posted (at most timeout seconds); returns how
        many were not."""
        deadline = asyncio.get_running_loop().time() + timeout
        while (self._pending or self._sending) and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0.05)
        return len(self._pending) + self._sending

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()

    def _start(self) -> None:
        if self._tasks:
            return
        self._wakeup = asyncio.Event()
        self._tasks = [asyncio.create_task(self._send()) for _ in range(self._senders)]

    async def _send(self) -> None:
        assert self._wakeup is not None
        while True:
            if not self._pending:
                self._wakeup.clear()
                await self._wakeup.wait()
                continue
            if (self._busy() or self._working()) and \
                    self._clock() - self._pending[0][0] < self._defer_seconds:
                await asyncio.sleep(0.05)  # reconcilers' work first
                continue
            _, body = self._pending.popleft()
            self._sending += 1
            try:
                await self._send_one(body)
            except KubeError as error:
                involved = body["involvedObject"]
                logger.warning("could not post event %s on %s/%s: %s", body["reason"],
                               involved["namespace"], involved["name"], error.message)
            except Exception:  # a bug: this Event is lost, the sender goes on with the others
                logger.exception("could not post event %s", body["reason"])
            finally:
                self._sending -= 1


POSTER = EventPoster(busy=writes_waiting)
  # the process's one poster: every KubeApi hands its Events here
