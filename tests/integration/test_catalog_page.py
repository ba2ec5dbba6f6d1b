"""The catalog web page in headless Chromium, served by a real operator process from what it
watches on the real stack.

- A small shop namespace of ten services with a feedback loop: its graph draws the loop in red and
  the orphans dashed; the event page shows how alive the event is. Screenshots of both are saved
  (to EVENTSUB_SCREENSHOTS, a directory, when set: `make catalog-screenshots` writes docs/).
- A namespace of 1,000 EventTopics and 1,000 EventSubscriptions: the page lists them all, a search
  by owner finds one event, its page shows its producers, its consumers and the live lag of one
  of them (messages produced to its real Kafka topic). It runs last: the operator is still
  settling its 2,000 objects when it ends.

Kept cheap: the operator watches only these namespaces; the bulk subscriptions need no pod
(minReplicas 0) and the bulk objects are created in parallel while the few objects the test looks
at get ready; only what the page shows is waited for.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import KafkaException, Producer
from confluent_kafka.admin import AdminClient, NewTopic
from kubernetes import client
from selenium import webdriver
from selenium.webdriver.common.by import By

from browser import chromium, console_problems, full_page_screenshot
from conftest import NAMESPACE_PREFIX, Kube, fresh_namespace
from eventsub.catalog.list_page import PAGE_SIZE
from localstack import StackInfo
from localstack.consumers import ConsumerRunner
from operator_process import OperatorProcess
from resources import CONSUMER_TEMPLATE, create, get, resource, wait_condition
from support import eventually, unique

BULK = 1000  # EventTopics and EventSubscriptions in the large namespace
SCREENSHOTS = os.environ.get("EVENTSUB_SCREENSHOTS")  # a directory for the pictures
NO_POD = {"minReplicas": 0, "maxReplicas": 1, "activationLagThreshold": 1_000_000_000}


@pytest.fixture(scope="module")
def kafka_topics(kafka_admin: AdminClient) -> Iterator[list[str]]:
    """Kafka topics the tests make (EventTopics retain theirs): deleted at the end."""
    names: list[str] = []
    yield names
    for start in range(0, len(names), 500):
        for future in kafka_admin.delete_topics(names[start:start + 500]).values():
            with contextlib.suppress(KafkaException):  # one the operator never got to create
                future.result(60)


@pytest.fixture(scope="module")
def browser() -> Iterator[webdriver.Chrome]:
    with chromium() as driver:
        yield driver


def _phase(started: float, what: str) -> None:
    """How long the test took to get here (shown with -s; the suite's budget is tight)."""
    print(f"  {time.monotonic() - started:6.1f} s  {what}")


def _url(operator: OperatorProcess, path: str) -> str:
    return f"http://127.0.0.1:{operator.metrics_port}{path}"


def _produce(bootstrap: str, topic: str, count: int) -> None:
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 5})
    for i in range(count):
        producer.produce(topic, key=str(i).encode(), value=json.dumps({"n": i}).encode())
    assert producer.flush(30) == 0


def _create_all(kube: Kube, namespace: str, docs: list[dict[str, Any]]) -> None:
    """Many creates at once: the API server takes them in parallel."""
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda doc: create(kube, namespace, doc), docs))


def _topic(name: str, topic_name: str, **catalog: Any) -> dict[str, Any]:
    return resource("EventTopic", name, {"connectionRef": {"name": "local"},
                                         "topicName": topic_name, "partitions": 1,
                                         "catalog": catalog})


def _subscription(name: str, consumes: list[dict[str, str]], produces: Sequence[str] = (),
                  scaling: dict[str, Any] | None = None) -> dict[str, Any]:
    return resource("EventSubscription", name, {
        "connectionRef": {"name": "local"}, "topics": consumes, "produces": list(produces),
        "template": CONSUMER_TEMPLATE, "scaling": {"pollIntervalSeconds": 1, **(scaling or NO_POD)}})


def _bulk(run: str) -> list[dict[str, Any]]:
    """998 EventTopics and 997 subscriptions (with the test's own, 1,000 of each), owners spread
    over 20 teams, each with a small schema; subscriptions read their topic rarely. Their names
    sort after the test's own (orders, carts, billing, order-intake, shipping)."""
    docs: list[dict[str, Any]] = []
    for i in range(BULK - 2):
        schema = json.dumps({"type": "record", "name": "E", "fields": [
            {"name": "id", "type": "string"}, {"name": f"field{i % 50}", "type": "long"}]})
        docs.append(_topic(f"topic-{i:04d}", f"{run}-event-{i:04d}", owner=f"team-{i % 20:02d}",
                           description=f"bulk event {i}",
                           schema={"format": "Avro", "inline": schema}))
    for i in range(BULK - 3):
        docs.append(_subscription(f"svc-{i:04d}", [{"eventTopic": f"topic-{i:04d}"}],
                                  scaling={**NO_POD, "pollIntervalSeconds": 30}))
    return docs


