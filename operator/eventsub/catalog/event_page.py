"""/catalog/events/{key}: one event's page: its catalog facts and schema, whether it is alive,
its Kafka topic, and producers -> topic -> consumers with each consumer's group, lag, replicas,
health and readiness."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from eventsub.catalog.flags import LOOP, Flags, flags, replacement
from eventsub.catalog.html_base import NONE, badge, document, esc, moment, number
from eventsub.catalog.links import event_href, graph_href
from eventsub.catalog.schema_fields import SchemaField, schema_fields
from eventsub.core.catalog_graph import describe_cycle
from eventsub.core.catalog_snapshot import Catalog, ConsumerEntry, EventEntry

HEALTH_COLOURS = {"OK": "green", "Warn": "amber", "Stall": "red", "Stop": "red"}


def event_page(catalog: Catalog, entry: EventEntry, now: float) -> str:
    found = flags(catalog)
    marks = found.events.get(entry.key, ())
    title = (f"<h1>{esc(entry.topic)} {badge(entry.lifecycle)}"
             f"{''.join(badge(m, 'red' if m == LOOP else None) for m in marks)}</h1>"
             f'<div class="muted">{esc(entry.key)}'
             + (f' · <a href="{esc(graph_href(entry.namespace))}">graph of {esc(entry.namespace)}'
                f"</a>" if entry.namespace else "") + "</div>")
    body = (title + _deprecation(catalog, entry) + _facts(entry, now)
            + "<h2>Producers → topic → consumers</h2>" + _flow(catalog, entry, found)
            + _consumers(catalog, entry) + _loops(catalog, entry) + _schema(entry)
            + _config(entry))
    return document(entry.topic, body)


def _deprecation(catalog: Catalog, entry: EventEntry) -> str:
    if entry.lifecycle != "Deprecated":
        return ""
    target = replacement(catalog, entry)
    named = (f'<a href="{esc(event_href(target.key))}">{esc(target.topic)}</a>' if target
             else esc(entry.replaced_by) if entry.replaced_by else "")
    return ('<div class="findings"><b>Deprecated</b>: keep consuming it for now, but plan to '
            "move" + (f" to {named}" if named else "") + ".</div>")


def _facts(entry: EventEntry, now: float) -> str:
    activity = entry.activity
    rows = [
        ("Owner", esc(entry.owner) if entry.owner else '<span class="muted">not set</span>'),
        ("Description", esc(entry.description) if entry.description
         else '<span class="muted">not set</span>'),
        ("EventTopic", esc(entry.key) if entry.namespace
         else '<span class="muted">none: only subscriptions name this topic</span>'),
        ("Kafka topic", f"<code>{esc(entry.topic)}</code>"),
        ("Connection", esc(entry.connection) if entry.connection else NONE),
        ("Partitions", number(entry.partitions)),
        ("Replication factor", number(entry.replication_factor)),
        ("Ready", NONE if entry.ready is None else badge("Ready", "green") if entry.ready
         else badge("not Ready")),
        ("Messages/s", number(activity.messages_per_second if activity else None)
         + ' <span class="muted small">(over the last minutes)</span>'),
        ("Last message", moment(activity.last_message_time if activity else None, now)),
    ]
    return '<dl class="facts">' + "".join(f"<dt>{k}</dt><dd>{v}</dd>" for k, v in rows) + "</dl>"


def _flow(catalog: Catalog, entry: EventEntry, found: Flags) -> str:
    loop_edges = found.loop_edges
    producers = [_service_pill(catalog, key, (key, entry.topic) in loop_edges)
                 for key in entry.producers]
    consumers = [_service_pill(catalog, key, (entry.topic, key) in loop_edges)
                 for key in entry.consumers]
    none = '<div class="muted">none known</div>'
    return ('<div class="flow">'
            f'<div class="col producers">{"".join(producers) or none}</div>'
            '<div class="arrow">→</div>'
            f'<div class="pill topic">{esc(entry.topic)}</div><div class="arrow">→</div>'
            f'<div class="col consumers">{"".join(consumers) or none}</div></div>')


def _service_pill(catalog: Catalog, key: str, on_loop: bool) -> str:
    consumer = catalog.consumers.get(key)
    css = "pill loop" if on_loop else "pill"
    if consumer is None:
        return (f'<div class="{css}">{esc(key)} <span class="muted small">declared on the topic'
                "</span></div>")
    lag = f" · lag {number(consumer.lag)}" if consumer.lag is not None else ""
    return (f'<div class="{css}"><a href="{esc(graph_href(consumer.namespace))}">{esc(key)}</a>'
            f'<div class="small muted">group {esc(consumer.group)}{lag}</div></div>')


def _consumers(catalog: Catalog, entry: EventEntry) -> str:
    rows = [catalog.consumers[k] for k in entry.consumers if k in catalog.consumers]
    if not rows:
        return ""
    return ("<h2>Consumers</h2><table class=\"consumers\"><thead><tr><th>Subscription</th>"
            "<th>Consumer group</th><th>Lag</th><th>Replicas / desired</th><th>Health</th>"
            "<th>Ready</th></tr></thead><tbody>"
            + "".join(_consumer_row(c) for c in rows) + "</tbody></table>")


def _consumer_row(consumer: ConsumerEntry) -> str:
    health = (badge(consumer.health, HEALTH_COLOURS.get(consumer.health, "amber"))
              if consumer.health else NONE)
    ready = badge("True", "green") if consumer.ready else badge("False")
    reason = f' <span class="small muted">{esc(consumer.reason)}</span>' if consumer.reason else ""
    loop = f" {badge(LOOP, 'red')}" if consumer.loop else ""
    return (f'<tr class="consumer"><td>{esc(consumer.key)}{loop}</td>'
            f"<td><code>{esc(consumer.group)}</code></td>"
            f'<td class="lag">{number(consumer.lag)}</td>'
            f"<td>{number(consumer.replicas)} / {number(consumer.desired_replicas)}</td>"
            f"<td>{health}</td><td>{ready}{reason}</td></tr>")


def _loops(catalog: Catalog, entry: EventEntry) -> str:
    cycles = [c for c in catalog.findings.cycles if entry.topic in c[1::2]]
    if not cycles:
        return ""
    items = "".join(f"<li><code>{esc(describe_cycle(c))}</code></li>" for c in cycles)
    return (f'<div class="findings loops"><b>On a feedback loop</b>: what these services '
            f"produce comes back to them.<ul>{items}</ul></div>")


def _schema(entry: EventEntry) -> str:
    schema = entry.schema
    if not schema:
        return '<h2>Schema</h2><p class="muted">No schema declared.</p>'
    head = (f"<h2>Schema <span class=\"badge\">{esc(schema.get('format', '?'))}</span></h2>"
            + _registered(entry))
    if schema.get("ref"):
        return head + f"<p>Held at <code>{esc(schema['ref'])}</code>.</p>"
    read = schema_fields(schema)
    problem = f'<p class="muted">The schema could not be read: {esc(read.problem)}</p>' \
        if read.problem else ""
    fields = _fields_table(read.fields) if read.fields else ""
    document_ = (f"<details><summary>schema document</summary><pre>{esc(schema.get('inline', ''))}"
                 "</pre></details>")
    return head + problem + fields + document_


def _registered(entry: EventEntry) -> str:
    """Where the registry holds the declared schemas: subject, version, id."""
    if not entry.registered:
        return ""
    rows = "".join(
        f"<tr><td>{esc(part)}</td><td><code>{esc(r.get('subject', ''))}</code></td>"
        f"<td>{esc(r.get('version', '-'))}</td><td>{esc(r.get('id', '-'))}</td>"
        f"<td>{esc(r.get('compatibility', '-'))}</td></tr>"
        for part, r in sorted(entry.registered.items()) if isinstance(r, Mapping))
    return ('<table class="registered"><thead><tr><th>Part</th><th>Subject</th><th>Version</th>'
            f"<th>Id</th><th>Compatibility</th></tr></thead><tbody>{rows}</tbody></table>")


def _fields_table(fields: Sequence[SchemaField]) -> str:
    rows = "".join(f"<tr><td><code>{esc(f.path)}</code></td><td>{esc(f.type)}</td></tr>"
                   for f in fields)
    return ('<table class="fields"><thead><tr><th>Field</th><th>Type</th></tr></thead>'
            f"<tbody>{rows}</tbody></table>")


def _config(entry: EventEntry) -> str:
    if not entry.config:
        return ""
    rows = "".join(f"<tr><td><code>{esc(k)}</code></td><td><code>{esc(v)}</code></td></tr>"
                   for k, v in sorted(entry.config.items()))
    return ("<h2>Topic configuration</h2><table><thead><tr><th>Key</th><th>Value</th></tr>"
            f"</thead><tbody>{rows}</tbody></table>")
