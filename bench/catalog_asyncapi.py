"""The AsyncAPI document of a 1,000-topic, 1,000-subscription catalog: time to build the snapshot,
make the document and write it as JSON and as YAML, the sizes, and GET /catalog/asyncapi.json and
.yaml through the operator's HTTP routes (aiohttp on 127.0.0.1): a new snapshot, and the same one.

No stack: the resources are synthetic. `--count` sizes it; each figure is the median of `--runs`.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from collections.abc import Callable

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from catalog_data import catalog_bodies

from eventsub.catalog.asyncapi import document, to_json, to_yaml
from eventsub.catalog.routes import catalog_routes
from eventsub.core.catalog_snapshot import Catalog, build, cluster_ids


def timed(fn: Callable[[], object], runs: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(runs):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000, result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    connections, topics, subscriptions = catalog_bodies("bench", args.count)

    def snapshot() -> Catalog:
        return build(topics, subscriptions, cluster_ids(connections), None, connections)

    build_ms, catalog = timed(snapshot, args.runs)
    doc_ms, doc = timed(lambda: document(catalog), args.runs)  # type: ignore[arg-type]
    json_ms, as_json = timed(lambda: to_json(doc), args.runs)  # type: ignore[arg-type]
    yaml_ms, as_yaml = timed(lambda: to_yaml(doc), args.runs)  # type: ignore[arg-type]
    print(f"{args.count} topics, {args.count} subscriptions (median of {args.runs} runs)")
    print(f"  snapshot (core.catalog_snapshot.build)   {build_ms:7.1f} ms")
    print(f"  AsyncAPI document (dict)                  {doc_ms:7.1f} ms")
    print(f"  + JSON  {len(as_json) / 1e6:5.2f} MB                       {json_ms:7.1f} ms"
          f"   document+JSON {doc_ms + json_ms:6.1f} ms")  # type: ignore[arg-type]
    print(f"  + YAML  {len(as_yaml) / 1e6:5.2f} MB                       {yaml_ms:7.1f} ms"
          f"   document+YAML {doc_ms + yaml_ms:6.1f} ms")  # type: ignore[arg-type]
    for fmt in ("json", "yaml"):
        fresh, cached = asyncio.run(_served(snapshot, fmt, args.runs))
        print(f"  GET /catalog/asyncapi.{fmt}: first on a snapshot {fresh:6.1f} ms, "
              f"again {cached:5.1f} ms")
    return 0


async def _served(snapshot: Callable[[], Catalog], fmt: str, runs: int) -> tuple[float, float]:
    """Median request times: the first on a new snapshot (the document made and written), then
    another on the same snapshot (the bytes kept)."""
    current: list[Catalog] = []
    app = web.Application()
    app.router.add_routes(catalog_routes(lambda: current[-1]))
    fresh, cached = [], []
    async with TestClient(TestServer(app, host="127.0.0.1")) as client:
        for _ in range(runs):
            for times in (fresh, cached):
                if times is fresh:
                    current.append(snapshot())
                start = time.perf_counter()
                answer = await client.get(f"/catalog/asyncapi.{fmt}")
                await answer.read()
                times.append(time.perf_counter() - start)
    return statistics.median(fresh) * 1000, statistics.median(cached) * 1000


if __name__ == "__main__":
    sys.exit(main())
