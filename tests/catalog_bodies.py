"""EventTopic and EventSubscription bodies as the API server holds them, for catalog tests and
the catalog benchmark, and the catalog built from them."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from eventsub.core.catalog_snapshot import Catalog, build

CLUSTER = "cluster-1"


def topic(namespace: str, name: str, *, owner: str | None = "team", description: str | None = "d",
          fields: tuple[str, ...] = (), ready: bool = True, **catalog: Any) -> tuple[str, dict[str, Any]]:
    """An EventTopic; fields: an Avro record schema with these fields (strings)."""
    facts: dict[str, Any] = {"owner": owner, "description": description, **catalog}
    if fields:
        facts["schema"] = {"format": "Avro", "inline": json.dumps({
            "type": "record", "name": name, "fields": [{"name": f, "type": "string"} for f in fields]})}
    status = {"partitions": 3, "replicationFactor": 1, "config": {"retention.ms": "604800000"},
              "conditions": [{"type": "Ready", "status": "True" if ready else "False",
                              "reason": "InSync" if ready else "KafkaUnavailable"}]}
    return f"{namespace}/{name}", {
        "metadata": {"namespace": namespace, "name": name},
        "spec": {"connectionRef": {"name": "local"}, "topicName": name,
                 "catalog": {k: v for k, v in facts.items() if v is not None}},
        "status": status}


def subscription(namespace: str, name: str, consumes: Sequence[str], produces: Sequence[str] = (),
                 *, lag: int = 0, replicas: int = 1) -> tuple[str, dict[str, Any]]:
    """consumes: EventTopic names in the namespace; produces: Kafka topic names."""
    return f"{namespace}/{name}", {
        "metadata": {"namespace": namespace, "name": name},
        "spec": {"connectionRef": {"name": "local"},
                 "topics": [{"eventTopic": t} for t in consumes], "produces": list(produces)},
        "status": {"consumerGroup": f"{namespace}.{name}", "replicas": replicas,
                   "desiredReplicas": replicas, "totalLag": lag, "health": "OK",
                   "conditions": [{"type": "Ready", "status": "True", "reason": "Running"}]}}


def catalog(topics: list[tuple[str, dict[str, Any]]],
            subscriptions: list[tuple[str, dict[str, Any]]]) -> Catalog:
    return build(topics, subscriptions, lambda _: CLUSTER)


def large(count: int, namespace: str = "big") -> tuple[list[tuple[str, dict[str, Any]]],
                                                     list[tuple[str, dict[str, Any]]]]:
    """count EventTopics and count subscriptions, each consuming one topic and producing the
    next, owners spread over 20 teams (a long chain, as wide namespaces are)."""
    topics = [topic(namespace, f"event-{i:04d}", owner=f"team-{i % 20:02d}",
                    fields=("id", f"field{i % 50}")) for i in range(count)]
    subs = [subscription(namespace, f"service-{i:04d}", [f"event-{i:04d}"],
                         [f"event-{(i + 1) % count:04d}"] if i % 10 else [], lag=i)
            for i in range(count)]
    return topics, subs
