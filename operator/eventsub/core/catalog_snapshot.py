"""The live catalog as one immutable snapshot, built from the EventTopics and EventSubscriptions
the operator watches (as the API server holds them: spec and status) and the activity the lag
collector sampled. Everything that shows the catalog (the HTTP document and page, the kubectl
plugin) renders a snapshot; nothing here does I/O.

An event is a Kafka topic on one cluster. An EventTopic describes it; a topic that only
subscriptions name (by `topics[].name` or `produces`) is an event too, without catalog facts.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from eventsub.core.catalog_graph import Event, Findings, Service, TopicFacts, analyse

Body = Mapping[str, Any]


@dataclass(frozen=True)
class Activity:
    """Is anyone producing this event? From the log-end offsets the lag collector samples."""

    messages_per_second: float | None = None  # None: not sampled long enough
    last_message_time: float | None = None  # epoch seconds the log end was last seen moving


@dataclass(frozen=True)
class ConsumerEntry:
    """One subscription, as the catalog shows it."""

    key: str  # namespace/name
    namespace: str
    name: str
    group: str
    events: tuple[Event, ...]
    produces: tuple[Event, ...]
    replicas: int | None = None
    desired_replicas: int | None = None
    lag: int | None = None
    health: str | None = None
    ready: bool = False
    reason: str | None = None  # the Ready condition's reason
    loop: tuple[str, ...] | None = None  # the feedback loop it is on
    topic_lag: Mapping[str, int] = field(default_factory=dict)  # Kafka topic -> its lag


@dataclass(frozen=True)
class ConnectionEntry:
    """One KafkaConnection: where its cluster is and how clients reach it; never a credential."""

    key: str  # namespace/name
    namespace: str
    name: str
    cluster: str
    bootstrap_servers: tuple[str, ...]
    security_protocol: str = "PLAINTEXT"
    sasl_mechanism: str | None = None
    client_certificate: bool = False  # mutual TLS


@dataclass(frozen=True)
class EventEntry:
    """One event: its catalog facts, its Kafka topic, who produces and who consumes it."""

    key: str  # namespace/name of its EventTopic, or cluster/topic without one
    event: Event
    namespace: str | None = None  # None: no EventTopic describes it
    name: str | None = None
    connection: str | None = None
    owner: str | None = None
    description: str | None = None
    lifecycle: str = "Active"
    replaced_by: str | None = None
    schema: Mapping[str, Any] | None = None  # format, and inline or ref
    # The registered schemas by part (value, key): subject, version, id, compatibility.
    registered: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    partitions: int | None = None
    replication_factor: int | None = None
    config: Mapping[str, str] = field(default_factory=dict)
    ready: bool | None = None  # None: no EventTopic
    producers: tuple[str, ...] = ()  # subscription keys, then declared services
    declared_producers: tuple[str, ...] = ()  # the services of catalog.producers alone
    consumers: tuple[str, ...] = ()  # subscription keys
    activity: Activity | None = None

    @property
    def topic(self) -> str:
        return self.event[1]


@dataclass(frozen=True)
class Catalog:
    events: tuple[EventEntry, ...]  # sorted by namespace, then topic
    consumers: Mapping[str, ConsumerEntry]
    findings: Findings
    connections: Mapping[str, ConnectionEntry] = field(default_factory=dict)

    def in_namespace(self, namespace: str) -> Catalog:
        """The part of the catalog a namespace's resources declare or use."""
        consumers = {k: c for k, c in self.consumers.items() if c.namespace == namespace}
        events = tuple(e for e in self.events if e.namespace == namespace
                       or set(e.consumers) & set(consumers)
                       or set(e.producers) & set(consumers))
        used = {e.connection for e in events}
        connections = {k: c for k, c in self.connections.items()
                       if c.namespace == namespace or k in used}
        return Catalog(events=events, consumers=consumers, findings=self.findings,
                       connections=connections)


def spec_of(body: Body) -> Mapping[str, Any]:
    spec = body.get("spec")
    return spec if isinstance(spec, dict) else {}


def connection_key(body: Body) -> str:
    return f"{body['metadata']['namespace']}/{spec_of(body).get('connectionRef', {}).get('name')}"


def topic_facts(key: str, body: Body, cluster: str) -> TopicFacts:
    spec = spec_of(body)
    catalog = spec.get("catalog") or {}
    return TopicFacts(key=key, event=(cluster, spec.get("topicName") or body["metadata"]["name"]),
                      owner=catalog.get("owner"), description=catalog.get("description"),
                      producers=tuple(catalog.get("producers") or ()))


def service(key: str, body: Body, cluster: str, topics: Mapping[str, TopicFacts]) -> Service:
    """A subscription's place in the graph; an EventTopic it names that does not exist is left
    out (the subscription's own Ready=False says so)."""
    spec, namespace = spec_of(body), body["metadata"]["namespace"]
    consumes: list[Event] = []
    for entry in spec.get("topics") or ():
        if entry.get("eventTopic"):
            facts = topics.get(f"{namespace}/{entry['eventTopic']}")
            if facts is not None:
                consumes.append(facts.event)
        elif entry.get("name"):
            consumes.append((cluster, entry["name"]))
    return Service(key=key, consumes=tuple(consumes),
                   produces=tuple((cluster, name) for name in spec.get("produces") or ()))


def graph(topics: Iterable[tuple[str, Body]], subscriptions: Iterable[tuple[str, Body]],
          cluster_of: Callable[[str], str]) -> tuple[dict[str, TopicFacts], list[Service]]:
    """The produce/consume graph's inputs; cluster_of maps a connection key to its cluster."""
    facts = {key: topic_facts(key, body, cluster_of(connection_key(body))) for key, body in topics}
    services = [service(key, body, cluster_of(connection_key(body)), facts)
                for key, body in subscriptions]
    return facts, services


