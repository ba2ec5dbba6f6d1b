"""Status writes and finalizers of our custom resources (their Events: kube/events.py)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from kubernetes import client

from eventsub.api.base import GROUP, VERSION
from eventsub.kube.client import Gone, api_client, server_side_apply, unless_gone, write

logger = logging.getLogger("eventsub.kube")


@dataclass(frozen=True)
class ObjectRef:
    kind: str
    plural: str
    namespace: str
    name: str
    uid: str

    @classmethod
    def of(cls, body: dict[str, Any], plural: str) -> ObjectRef:
        meta = body["metadata"]
        return cls(kind=body["kind"], plural=plural, namespace=meta["namespace"],
                   name=meta["name"], uid=meta["uid"])


async def patch_status(ref: ObjectRef, status: dict[str, Any]) -> bool:
    """Merge-patches the status subresource; False if the object is gone."""
    custom = client.CustomObjectsApi(api_client())
    outcome = await unless_gone(write("writing status", custom.patch_namespaced_custom_object_status,
                                      GROUP, VERSION, ref.namespace, ref.plural, ref.name,
                                      {"status": status}))
    return not isinstance(outcome, Gone)


async def apply_status(ref: ObjectRef, manager: str, status: dict[str, Any]) -> bool:
    """Server-side apply of one writer's part of the status subresource, as field manager
    `manager`; False if the object is gone. Fields this manager sent before and omits now are
    removed; other managers' fields are left alone."""
    body = {"apiVersion": f"{GROUP}/{VERSION}", "kind": ref.kind,
            "metadata": {"name": ref.name, "namespace": ref.namespace}, "status": status}
    path = f"/apis/{GROUP}/{VERSION}/namespaces/{ref.namespace}/{ref.plural}/{ref.name}/status"
    outcome = await unless_gone(write("writing status", server_side_apply, path, body, manager))
    return not isinstance(outcome, Gone)


async def set_finalizer(ref: ObjectRef, meta: dict[str, Any], finalizer: str, present: bool,
                        drop: tuple[str, ...] = ()) -> bool:
    """Adds or removes one finalizer (and removes those in drop); False if the object is gone.

    The patch carries the resourceVersion the list was read at, so a concurrent change of the
    finalizers (another controller's) fails with 409 instead of being overwritten.
    """
    finalizers = [f for f in meta.get("finalizers") or [] if f != finalizer and f not in drop]
    if present:
        finalizers.append(finalizer)
    patch = {"metadata": {"finalizers": finalizers, "resourceVersion": meta["resourceVersion"]}}
    custom = client.CustomObjectsApi(api_client())
    outcome = await unless_gone(write("changing finalizers", custom.patch_namespaced_custom_object,
                                      GROUP, VERSION, ref.namespace, ref.plural, ref.name, patch))
    return not isinstance(outcome, Gone)
