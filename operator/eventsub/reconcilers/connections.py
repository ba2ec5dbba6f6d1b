"""KafkaConnection: read the referenced Secrets, keep one admin client, probe the cluster."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from pydantic import ValidationError

from eventsub.api.base import spec_errors
from eventsub.api.connection import (
    TOPICS_FIRST_FINALIZER,
    KafkaConnectionSpec,
    KafkaConnectionStatus,
)
from eventsub.api.resources import EVENT_TOPIC, KAFKA_CONNECTION
from eventsub.api.topic import DELETE_TOPIC_FINALIZER
from eventsub.core.client_config import Credentials, client_config, redact
from eventsub.core.status import CONNECTION
from eventsub.kafka.admin import ClusterInfo
from eventsub.kafka.errors import KafkaRequestError
from eventsub.kafka.registry import ConnectionRegistry, Entry
from eventsub.kube.api import Kube
from eventsub.kube.objects import ObjectRef
from eventsub.kube.secrets import SecretProblem
from eventsub.reconcilers.contracts import ConnectionProblem
from eventsub.reconcilers.status import (
    announce_transition,
    generation,
    updated_condition,
    write_part,
)
from eventsub.runtime.cache import Body, ObjectCache
from eventsub.runtime.contract import EachKey
from eventsub.runtime.queue import WorkQueue

logger = logging.getLogger("eventsub.connection")
PLURAL = KAFKA_CONNECTION.plural


async def read_credentials(kube: Kube, namespace: str, spec: KafkaConnectionSpec) -> Credentials:
    values: dict[str, str] = {}
    if spec.sasl is not None:
        values["sasl_username"] = await kube.read_secret_key(namespace, spec.sasl.secret_name,
                                                        spec.sasl.username_key)
        values["sasl_password"] = await kube.read_secret_key(namespace, spec.sasl.secret_name,
                                                        spec.sasl.password_key)
    if spec.tls is not None:
        for field, ref in (("ca_pem", spec.tls.ca), ("certificate_pem", spec.tls.client_certificate),
                           ("key_pem", spec.tls.client_key)):
            if ref is not None:
                values[field] = await kube.read_secret_key(namespace, ref.name, ref.key)
    return Credentials(**values)


class ConnectionReconciler(EachKey):
    def __init__(self, kube: Kube, cache: ObjectCache, registry: ConnectionRegistry, queue: WorkQueue,
                 on_availability_change: Callable[[str], None], probe_seconds: float) -> None:
        self.kube, self.cache, self.registry, self.queue = kube, cache, registry, queue
        self.on_availability_change = on_availability_change
        self.probe_seconds = probe_seconds
        self._available: dict[str, bool] = {}
        self._problems: dict[str, ConnectionProblem] = {}
        self._probed: dict[str, tuple[int | None, float]] = {}  # key -> (generation, when)

    def available(self, key: str) -> Entry | None:
        """The client of a connection whose last probe succeeded."""
        return self.registry.get(key) if self._available.get(key) else None

    def probing(self, key: str) -> bool:
        """True while an existing connection awaits its first probe."""
        return key not in self._available and self.cache.get(PLURAL, key) is not None

    def problem(self, key: str) -> ConnectionProblem:
        """Why a connection is not available, for the resources that use it."""
        if self.cache.get(PLURAL, key) is None:
            return ConnectionProblem("ConnectionNotFound", f"KafkaConnection {key} not found")
        known = self._problems.get(key)
        message = known.message if known else "not probed yet"
        return ConnectionProblem(known.reason if known else "ConnectionNotReady",
                                 f"KafkaConnection {key}: {message}")

    def mark_unavailable(self, key: str, error: KafkaRequestError) -> None:
        """A resource saw the cluster fail: stop sending it work until a probe succeeds (the
        probe then starts a fresh client)."""
        if self._available.get(key):
            self._set(key, False, ConnectionProblem(error.reason, error.message))
            self.queue.add(key, 1.0)

    def _set(self, key: str, available: bool, problem: ConnectionProblem | None) -> None:
        changed = self._available.get(key) != available
        self._available[key] = available
        if problem is not None:
            self._problems[key] = problem
        else:
            self._problems.pop(key, None)
        if changed:
            self.on_availability_change(key)

    async def reconcile_one(self, key: str) -> None:
        body = self.cache.get(PLURAL, key)
        if body is None:
            self.registry.remove(key)
            self._set(key, False, None)
            return
        if not await self._hold_for_topics(key, body):
            return  # its finalizer changed: the watch event brings it back
        if body["metadata"].get("deletionTimestamp") and self._available.get(key):
            return  # going away: keep the working client for the topics' deletions, probe no more
        due_in = self._next_probe_in(key, body)
        if due_in > 0:  # woken by a topic's change (its finalizer), not due for a probe
            self.queue.add(key, due_in)  # an immediate add replaced the periodic one
            return
        self._probed[key] = (generation(body), time.monotonic())
        try:
            info = await self._probe(key, body)
        except ConnectionProblem as problem:
            self._set(key, False, problem)
            ready = updated_condition(body, "Ready", False, problem.reason, problem.message)
            status = KafkaConnectionStatus(conditions=[ready], observed_generation=generation(body))
            self.queue.retry(key)
        else:
            self.queue.forget(key)
            self.queue.add(key, self.probe_seconds)  # the periodic probe also picks up Secret changes
            plural = "broker" if info.broker_count == 1 else "brokers"
            ready = updated_condition(body, "Ready", True, "Connected",
                                      f"{info.broker_count} {plural}, cluster {info.cluster_id}")
            status = KafkaConnectionStatus(
                cluster_id=info.cluster_id, broker_count=info.broker_count,
                controller_id=info.controller_id, conditions=[ready],
                observed_generation=generation(body))
        ref = ObjectRef.of(body, PLURAL)
        await announce_transition(self.kube, ref, body, ready, first_success=True)
        await write_part(self.kube, CONNECTION, ref, body, status)

    def _next_probe_in(self, key: str, body: Body) -> float:
        """Seconds until the next probe is due: 0 unless this generation's last probe succeeded
        less than a probe period ago."""
        last = self._probed.get(key)
        if last is None or not self._available.get(key) or last[0] != generation(body):
            return 0.0
        return max(0.0, self.probe_seconds - (time.monotonic() - last[1]))

    async def _hold_for_topics(self, key: str, body: Body) -> bool:
        """Keeps the connection's finalizer exactly while Delete-policy EventTopics that use it
        still have their own (a Kafka topic to delete); True if it was already right."""
        waiting = [k for plural, k in self.cache.referrers(PLURAL, key) if plural == EVENT_TOPIC.plural
                   and DELETE_TOPIC_FINALIZER in (self.cache.get(plural, k) or {}).get(
                       "metadata", {}).get("finalizers", [])]
        held = TOPICS_FIRST_FINALIZER in (body["metadata"].get("finalizers") or [])
        if bool(waiting) == held:
            return True
        await self.kube.set_finalizer(ObjectRef.of(body, PLURAL), body["metadata"],
                                      TOPICS_FIRST_FINALIZER, bool(waiting))
        if not waiting:
            logger.info("KafkaConnection %s: no Delete-policy EventTopic uses it any more", key)
        return False

    async def _probe(self, key: str, body: Body) -> ClusterInfo:
        namespace = body["metadata"]["namespace"]
        try:
            spec = KafkaConnectionSpec.model_validate(body.get("spec") or {})
        except ValidationError as error:
            raise ConnectionProblem("InvalidSpec", spec_errors(error)) from None
        try:
            credentials = await read_credentials(self.kube, namespace, spec)
        except SecretProblem as problem:
            raise ConnectionProblem(problem.reason, problem.message) from None
        try:
            entry = self.registry.ensure(key, client_config(spec, credentials))
            info = await entry.admin.describe_cluster()
        except KafkaRequestError as error:
            raise ConnectionProblem(error.reason, redact(error.message, credentials.secrets())) from None
        entry.cluster_id = info.cluster_id
        if self._available.get(key) is False:
            self.registry.rebuild(key)  # back from an outage: start with fresh broker connections
        self._set(key, True, None)
        return info
