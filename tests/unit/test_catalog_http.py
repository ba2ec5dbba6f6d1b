"""GET /catalog/asyncapi.json and .yaml (catalog.http), served in-process by aiohttp from a
snapshot function: the namespace parameter, refusals, headers, and one rendering per snapshot."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
import yaml
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from catalog_resources import shop_catalog
from eventsub.catalog.http import AsyncApiRoutes, BadParameter, namespace_parameter
from eventsub.catalog.routes import catalog_routes
from eventsub.core.catalog_snapshot import Catalog


def _serve(snapshot: Callable[[], Catalog],
           check: Callable[[TestClient[Any, Any]], Awaitable[None]]) -> None:
    async def run() -> None:
        app = web.Application()
        app.router.add_routes(catalog_routes(snapshot))
        async with TestClient(TestServer(app)) as client:
            await check(client)
    asyncio.run(run())


def test_json_and_yaml_documents_never_cached_by_clients() -> None:
    catalog = shop_catalog()

    async def check(client: TestClient[Any, Any]) -> None:
        answer = await client.get("/catalog/asyncapi.json")
        assert answer.status == 200
        assert answer.headers["Cache-Control"] == "no-store"
        assert answer.headers["Content-Type"] == "application/json; charset=utf-8"
        doc = json.loads(await answer.read())
        assert doc["asyncapi"] == "3.0.0" and "shop_orders" in doc["channels"]
        answer = await client.get("/catalog/asyncapi.yaml", params={"namespace": "ops"})
        assert answer.headers["Content-Type"] == "application/yaml; charset=utf-8"
        assert answer.headers["Cache-Control"] == "no-store"
        assert "ops_audit_receive_shop_orders" in yaml.safe_load(await answer.read())[
            "operations"]
    _serve(lambda: catalog, check)


@pytest.mark.parametrize(("query", "message"), [
    ("namespace=Bad_NS", "parameter 'namespace': 'Bad_NS' is not a namespace name"),
    ("namespace=", "parameter 'namespace': '' is not a namespace name"),
    ("namespace=a&namespace=b", "parameter 'namespace' is given more than once"),
    ("ns=shop", "unknown parameter 'ns': the only parameter is 'namespace'"),
])
def test_a_bad_parameter_is_refused_with_what_is_wrong(query: str, message: str) -> None:
    async def check(client: TestClient[Any, Any]) -> None:
        for path in ("/catalog/asyncapi.json", "/catalog/asyncapi.yaml"):
            answer = await client.get(f"{path}?{query}")
            assert answer.status == 400
            assert answer.headers["Cache-Control"] == "no-store"
            assert json.loads(await answer.read())["error"].startswith(message)
    _serve(shop_catalog, check)


def test_a_snapshot_is_rendered_once_per_namespace_and_format() -> None:
    snapshots = [shop_catalog()]
    routes = AsyncApiRoutes(lambda: snapshots[-1])
    first = routes.rendered("shop", "json")
    assert routes.rendered("shop", "json") is first  # the same snapshot: the same bytes
    assert routes.rendered(None, "yaml") is not first
    snapshots.append(shop_catalog())  # the next snapshot: rendered again
    again = routes.rendered("shop", "json")
    assert again is not first and again == first


def test_namespace_parameter() -> None:
    assert namespace_parameter({}) is None
    assert namespace_parameter({"namespace": ["team-a"]}) == "team-a"
    with pytest.raises(BadParameter):
        namespace_parameter({"namespace": ["a" * 64]})
