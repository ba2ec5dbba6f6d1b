"""Runs a table of kinds: routes watch events into the cache and the queues, re-queues the
objects that refer to a changed one, and runs the workers and loops while this replica leads."""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Callable

from eventsub import metrics
from eventsub.fence import NotLeading
from eventsub.kube.errors import KubeError
from eventsub.runtime.cache import ObjectCache, key_of
from eventsub.runtime.contract import Body, Loop, Table, Worker

logger = logging.getLogger("eventsub.runtime")
NOT_LEADING_RETRY_SECONDS = 1.0
BURST_KEYS = 50  # keys at hand at once that make a burst: a few changes never do
BURST_QUIET_SECONDS = 1.0


IGNORED_METADATA = ("resourceVersion", "managedFields")  # change with every write


def only_status_changed(before: Body, after: Body) -> bool:
    """Is the status all that differs between two states of an object (e.g. a status write)?"""
    if any(before.get(k) != after.get(k) for k in {*before, *after} - {"status", "metadata"}):
        return False
    meta_before, meta_after = before.get("metadata") or {}, after.get("metadata") or {}
    return all(meta_before.get(k) == meta_after.get(k)
               for k in {*meta_before, *meta_after} - set(IGNORED_METADATA))


class Manager:
    def __init__(self, cache: ObjectCache, table: Table,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.cache, self.table = cache, table
        self._clock = clock
        self._burst_seen = -math.inf  # when BURST_KEYS keys were last at hand
        self._kinds = {kind.plural: kind for kind in table.kinds}
        self._workers = [w for kind in table.kinds for w in (kind.worker, *kind.also)]
        self._workers += list(table.workers)
        self._tasks: list[asyncio.Task[None]] = []

    def observe(self, plural: str, event_type: str | None, body: Body) -> None:
        """A watch event (or the re-list's DELETED): remember the body, queue the object, and
        queue the objects that refer to it in the kinds that watch its kind."""
        key = key_of(body)
        referred = set(self.cache.references(plural, key))  # before: a deletion forgets them
        before = self.cache.get(plural, key) if event_type == "MODIFIED" else None
        status_only = before is not None and only_status_changed(before, body)
        self.cache.apply(plural, event_type, body)
        kind = self._kinds.get(plural)
        if kind is None:
            return
        if (event_type != "DELETED" or kind.reconcile_deleted) and not (
                status_only and before is not None and not kind.status_change_matters(before, body)):
            for queue in kind.queues:
                queue.add(key)
        self.changed(plural, key, state_changed=event_type == "DELETED")
        if status_only:
            return  # what refers to this object reads its spec and metadata, not its status
        for target_plural, target in referred | set(self.cache.references(plural, key)):
            target_kind = self._kinds.get(target_plural)
            if target_kind is not None and plural in target_kind.referred_by:
                target_kind.worker.queue.add(target)

    def changed(self, plural: str, key: str, state_changed: bool = False) -> None:
        """Object `key` of kind `plural` changed: re-queue its referrers in the kinds that watch
        it. state_changed: it is gone, or its availability changed (a connection probed up or
        down), which every watch reacts to; other changes only `every_change` watches."""
        for referrer_plural, referrer in self.cache.referrers(plural, key):
            kind = self._kinds.get(referrer_plural)
            if kind is not None and any(w.plural == plural and (state_changed or w.every_change)
                                        for w in kind.watches):
                for queue in kind.queues:
                    queue.add(referrer)

    def in_burst(self) -> bool:
        """Are the reconcilers working through a burst (a thousand topics applied at once, or
        a start)? One lasts while BURST_KEYS keys are at hand at once, and BURST_QUIET_SECONDS
        more (between passes a burst's keys wait a moment to be verified). A steady trickle of
        a few keys is never one, however long it goes on."""
        now = self._clock()
        if sum(worker.queue.at_hand() for worker in self._workers) >= BURST_KEYS:
            self._burst_seen = now
        return now - self._burst_seen < BURST_QUIET_SECONDS

    def start(self) -> None:
        for worker in self._workers:
            self._tasks += [asyncio.create_task(self._work(worker)) for _ in range(worker.count)]
        self._tasks += [asyncio.create_task(self._supervise(loop)) for loop in self.table.loops]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()

    async def _supervise(self, loop: Loop) -> None:
        """Keeps a long-running loop alive: a bug is logged and the loop restarted."""
        while True:
            try:
                await loop.run()
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("%s loop failed; restarting it", loop.name)
                await asyncio.sleep(1)

    async def _work(self, worker: Worker) -> None:
        queue = worker.queue
        while True:
            keys = await queue.take(worker.batch, worker.linger)
            outcome, started = "error", time.monotonic()
            try:
                await worker.reconciler.reconcile(keys)
                outcome = "success"
            except asyncio.CancelledError:
                raise
            except NotLeading as refused:
                # Leadership is lapsing: this process is about to exit; keep the work queued,
                # without spinning on it meanwhile.
                logger.info("%s: %s", worker.name, refused)
                for key in keys:
                    queue.add(key, NOT_LEADING_RETRY_SECONDS)
            except KubeError as error:
                # The API server refused or failed (e.g. a namespace being deleted): retry later.
                logger.warning("%s: %s; retrying %d object(s)", worker.name, error.message, len(keys))
                for key in keys:
                    queue.retry(key)
            except Exception:
                # A bug must not stop the operator: log it, retry these keys with backoff.
                logger.exception("%s: reconcile of %d object(s) failed", worker.name, len(keys))
                for key in keys:
                    queue.retry(key)
            finally:
                metrics.RECONCILES.labels(worker.name, outcome).inc(len(keys))
                metrics.RECONCILE_SECONDS.labels(worker.name).observe(time.monotonic() - started)
                for key in keys:
                    queue.done(key)
