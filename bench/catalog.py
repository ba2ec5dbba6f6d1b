"""make bench-catalog: the live catalog of N EventTopics and N EventSubscriptions (N=1000).

On the local stack (reused if `make up` left one running), in a namespace of its own:
- the snapshot build and the page renders, timed in this process on the objects as the API
  server returns them (median of several runs);
- the same pages served by a real operator process: HTTP time of a request that rebuilds the
  snapshot, and Chromium's navigation timing (response end, DOM interactive, load event end),
  the first load and the median of reloads;
- the operator's RSS before and after serving the pages, and that of operators started afresh
  on the same settled objects with the catalog off (EVENTSUB_CATALOG=false) and on.
The yardstick is a target rather than a peer: the page under 1 s in the browser.
"""

from __future__ import annotations

import argparse
import json
import socket
import statistics
import sys
import time
import urllib.request
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from common import (
    GROUP,
    VERSION,
    custom_resource,
    delete_topics,
    kube_clients,
    local_stack,
    namespace_with_connection,
    operator_process,
    rss_mib,
)
from kubernetes import client

from browser import chromium, navigation_timing
from eventsub.catalog.event_page import event_page
from eventsub.catalog.graph_page import graph_page
from eventsub.catalog.list_page import catalog_page
from eventsub.core.catalog_snapshot import Catalog, build
from localstack import StackInfo

PAGE_TARGET_MS = 1000.0  # the page's target in the browser
RUNS = 7
SETTLE_SECONDS = 40.0  # an operator started on settled objects has looked at them all by then


def objects(run: str, count: int) -> list[tuple[str, dict[str, Any]]]:
    """count topics and count subscriptions; every tenth subscription starts a new chain, the
    others produce the next topic (a realistic, connected graph), owners over 20 teams."""
    docs: list[tuple[str, dict[str, Any]]] = []
    for i in range(count):
        schema = json.dumps({"type": "record", "name": "E", "fields": [
            {"name": "id", "type": "string"}, {"name": f"field{i % 50}", "type": "long"}]})
        docs.append(("eventtopics", custom_resource("EventTopic", f"event-{i:04d}", {
            "connectionRef": {"name": "local"}, "topicName": f"{run}-event-{i:04d}", "partitions": 1,
            "catalog": {"owner": f"team-{i % 20:02d}", "description": f"event {i}",
                        "schema": {"format": "Avro", "inline": schema}}})))
    for i in range(count):
        produces = [f"{run}-event-{(i + 1) % count:04d}"] if i % 10 else []
        docs.append(("eventsubscriptions", custom_resource("EventSubscription", f"service-{i:04d}", {
            "connectionRef": {"name": "local"}, "topics": [{"eventTopic": f"event-{i:04d}"}],
            "produces": produces,
            "template": {"spec": {"containers": [{"name": "c", "image": "example/consumer:1"}]}},
            "scaling": {"minReplicas": 0, "activationLagThreshold": 1_000_000_000,
                        "pollIntervalSeconds": 30}})))
    return docs


def create_all(custom: client.CustomObjectsApi, ns: str, docs: list[tuple[str, dict[str, Any]]]) -> float:
    t0 = time.monotonic()
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda d: custom.create_namespaced_custom_object(GROUP, VERSION, ns, *d), docs))
    return time.monotonic() - t0


