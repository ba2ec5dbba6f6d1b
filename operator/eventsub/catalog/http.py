"""GET /catalog/asyncapi.json and /catalog/asyncapi.yaml: the AsyncAPI document of the live
catalog, or of one namespace (`?namespace=<ns>`).

Served from the memoised snapshot; the rendered bytes are kept for as long as the snapshot is
the same object, so a burst of requests renders each document once. Never cached by clients:
the catalog is live.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable

from aiohttp import web

from eventsub.catalog.asyncapi import document, to_json, to_yaml
from eventsub.core.catalog_snapshot import Catalog

Snapshot = Callable[[], Catalog]
NAMESPACE = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?\Z")  # an RFC 1123 label
PARAMETERS = ("namespace",)
NO_STORE = {"Cache-Control": "no-store"}
MAX_RENDERED = 64  # documents kept per snapshot (one per namespace and format asked for)

FORMATS: dict[str, tuple[str, Callable[[dict[str, object]], bytes]]] = {
    "json": ("application/json", to_json),
    "yaml": ("application/yaml", to_yaml),
}


class BadParameter(ValueError):
    pass


def namespace_parameter(query: dict[str, list[str]]) -> str | None:
    """The namespace asked for, None for the whole catalog; BadParameter says what is wrong."""
    unknown = sorted(set(query) - set(PARAMETERS))
    if unknown:
        raise BadParameter(f"unknown parameter {unknown[0]!r}: the only parameter is "
                           "'namespace'")
    values = query.get("namespace")
    if values is None:
        return None
    if len(values) != 1:
        raise BadParameter("parameter 'namespace' is given more than once")
    if not NAMESPACE.match(values[0]):
        raise BadParameter(f"parameter 'namespace': {values[0]!r} is not a namespace name "
                           "(lowercase letters, digits and '-', at most 63 characters)")
    return values[0]


class AsyncApiRoutes:
    def __init__(self, snapshot: Snapshot) -> None:
        self.snapshot = snapshot
        self._of: Catalog | None = None  # the snapshot the rendered documents come from
        self._rendered: dict[tuple[str | None, str], bytes] = {}

    def routes(self) -> list[web.RouteDef]:
        return [web.get(f"/catalog/asyncapi.{fmt}", self._handler(fmt)) for fmt in FORMATS]

    def _handler(self, fmt: str) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
        async def handle(request: web.Request) -> web.StreamResponse:
            query: dict[str, list[str]] = {}
            for key, value in request.query.items():
                query.setdefault(key, []).append(value)
            try:
                namespace = namespace_parameter(query)
            except BadParameter as error:
                return web.Response(status=400, text=json.dumps({"error": str(error)}),
                                    content_type="application/json", headers=NO_STORE)
            return web.Response(body=self.rendered(namespace, fmt), headers=NO_STORE,
                                content_type=FORMATS[fmt][0], charset="utf-8")
        return handle

    def rendered(self, namespace: str | None, fmt: str) -> bytes:
        catalog = self.snapshot()
        if catalog is not self._of or len(self._rendered) >= MAX_RENDERED:
            self._of, self._rendered = catalog, {}
        key = (namespace, fmt)
        if key not in self._rendered:
            self._rendered[key] = FORMATS[fmt][1](document(catalog, namespace))
        return self._rendered[key]


def asyncapi_routes(snapshot: Snapshot) -> list[web.RouteDef]:
    return AsyncApiRoutes(snapshot).routes()
