"""The consumer Deployments: server-side apply of the rendered manifest, and scaling."""

from __future__ import annotations

from typing import Any

from kubernetes import client

from eventsub.kube.client import Gone, api_client, call, unless_gone, write

FIELD_MANAGER = "eventsub"


async def apply_deployment(manifest: dict[str, Any]) -> dict[str, Any]:
    """Server-side apply: eventsub owns the fields it renders; others keep theirs."""
    apps = client.AppsV1Api(api_client())
    meta = manifest["metadata"]
    result = await write("applying a Deployment", apps.patch_namespaced_deployment, meta["name"],
                         meta["namespace"], manifest,
                        field_manager=FIELD_MANAGER, force=True,
                        _content_type="application/apply-patch+yaml")
    return dict(api_client().sanitize_for_serialization(result))


async def deployment_replicas(namespace: str, name: str) -> int | None:
    """spec.replicas of the Deployment, or None when it does not exist."""
    apps = client.AppsV1Api(api_client())
    scale = await unless_gone(call(apps.read_namespaced_deployment_scale, name, namespace))
    if isinstance(scale, Gone):
        return None
    return int(scale.spec.replicas or 0) if scale.spec is not None else 0


async def scale_deployment(namespace: str, name: str, replicas: int) -> bool:
    """Sets spec.replicas through the scale subresource; False if the Deployment is gone."""
    apps = client.AppsV1Api(api_client())
    outcome = await unless_gone(write("scaling a Deployment", apps.patch_namespaced_deployment_scale,
                                      name, namespace, {"spec": {"replicas": replicas}},
                                      field_manager=FIELD_MANAGER))
    return not isinstance(outcome, Gone)
