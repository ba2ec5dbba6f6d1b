"""The catalog as an AsyncAPI 3.0.0 document: a pure function of a snapshot.

What maps to what:
- a server per KafkaConnection (its bootstrap servers; protocol kafka, or kafka-secure over
  TLS; the SASL mechanism or client certificate as a security scheme, never a credential);
- a channel per event (address: the Kafka topic) with the Kafka channel binding 0.5.0: topic,
  partitions, replicas and the topic configuration the binding defines, the rest of the topic's
  configuration under `x-eventsub-topic-configuration`;
- a message per channel with its schema: an inline schema as the payload (Avro, Protobuf or
  JSON Schema), a reference (a registry subject or a URL) under `x-eventsub-schema`, where no
  parser follows it;
- a `receive` operation per subscription and channel, with the subscription's real consumer
  group id in the Kafka operation binding; a `send` operation per producer and channel
  (subscriptions' `produces`, and the services an EventTopic declares in catalog.producers);
- owners as tags (`owner:<owner>`) and `x-eventsub-owner`; lifecycle, replacement, activity,
  lag, replicas and feedback loops as `x-eventsub-*` extensions.

Ids are valid component keys (letters, digits, `.`, `-`, `_`), stable (each depends only on what
it names) and unique: Kubernetes names never contain `_`, so `<namespace>_<name>` names a
resource exactly; anything else gets a readable part and a hash of what it names. Entries come in
sorted order, so one snapshot always gives the same document.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from eventsub import __version__
from eventsub.catalog import block_yaml
from eventsub.core.catalog_graph import Event, describe_cycle
from eventsub.core.catalog_snapshot import Catalog, ConnectionEntry, ConsumerEntry, EventEntry

ASYNCAPI_VERSION = "3.0.0"
KAFKA_BINDING_VERSION = "0.5.0"
COMPONENT_KEY = re.compile(r"^[a-zA-Z0-9.\-_]+\Z")

Doc = dict[str, Any]

# Topic settings the Kafka channel binding defines, with how a Kafka string becomes its value;
# a value that does not convert stays with the rest, as the string Kafka holds.
_INTEGER_SETTINGS = {"retention.ms": -1, "retention.bytes": -1, "delete.retention.ms": 0,
                     "max.message.bytes": 0}  # name -> smallest value the binding allows
_BOOLEAN_SETTINGS = ("confluent.key.schema.validation", "confluent.value.schema.validation")
_STRING_SETTINGS = ("confluent.key.subject.name.strategy", "confluent.value.subject.name.strategy")
_CLEANUP_POLICIES = ("compact", "delete")

_SCHEMA_FORMATS = {
    "JsonSchema": "application/schema+json;version=draft-07",
    "Avro": "application/vnd.apache.avro+json;version=1.9.0",
    "Protobuf": "application/vnd.google.protobuf;version=3",
}
_SASL_SCHEMES = {  # mechanism -> (security scheme id, AsyncAPI type)
    "PLAIN": ("saslPlain", "plain"),
    "SCRAM-SHA-256": ("saslScramSha256", "scramSha256"),
    "SCRAM-SHA-512": ("saslScramSha512", "scramSha512"),
}
_MUTUAL_TLS = ("mutualTls", "X509")


def document(catalog: Catalog, namespace: str | None = None, version: str = __version__) -> Doc:
    """The AsyncAPI document of a snapshot, or of the part of it one namespace declares or
    uses."""
    if namespace is not None:
        catalog = catalog.in_namespace(namespace)
    servers = {server_id(c): _server(c) for c in _sorted(catalog.connections.values())}
    by_cluster: dict[str, list[str]] = {}
    for connection in _sorted(catalog.connections.values()):
        by_cluster.setdefault(connection.cluster, []).append(server_id(connection))
    channels: Doc = {}
    messages: Doc = {}
    for entry in catalog.events:
        cid = channel_id(entry)
        channels[cid] = _channel(entry, cid, by_cluster.get(entry.event[0], []))
        messages[cid] = _message(entry)
    doc: Doc = {
        "asyncapi": ASYNCAPI_VERSION,
        "info": _info(catalog, namespace, version),
        "servers": servers,
        "channels": channels,
        "operations": _operations(catalog),
        "components": {"messages": messages},
        "x-eventsub-findings": _findings(catalog),
    }
    schemes = _security_schemes(catalog.connections.values())
    if schemes:
        doc["components"]["securitySchemes"] = schemes
    return doc


def server_id(connection: ConnectionEntry) -> str:
    return f"{connection.namespace}_{connection.name}"


def channel_id(entry: EventEntry) -> str:
    """`<namespace>_<name>` of the EventTopic; `topic_<topic>_<hash>` for a topic that only
    subscriptions name (the hash tells clusters apart; two underscores or more, never one)."""
    if entry.namespace is not None and entry.name is not None:
        return f"{entry.namespace}_{entry.name}"
    return f"topic_{_clean(entry.topic)}_{_digest(*entry.event)}"


def subscription_id(consumer: ConsumerEntry) -> str:
    return f"{consumer.namespace}_{consumer.name}"


def declared_producer_id(producer: str) -> str:
    """A service an EventTopic declares (free text): its readable part and a hash of it."""
    return f"producer_{_clean(producer).replace('_', '-')}_{_digest(producer)}"


def _clean(text: str) -> str:
    return re.sub(r"[^a-zA-Z0-9.\-_]", "-", text) or "-"


def _digest(*parts: str) -> str:
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:10]


def _sorted(connections: Iterable[ConnectionEntry]) -> list[ConnectionEntry]:
    return sorted(connections, key=lambda c: c.key)


def _info(catalog: Catalog, namespace: str | None, version: str) -> Doc:
    scope = f"namespace {namespace}" if namespace else "every watched namespace"
    owners = sorted({e.owner for e in catalog.events if e.owner})
    info: Doc = {
        "title": f"eventsub catalog: {scope}",
        "version": version,
        "description": (
            f"The events of {scope} as eventsub runs them: each Kafka topic with its owner, "
            "schema, producers and consumers (with their real consumer groups), read from the "
            "cluster's EventTopics, EventSubscriptions and KafkaConnections when this document "
            "was made. Read-only; it carries no credential."),
    }
    if owners:
        info["tags"] = [{"name": f"owner:{o}", "description": f"Events owned by {o}"}
                        for o in owners]
    return info


def _server(connection: ConnectionEntry) -> Doc:
    tls = connection.security_protocol.endswith("SSL")
    server: Doc = {
        # Comma-separated, as Kafka clients take bootstrap.servers.
        "host": ",".join(connection.bootstrap_servers),
        "protocol": "kafka-secure" if tls else "kafka",
        "title": f"KafkaConnection {connection.key}",
        "description": f"Kafka cluster {connection.cluster}, security protocol "
                       f"{connection.security_protocol}.",
    }
    security = [{"$ref": f"#/components/securitySchemes/{scheme_id}"}
                for scheme_id, _ in _schemes_of(connection)]
    if security:
        server["security"] = security
    server["bindings"] = {"kafka": {"bindingVersion": KAFKA_BINDING_VERSION}}
    server["x-eventsub-connection"] = connection.key
    server["x-eventsub-cluster"] = connection.cluster
    server["x-eventsub-security-protocol"] = connection.security_protocol
    return server


def _schemes_of(connection: ConnectionEntry) -> list[tuple[str, str]]:
    schemes = []
    if connection.sasl_mechanism in _SASL_SCHEMES:
        schemes.append(_SASL_SCHEMES[connection.sasl_mechanism])
    if connection.client_certificate:
        schemes.append(_MUTUAL_TLS)
    return schemes


def _security_schemes(connections: Iterable[ConnectionEntry]) -> Doc:
    used = sorted({s for c in connections for s in _schemes_of(c)})
    return {scheme_id: {"type": kind, "description": _SCHEME_TEXT[scheme_id]}
            for scheme_id, kind in used}


_SCHEME_TEXT = {
    "saslPlain": "SASL PLAIN; the username and password come from a Kubernetes Secret.",
    "saslScramSha256": "SASL SCRAM-SHA-256; the credentials come from a Kubernetes Secret.",
    "saslScramSha512": "SASL SCRAM-SHA-512; the credentials come from a Kubernetes Secret.",
    "mutualTls": "TLS with a client certificate, from a Kubernetes Secret.",
}


def _channel(entry: EventEntry, cid: str, servers: list[str]) -> Doc:
    channel: Doc = {"address": entry.topic, "title": entry.name or entry.topic}
    if entry.description:
        channel["description"] = entry.description
    if servers:
        channel["servers"] = [{"$ref": f"#/servers/{s}"} for s in servers]
    channel["messages"] = {cid: {"$ref": f"#/components/messages/{cid}"}}
    if entry.owner:
        channel["tags"] = [{"name": f"owner:{entry.owner}"}]
    channel["bindings"] = {"kafka": _topic_binding(entry)}
    channel.update(_event_extensions(entry))
    return channel


def _topic_binding(entry: EventEntry) -> Doc:
    binding: Doc = {"topic": entry.topic}
    if entry.partitions:
        binding["partitions"] = entry.partitions
    if entry.replication_factor:
        binding["replicas"] = entry.replication_factor
    known, rest = _configuration(tuple(sorted(entry.config.items())))
    if known:
        binding["topicConfiguration"] = known
    if rest:
        binding["x-eventsub-topic-configuration"] = rest
    binding["bindingVersion"] = KAFKA_BINDING_VERSION
    return binding


@functools.lru_cache(maxsize=1024)
def _configuration(config: tuple[tuple[str, str], ...]) -> tuple[Doc, dict[str, str]]:
    # Most topics share a handful of configurations: each is worked out once (and the result
    # shared between documents, which nothing changes once made).
    return topic_configuration(dict(config))


def topic_configuration(config: Mapping[str, str]) -> tuple[Doc, dict[str, str]]:
    """(the settings the Kafka binding defines, in its types; every other setting as Kafka
    holds it)."""
    known: Doc = {}
    rest: dict[str, str] = {}
    for key in sorted(config):
        value = _binding_value(key, str(config[key]))
        if value is None:
            rest[key] = str(config[key])
        else:
            known[key] = value
    return known, rest


def _binding_value(key: str, value: str) -> Any:
    if key in _INTEGER_SETTINGS:
        number = _integer(value)
        return number if number is not None and number >= _INTEGER_SETTINGS[key] else None
    if key in _BOOLEAN_SETTINGS:
        return {"true": True, "false": False}.get(value.strip().lower())
    if key in _STRING_SETTINGS:
        return value
    if key == "cleanup.policy":
        policies = [p.strip() for p in value.split(",") if p.strip()]
        return policies if policies and set(policies) <= set(_CLEANUP_POLICIES) else None
    return None


def _integer(value: str) -> int | None:
    try:
        return int(value.strip())
    except ValueError:
        return None


def _event_extensions(entry: EventEntry) -> Doc:
    ext: Doc = {"x-eventsub-event": entry.key, "x-eventsub-cluster": entry.event[0]}
    if entry.namespace is not None:
        ext["x-eventsub-namespace"] = entry.namespace
    if entry.owner:
        ext["x-eventsub-owner"] = entry.owner
    ext["x-eventsub-lifecycle"] = entry.lifecycle
    if entry.replaced_by:
        ext["x-eventsub-replaced-by"] = entry.replaced_by
    if entry.ready is not None:
        ext["x-eventsub-ready"] = entry.ready
    ext["x-eventsub-producers"] = list(entry.producers)
    ext["x-eventsub-consumers"] = list(entry.consumers)
    if entry.activity is not None:
        activity: Doc = {}
        if entry.activity.messages_per_second is not None:
            activity["messagesPerSecond"] = round(entry.activity.messages_per_second, 3)
        if entry.activity.last_message_time is not None:
            activity["lastMessageTime"] = _timestamp(entry.activity.last_message_time)
        ext["x-eventsub-activity"] = activity
    return ext


def _timestamp(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _message(entry: EventEntry) -> Doc:
    message: Doc = {"name": entry.topic, "title": f"An event on {entry.topic}"}
    if entry.description:
        message["summary"] = entry.description
    schema = entry.schema or {}
    payload, problem = _payload(schema)
    if payload is not None:
        if schema.get("format") == "JsonSchema":
            message["contentType"] = "application/json"
        message["payload"] = payload
    ref = schema.get("ref")
    if isinstance(ref, str) and re.match(r"^https?://", ref):
        message["externalDocs"] = {"url": ref, "description": "The schema of these events"}
    if entry.owner:
        message["tags"] = [{"name": f"owner:{entry.owner}"}]
    if schema:
        described: Doc = {"format": schema.get("format")}
        if ref:
            described["ref"] = ref
        if problem:
            described["problem"] = problem
            described["inline"] = schema.get("inline")
        message["x-eventsub-schema"] = described
    return message


def _payload(schema: Mapping[str, Any]) -> tuple[Doc | None, str | None]:
    """The message payload for an inline schema; (None, why) when it cannot be one."""
    inline, fmt = schema.get("inline"), schema.get("format")
    if not isinstance(inline, str) or fmt not in _SCHEMA_FORMATS:
        return None, None
    if fmt == "Protobuf":
        version = "2" if re.search(r"""syntax\s*=\s*["']proto2["']""", inline) else "3"
        return {"schemaFormat": f"application/vnd.google.protobuf;version={version}",
                "schema": inline}, None
    try:
        parsed = _parsed(inline)
    except ValueError as error:
        return None, f"the inline {fmt} schema is not JSON: {error}"
    if fmt == "JsonSchema" and not isinstance(parsed, dict | bool):
        return None, "the inline JSON Schema is not an object"
    return {"schemaFormat": _SCHEMA_FORMATS[fmt], "schema": parsed}, None


@functools.lru_cache(maxsize=4096)
def _parsed(inline: str) -> Any:
    """An inline schema, parsed once for every document made from it (the result is shared
    between documents: nothing here changes a document once it is made)."""
    return json.loads(inline)


def _operations(catalog: Catalog) -> Doc:
    channels: dict[Event, list[str]] = {}
    for entry in catalog.events:
        channels.setdefault(entry.event, []).append(channel_id(entry))
    operations: Doc = {}
    for key in sorted(catalog.consumers):
        consumer = catalog.consumers[key]
        for event in dict.fromkeys(consumer.events):
            for cid in channels.get(event, ()):
                operations[f"{subscription_id(consumer)}_receive_{cid}"] = _receive(
                    consumer, event, cid)
        for event in dict.fromkeys(consumer.produces):
            for cid in channels.get(event, ()):
                operations[f"{subscription_id(consumer)}_send_{cid}"] = _send(
                    cid, f"{consumer.key} produces {event[1]}", {"x-eventsub-subscription": key})
    for entry in catalog.events:
        cid = channel_id(entry)
        for producer in entry.declared_producers:
            operations[f"{declared_producer_id(producer)}_send_{cid}"] = _send(
                cid, f"{producer} produces {entry.topic}",
                {"x-eventsub-service": producer, "x-eventsub-declared-by": entry.key})
    return dict(sorted(operations.items()))


def _refs(cid: str) -> Doc:
    return {"channel": {"$ref": f"#/channels/{cid}"},
            "messages": [{"$ref": f"#/channels/{cid}/messages/{cid}"}]}


def _receive(consumer: ConsumerEntry, event: Event, cid: str) -> Doc:
    operation: Doc = {"action": "receive", **_refs(cid),
                      "title": f"{consumer.key} consumes {event[1]}",
                      "bindings": {"kafka": {
                          "groupId": {"type": "string", "enum": [consumer.group]},
                          "bindingVersion": KAFKA_BINDING_VERSION}},
                      "x-eventsub-subscription": consumer.key,
                      "x-eventsub-consumer-group": consumer.group,
                      "x-eventsub-ready": consumer.ready}
    figures = {"x-eventsub-lag": consumer.topic_lag.get(event[1]),
               "x-eventsub-total-lag": consumer.lag,
               "x-eventsub-replicas": consumer.replicas,
               "x-eventsub-desired-replicas": consumer.desired_replicas,
               "x-eventsub-health": consumer.health,
               "x-eventsub-feedback-loop": describe_cycle(consumer.loop) if consumer.loop else None}
    operation.update({k: v for k, v in figures.items() if v is not None})
    return operation


def _send(cid: str, title: str, extensions: Doc) -> Doc:
    return {"action": "send", **_refs(cid), "title": title, **extensions}


def _findings(catalog: Catalog) -> Doc:
    """The catalog's warnings about what this document shows."""
    events = {e.key for e in catalog.events}
    services = set(catalog.consumers)
    findings = catalog.findings
    return {
        "feedbackLoops": [describe_cycle(c) for c in findings.cycles if services & set(c)],
        "undocumentedEvents": [k for k in findings.undocumented if k in events],
        "unproducedSubscriptions": [{"subscription": s, "topic": e[1]}
                                    for s, e in findings.unproduced if s in services],
        "unconsumedEvents": [k for k in findings.unconsumed if k in events],
    }


def to_json(doc: Doc) -> bytes:
    return json.dumps(doc, separators=(",", ":")).encode()


def to_yaml(doc: Doc) -> bytes:
    return block_yaml.dump(doc).encode()
