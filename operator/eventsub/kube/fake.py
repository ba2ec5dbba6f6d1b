"""An in-memory Kube for fast in-process reconciler tests: an extra tier, never a substitute for
the integration tests on the real API server. It keeps the adapter's contracts: status parts
merged per field manager (conditions by type, a manager's omitted fields removed), a Deployment's
replicas set only when it is created, errors as kube.errors."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from eventsub.kube.deployments import SCALER_MANAGER
from eventsub.kube.objects import ObjectRef
from eventsub.kube.secrets import SecretProblem


@dataclass
class PostedEvent:
    ref: ObjectRef
    type: str
    reason: str
    message: str


@dataclass
class FakeKube:
    status_parts: dict[tuple[str, str], dict[str, dict[str, Any]]] = field(default_factory=dict)
    events: list[PostedEvent] = field(default_factory=list)
    deployments: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    replica_writers: list[tuple[str, str, int]] = field(default_factory=list)  # (name, manager, n)
    secrets: dict[tuple[str, str], dict[str, str]] = field(default_factory=dict)
    config_maps: dict[tuple[str, str], dict[str, str]] = field(default_factory=dict)
    jobs: dict[tuple[str, str], str] = field(default_factory=dict)  # -> outcome
    finalizers: dict[tuple[str, str], list[str]] = field(default_factory=dict)

    def status(self, plural: str, namespace: str, name: str) -> dict[str, Any]:
        """The merged status, as the API server would serve it."""
        merged: dict[str, Any] = {}
        conditions: dict[str, dict[str, Any]] = {}
        for part in self.status_parts.get((plural, f"{namespace}/{name}"), {}).values():
            for key, value in part.items():
                if key == "conditions":
                    conditions.update({c["type"]: c for c in value})
                else:
                    merged[key] = copy.deepcopy(value)
        if conditions:
            merged["conditions"] = list(conditions.values())
        return merged

    def reasons(self, name: str) -> list[str]:
        return [e.reason for e in self.events if e.ref.name == name]

    async def apply_status(self, ref: ObjectRef, manager: str, status: dict[str, Any]) -> bool:
        parts = self.status_parts.setdefault((ref.plural, f"{ref.namespace}/{ref.name}"), {})
        parts[manager] = copy.deepcopy(status)
        return True

    async def post_event(self, ref: ObjectRef, type_: str, reason: str, message: str) -> None:
        self.events.append(PostedEvent(ref, type_, reason, message))

    async def set_finalizer(self, ref: ObjectRef, meta: dict[str, Any], finalizer: str,
                            present: bool, drop: tuple[str, ...] = ()) -> bool:
        current = [f for f in meta.get("finalizers") or [] if f != finalizer and f not in drop]
        self.finalizers[(ref.namespace, ref.name)] = [*current, finalizer] if present else current
        return True

    async def apply_deployment(self, manifest: dict[str, Any], initial_replicas: int) -> dict[str, Any]:
        meta = manifest["metadata"]
        key = (meta["namespace"], meta["name"])
        existing = self.deployments.get(key)
        replicas = initial_replicas if existing is None else existing["spec"]["replicas"]
        if existing is None:
            self.replica_writers.append((meta["name"], "eventsub-initial-replicas", replicas))
        applied = copy.deepcopy(manifest)
        applied["spec"] = {**applied["spec"], "replicas": replicas}
        self.deployments[key] = applied
        return copy.deepcopy(applied)

    async def deployment_replicas(self, namespace: str, name: str) -> int | None:
        deployment = self.deployments.get((namespace, name))
        return None if deployment is None else int(deployment["spec"]["replicas"])

    async def scale_deployment(self, namespace: str, name: str, replicas: int,
                               manager: str = SCALER_MANAGER) -> bool:
        deployment = self.deployments.get((namespace, name))
        if deployment is None:
            return False
        deployment["spec"]["replicas"] = replicas
        self.replica_writers.append((name, manager, replicas))
        return True

    async def read_secret_key(self, namespace: str, name: str, key: str) -> str:
        data = self.secrets.get((namespace, name))
        if data is None:
            raise SecretProblem("SecretNotFound", f"Secret {namespace}/{name} not found")
        if key not in data:
            raise SecretProblem("SecretKeyNotFound", f"Secret {namespace}/{name} has no key {key!r}")
        return data[key]

    async def read_config_map_key(self, namespace: str, name: str, key: str) -> str:
        data = self.config_maps.get((namespace, name))
        if data is None:
            raise SecretProblem("ConfigMapNotFound", f"ConfigMap {namespace}/{name} not found")
        if key not in data:
            raise SecretProblem("ConfigMapKeyNotFound",
                                f"ConfigMap {namespace}/{name} has no key {key!r}")
        return data[key]

    async def create_job(self, manifest: dict[str, Any]) -> None:
        meta = manifest["metadata"]
        self.jobs.setdefault((meta["namespace"], meta["name"]), "Running")

    async def job_outcome(self, namespace: str, name: str) -> str | None:
        return self.jobs.get((namespace, name))
