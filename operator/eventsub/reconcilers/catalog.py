"""The live catalog and its governance.

LiveCatalog builds the catalog snapshot (core.catalog_snapshot) from the cache, on any replica,
at most once a second; the activity figures come from the autoscaler's lag reads, so only the
leader has them. CatalogGovernance, on the leader, checks the graph every few seconds: each
subscription on a feedback loop gets a FeedbackLoop condition naming the cycle, with an Event
and a metric, cleared once the cycle is broken; loose ends (events without owner or
description, topics nobody produces or consumes) are exported as metrics. Warnings only:
nothing here stops a consumer."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from eventsub import metrics
from eventsub.api.resources import EVENT_SUBSCRIPTION, EVENT_TOPIC, KAFKA_CONNECTION
from eventsub.api.subscription import SubscriptionCatalogStatus
from eventsub.core.activity import ActivityTracker
from eventsub.core.catalog_graph import Findings, describe_cycle
from eventsub.core.catalog_snapshot import Catalog, build
from eventsub.core.status import CATALOG
from eventsub.kafka.registry import ConnectionRegistry
from eventsub.kube.api import Kube
from eventsub.kube.errors import KubeError
from eventsub.kube.objects import ObjectRef
from eventsub.reconcilers.status import updated_condition, write_part
from eventsub.runtime.cache import Body, ObjectCache

logger = logging.getLogger("eventsub.catalog")
PASS_SECONDS = 5.0
MAX_DEFERRED_PASSES = 4  # a pass waits for busy reconcilers 20 s at most
SNAPSHOT_SECONDS = 1.0  # a snapshot is reused this long
LOOP = "FeedbackLoop"


class LiveCatalog:
    def __init__(self, cache: ObjectCache, registry: ConnectionRegistry, activity: ActivityTracker,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.cache, self.registry, self.activity, self.clock = cache, registry, activity, clock
        self._latest: tuple[float, Catalog] | None = None

    def snapshot(self) -> Catalog:
        now = self.clock()
        if self._latest is not None and now - self._latest[0] < SNAPSHOT_SECONDS:
            return self._latest[1]
        catalog = build(self.cache.items(EVENT_TOPIC.plural),
                        self.cache.items(EVENT_SUBSCRIPTION.plural),
                        self.registry.cluster_of, self.activity.all(),
                        self.cache.items(KAFKA_CONNECTION.plural))
        self._latest = (now, catalog)
        return catalog


class CatalogGovernance:
    def __init__(self, kube: Kube, catalog: LiveCatalog, pass_seconds: float = PASS_SECONDS,
                 working: Callable[[], bool] = lambda: False) -> None:
        self.kube, self.catalog = kube, catalog
        self.pass_seconds = pass_seconds
        # Warnings only: a pass waits (a few at most) while the reconcilers work through a
        # burst, so a thousand changes are not rebuilt into a whole snapshot every few seconds.
        self.working = working
        # The FeedbackLoop message last written per subscription: the cache may not show the
        # write yet at the next pass, and a second write would repeat the Event.
        self._written: dict[str, str | None] = {}

    async def run(self) -> None:
        while True:
            try:
                await self.check()
            except KubeError as error:  # the API server's trouble: the next pass retries
                logger.warning("catalog pass: %s", error.message)
            await asyncio.sleep(self.pass_seconds)
            for _ in range(MAX_DEFERRED_PASSES):
                if not self.working():
                    break
                await asyncio.sleep(self.pass_seconds)

    async def check(self) -> Findings:
        snapshot = self.catalog.snapshot()
        findings = snapshot.findings
        _export(findings, list(snapshot.consumers))
        self._written = {k: m for k, m in self._written.items() if k in snapshot.consumers}
        for key, body in self.catalog.cache.items(EVENT_SUBSCRIPTION.plural):
            await self._mark(key, body, findings.loops.get(key))
        return findings

    async def _mark(self, key: str, body: Body, cycle: tuple[str, ...] | None) -> None:
        """Writes the FeedbackLoop condition when it changes, with an Event."""
        message = None if cycle is None else (
            f"this subscription is on a feedback loop: {describe_cycle(cycle)} (what it produces "
            f"comes back to it)")
        if message == self._written.get(key, _stored_loop_message(body)):
            return
        ref = ObjectRef.of(body, EVENT_SUBSCRIPTION.plural)
        conditions = [] if message is None else [
            updated_condition(body, LOOP, True, "CycleDetected", message)]
        if not await write_part(self.kube, CATALOG, ref, body,
                                SubscriptionCatalogStatus(conditions=conditions)):
            return
        self._written[key] = message
        if message is None:
            await self.kube.post_event(ref, "Normal", "FeedbackLoopResolved",
                                       "this subscription is no longer on a feedback loop")
        else:
            logger.warning("%s: %s", key, message)
            await self.kube.post_event(ref, "Warning", LOOP, message)


def _stored_loop_message(body: Body) -> str | None:
    for condition in (body.get("status") or {}).get("conditions") or ():
        if condition.get("type") == LOOP and condition.get("status") == "True":
            return str(condition.get("message"))
    return None


def _export(findings: Findings, services: list[str]) -> None:
    metrics.CATALOG_FEEDBACK_LOOPS.set(len(findings.cycles))
    metrics.FEEDBACK_LOOPS.replace({tuple(key.split("/", 1)): {
        metrics.FEEDBACK_LOOP: int(key in findings.loops)} for key in services})
    metrics.CATALOG_FINDINGS.labels("undocumented_events").set(len(findings.undocumented))
    metrics.CATALOG_FINDINGS.labels("unproduced_subscriptions").set(
        len({s for s, _ in findings.unproduced}))
    metrics.CATALOG_FINDINGS.labels("unconsumed_events").set(len(findings.unconsumed))
