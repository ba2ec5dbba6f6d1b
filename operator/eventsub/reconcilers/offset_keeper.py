"""The retention guard: renews the committed offsets of subscriptions whose group has no
consumer (scaled to zero, paused, between Deployments) before Kafka's offset retention would
expire them (core.offset_keeping decides when; kafka.offset_renewal does it)."""

from __future__ import annotations

import asyncio
import datetime
import logging
import time
from collections.abc import Callable, Mapping
from typing import Any

from eventsub.core.offset_keeping import (
    DEFAULT_RETENTION_SECONDS,
    renewal_due,
    renewed,
    with_known_renewal,
)
from eventsub.fence import NotLeading
from eventsub.kafka.errors import KafkaRequestError
from eventsub.kafka.lag import GroupRead
from eventsub.kafka.offset_renewal import offset_retention_seconds, renew_offsets
from eventsub.kafka.registry import Entry
from eventsub.kube.api import Kube
from eventsub.reconcilers.contracts import Target
from eventsub.reconcilers.status import now_rfc3339

logger = logging.getLogger("eventsub.offsets")
RETENTION_READ_SECONDS = 600.0  # how long a cluster's offset retention setting is trusted
JOIN_TIMEOUT_SECONDS = 30.0


class OffsetKeeper:
    def __init__(self, kube: Kube, clock: Callable[[], float] = time.time) -> None:
        self.kube, self.clock = kube, clock
        self._retention: dict[str, tuple[float, float]] = {}  # connection -> (seconds, read at)
        self._renewing: dict[str, asyncio.Task[None]] = {}  # subscription key -> its renewal

    async def observe(self, target: Target, read: GroupRead, entry: Entry,
                      body: Mapping[str, Any]) -> None:
        """Called with each lag read: starts a renewal in the background when one is due."""
        if target.keeper.renewed is None:  # first sight (e.g. after a restart): what status knows
            _seed(target, body)
        if target.keeper.renewed is None and not (body.get("status") or {}).get("startOffsetsTime"):
            # Not yet stamped: the subscription's first wiring commits the start offsets and
            # stamps status, which this body (from the cache) may not show yet. Renewing now
            # would repeat that commit for every new subscription. (Stamped without a commit,
            # no moment is known: renewal_due renews an Empty group with offsets at once.)
            return
        if read.error is not None or not self._idle(target.key):
            return
        has_offsets = any(p.committed is not None for p in read.offsets)
        retention = await self._retention_of(target.connection, entry)
        due, target.keeper = renewal_due(read.state, has_offsets, target.keeper, self.clock(),
                                         retention)
        if due:
            self._renewing[target.key] = asyncio.create_task(
                self._renew(target, entry, read.protocol, retention))

    def _idle(self, key: str) -> bool:
        task = self._renewing.get(key)
        return task is None or task.done()

    def forget(self, key: str) -> None:
        task = self._renewing.pop(key, None)
        if task is not None:
            task.cancel()

    async def _retention_of(self, connection: str, entry: Entry) -> float:
        known = self._retention.get(connection)
        if known is not None and self.clock() - known[1] < RETENTION_READ_SECONDS:
            return known[0]
        try:
            seconds = await offset_retention_seconds(entry.admin) or DEFAULT_RETENTION_SECONDS
        except KafkaRequestError as error:  # e.g. no DescribeConfigs right: assume the default
            logger.warning("%s: offset retention unreadable (%s); assuming Kafka's default of "
                           "7 days", connection, error.message)
            seconds = DEFAULT_RETENTION_SECONDS
        self._retention[connection] = (seconds, self.clock())
        return seconds

    async def _renew(self, target: Target, entry: Entry, protocol: str, retention: float) -> None:
        try:
            await renew_offsets(entry.admin, entry.config, target.group, target.topics, protocol,
                                JOIN_TIMEOUT_SECONDS)
        except NotLeading:
            return
        except KafkaRequestError as error:
            logger.warning("%s: renewing the offsets of group %s failed: %s", target.key,
                           target.group, error.message)
            await self.kube.post_event(target.ref, "Warning", "OffsetsNotRenewed", (
                f"renewing the committed offsets of group {target.group} failed "
                f"({error.message}); retried on the next poll"))
            return
        target.keeper = renewed(target.keeper, self.clock())
        target.offsets_renewed_time = now_rfc3339()
        await self.kube.post_event(target.ref, "Normal", "OffsetsRenewed", (
            f"group {target.group} has no consumer: its committed offsets were renewed so that "
            f"Kafka's offset retention ({retention / 60:.0f} min) keeps them"))


def _seed(target: Target, body: Mapping[str, Any]) -> None:
    """Takes from status the latest moment Kafka's retention clock surely restarted: the
    operator's last renewal, or its commit of the start offsets (a commit restarts the clock of
    a group that never had a member). Settling the start without a commit (the group had
    offsets or members already), or a status from a version that did not say, restarted
    nothing: with no other stamp, an Empty group is renewed at once."""
    status = body.get("status") or {}
    target.offsets_renewed_time = target.offsets_renewed_time or status.get("offsetsRenewedTime")
    committed = status.get("startOffsetsTime") if status.get("startOffsetsCommitted") else None
    stamps = [s for s in (target.offsets_renewed_time, committed) if s]
    if stamps:
        target.keeper = with_known_renewal(target.keeper, max(_seconds(s) for s in stamps))


def _seconds(stamp: str) -> float:
    return datetime.datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()
