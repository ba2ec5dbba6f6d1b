"""The Kubernetes API as the reconcilers use it: one interface (Kube), the real implementation
(KubeApi) over the functions of this package, and an in-memory one for fast in-process tests
(kube/fake.py). Every call raises only kube.errors."""

from __future__ import annotations

from typing import Any, Protocol

from eventsub.kube import deployments, jobs, objects, secrets
from eventsub.kube.events import POSTER
from eventsub.kube.objects import ObjectRef


class Kube(Protocol):
    async def apply_status(self, ref: ObjectRef, manager: str, status: dict[str, Any]) -> bool:
        """Applies one writer's part of the status; False if the object is gone."""

    async def post_event(self, ref: ObjectRef, type_: str, reason: str, message: str) -> None:
        """An Event on the object (best effort)."""

    async def set_finalizer(self, ref: ObjectRef, meta: dict[str, Any], finalizer: str,
                            present: bool, drop: tuple[str, ...] = ()) -> bool:
        """Adds or removes one finalizer; False if the object is gone."""

    async def apply_deployment(self, manifest: dict[str, Any], initial_replicas: int) -> dict[str, Any]:
        """Applies the rendered Deployment (replicas only when it is created)."""

    async def deployment_replicas(self, namespace: str, name: str) -> int | None:
        """spec.replicas, or None when the Deployment does not exist."""

    async def scale_deployment(self, namespace: str, name: str, replicas: int,
                               manager: str = deployments.SCALER_MANAGER) -> bool:
        """Sets spec.replicas through the scale subresource; False if the Deployment is gone."""

    async def read_secret_key(self, namespace: str, name: str, key: str) -> str:
        """One key of a Secret (raises secrets.SecretProblem)."""

    async def read_config_map_key(self, namespace: str, name: str, key: str) -> str:
        """One key of a ConfigMap (raises secrets.SecretProblem)."""

    async def create_job(self, manifest: dict[str, Any]) -> None:
        """Creates the Job (one that exists already is fine)."""

    async def job_outcome(self, namespace: str, name: str) -> str | None:
        """Complete, Failed, Running, or None when the Job does not exist."""


class KubeApi:
    """The real API server, through the shared client."""

    async def apply_status(self, ref: ObjectRef, manager: str, status: dict[str, Any]) -> bool:
        return await objects.apply_status(ref, manager, status)

    async def post_event(self, ref: ObjectRef, type_: str, reason: str, message: str) -> None:
        POSTER.post(ref, type_, reason, message)

    async def set_finalizer(self, ref: ObjectRef, meta: dict[str, Any], finalizer: str,
                            present: bool, drop: tuple[str, ...] = ()) -> bool:
        return await objects.set_finalizer(ref, meta, finalizer, present, drop)

    async def apply_deployment(self, manifest: dict[str, Any], initial_replicas: int) -> dict[str, Any]:
        return await deployments.apply_deployment(manifest, initial_replicas)

    async def deployment_replicas(self, namespace: str, name: str) -> int | None:
        return await deployments.deployment_replicas(namespace, name)

    async def scale_deployment(self, namespace: str, name: str, replicas: int,
                               manager: str = deployments.SCALER_MANAGER) -> bool:
        return await deployments.scale_deployment(namespace, name, replicas, manager)

    async def read_secret_key(self, namespace: str, name: str, key: str) -> str:
        return await secrets.read_secret_key(namespace, name, key)

    async def read_config_map_key(self, namespace: str, name: str, key: str) -> str:
        return await secrets.read_config_map_key(namespace, name, key)

    async def create_job(self, manifest: dict[str, Any]) -> None:
        await jobs.create_job(manifest)

    async def job_outcome(self, namespace: str, name: str) -> str | None:
        return await jobs.job_outcome(namespace, name)
