"""What the catalog's findings say about each event and each subscription, as short flags the
page highlights (the findings themselves come from core.catalog_graph)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from eventsub.core.catalog_snapshot import Catalog, EventEntry

LOOP = "feedback loop"
UNDOCUMENTED = "no owner or description"
UNCONSUMED = "nobody consumes"
UNPRODUCED = "nobody produces"
UNDECLARED = "no EventTopic"


@dataclass(frozen=True)
class Flags:
    events: Mapping[str, tuple[str, ...]]  # event key -> its flags
    loop_services: frozenset[str]  # subscriptions on a feedback loop
    loop_edges: frozenset[tuple[str, str]]  # (service, topic) and (topic, service) on a cycle


def flags(catalog: Catalog) -> Flags:
    loop_edges = _loop_edges(catalog.findings.cycles)
    undocumented, unconsumed = set(catalog.findings.undocumented), set(catalog.findings.unconsumed)
    unproduced = {event for _, event in catalog.findings.unproduced}
    found: dict[str, tuple[str, ...]] = {}
    for entry in catalog.events:
        marks = []
        if any((consumer, entry.topic) in loop_edges or (entry.topic, consumer) in loop_edges
               for consumer in (*entry.consumers, *entry.producers)):
            marks.append(LOOP)
        if entry.key in undocumented:
            marks.append(UNDOCUMENTED)
        if entry.event in unproduced:
            marks.append(UNPRODUCED)
        if entry.key in unconsumed:
            marks.append(UNCONSUMED)
        if entry.namespace is None:
            marks.append(UNDECLARED)
        if marks:
            found[entry.key] = tuple(marks)
    return Flags(events=found, loop_services=frozenset(catalog.findings.loops),
                 loop_edges=frozenset(loop_edges))


def _loop_edges(cycles: tuple[tuple[str, ...], ...]) -> set[tuple[str, str]]:
    """A cycle reads service, topic, service, ..., service: each neighbouring pair is an edge."""
    return {(cycle[i], cycle[i + 1]) for cycle in cycles for i in range(len(cycle) - 1)}


def replacement(catalog: Catalog, entry: EventEntry) -> EventEntry | None:
    """The event a deprecated one names in replacedBy: the same cluster's topic of that name."""
    if not entry.replaced_by:
        return None
    return next((e for e in catalog.events
                 if e.topic == entry.replaced_by and e.event[0] == entry.event[0]), None)
