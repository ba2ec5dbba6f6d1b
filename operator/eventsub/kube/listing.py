"""Lists of our custom resources as the API server has them now (the cache's periodic re-list)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

from kubernetes import client

from eventsub.api.base import GROUP, VERSION
from eventsub.kube.client import api_client, call

PAGE_SIZE = 500  # objects per request: a large kind comes in pages, all from one snapshot


@dataclass(frozen=True)
class Listing:
    items: list[dict[str, Any]]
    resource_version: str  # the snapshot's: every page of one list is read at this version


async def list_objects(plural: str, namespace: str | None,
                       api: client.ApiClient | None = None) -> Listing:
    """Every object of one of our kinds in a namespace, or in all namespaces (None); api: the
    client to list with (the operator's own by default).

    A read, so not fenced: standbys keep their caches current too. Without a resourceVersion
    the API server answers from its most recent state, never from an older one."""
    custom = client.CustomObjectsApi(api or api_client())
    items: list[dict[str, Any]] = []
    version: str | None = None
    token: str | None = None
    while True:
        paging: dict[str, Any] = {"limit": PAGE_SIZE}
        if token:
            paging["_continue"] = token
        if namespace is None:
            answer = await call(custom.list_cluster_custom_object, GROUP, VERSION, plural, **paging)
        else:
            answer = await call(custom.list_namespaced_custom_object, GROUP, VERSION, namespace,
                                plural, **paging)
        page = cast(dict[str, Any], answer)  # custom objects come back as plain JSON
        meta = page.get("metadata") or {}
        if version is None:
            version = str(meta.get("resourceVersion") or "")
        for item in page.get("items") or []:
            # As kopf does: items may leave out what their list says once for all of them.
            item.setdefault("kind", str(page.get("kind", "")).removesuffix("List"))
            item.setdefault("apiVersion", page.get("apiVersion", f"{GROUP}/{VERSION}"))
            items.append(item)
        token = meta.get("continue")
        if not token:
            return Listing(items, version)