# A small shop: who produces and consumes what. inventory and pricing feed each other
# (stock.shortage -> pricing -> orders.repriced -> inventory); customer.notified has no consumer;
# clickstream has no producer and no EventTopic.
SHOP_TOPICS: dict[str, dict[str, Any]] = {
    "orders.placed": {"owner": "checkout", "description": "A customer placed an order.",
                      "producers": ["web-shop", "mobile-app"]},
    "payments.authorized": {"owner": "payments", "description": "The card payment went through."},
    "payments.failed": {"owner": "payments", "description": "The card was declined."},
    "stock.reserved": {"owner": "inventory", "description": "Items set aside for an order."},
    "stock.shortage": {"owner": "inventory", "description": "Not enough stock for an order."},
    "orders.repriced": {"owner": "pricing", "description": "An order's total changed."},
    "shipments.created": {"owner": "fulfilment", "description": "A parcel left the warehouse."},
    "customer.notified": {"owner": "notifications", "description": "A customer was told."},
    "fraud.scores": {},  # no owner, no description
    "orders.legacy": {"owner": "checkout", "description": "Orders in the old format.",
                      "lifecycle": "Deprecated", "replacedBy": "orders.placed",
                      "producers": ["web-shop"]},
}
SHOP_SERVICES: dict[str, tuple[list[str], list[str]]] = {  # consumes, produces
    "payments": (["orders.placed"], ["payments.authorized", "payments.failed"]),
    "inventory": (["orders.placed", "orders.repriced"], ["stock.reserved", "stock.shortage"]),
    "pricing": (["stock.shortage"], ["orders.repriced"]),
    "fulfilment": (["payments.authorized", "stock.reserved"], ["shipments.created"]),
    "notifications": (["shipments.created", "payments.failed"], ["customer.notified"]),
    "fraud": (["orders.placed"], ["fraud.scores"]),
    "reporting": (["orders.legacy", "fraud.scores"], []),
    "loyalty": (["payments.authorized"], []),
    "analytics": (["clickstream"], []),
}
ORDER_SCHEMA = {"type": "record", "name": "OrderPlaced", "namespace": "shop", "fields": [
    {"name": "orderId", "type": "string"},
    {"name": "placedAt", "type": {"type": "long", "logicalType": "timestamp-millis"}},
    {"name": "customer", "type": {"type": "record", "name": "Customer", "fields": [
        {"name": "id", "type": "string"}, {"name": "email", "type": "string"}]}},
    {"name": "lines", "type": {"type": "array", "items": {"type": "record", "name": "Line",
                                                          "fields": [
        {"name": "sku", "type": "string"}, {"name": "quantity", "type": "int"}]}}},
    {"name": "total", "type": {"type": "bytes", "logicalType": "decimal", "precision": 10,
                               "scale": 2}},
    {"name": "currency", "type": "string"}]}


@pytest.fixture
def shop(kube: Kube) -> Iterator[str]:
    """A namespace the session's operator watches: "t-shop" for the pictures, else a fresh one."""
    if not SCREENSHOTS:
        with fresh_namespace(kube, NAMESPACE_PREFIX) as name:
            yield name
        return
    kube.core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name="t-shop")))
    try:
        yield "t-shop"
    finally:
        kube.core.delete_namespace("t-shop")


