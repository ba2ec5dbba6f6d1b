"""The catalog as a kubectl-style table: one row per event with its owner, producers, consumers,
their lag on it and its lifecycle. Pure: a snapshot in, text out."""

from __future__ import annotations

from collections.abc import Sequence

from eventsub.core.catalog_snapshot import Catalog, EventEntry

NONE = "<none>"
UNKNOWN = "-"
SHOWN = 3  # names per cell; the rest are counted


def render(catalog: Catalog, namespace: str | None = None) -> str:
    """namespace: the one being looked at (names in it are written without it); None for all
    namespaces, which adds a NAMESPACE column."""
    header = ["EVENT", "OWNER", "PRODUCERS", "CONSUMERS", "LAG", "LIFECYCLE"]
    rows = [_row(catalog, entry, namespace) for entry in catalog.events]
    if namespace is None:
        header = ["NAMESPACE", *header]
        rows = [[entry.namespace or NONE, *row] for entry, row in zip(catalog.events, rows,
                                                                       strict=True)]
    if not rows:
        where = f"namespace {namespace}" if namespace else "any namespace"
        return f"No events found in {where}.\n"
    return _aligned([header, *rows])


def _row(catalog: Catalog, entry: EventEntry, namespace: str | None) -> list[str]:
    return [entry.topic, entry.owner or NONE,
            _names(entry.producers, namespace), _names(entry.consumers, namespace),
            _lag(catalog, entry), _lifecycle(entry)]


def _names(keys: Sequence[str], namespace: str | None) -> str:
    """Subscriptions of the namespace by name, others as namespace/name; declared services as
    they are written."""
    if not keys:
        return NONE
    names = [k.split("/", 1)[1] if namespace and k.startswith(f"{namespace}/") else k
             for k in keys]
    shown = ",".join(names[:SHOWN])
    return shown if len(names) <= SHOWN else f"{shown},+{len(names) - SHOWN}"


def event_lag(catalog: Catalog, entry: EventEntry) -> int | None:
    """Messages its consumers have yet to read, summed over those that report lag on it."""
    figures = [consumer.topic_lag[entry.topic] for key in entry.consumers
               if (consumer := catalog.consumers.get(key)) is not None
               and entry.topic in consumer.topic_lag]
    return sum(figures) if figures else None


def _lag(catalog: Catalog, entry: EventEntry) -> str:
    lag = event_lag(catalog, entry)
    return UNKNOWN if lag is None else str(lag)


def _lifecycle(entry: EventEntry) -> str:
    return f"{entry.lifecycle} (use {entry.replaced_by})" if entry.replaced_by else entry.lifecycle


def _aligned(rows: list[list[str]]) -> str:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["   ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
             for row in rows]
    return "\n".join(lines) + "\n"
