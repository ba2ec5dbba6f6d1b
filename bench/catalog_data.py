"""Resource bodies of a synthetic catalog, as the API server holds them: `count` EventTopics,
each with an owner, a description, an inline schema and config, read by one subscription and
produced by the one before it (a chain, so every event has a producer and a consumer)."""

from __future__ import annotations

import json
from typing import Any

Body = dict[str, Any]
SCHEMA = json.dumps({"type": "object", "required": ["id"],
                     "properties": {"id": {"type": "string"}, "amount": {"type": "integer"}}})


def connection(namespace: str, bootstrap: str, cluster_id: str | None = None) -> tuple[str, Body]:
    status = {"clusterId": cluster_id} if cluster_id else {}
    return f"{namespace}/local", {"metadata": {"namespace": namespace, "name": "local"},
                                  "spec": {"bootstrapServers": [bootstrap]}, "status": status}


def topic(namespace: str, i: int, status: bool = True) -> tuple[str, Body]:
    name = f"events-{i:04d}"
    spec = {"connectionRef": {"name": "local"}, "topicName": f"{namespace}.{name}",
            "partitions": 3, "config": {"retention.ms": "604800000", "cleanup.policy": "delete",
                                        "segment.bytes": "1073741824"},
            "catalog": {"owner": f"team-{i % 20:02d}", "description": f"Synthetic event {i}",
                        "schema": {"format": "JsonSchema", "inline": SCHEMA}}}
    body: Body = {"metadata": {"namespace": namespace, "name": name}, "spec": spec}
    if status:
        body["status"] = {"partitions": 3, "replicationFactor": 1,
                          "config": dict(spec["config"]),  # type: ignore[call-overload]
                          "conditions": [{"type": "Ready", "status": "True", "reason": "InSync"}]}
    return f"{namespace}/{name}", body


def subscription(namespace: str, i: int, count: int, status: bool = True) -> tuple[str, Body]:
    name = f"service-{i:04d}"
    spec = {"connectionRef": {"name": "local"}, "topics": [{"eventTopic": f"events-{i:04d}"}],
            "produces": [f"{namespace}.events-{(i + 1) % count:04d}"] if i + 1 < count else []}
    body: Body = {"metadata": {"namespace": namespace, "name": name}, "spec": spec}
    if status:
        body["status"] = {
            "consumerGroup": f"{namespace}.{name}", "replicas": 1, "desiredReplicas": 1,
            "totalLag": i, "health": "OK",
            "partitions": [{"topic": f"{namespace}.events-{i:04d}", "partition": p, "lag": i}
                           for p in range(3)],
            "conditions": [{"type": "Ready", "status": "True", "reason": "Running"}]}
    return f"{namespace}/{name}", body


def catalog_bodies(namespace: str, count: int, bootstrap: str = "127.0.0.1:9092"
                   ) -> tuple[list[tuple[str, Body]], list[tuple[str, Body]], list[tuple[str, Body]]]:
    """(connections, topics, subscriptions)."""
    return ([connection(namespace, bootstrap, "cluster-1")],
            [topic(namespace, i) for i in range(count)],
            [subscription(namespace, i, count) for i in range(count)])
