"""The catalog's read-only HTTP routes, served beside /metrics."""

from __future__ import annotations

from collections.abc import Callable

from aiohttp import web

from eventsub.catalog.http import asyncapi_routes
from eventsub.catalog.page import page_routes
from eventsub.core.catalog_snapshot import Catalog

Snapshot = Callable[[], Catalog]


def catalog_routes(snapshot: Snapshot) -> list[web.RouteDef]:
    """Every catalog route; snapshot gives the current catalog (memoised by its owner)."""
    return [*asyncapi_routes(snapshot), *page_routes(snapshot)]
