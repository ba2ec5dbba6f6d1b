"""A namespace's services and events as a graph to draw: producers -> event -> consumers, with
what the findings say marked on the nodes and edges."""

from __future__ import annotations

from dataclasses import dataclass

from eventsub.catalog.flags import LOOP, UNCONSUMED, UNDOCUMENTED, UNPRODUCED, flags
from eventsub.catalog.links import event_href, graph_href
from eventsub.core.catalog_snapshot import Catalog

SERVICE, FOREIGN, DECLARED, EVENT = "service", "foreign", "declared", "event"


@dataclass(frozen=True)
class Node:
    id: str
    kind: str  # SERVICE (a subscription here), FOREIGN (another namespace's), DECLARED, EVENT
    label: str
    title: str  # the full name, shown on hover
    href: str | None = None
    marks: tuple[str, ...] = ()  # flags.LOOP, UNCONSUMED, UNPRODUCED, UNDOCUMENTED, "not ready"


@dataclass(frozen=True)
class Edge:
    source: str
    target: str
    loop: bool = False  # on a feedback loop


@dataclass(frozen=True)
class Graph:
    nodes: dict[str, Node]
    edges: tuple[Edge, ...]


def namespace_graph(catalog: Catalog, namespace: str) -> Graph:
    """The events a namespace's resources declare or use, and every service around them."""
    view, found = catalog.in_namespace(namespace), flags(catalog)
    nodes: dict[str, Node] = {}
    edges: set[Edge] = set()

    def service(key: str) -> str:
        node_id = f"service:{key}"
        if node_id not in nodes:
            consumer = catalog.consumers[key]
            here = consumer.namespace == namespace
            marks = ((LOOP,) if key in found.loop_services else ()) + (
                () if consumer.ready else ("not ready",))
            nodes[node_id] = Node(node_id, SERVICE if here else FOREIGN,
                                  consumer.name if here else key, f"subscription {key}",
                                  None if here else graph_href(consumer.namespace), marks)
        return node_id

    def declared(name: str) -> str:
        node_id = f"declared:{name}"
        nodes.setdefault(node_id, Node(node_id, DECLARED, name, f"producer {name} (declared)"))
        return node_id

    for key in sorted(view.consumers):
        service(key)
    for entry in view.events:
        event_id = f"event:{entry.key}"
        marks = tuple(m for m in found.events.get(entry.key, ())
                      if m in (LOOP, UNCONSUMED, UNPRODUCED, UNDOCUMENTED))
        if entry.lifecycle == "Deprecated":
            marks += ("deprecated",)
        nodes[event_id] = Node(event_id, EVENT, entry.topic, f"event {entry.topic} ({entry.key})",
                               event_href(entry.key), marks)
        for producer in entry.producers:
            source = service(producer) if producer in catalog.consumers else declared(producer)
            edges.add(Edge(source, event_id, (producer, entry.topic) in found.loop_edges))
        for consumer in entry.consumers:
            edges.add(Edge(event_id, service(consumer), (entry.topic, consumer) in found.loop_edges))
    return Graph(nodes=nodes, edges=tuple(sorted(edges, key=lambda e: (e.source, e.target))))


def namespaces(catalog: Catalog) -> list[str]:
    """Every namespace with an EventTopic or a subscription, sorted."""
    return sorted({e.namespace for e in catalog.events if e.namespace}
                  | {c.namespace for c in catalog.consumers.values()})
