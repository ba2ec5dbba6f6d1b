"""The consumer Deployments: server-side apply of the rendered manifest, and scaling.

Who writes spec.replicas: the apply sets it only when it creates the Deployment, then hands the
field to a manager of its own (REPLICAS_MANAGER), so later applies, which leave replicas out,
never reset it. From then on only the scale subresource changes it: the autoscaler, a replay
pausing and resuming, or a person in Manual mode.
"""

from __future__ import annotations

from typing import Any

from kubernetes import client

from eventsub.kube.client import Gone, api_client, call, server_side_apply, unless_gone, write

FIELD_MANAGER = "eventsub"  # the rendered manifest, without replicas
REPLICAS_MANAGER = "eventsub-initial-replicas"  # the replicas set at creation, until changed
SCALER_MANAGER = "eventsub-scaler"


async def apply_deployment(manifest: dict[str, Any], initial_replicas: int) -> dict[str, Any]:
    """Server-side apply: eventsub owns the fields it renders; others keep theirs. A Deployment
    that does not exist yet is created with `initial_replicas`."""
    apps = client.AppsV1Api(api_client())
    meta = manifest["metadata"]
    existing = await unless_gone(call(apps.read_namespaced_deployment, meta["name"], meta["namespace"]))
    if isinstance(existing, Gone):
        created = {**manifest, "spec": {**manifest["spec"], "replicas": initial_replicas}}
        await _apply(created, FIELD_MANAGER)
        await _hand_over_replicas(meta, initial_replicas)
    elif _applies_replicas(existing):
        # Written by an earlier version, whose every apply carried replicas: hand them over
        # before the apply leaves them out, or the API server would reset them to 1.
        await _hand_over_replicas(meta, int(existing.spec.replicas or 0))
    return await _apply(manifest, FIELD_MANAGER)


async def _apply(manifest: dict[str, Any], manager: str) -> dict[str, Any]:
    meta = manifest["metadata"]
    path = f"/apis/apps/v1/namespaces/{meta['namespace']}/deployments/{meta['name']}"
    return await write("applying a Deployment", server_side_apply, path, manifest, manager)


async def _hand_over_replicas(meta: dict[str, Any], replicas: int) -> None:
    await _apply({"apiVersion": "apps/v1", "kind": "Deployment",
                  "metadata": {"name": meta["name"], "namespace": meta["namespace"]},
                  "spec": {"replicas": replicas}}, REPLICAS_MANAGER)


def _applies_replicas(deployment: Any) -> bool:
    """Does the manifest's apply manager own spec.replicas?"""
    for entry in deployment.metadata.managed_fields or []:
        if entry.manager == FIELD_MANAGER and entry.operation == "Apply":
            spec = (entry.fields_v1 or {}).get("f:spec") or {}
            return "f:replicas" in spec
    return False


async def deployment_replicas(namespace: str, name: str) -> int | None:
    """spec.replicas of the Deployment, or None when it does not exist."""
    apps = client.AppsV1Api(api_client())
    scale = await unless_gone(call(apps.read_namespaced_deployment_scale, name, namespace))
    if isinstance(scale, Gone):
        return None
    return int(scale.spec.replicas or 0) if scale.spec is not None else 0


async def scale_deployment(namespace: str, name: str, replicas: int,
                           manager: str = SCALER_MANAGER) -> bool:
    """Sets spec.replicas through the scale subresource; False if the Deployment is gone."""
    apps = client.AppsV1Api(api_client())
    outcome = await unless_gone(write("scaling a Deployment", apps.patch_namespaced_deployment_scale,
                                      name, namespace, {"spec": {"replicas": replicas}},
                                      field_manager=manager))
    return not isinstance(outcome, Gone)