def test_the_graph_of_a_shop_shows_its_feedback_loop_and_the_event_page_its_activity(
        kube: Kube, stack_info: StackInfo, shop: str, kafka_topics: list[str],
        kafka_admin: AdminClient, operator: OperatorProcess, browser: webdriver.Chrome,
        tmp_path: Path) -> None:
    namespace = shop
    # Kafka topic names of their own, except for the pictures (deleted at the end either way).
    prefix = "" if SCREENSHOTS else f"{unique('shop')}."
    kafka = {name: f"{prefix}{name}" for name in [*SHOP_TOPICS, "clickstream"]}
    kafka_topics += kafka.values()
    # clickstream: a plain Kafka topic, written by something the catalog does not know
    kafka_admin.create_topics([NewTopic(kafka["clickstream"], 1)])[kafka["clickstream"]].result(30)
    create(kube, namespace, resource("KafkaConnection", "local",
                                     {"bootstrapServers": [stack_info.kafka_bootstrap]}))
    docs = []
    for name, facts in SHOP_TOPICS.items():
        facts = {**facts, "replacedBy": kafka[facts["replacedBy"]]} if "replacedBy" in facts else facts
        if name == "orders.placed":
            facts = {**facts, "schema": {"format": "Avro", "inline": json.dumps(ORDER_SCHEMA)}}
        docs.append(resource("EventTopic", name.replace(".", "-"), {
            "connectionRef": {"name": "local"}, "topicName": kafka[name], "partitions": 3,
            "config": {"retention.ms": "604800000"}, "catalog": facts}))
    for name, (consumes, produces) in SHOP_SERVICES.items():
        topics = [{"name": kafka[t]} if t == "clickstream" else {"eventTopic": t.replace(".", "-")}
                  for t in consumes]
        # payments runs one consumer (the others wait at their activation threshold)
        scaling = {"minReplicas": 1, "maxReplicas": 3, "lagThreshold": 100} \
            if name == "payments" else None
        docs.append(_subscription(name, topics, [kafka[t] for t in produces], scaling))
    _create_all(kube, namespace, docs)

    graph = _url(operator, f"/catalog/graph/{namespace}")
    drawn = len(SHOP_TOPICS) + 1 + len(SHOP_SERVICES) + 2  # with clickstream, web-shop, mobile-app

    def complete() -> bool:  # once the operator's watches have brought every object
        browser.get(graph)
        return len(browser.find_elements(By.CSS_SELECTOR, "g[data-id]")) == drawn
    eventually(complete, timeout=30, interval=0.5, what="the whole shop drawn")
    loop_edges = browser.find_elements(By.CSS_SELECTOR, "path.edge.loop")
    assert len(loop_edges) == 4  # inventory -> stock.shortage -> pricing -> orders.repriced -> back
    on_loop = {g.get_attribute("data-id") for g in browser.find_elements(By.CSS_SELECTOR, "g.loop")}
    assert on_loop == {f"service:{namespace}/inventory", f"service:{namespace}/pricing",
                       f"event:{namespace}/stock-shortage", f"event:{namespace}/orders-repriced"}
    orphans = {g.get_attribute("data-id") for g in browser.find_elements(By.CSS_SELECTOR, "g.orphan")}
    assert f"event:{namespace}/customer-notified" in orphans  # nobody consumes it
    assert any(o.endswith(f"/{kafka['clickstream']}") for o in orphans)  # nobody produces it
    assert console_problems(browser) == []

    # Alive: messages arrive on orders.placed while the operator reads its log end.
    wait_condition(kube, namespace, "EventSubscription", "payments", reason="Running", timeout=60)
    with ConsumerRunner(kube.core, namespace, "payments", tmp_path / "consumers"):
        _alive_and_pictured(stack_info, browser, operator, namespace, kafka, tmp_path)


def _alive_and_pictured(stack_info: StackInfo, browser: webdriver.Chrome,
                        operator: OperatorProcess, namespace: str, kafka: dict[str, str],
                        tmp_path: Path) -> None:
    _produce(stack_info.kafka_bootstrap, kafka["orders.placed"], 40)
    event_page = _url(operator, f"/catalog/events/{namespace}/orders-placed")

    def alive() -> bool:
        _produce(stack_info.kafka_bootstrap, kafka["orders.placed"], 3)
        browser.get(event_page)
        facts = browser.find_element(By.CSS_SELECTOR, "dl.facts").text
        return bool(re.search(r"Messages/s\s+\d", facts)) and "ago)" in facts
    eventually(alive, timeout=60, interval=2, what="orders.placed's activity on its page")
    assert "customer.email" in browser.find_element(By.CSS_SELECTOR, "table.fields").text

    out = Path(SCREENSHOTS or tmp_path)
    full_page_screenshot(browser, out / "catalog-event.png")
    browser.get(_url(operator, f"/catalog/graph/{namespace}"))
    full_page_screenshot(browser, out / "catalog-graph.png")
    for picture in ("catalog-event.png", "catalog-graph.png"):
        assert (out / picture).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_chromium_finds_an_event_by_owner_among_a_thousand_and_sees_its_live_lag(
        kube: Kube, crds: StackInfo, kafka_topics: list[str], browser: webdriver.Chrome,
        tmp_path: Path) -> None:
    """In two acts, each with an operator of its own watching only this namespace (no other test
    carries these objects). First the few objects the test looks at, until billing's lag is
    measured. Then the bulk is created with no operator running (created while one reconciles
    them, 2,000 objects take several times longer) and a second operator serves the page: it
    finds everything in its first list, and keeps billing's lag up to date. It is stopped in
    the middle of settling the bulk."""
    started = time.monotonic()
    run = unique("cat")
    orders, carts = f"{run}-orders", f"{run}-carts"
    owner = f"checkout-{run}"
    kafka_topics += [orders, carts, *(f"{run}-event-{i:04d}" for i in range(BULK - 2))]
    with fresh_namespace(kube, "catalog") as namespace:
        create(kube, namespace, resource("KafkaConnection", "local",
                                         {"bootstrapServers": [crds.kafka_bootstrap]}))
        _create_all(kube, namespace, [
            _topic("orders", orders, owner=owner, description="an order was placed",
                   producers=["web-shop"]),
            _topic("carts", carts, owner="cart-team", description="carts"),
            _subscription("order-intake", [{"eventTopic": "carts"}], [orders]),
            *(_subscription(name, [{"eventTopic": "orders"}]) for name in ("billing", "shipping"))])
        with _operator(crds, tmp_path / "first.log", namespace):
            wait_condition(kube, namespace, "EventSubscription", "billing", reason="Running")
            _phase(started, "billing Running")
            _produce(crds.kafka_bootstrap, orders, 5)
            eventually(lambda: (get(kube, namespace, "EventSubscription", "billing").get("status")
                                or {}).get("totalLag") == 5, timeout=60, what="billing's lag of 5")
            _phase(started, "billing's lag in its status")
        _create_all(kube, namespace, _bulk(run))
        _phase(started, "2,000 objects in the namespace")
        with _operator(crds, tmp_path / "second.log", namespace) as operator:
            _phase(started, "second operator started")
            _find_and_open(browser, operator, namespace, orders, owner, started)


