"""The four kinds: their spec and status models and how they appear to kubectl."""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel

from eventsub.api.base import GROUP, VERSION
from eventsub.api.connection import KafkaConnectionSpec, KafkaConnectionStatus
from eventsub.api.replay import EventReplaySpec, EventReplayStatus
from eventsub.api.subscription import EventSubscriptionSpec, EventSubscriptionStatus
from eventsub.api.topic import EventTopicObservedStatus, EventTopicSpec

CATEGORY = "eventsub"


@dataclass(frozen=True)
class PrinterColumn:
    name: str
    json_path: str
    type: str = "string"
    description: str = ""
    priority: int = 0


def _condition(type_: str) -> str:
    return f'.status.conditions[?(@.type=="{type_}")].status'


def _reason(type_: str) -> str:
    return f'.status.conditions[?(@.type=="{type_}")].reason'


AGE = PrinterColumn("Age", ".metadata.creationTimestamp", "date")


def _summary(type_: str) -> tuple[PrinterColumn, ...]:
    """The last columns of every kind: its summary condition, the reason (wide), the age."""
    return (PrinterColumn(type_, _condition(type_)),
            PrinterColumn("Reason", _reason(type_), priority=1), AGE)


@dataclass(frozen=True)
class Resource:
    kind: str
    plural: str
    short_names: tuple[str, ...]
    description: str
    spec: type[BaseModel]
    status: type[BaseModel]
    columns: tuple[PrinterColumn, ...]

    @property
    def singular(self) -> str:
        return self.kind.lower()

    @property
    def crd_name(self) -> str:
        return f"{self.plural}.{GROUP}"

    @property
    def api_version(self) -> str:
        return f"{GROUP}/{VERSION}"


KAFKA_CONNECTION = Resource(
    kind="KafkaConnection", plural="kafkaconnections", short_names=("kconn",),
    description="How to reach one Kafka cluster: bootstrap servers, TLS and SASL (credentials "
                "only by Secret reference).",
    spec=KafkaConnectionSpec, status=KafkaConnectionStatus,
    columns=(
        PrinterColumn("Bootstrap", ".spec.bootstrapServers[0]", description="First bootstrap server"),
        PrinterColumn("Protocol", ".spec.securityProtocol"),
        PrinterColumn("Brokers", ".status.brokerCount", "integer"),
        *_summary("Ready"),
    ),
)

EVENT_TOPIC = Resource(
    kind="EventTopic", plural="eventtopics", short_names=("etopic",),
    description="One Kafka topic: partitions, replication, configuration, deletion policy and "
                "catalog facts.",
    spec=EventTopicSpec, status=EventTopicObservedStatus,
    columns=(
        PrinterColumn("Topic", ".status.topicName"),
        PrinterColumn("Partitions", ".spec.partitions", "integer"),
        PrinterColumn("Replicas", ".status.replicationFactor", "integer",
                      "Replication factor in Kafka"),
        PrinterColumn("Owner", ".spec.catalog.owner", priority=1),
        PrinterColumn("Schema", ".status.schema.value.version", "integer",
                      "Registered version of the value schema", priority=1),
        *_summary("Ready"),
    ),
)

EVENT_SUBSCRIPTION = Resource(
    kind="EventSubscription", plural="eventsubscriptions", short_names=("esub",),
    description="One consumer group reading one or more topics, with a consumer Deployment the "
                "operator runs and scales on lag.",
    spec=EventSubscriptionSpec, status=EventSubscriptionStatus,
    columns=(
        PrinterColumn("Topics", ".status.topicsSummary"),
        PrinterColumn("Replicas", ".status.replicas", "integer"),
        PrinterColumn("Desired", ".status.desiredReplicas", "integer", priority=1),
        PrinterColumn("Lag", ".status.totalLag", "integer", "Total messages behind"),
        PrinterColumn("Health", ".status.health", priority=1),
        *_summary("Ready"),
    ),
)

EVENT_REPLAY = Resource(
    kind="EventReplay", plural="eventreplays", short_names=("ereplay",),
    description="One replay of a subscription: rewind its consumer group (consumers paused "
                "meanwhile), or re-process a bounded range with a Job.",
    spec=EventReplaySpec, status=EventReplayStatus,
    columns=(
        PrinterColumn("Subscription", ".spec.subscriptionRef.name"),
        PrinterColumn("Mode", ".spec.mode"),
        PrinterColumn("Step", ".status.step"),
        PrinterColumn("Remaining", ".status.remainingLag", "integer", "Messages left to replay"),
        *_summary("Succeeded"),
    ),
)

RESOURCES = (KAFKA_CONNECTION, EVENT_TOPIC, EVENT_SUBSCRIPTION, EVENT_REPLAY)