def settled(custom: client.CustomObjectsApi, ns: str, count: int, timeout: float) -> float:
    """Seconds until every subscription is Ready (so every topic is too)."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        items = custom.list_namespaced_custom_object(GROUP, VERSION, ns, "eventsubscriptions")["items"]
        ready = sum(1 for s in items for c in (s.get("status") or {}).get("conditions", [])
                    if c["type"] == "Ready" and c["status"] == "True")
        if ready == count:
            return time.monotonic() - t0
        time.sleep(2)
    raise SystemExit(f"not every subscription Ready within {timeout:.0f} s")


def timed(action: Callable[[], object], runs: int = RUNS) -> float:
    """Median milliseconds of action."""
    spent = []
    for _ in range(runs):
        t0 = time.perf_counter()
        action()
        spent.append((time.perf_counter() - t0) * 1000)
    return statistics.median(spent)


def in_process(custom: client.CustomObjectsApi, ns: str) -> tuple[dict[str, float], Catalog]:
    def items(plural: str) -> list[tuple[str, dict[str, Any]]]:
        found = custom.list_namespaced_custom_object(GROUP, VERSION, ns, plural)["items"]
        return [(f"{ns}/{o['metadata']['name']}", o) for o in found]

    topics, subscriptions = items("eventtopics"), items("eventsubscriptions")
    catalog = build(topics, subscriptions, lambda key: key)
    entry = next(e for e in catalog.events if e.consumers and e.producers)
    figures = {
        "snapshot build": timed(lambda: build(topics, subscriptions, lambda key: key)),
        "render /catalog (first 250 rows)": timed(lambda: catalog_page(catalog, namespace=ns)),
        "render /catalog?q=owner:team-07": timed(lambda: catalog_page(catalog, "owner:team-07", ns)),
        "render an event page": timed(lambda: event_page(catalog, entry, time.time())),
        "render the graph (400 nodes drawn)": timed(lambda: graph_page(catalog, ns)),
        "render the graph (all drawn)": timed(lambda: graph_page(catalog, ns, draw_all=True), 3),
    }
    return figures, catalog


def http_ms(url: str) -> float:
    """One GET after the memoised snapshot expired: build + render + transfer."""
    time.sleep(1.1)
    t0 = time.perf_counter()
    with urllib.request.urlopen(url, timeout=30) as response:
        response.read()
    return (time.perf_counter() - t0) * 1000


def browser_loads(urls: dict[str, str]) -> dict[str, dict[str, float]]:
    figures = {}
    with chromium() as driver:
        for label, url in urls.items():
            driver.get(url)
            first = navigation_timing(driver)
            reloads = []
            for _ in range(5):
                time.sleep(1.1)  # past the snapshot's memo: each load rebuilds it
                driver.get(url)
                reloads.append(navigation_timing(driver))
            figures[label] = {
                "first load": first["loaded"], "bytes": first["bytes"], "html": first["html"],
                **{key: statistics.median(r[key] for r in reloads)
                   for key in ("response", "interactive", "loaded")}}
    return figures


def fresh_rss(info: StackInfo, env: dict[str, str], urls: dict[str, str], catalog: bool
              ) -> tuple[float, float]:
    """An operator started on settled objects: RSS once it has looked at everything, and after
    serving every page three times (the same figure when the catalog is off)."""
    with operator_process(info, **env, EVENTSUB_CATALOG=str(catalog).lower()) as process:
        time.sleep(SETTLE_SECONDS)
        idle = rss_mib(process.pid)
        if not catalog:
            return idle, idle
        for url in list(urls.values()) * 3:
            with urllib.request.urlopen(url, timeout=60) as response:
                response.read()
        return idle, rss_mib(process.pid)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--topics", type=int, default=1000)
    parser.add_argument("--timeout", type=float, default=600)
    args = parser.parse_args()
    run = uuid.uuid4().hex[:6]
    ns = f"bench-catalog-{run}"
    with local_stack() as info:
        core, _, custom = kube_clients(info)
        namespace_with_connection(info, ns)
        docs = objects(run, args.topics)
        port = free_port()
        env = {"EVENTSUB_NAMESPACES": ns, "EVENTSUB_METRICS_HOST": "127.0.0.1",
               "EVENTSUB_METRICS_PORT": str(port)}
        try:
            with operator_process(info, **env) as operator:
                created = create_all(custom, ns, docs)
                ready = settled(custom, ns, args.topics, args.timeout)
                time.sleep(10)  # a few governance passes and lag reads with everything Ready
                before = rss_mib(operator.pid)
                figures, catalog = in_process(custom, ns)
                entry = next(e for e in catalog.events if e.consumers and e.producers)
                base = f"http://127.0.0.1:{port}"
                urls = {"/catalog": f"{base}/catalog?ns={ns}",
                        "/catalog?q=owner:team-07": f"{base}/catalog?ns={ns}&q=owner%3Ateam-07",
                        "event page": f"{base}/catalog/events/{entry.key}",
                        "graph (400 nodes)": f"{base}/catalog/graph/{ns}",
                        "graph (all 2,000 nodes)": f"{base}/catalog/graph/{ns}?all=1"}
                served = {label: statistics.median(http_ms(url) for _ in range(3))
                          for label, url in urls.items()}
                loads = browser_loads(urls)
                after, peak = rss_mib(operator.pid), rss_mib(operator.pid, peak=True)
            # The same settled objects, each operator started afresh: with and without the catalog.
            without = fresh_rss(info, env, urls, catalog=False)
            with_catalog = fresh_rss(info, env, urls, catalog=True)
        finally:
            core.delete_namespace(ns)
            delete_topics(info.kafka_bootstrap, [f"{run}-event-{i:04d}" for i in range(args.topics)])

    print(f"\nbench-catalog: {args.topics} EventTopics + {args.topics} EventSubscriptions "
          f"(created in {created:.1f} s, all Ready {ready:.1f} s later)")
    print("\n  in process (median)                       ms")
    for label, ms in figures.items():
        print(f"  {label:<40}{ms:8.1f}")
    print("\n  served by the operator (HTTP GET, snapshot rebuilt; median of 3)")
    for label, ms in served.items():
        print(f"  {label:<40}{ms:8.1f}")
    print("\n  Chromium navigation timing (ms)  first load | reloads: response  interactive  "
          "loaded |  transferred / HTML")
    worst = 0.0
    for label, timing in loads.items():
        print(f"  {label:<32}{timing['first load']:8.0f}   |{timing['response']:10.0f}"
              f"{timing['interactive']:13.0f}{timing['loaded']:8.0f}   | "
              f"{timing['bytes'] / 1024:7.0f} / {timing['html'] / 1024:.0f} KiB")
        if label != "graph (all 2,000 nodes)":
            worst = max(worst, timing["loaded"], timing["first load"])
    print(f"\n  operator RSS, the one that created everything: {before:.0f} MiB before serving the "
          f"pages, {after:.0f} MiB after ({after - before:+.0f} MiB; peak {peak:.0f} MiB)")
    print(f"  operator RSS, started on the settled objects, {SETTLE_SECONDS:.0f} s later: "
          f"EVENTSUB_CATALOG=false {without[0]:.0f} MiB; catalog on {with_catalog[0]:.0f} MiB, "
          f"{with_catalog[1]:.0f} MiB after serving every page 3 times "
          f"(catalog: {with_catalog[1] - without[0]:+.0f} MiB)")
    print(f"  target: the page under {PAGE_TARGET_MS:.0f} ms in the browser -> slowest default "
          f"page {worst:.0f} ms: " + ("met" if worst < PAGE_TARGET_MS else "NOT met"))
    return 0 if worst < PAGE_TARGET_MS else 1


if __name__ == "__main__":
    sys.exit(main())