@contextlib.contextmanager
def _operator(info: StackInfo, log: Path, namespace: str) -> Iterator[OperatorProcess]:
    # One process, no Lease: its first minutes with 2,000 new objects are busy, and a renewal
    # missed on a crowded machine would end it (leader election is tested elsewhere).
    process = OperatorProcess(info, log, {"EVENTSUB_NAMESPACES": namespace,
                                          "EVENTSUB_LEADER_ELECTION": "false"}, expect_leader=False)
    try:
        yield process
    finally:
        assert process.stop() == 0, process.log()[-3000:]
        assert "Traceback" not in process.log(), process.log()[-3000:]


def _find_and_open(browser: webdriver.Chrome, operator: OperatorProcess, namespace: str,
                   orders: str, owner: str, started: float) -> None:
    listing = _url(operator, f"/catalog?ns={namespace}")

    def all_listed() -> bool:  # once the operator's first list has brought every object
        browser.get(listing)
        cards = browser.find_element(By.CLASS_NAME, "cards").text
        assert f"{BULK:,} of {BULK:,}\nevents match\n{BULK:,}\nsubscriptions" in cards, cards
        return True
    eventually(all_listed, timeout=90, interval=2, what="1,000 events and subscriptions listed")
    _phase(started, "all listed")
    assert len(browser.find_elements(By.CSS_SELECTOR, "table.events tbody tr")) == PAGE_SIZE

    browser.find_element(By.NAME, "q").send_keys(f"owner:{owner}")
    browser.find_element(By.CSS_SELECTOR, "form.search button").click()
    eventually(lambda: "q=owner" in browser.current_url, timeout=10, what="the search's page")
    rows = browser.find_elements(By.CSS_SELECTOR, "table.events tbody tr")
    assert [r.find_element(By.TAG_NAME, "a").text for r in rows] == [orders]
    assert "matched: owner" in rows[0].text
    rows[0].find_element(By.TAG_NAME, "a").click()
    eventually(lambda: browser.current_url.endswith(f"/catalog/events/{namespace}/orders"),
               timeout=10, what="the event's page")

    assert browser.find_element(By.TAG_NAME, "h1").text.startswith(orders)
    producers = browser.find_element(By.CSS_SELECTOR, ".flow .producers").text
    assert "web-shop" in producers and f"{namespace}/order-intake" in producers
    consumers = browser.find_element(By.CSS_SELECTOR, ".flow .consumers").text
    assert f"{namespace}/billing" in consumers and f"{namespace}/shipping" in consumers
    billing = next(r for r in browser.find_elements(By.CSS_SELECTOR, "tr.consumer")
                   if r.text.startswith(f"{namespace}/billing"))
    cells = [c.text for c in billing.find_elements(By.TAG_NAME, "td")]
    assert cells[1] == f"{namespace}.billing"  # its consumer group
    assert cells[2] == "5"  # the live lag
    assert cells[5].startswith("True")  # Ready
    assert console_problems(browser) == []  # nothing refused by the page's policy
    _phase(started, "found, opened, lag seen")
