"""The AsyncAPI document of a 1,000-topic, 1,000-subscription catalog: time to build the snapshot,
make the document and render it as JSON and as YAML (libyaml's emitter), and the sizes.

Pure: no stack. `--count` sizes it; each figure is the median of `--runs` runs.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable

from catalog_data import catalog_bodies

from eventsub.catalog.asyncapi import document, to_json, to_yaml
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
    return 0


if __name__ == "__main__":
    sys.exit(main())
