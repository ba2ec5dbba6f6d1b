"""/catalog: every event, searchable by name, owner or schema field, filtered by namespace, with
its lifecycle and what the findings say about it highlighted."""

from __future__ import annotations

from collections.abc import Sequence

from eventsub.catalog.flags import LOOP, UNCONSUMED, UNDOCUMENTED, UNPRODUCED, Flags, flags
from eventsub.catalog.graph_model import namespaces
from eventsub.catalog.html_base import NONE, badge, document, esc, number
from eventsub.catalog.links import event_href, graph_href, list_href
from eventsub.catalog.search import Match, search
from eventsub.core.catalog_graph import describe_cycle
from eventsub.core.catalog_snapshot import Catalog, EventEntry

SHOWN_NAMES = 3  # producers or consumers named in a row; the rest counted
PAGE_SIZE = 250  # rows per page: parsing 10,000 rows would take the browser seconds


def catalog_page(catalog: Catalog, query: str = "", namespace: str = "",
                 flagged: bool = False, page: int = 1) -> str:
    scope = catalog.in_namespace(namespace) if namespace else catalog
    found = flags(catalog)
    matches = search(scope.events, query)
    if flagged:
        matches = [m for m in matches if m.entry.key in found.events]
    page = min(max(page, 1), max(1, (len(matches) + PAGE_SIZE - 1) // PAGE_SIZE))
    cycles = [c for c in catalog.findings.cycles
              if not namespace or any(s.startswith(f"{namespace}/") for s in c[::2])]
    pages = _pages(len(matches), page, query, namespace, flagged)
    body = (f"<h1>Events</h1>{_form(catalog, query, namespace, flagged)}"
            f"{_cards(scope, found, cycles, len(matches))}{_findings(scope, found, cycles, namespace)}"
            f"{pages}{_table(_page(matches, page), found, bool(query))}{pages}")
    return document("Events", body)


def _page(matches: list[Match], page: int) -> list[Match]:
    start = (page - 1) * PAGE_SIZE
    return matches[start:start + PAGE_SIZE]


def _pages(total: int, page: int, query: str, namespace: str, flagged: bool) -> str:
    """Where these rows are among the matches, and links to the pages before and after."""
    if total <= PAGE_SIZE:
        return ""
    last = (total + PAGE_SIZE - 1) // PAGE_SIZE

    def link(number: int, text: str) -> str:
        return f'<a href="{esc(list_href(query, namespace, flagged, number))}">{esc(text)}</a>'

    first, end = (page - 1) * PAGE_SIZE + 1, min(page * PAGE_SIZE, total)
    parts = [f"rows {first:,} to {end:,} of {total:,}"]
    if page > 1:
        parts.append(link(page - 1, "previous"))
    if page < last:
        parts.append(link(page + 1, f"next {min(PAGE_SIZE, total - end):,}"))
    return f'<nav class="pages">{" · ".join(parts)}</nav>'


def _form(catalog: Catalog, query: str, namespace: str, flagged: bool) -> str:
    options = "".join(
        f'<option value="{esc(ns)}"{" selected" if ns == namespace else ""}>{esc(ns)}</option>'
        for ns in namespaces(catalog))
    return (
        f'<form class="search" method="get" action="{list_href()}" role="search">'
        f'<input type="search" name="q" value="{esc(query)}" aria-label="search" '
        f'placeholder="name, owner or schema field (owner:team, field:customer.id)">'
        f'<select name="ns" aria-label="namespace"><option value="">all namespaces</option>'
        f"{options}</select>"
        f'<label><input type="checkbox" name="flagged" value="1"{" checked" if flagged else ""}>'
        f" with findings only</label><button type=\"submit\">Search</button></form>")


def _cards(scope: Catalog, found: Flags, cycles: Sequence[tuple[str, ...]], shown: int) -> str:
    def count(flag: str) -> int:
        return sum(1 for e in scope.events if flag in found.events.get(e.key, ()))

    cards = [("events match", f"{shown:,} of {len(scope.events):,}"),
             ("subscriptions", f"{len(scope.consumers):,}"),
             ("feedback loops", f"{len(cycles):,}"),
             ("undocumented", f"{count(UNDOCUMENTED):,}"),
             ("nobody produces", f"{count(UNPRODUCED):,}"),
             ("nobody consumes", f"{count(UNCONSUMED):,}")]
    return '<div class="cards">' + "".join(
        f'<div class="card"><b>{esc(value)}</b><span class="muted">{esc(label)}</span></div>'
        for label, value in cards) + "</div>"


def _findings(scope: Catalog, found: Flags, cycles: Sequence[tuple[str, ...]],
              namespace: str) -> str:
    parts = []
    if cycles:
        items = "".join(f"<li><code>{esc(describe_cycle(c))}</code></li>" for c in cycles[:20])
        more = f"<li>and {len(cycles) - 20:,} more</li>" if len(cycles) > 20 else ""
        graphs = "".join(f' <a href="{graph_href(ns)}">graph of {esc(ns)}</a>'
                         for ns in sorted({c[0].split("/", 1)[0] for c in cycles})[:5])
        parts.append(f'<div class="findings loops"><b>Feedback loops</b>: what these services '
                     f"produce comes back to them.{graphs}<ul>{items}{more}</ul></div>")
    flagged = sum(1 for e in scope.events if e.key in found.events)
    if flagged:
        parts.append(f'<div class="findings">{flagged:,} event(s) have findings (no owner or '
                     f"description, nobody producing or consuming them, no EventTopic): "
                     f'<a href="{esc(list_href(namespace=namespace, flagged=True))}">show only '
                     f"those</a></div>")
    return "".join(parts)


def _table(matches: Sequence[Match], found: Flags, searched: bool) -> str:
    if not matches:
        return '<p class="muted">No event matches.</p>'
    rows = "".join(_row(m, found.events.get(m.entry.key, ()), searched) for m in matches)
    return ('<table class="events"><thead><tr><th>Event</th><th>Owner</th><th>Lifecycle</th>'
            "<th>Producers</th><th>Consumers</th><th>Msg/s</th><th>Findings</th></tr></thead>"
            f"<tbody>{rows}</tbody></table>")


def _row(match: Match, marks: Sequence[str], searched: bool) -> str:
    entry = match.entry
    css = "loop" if LOOP in marks else "flagged" if marks else ""
    why = (f'<div class="small muted">matched: {esc(", ".join(match.reasons))}</div>'
           if searched and match.reasons else "")
    lifecycle = badge(entry.lifecycle)
    if entry.replaced_by:
        lifecycle += f'<div class="small">→ {esc(entry.replaced_by)}</div>'
    rate = entry.activity.messages_per_second if entry.activity else None
    return (f'<tr class="{css}"><td><a href="{esc(event_href(entry.key))}">{esc(entry.topic)}</a>'
            f'<div class="small muted">{esc(entry.key)}</div>{why}</td>'
            f"<td>{esc(entry.owner) if entry.owner else NONE}</td>"
            f"<td>{lifecycle}</td><td>{_names(entry, entry.producers)}</td>"
            f"<td>{_names(entry, entry.consumers)}</td><td>{number(rate)}</td>"
            f"<td>{''.join(badge(m, 'red' if m == LOOP else None) for m in marks)}</td></tr>")


def _names(entry: EventEntry, keys: Sequence[str]) -> str:
    """Subscriptions of the event's own namespace by name, others by namespace/name."""
    if not keys:
        return '<span class="muted">none</span>'
    local = f"{entry.namespace}/"
    names = [k.removeprefix(local) for k in keys[:SHOWN_NAMES]]
    more = f' <span class="muted">+{len(keys) - SHOWN_NAMES:,}</span>' if len(keys) > SHOWN_NAMES else ""
    return esc(", ".join(names)) + more
