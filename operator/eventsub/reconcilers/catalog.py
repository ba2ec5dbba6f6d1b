"""Catalog governance: every few seconds the produce/consume graph is built from the cache
(core.catalog_graph). Each subscription on a feedback loop gets a FeedbackLoop condition naming
the cycle, with an Event and a metric, cleared once the cycle is broken; loose ends (events
without owner or description, topics nobody produces or consumes) are exported as metrics.
Warnings only: nothing here stops a consumer."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from typing import Any

from eventsub import metrics
from eventsub.api.resources import EVENT_SUBSCRIPTION, EVENT_TOPIC
from eventsub.api.subscription import SubscriptionCatalogStatus
from eventsub.core.catalog_graph import Event, Findings, Service, TopicFacts, analyse, describe_cycle
from eventsub.core.status import CATALOG
from eventsub.kafka.registry import ConnectionRegistry
from eventsub.kube.api import Kube
from eventsub.kube.errors import KubeError
from eventsub.kube.objects import ObjectRef
from eventsub.reconcilers.status import updated_condition, write_part
from eventsub.runtime.cache import Body, ObjectCache

logger = logging.getLogger("eventsub.catalog")
PASS_SECONDS = 5.0
LOOP = "FeedbackLoop"


class CatalogGovernance:
    def __init__(self, kube: Kube, cache: ObjectCache, registry: ConnectionRegistry,
                 pass_seconds: float = PASS_SECONDS) -> None:
        self.kube, self.cache, self.registry = kube, cache, registry
        self.pass_seconds = pass_seconds
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

    async def check(self) -> Findings:
        topics, services = self.graph()
        findings = analyse(topics, services)
        _export(findings, [s.key for s in services])
        subscriptions = self.cache.items(EVENT_SUBSCRIPTION.plural)
        self._written = {k: m for k, m in self._written.items() if k in dict(subscriptions)}
        for key, body in subscriptions:
            await self._mark(key, body, findings.loops.get(key))
        return findings

    def graph(self) -> tuple[list[TopicFacts], list[Service]]:
        """The catalog's view of every EventTopic and EventSubscription in the cache."""
        topics = {key: _topic_facts(key, body, self._cluster(body))
                  for key, body in self.cache.items(EVENT_TOPIC.plural)}
        services = [_service(key, body, self._cluster(body), topics)
                    for key, body in self.cache.items(EVENT_SUBSCRIPTION.plural)]
        return list(topics.values()), services

    def _cluster(self, body: Body) -> str:
        """Which cluster an object's topics are on: the cluster id its connection reported, so
        two connections to one cluster see the same events; else the connection itself."""
        connection = f"{body['metadata']['namespace']}/{_spec(body).get('connectionRef', {}).get('name')}"
        entry = self.registry.get(connection)
        return (entry.cluster_id if entry is not None else None) or connection

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


def _spec(body: Body) -> Mapping[str, Any]:
    spec = body.get("spec")
    return spec if isinstance(spec, dict) else {}


def _topic_facts(key: str, body: Body, cluster: str) -> TopicFacts:
    spec = _spec(body)
    catalog = spec.get("catalog") or {}
    return TopicFacts(key=key, event=(cluster, spec.get("topicName") or body["metadata"]["name"]),
                      owner=catalog.get("owner"), description=catalog.get("description"),
                      producers=tuple(catalog.get("producers") or ()))


def _service(key: str, body: Body, cluster: str, topics: Mapping[str, TopicFacts]) -> Service:
    spec, namespace = _spec(body), body["metadata"]["namespace"]
    consumes: list[Event] = []
    for entry in spec.get("topics") or ():
        if entry.get("eventTopic"):
            facts = topics.get(f"{namespace}/{entry['eventTopic']}")
            if facts is not None:  # a missing EventTopic is the subscription's own Ready=False
                consumes.append(facts.event)
        elif entry.get("name"):
            consumes.append((cluster, entry["name"]))
    return Service(key=key, consumes=tuple(consumes),
                   produces=tuple((cluster, name) for name in spec.get("produces") or ()))


def _stored_loop_message(body: Body) -> str | None:
    for condition in (body.get("status") or {}).get("conditions") or ():
        if condition.get("type") == LOOP and condition.get("status") == "True":
            return str(condition.get("message"))
    return None


def _export(findings: Findings, services: list[str]) -> None:
    metrics.CATALOG_FEEDBACK_LOOPS.set(len(findings.cycles))
    for key in services:
        namespace, name = key.split("/", 1)
        metrics.SUBSCRIPTION_FEEDBACK_LOOP.labels(namespace, name).set(int(key in findings.loops))
    metrics.CATALOG_FINDINGS.labels("undocumented_events").set(len(findings.undocumented))
    metrics.CATALOG_FINDINGS.labels("unproduced_subscriptions").set(
        len({s for s, _ in findings.unproduced}))
    metrics.CATALOG_FINDINGS.labels("unconsumed_events").set(len(findings.unconsumed))
