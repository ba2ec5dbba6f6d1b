"""The catalog page's routes, called in-process: security headers on every answer, a missing
event is a 404 page, odd query values are harmless."""

from __future__ import annotations

import asyncio

from aiohttp import web
from aiohttp.test_utils import make_mocked_request

from catalog_bodies import catalog, subscription, topic
from eventsub.catalog.page import page_routes

CATALOG = catalog([topic("shop", "orders", owner="checkout")],
                  [subscription("shop", "billing", ["orders"], lag=3)])


def get(path: str) -> web.Response:
    """The route's answer to GET path, as the application's router resolves it."""
    async def call() -> web.StreamResponse:
        app = web.Application()
        app.router.add_routes(page_routes(lambda: CATALOG, clock=lambda: 0.0))
        info = await app.router.resolve(make_mocked_request("GET", path, app=app))
        return await info.handler(make_mocked_request("GET", path, app=app, match_info=dict(info)))
    response = asyncio.run(call())
    assert isinstance(response, web.Response)
    return response


def test_every_page_answers_with_the_security_headers() -> None:
    for response in (get("/catalog"), get("/catalog?q=checkout&ns=shop&page=x&flagged=1"),
                     get("/catalog/events/shop/orders"),
                     get("/catalog/graph"), get("/catalog/graph/shop")):
        assert response.status == 200
        assert response.content_type == "text/html" and response.charset == "utf-8"
        assert "default-src 'none'" in response.headers["Content-Security-Policy"]
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.text and "<!DOCTYPE html>" in response.text


def test_an_event_page_and_a_missing_event() -> None:
    found = get("/catalog/events/shop/orders")
    assert "shop/billing" in (found.text or "")
    missing = get("/catalog/events/shop/%3Cnope%3E")
    assert missing.status == 404 and "No event shop/&lt;nope&gt;" in (missing.text or "")


def test_search_and_paging_come_from_the_query() -> None:
    assert "matched: owner" in (get("/catalog?q=owner:checkout").text or "")
    assert "No event matches" in (get("/catalog?q=owner:nobody").text or "")
    assert get("/catalog?page=99999999999").status == 200
