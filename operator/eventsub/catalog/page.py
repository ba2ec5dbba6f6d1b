"""The catalog's web page: server-rendered HTML, no script, nothing loaded from elsewhere, so it
works offline and behind `kubectl port-forward`. Read-only: every route renders the current
snapshot."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from aiohttp import web

from eventsub.catalog.event_page import event_page
from eventsub.catalog.graph_page import graph_page, index_page
from eventsub.catalog.html_base import HEADERS, document, esc
from eventsub.catalog.links import ROOT, list_href
from eventsub.catalog.list_page import catalog_page
from eventsub.catalog.search import MAX_QUERY
from eventsub.core.catalog_snapshot import Catalog

Snapshot = Callable[[], Catalog]


def page_routes(snapshot: Snapshot, clock: Callable[[], float] = time.time) -> list[web.RouteDef]:
    """The snapshot is taken on the event loop (it reads the operator's cache); rendering it,
    pure work on an immutable value, runs in a thread, one page at a time, so a large page
    never holds up the operator's watches and lease renewals for long."""
    rendering = asyncio.Semaphore(1)

    async def render(draw: Callable[[], str], status: int = 200) -> web.Response:
        async with rendering:
            return _html(await asyncio.to_thread(draw), status)

    async def events(request: web.Request) -> web.Response:
        query, catalog = request.query.get("q", "")[:MAX_QUERY], snapshot()
        page = request.query.get("page", "1")
        return await render(lambda: catalog_page(
            catalog, query, request.query.get("ns", ""), request.query.get("flagged") == "1",
            int(page) if page.isdigit() and len(page) < 7 else 1))

    async def event(request: web.Request) -> web.Response:
        key, catalog = request.match_info["key"], snapshot()
        entry = next((e for e in catalog.events if e.key == key), None)
        if entry is None:
            return _html(document("Not found", f"<h1>No event {esc(key)}</h1><p>It may have "
                                  f'been deleted. <a href="{list_href()}">All events</a></p>'), 404)
        now = clock()
        return await render(lambda: event_page(catalog, entry, now))

    async def graphs(_: web.Request) -> web.Response:
        catalog = snapshot()
        return await render(lambda: index_page(catalog))

    async def graph(request: web.Request) -> web.Response:
        catalog, namespace = snapshot(), request.match_info["namespace"]
        return await render(lambda: graph_page(catalog, namespace,
                                               draw_all=request.query.get("all") == "1"))

    return [web.get(ROOT, events), web.get(f"{ROOT}/events/{{key:.+}}", event),
            web.get(f"{ROOT}/graph", graphs), web.get(f"{ROOT}/graph/{{namespace}}", graph)]


def _html(text: str, status: int = 200) -> web.Response:
    response = web.Response(text=text, status=status, content_type="text/html", charset="utf-8",
                            headers=HEADERS)
    response.enable_compression()  # the list of 1,000 events is ~0.5 MB of HTML
    return response
