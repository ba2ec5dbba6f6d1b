"""KafkaConnection: read the referenced Secrets, keep one admin client, probe the cluster."""

from __future__ import annotations

import logging
from collections.abc import Callable

from pydantic import ValidationError

from eventsub.api.base import spec_errors
from eventsub.api.connection import KafkaConnectionSpec, KafkaConnectionStatus
from eventsub.api.resources import KAFKA_CONNECTION
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
        entry = self.registry.ensure(key, client_config(spec, credentials))
        try:
            info = await entry.admin.describe_cluster()
        except KafkaRequestError as error:
            raise ConnectionProblem(error.reason, redact(error.message, credentials.secrets())) from None
        entry.cluster_id = info.cluster_id
        if self._available.get(key) is False:
            self.registry.rebuild(key)  # back from an outage: start with fresh broker connections
        self._set(key, True, None)
        return info
