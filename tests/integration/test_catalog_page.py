"""The catalog web page in headless Chromium, served by a real operator process from what it
watches on the real stack.

- A namespace of 1,000 EventTopics and 1,000 EventSubscriptions: the page lists them all, a search
  by owner finds one event, its page shows its producers, its consumers and the live lag of one
  of them (messages produced to its real Kafka topic).
- A small shop namespace of ten services with a feedback loop: its graph draws the loop in red and
  the orphans dashed; the event page shows how alive the event is. Screenshots of both are saved
  (to EVENTSUB_SCREENSHOTS, a directory, when set: `make catalog-screenshots` writes docs/).

Kept cheap: the operator watches only these namespaces; the bulk subscriptions need no pod
(minReplicas 0) and the bulk objects are created in parallel while the few objects the test looks
at get ready; only what the page shows is waited for.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import threading
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import KafkaException, Producer
from confluent_kafka.admin import AdminClient, NewTopic
from selenium import webdriver
from selenium.webdriver.common.by import By

from browser import chromium, console_problems, full_page_screenshot
from conftest import Kube, fresh_namespace
from localstack import StackInfo
from operator_process import OperatorProcess
from resources import CONSUMER_TEMPLATE, create, get, resource, wait_condition
from support import eventually, unique

BULK = 1000  # EventTopics and EventSubscriptions in the large namespace
NO_POD = {"minReplicas": 0, "maxReplicas": 1, "activationLagThreshold": 1_000_000_000}


@pytest.fixture(scope="module")
def namespaces(kube: Kube) -> Iterator[tuple[str, str]]:
    with fresh_namespace(kube, "catalog-big") as big, fresh_namespace(kube, "catalog-shop") as shop:
        yield big, shop


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
def page_operator(crds: StackInfo, namespaces: tuple[str, str],
                  tmp_path_factory: pytest.TempPathFactory) -> Iterator[OperatorProcess]:
    """An operator of its own, watching only these namespaces: the session's operator does not
    carry 2,000 objects into the other tests, and stopping this one stops their work."""
    process = OperatorProcess(crds, tmp_path_factory.mktemp("catalog") / "operator.log",
                              {"EVENTSUB_NAMESPACES": ",".join(namespaces)})
    try:
        yield process
    finally:
        assert process.stop() == 0, process.log()[-3000:]
        assert "Traceback" not in process.log(), process.log()[-3000:]


@pytest.fixture(scope="module")
def browser() -> Iterator[webdriver.Chrome]:
    with chromium() as driver:
        yield driver


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
    over 20 teams, each with a small schema; subscriptions read their topic rarely."""
    docs: list[dict[str, Any]] = []
    for i in range(BULK - 2):
        schema = json.dumps({"type": "record", "name": "E", "fields": [
            {"name": "id", "type": "string"}, {"name": f"field{i % 50}", "type": "long"}]})
        docs.append(_topic(f"event-{i:04d}", f"{run}-event-{i:04d}", owner=f"team-{i % 20:02d}",
                           description=f"bulk event {i}",
                           schema={"format": "Avro", "inline": schema}))
    for i in range(BULK - 3):
        docs.append(_subscription(f"service-{i:04d}", [{"eventTopic": f"event-{i:04d}"}],
                                  scaling={**NO_POD, "pollIntervalSeconds": 30}))
    return docs


def test_chromium_finds_an_event_by_owner_among_a_thousand_and_sees_its_live_lag(
        kube: Kube, stack_info: StackInfo, namespaces: tuple[str, str], kafka_topics: list[str],
        page_operator: OperatorProcess, browser: webdriver.Chrome) -> None:
    namespace, _ = namespaces
    run = unique("cat")
    orders, carts = f"{run}-orders", f"{run}-carts"
    kafka_topics += [orders, carts, *(f"{run}-event-{i:04d}" for i in range(BULK - 2))]
    owner = f"checkout-{run}"
    create(kube, namespace, resource("KafkaConnection", "local",
                                     {"bootstrapServers": [stack_info.kafka_bootstrap]}))
    create(kube, namespace, _topic("orders", orders, owner=owner, description="an order was placed",
                                   producers=["web-shop"]))
    create(kube, namespace, _topic("carts", carts, owner="cart-team", description="carts"))
    create(kube, namespace, _subscription("order-intake", [{"eventTopic": "carts"}], [orders]))
    for name in ("billing", "shipping"):
        create(kube, namespace, _subscription(name, [{"eventTopic": "orders"}]))
    # The bulk is created while the few objects the test looks at get ready.
    bulk = threading.Thread(target=_create_all, args=(kube, namespace, _bulk(run)))
    bulk.start()
    try:
        wait_condition(kube, namespace, "EventSubscription", "billing", reason="Running", timeout=90)
        _produce(stack_info.kafka_bootstrap, orders, 5)
        eventually(lambda: (get(kube, namespace, "EventSubscription", "billing").get("status")
                            or {}).get("totalLag") == 5, timeout=60, what="billing's lag of 5")
    finally:
        bulk.join()

    listing = _url(page_operator, f"/catalog?ns={namespace}")

    def all_listed() -> bool:
        browser.get(listing)
        return f"{BULK:,} of {BULK:,}" in browser.find_element(By.CLASS_NAME, "cards").text
    eventually(all_listed, timeout=30, interval=1, what="1,000 events listed")
    assert f"{BULK:,}\nsubscriptions" in browser.find_element(By.CLASS_NAME, "cards").text

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


def test_the_graph_of_a_shop_shows_its_feedback_loop_and_the_event_page_its_activity(
        kube: Kube, stack_info: StackInfo, namespaces: tuple[str, str], kafka_topics: list[str],
        kafka_admin: AdminClient, page_operator: OperatorProcess, browser: webdriver.Chrome,
        tmp_path: Path) -> None:
    _, namespace = namespaces
    prefix = unique("shop")
    kafka = {name: f"{prefix}.{name}" for name in [*SHOP_TOPICS, "clickstream"]}
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
        # payments runs one pod (kwok's: it consumes nothing, so the lag stays to be seen)
        scaling = {"minReplicas": 1, "maxReplicas": 3, "lagThreshold": 100} \
            if name == "payments" else None
        docs.append(_subscription(name, topics, [kafka[t] for t in produces], scaling))
    _create_all(kube, namespace, docs)

    browser.get(_url(page_operator, f"/catalog/graph/{namespace}"))
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
    _produce(stack_info.kafka_bootstrap, kafka["orders.placed"], 40)
    event_page = _url(page_operator, f"/catalog/events/{namespace}/orders-placed")

    def alive() -> bool:
        _produce(stack_info.kafka_bootstrap, kafka["orders.placed"], 3)
        browser.get(event_page)
        facts = browser.find_element(By.CSS_SELECTOR, "dl.facts").text
        return bool(re.search(r"Messages/s\s+\d", facts)) and "ago)" in facts
    eventually(alive, timeout=60, interval=2, what="orders.placed's activity on its page")
    assert "customer.email" in browser.find_element(By.CSS_SELECTOR, "table.fields").text

    out = Path(os.environ.get("EVENTSUB_SCREENSHOTS") or tmp_path)
    full_page_screenshot(browser, out / "catalog-event.png")
    browser.get(_url(page_operator, f"/catalog/graph/{namespace}"))
    full_page_screenshot(browser, out / "catalog-graph.png")
    for picture in ("catalog-event.png", "catalog-graph.png"):
        assert (out / picture).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
