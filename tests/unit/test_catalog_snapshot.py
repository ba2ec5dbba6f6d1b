"""The catalog snapshot (core.catalog_snapshot), built from resource bodies as the API server
holds them."""

from __future__ import annotations

from typing import Any

from eventsub.core.catalog_snapshot import Activity, ConnectionEntry, build, cluster_ids


def topic(ns: str, name: str, topic_name: str | None = None, **catalog: Any) -> tuple[str, dict[str, Any]]:
    spec: dict[str, Any] = {"connectionRef": {"name": "kafka"}, "partitions": 3}
    if topic_name:
        spec["topicName"] = topic_name
    if catalog:
        spec["catalog"] = catalog
    status = {"partitions": 6, "replicationFactor": 1, "config": {"retention.ms": "1000"},
              "conditions": [{"type": "Ready", "status": "True", "reason": "InSync"}]}
    return f"{ns}/{name}", {"metadata": {"namespace": ns, "name": name}, "spec": spec,
                            "status": status}


def subscription(ns: str, name: str, topics: list[dict[str, str]], produces: list[str] = (),
                 **status: Any) -> tuple[str, dict[str, Any]]:
    return f"{ns}/{name}", {"metadata": {"namespace": ns, "name": name},
                            "spec": {"connectionRef": {"name": "kafka"}, "topics": topics,
                                     "produces": list(produces)},
                            "status": status}


def cluster_of(connection: str) -> str:
    return "cluster-1"  # every connection reaches the same cluster


def test_an_event_with_its_facts_producers_consumers_and_activity() -> None:
    orders = topic("shop", "orders", "shop.orders", owner="team-orders", description="placed",
                   producers=["web"], lifecycle="Deprecated", replacedBy="shop.orders.v2")
    billing = subscription("shop", "billing", [{"eventTopic": "orders"}], replicas=2, totalLag=40,
                           consumerGroup="shop.billing", health="OK",
                           conditions=[{"type": "Ready", "status": "True", "reason": "Running"}])
    audit = subscription("ops", "audit", [{"name": "shop.orders"}])
    checkout = subscription("shop", "checkout", [{"name": "carts"}], produces=["shop.orders"])
    activity = {("cluster-1", "shop.orders"): Activity(2.5, 1000.0)}
    catalog = build([orders], [billing, audit, checkout], cluster_of, activity)

    entry = next(e for e in catalog.events if e.key == "shop/orders")
    assert (entry.topic, entry.owner, entry.lifecycle, entry.replaced_by) == (
        "shop.orders", "team-orders", "Deprecated", "shop.orders.v2")
    assert (entry.partitions, entry.replication_factor, entry.config, entry.ready) == (
        6, 1, {"retention.ms": "1000"}, True)
    assert entry.producers == ("shop/checkout", "web")
    assert entry.consumers == ("ops/audit", "shop/billing")  # both namings of one topic
    assert entry.activity == Activity(2.5, 1000.0)
    consumer = catalog.consumers["shop/billing"]
    assert (consumer.group, consumer.replicas, consumer.lag, consumer.ready) == (
        "shop.billing", 2, 40, True)
    assert catalog.consumers["ops/audit"].group == "ops.audit"  # the default group id


def test_topics_only_subscriptions_name_are_events_without_facts() -> None:
    checkout = subscription("shop", "checkout", [{"name": "carts"}])
    catalog = build([], [checkout], cluster_of)
    assert [(e.key, e.namespace, e.consumers) for e in catalog.events] == [
        ("cluster-1/carts", None, ("shop/checkout",))]
    assert catalog.findings.unproduced == (("shop/checkout", ("cluster-1", "carts")),)


def test_a_namespace_view_keeps_the_events_its_services_touch() -> None:
    orders = topic("shop", "orders")
    other = topic("ops", "metrics")
    audit = subscription("ops", "audit", [{"name": "orders"}])
    catalog = build([orders, other], [audit], cluster_of)
    assert {e.key for e in catalog.in_namespace("ops").events} == {"ops/metrics", "shop/orders"}
    assert {e.key for e in catalog.in_namespace("shop").events} == {"shop/orders"}
    assert set(catalog.in_namespace("shop").consumers) == set()


def test_a_loop_is_on_the_consumers_of_the_snapshot() -> None:
    a = subscription("ns", "a", [{"name": "y"}], produces=["x"])
    b = subscription("ns", "b", [{"name": "x"}], produces=["y"])
    catalog = build([], [a, b], cluster_of)
    assert catalog.consumers["ns/a"].loop == ("ns/a", "x", "ns/b", "y", "ns/a")


def test_connections_declared_producers_and_lag_per_topic() -> None:
    connections = [
        ("shop/kafka", {"metadata": {"namespace": "shop", "name": "kafka"},
                        "spec": {"bootstrapServers": ["b:9093"], "securityProtocol": "SASL_SSL",
                                 "sasl": {"mechanism": "PLAIN", "secretName": "creds"}},
                        "status": {"clusterId": "id-1"}}),
        ("ops/kafka", {"metadata": {"namespace": "ops", "name": "kafka"},
                       "spec": {"bootstrapServers": ["b:9092"]}})]
    orders = topic("shop", "orders", "shop.orders", producers=["web"])
    billing = subscription("shop", "billing", [{"eventTopic": "orders"}, {"name": "refunds"}],
                           partitions=[{"topic": "shop.orders", "partition": 0, "lag": 4},
                                       {"topic": "shop.orders", "partition": 1, "lag": 6},
                                       {"topic": "refunds", "partition": 0, "lag": 1}])
    catalog = build([orders], [billing], cluster_ids(connections), None, connections)
    assert catalog.connections["shop/kafka"] == ConnectionEntry(
        key="shop/kafka", namespace="shop", name="kafka", cluster="id-1",
        bootstrap_servers=("b:9093",), security_protocol="SASL_SSL", sasl_mechanism="PLAIN")
    assert catalog.connections["ops/kafka"].cluster == "ops/kafka"  # no id reported yet
    assert catalog.events[-1].declared_producers == ("web",)
    assert catalog.consumers["shop/billing"].topic_lag == {"shop.orders": 10, "refunds": 1}
    assert set(catalog.in_namespace("shop").connections) == {"shop/kafka"}
    assert set(catalog.in_namespace("ops").connections) == {"ops/kafka"}


def test_a_registered_schema_is_the_one_shown_with_its_subject_version_and_id() -> None:
    key, body = topic("shop", "orders", owner="team", schema={"format": "Avro", "ref": "docs"})
    avro = '{"type": "record", "name": "Order", "fields": [{"name": "id", "type": "string"}]}'
    body["spec"]["schema"] = {"value": {"type": "Avro", "inline": avro}}
    body["status"]["schema"] = {"value": {"subject": "orders-value", "version": 3, "id": 12,
                                          "compatibility": "BACKWARD"}}
    from_config_map = topic("shop", "payments")
    from_config_map[1]["spec"]["schema"] = {"value": {"type": "JsonSchema",
                                                      "configMapRef": {"name": "s", "key": "k"}}}
    documented = topic("shop", "refunds", schema={"format": "Protobuf", "ref": "https://x"})
    entries = {e.name: e for e in build([(key, body), from_config_map, documented], [],
                                        cluster_of).events}
    assert entries["orders"].schema == {"format": "Avro", "inline": avro}
    assert entries["orders"].registered["value"]["version"] == 3
    assert entries["payments"].schema == {"format": "JsonSchema",
                                          "ref": "registry subject payments-value"}
    assert entries["refunds"].schema == {"format": "Protobuf", "ref": "https://x"}
    assert entries["refunds"].registered == {}
