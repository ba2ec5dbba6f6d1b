"""The one contract between the controller machinery and the reconcilers.

A reconciler takes a batch of object keys and converges each (level-based: it may see any key
again at any time). A kind registers, in one table, its reconciler with its queue and workers,
what its objects refer to, and which of those kinds' changes it must react to: the cache keeps
an index of the references, so a change reaches its referrers without a scan.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from eventsub.runtime.queue import WorkQueue

Body = dict[str, Any]
Reference = tuple[str, str]  # (plural, namespace/name) of a referenced object


class Reconciler(Protocol):
    async def reconcile(self, keys: Sequence[str]) -> None:
        """Converges these objects; raises only for a bug or an API error (retried with backoff)."""


class EachKey:
    """A reconciler that converges the keys of a batch one by one, concurrently."""

    async def reconcile(self, keys: Sequence[str]) -> None:
        await asyncio.gather(*(self.reconcile_one(key) for key in keys))

    async def reconcile_one(self, key: str) -> None:
        raise NotImplementedError


@dataclass(frozen=True)
class Worker:
    """Workers draining one queue into one reconciler."""

    name: str  # in logs and metrics, e.g. EventTopic
    queue: WorkQueue
    reconciler: Reconciler
    batch: int = 50  # keys per call
    count: int = 1  # workers in flight at once
    linger: float = 0.05  # seconds a worker waits for more keys to arrive together


def no_references(_: Body) -> Iterable[Reference]:
    return ()


@dataclass(frozen=True)
class Watch:
    """A kind whose objects this kind refers to and must react to."""

    plural: str
    every_change: bool = True  # False: only when such an object is deleted or its
    # availability changes (Manager.changed), e.g. a connection probed up or down


@dataclass(frozen=True)
class Kind:
    """A watched resource kind and how the runtime serves it."""

    plural: str
    worker: Worker
    references: Callable[[Body], Iterable[Reference]] = no_references
    watches: tuple[Watch, ...] = ()  # what re-queues the objects that refer to another
    # Kinds whose objects refer to this kind's: a change of one re-queues the object it refers
    # to (e.g. a connection kept until the Delete-policy topics that use it are done).
    referred_by: tuple[str, ...] = ()
    reconcile_deleted: bool = True  # a DELETED event queues the key (to forget or clean up)
    # Does a change of the status alone (e.g. a reconciler's own status write) queue the
    # object again? Given the bodies before and after. A kind whose reconcilers schedule their
    # own follow-ups says no, except for the part of the status another writer feeds it.
    status_change_matters: Callable[[Body, Body], bool] = lambda before, after: True
    # Further workers that get every key the kind's worker gets, for a part of the kind's work
    # that must not wait on the main one (e.g. an EventTopic's schema beside its Kafka topic).
    also: tuple[Worker, ...] = ()

    @property
    def queues(self) -> tuple[WorkQueue, ...]:
        return (self.worker.queue, *(w.queue for w in self.also))


@dataclass(frozen=True)
class Loop:
    """A long-running task of the leader (e.g. the autoscaler): restarted if it fails."""

    name: str
    run: Callable[[], Awaitable[None]]


@dataclass(frozen=True)
class Table:
    kinds: Sequence[Kind]
    workers: Sequence[Worker] = field(default_factory=tuple)  # queues not fed by watch events
    loops: Sequence[Loop] = field(default_factory=tuple)
