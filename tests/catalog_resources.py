"""Resource bodies of a small shop's catalog, as the API server holds them, for the catalog's
tests (the AsyncAPI document, the table, the HTTP routes, the official parser)."""

from __future__ import annotations

from typing import Any

from eventsub.core.catalog_snapshot import Activity, Catalog, build, cluster_ids

Body = dict[str, Any]


def _meta(ns: str, name: str) -> dict[str, str]:
    return {"namespace": ns, "name": name}


def connection(ns: str, name: str, spec: Body, cluster: str | None = "cluster-1"
               ) -> tuple[str, Body]:
    return f"{ns}/{name}", {"metadata": _meta(ns, name), "spec": spec,
                            "status": {"clusterId": cluster} if cluster else {}}


def topic(ns: str, name: str, connection: str = "local", **spec: Any) -> tuple[str, Body]:
    return f"{ns}/{name}", {"metadata": _meta(ns, name),
                            "spec": {"connectionRef": {"name": connection}, **spec}}


def subscription(ns: str, name: str, topics: list[Body], produces: list[str] = (),
                 connection: str = "local", **status: Any) -> tuple[str, Body]:
    return f"{ns}/{name}", {"metadata": _meta(ns, name),
                            "spec": {"connectionRef": {"name": connection}, "topics": topics,
                                     "produces": list(produces)},
                            "status": status}


PLAIN = connection("shop", "local", {"bootstrapServers": ["kafka-0:9092", "kafka-1:9092"]})
SCRAM = connection("shop", "secure", {
    "bootstrapServers": ["kafka-0:9093"], "securityProtocol": "SASL_SSL",
    "sasl": {"mechanism": "SCRAM-SHA-512", "secretName": "kafka-credentials"},
    "tls": {"ca": {"name": "kafka-ca", "key": "ca.crt"}}})
OPS = connection("ops", "local", {"bootstrapServers": ["kafka-0:9092"]})
MTLS = connection("shop", "mtls", {
    "bootstrapServers": ["kafka-0:9094"], "securityProtocol": "SSL",
    "tls": {"clientCertificate": {"name": "client-tls", "key": "tls.crt"},
            "clientKey": {"name": "client-tls", "key": "tls.key"}}})
ORDER_SCHEMA = '{"type": "object", "properties": {"orderId": {"type": "string"}}}'
ORDERS = topic("shop", "orders", topicName="shop.orders", partitions=6, replicationFactor=3,
               config={"retention.ms": "604800000", "cleanup.policy": "compact,delete",
                       "segment.bytes": "1048576"},
               catalog={"owner": "team-orders", "description": "Order state changes",
                        "schema": {"format": "JsonSchema", "inline": ORDER_SCHEMA},
                        "producers": ["web frontend"], "lifecycle": "Deprecated",
                        "replacedBy": "shop.orders.v2"})
PAYMENTS = topic("shop", "payments", topicName="payments.v1", partitions=3,
                 catalog={"owner": "team-payments", "description": "Payments",
                          "schema": {"format": "Avro", "ref": "payments.v1-value"}})
BILLING = subscription("shop", "billing", [{"eventTopic": "orders"}, {"eventTopic": "payments"}],
                       produces=["invoices"], consumerGroup="shop.billing-v2", replicas=2,
                       desiredReplicas=3, totalLag=45, health="OK",
                       partitions=[{"topic": "shop.orders", "partition": 0, "lag": 40},
                                   {"topic": "payments.v1", "partition": 0, "lag": 5}],
                       conditions=[{"type": "Ready", "status": "True", "reason": "Running"}])
AUDIT = subscription("ops", "audit", [{"name": "shop.orders"}])


def shop_catalog(activity: dict[Any, Activity] | None = None) -> Catalog:
    connections = [PLAIN, SCRAM, MTLS, OPS]
    return build([ORDERS, PAYMENTS], [BILLING, AUDIT], cluster_ids(connections), activity,
                 connections)