def cluster_ids(connections: Iterable[tuple[str, Body]]) -> Callable[[str], str]:
    """cluster_of from the KafkaConnections' status (the cluster id they reported), for readers
    without the operator's connection registry; a connection key until the id is known."""
    known = {key: (body.get("status") or {}).get("clusterId") for key, body in connections}
    return lambda key: known.get(key) or key


def build(topics: Iterable[tuple[str, Body]], subscriptions: Iterable[tuple[str, Body]],
          cluster_of: Callable[[str], str],
          activity: Mapping[Event, Activity] | None = None,
          connections: Iterable[tuple[str, Body]] = ()) -> Catalog:
    topics, subscriptions = list(topics), list(subscriptions)
    facts, services = graph(topics, subscriptions, cluster_of)
    findings = analyse(list(facts.values()), services)
    consumers = {s.key: _consumer(s, body, findings) for s, (_, body) in zip(services, subscriptions,
                                                                             strict=True)}
    readers, writers = defaultdict(list), defaultdict(list)
    for s in services:
        for event in dict.fromkeys(s.consumes):
            readers[event].append(s.key)
        for event in dict.fromkeys(s.produces):
            writers[event].append(s.key)
    entries = [_described(key, body, facts[key], readers, writers, activity or {})
               for key, body in topics]
    described = {e.event for e in entries}
    named = sorted({e for e in [*readers, *writers] if e not in described})
    entries += [EventEntry(key=f"{cluster}/{topic}", event=(cluster, topic),
                           producers=tuple(sorted(writers.get((cluster, topic), ()))),
                           consumers=tuple(sorted(readers.get((cluster, topic), ()))),
                           activity=(activity or {}).get((cluster, topic)))
                for cluster, topic in named]
    entries.sort(key=lambda e: (e.namespace or "", e.topic, e.key))
    return Catalog(events=tuple(entries), consumers=consumers, findings=findings,
                   connections={key: _connection(key, body, cluster_of(key))
                                for key, body in sorted(connections, key=lambda kb: kb[0])})


def _described(key: str, body: Body, facts: TopicFacts, readers: Mapping[Event, list[str]],
               writers: Mapping[Event, list[str]], activity: Mapping[Event, Activity]) -> EventEntry:
    spec, status = spec_of(body), body.get("status") or {}
    catalog = spec.get("catalog") or {}
    return EventEntry(
        key=key, event=facts.event, namespace=body["metadata"]["namespace"],
        name=body["metadata"]["name"], connection=connection_key(body),
        owner=facts.owner, description=facts.description,
        lifecycle=catalog.get("lifecycle") or "Active", replaced_by=catalog.get("replacedBy"),
        schema=_schema(spec, facts.event[1]), registered=dict(status.get("schema") or {}),
        partitions=status.get("partitions") or spec.get("partitions"),
        replication_factor=status.get("replicationFactor") or spec.get("replicationFactor"),
        config=dict(status.get("config") or spec.get("config") or {}),
        ready=_ready(status)[0],
        producers=(*sorted(writers.get(facts.event, ())), *facts.producers),
        declared_producers=facts.producers,
        consumers=tuple(sorted(readers.get(facts.event, ()))),
        activity=activity.get(facts.event))


def _schema(spec: Mapping[str, Any], topic: str) -> Mapping[str, Any] | None:
    """The schema the catalog shows: the registered value schema (spec.schema) when there is
    one, else the documentation-only spec.catalog.schema."""
    value = (spec.get("schema") or {}).get("value")
    if not value:
        return (spec.get("catalog") or {}).get("schema")
    if value.get("inline"):
        return {"format": value.get("type"), "inline": value["inline"]}
    return {"format": value.get("type"), "ref": f"registry subject {topic}-value"}


def _consumer(s: Service, body: Body, findings: Findings) -> ConsumerEntry:
    meta, spec, status = body["metadata"], spec_of(body), body.get("status") or {}
    ready, reason = _ready(status)
    return ConsumerEntry(
        key=s.key, namespace=meta["namespace"], name=meta["name"],
        group=status.get("consumerGroup") or spec.get("consumerGroup")
        or f"{meta['namespace']}.{meta['name']}",
        events=s.consumes, produces=s.produces, replicas=status.get("replicas"),
        desired_replicas=status.get("desiredReplicas"), lag=status.get("totalLag"),
        health=status.get("health"), ready=ready, reason=reason, loop=findings.loops.get(s.key),
        topic_lag=_topic_lag(status))


def _topic_lag(status: Mapping[str, Any]) -> dict[str, int]:
    lag: dict[str, int] = defaultdict(int)
    for partition in status.get("partitions") or ():
        lag[str(partition.get("topic"))] += int(partition.get("lag") or 0)
    return dict(lag)


def _connection(key: str, body: Body, cluster: str) -> ConnectionEntry:
    spec, meta = spec_of(body), body["metadata"]
    tls = spec.get("tls") or {}
    return ConnectionEntry(
        key=key, namespace=meta["namespace"], name=meta["name"], cluster=cluster,
        bootstrap_servers=tuple(spec.get("bootstrapServers") or ()),
        security_protocol=spec.get("securityProtocol") or "PLAINTEXT",
        sasl_mechanism=(spec.get("sasl") or {}).get("mechanism"),
        client_certificate=bool(tls.get("clientCertificate")))


def _ready(status: Mapping[str, Any]) -> tuple[bool, str | None]:
    for condition in status.get("conditions") or ():
        if condition.get("type") == "Ready":
            return condition.get("status") == "True", condition.get("reason")
    return False, None
