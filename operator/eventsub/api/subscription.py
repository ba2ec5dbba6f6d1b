"""EventSubscription: one consumer group, the pods that consume, and how they scale."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field

from eventsub.api.base import (
    ApiModel,
    CommonStatus,
    ConditionsStatus,
    LocalObjectReference,
    ObjectName,
    TopicName,
    cel,
    validations,
)

StartPosition = Literal["Earliest", "Latest"]
ScalingMode = Literal["Auto", "Manual"]
LagHealth = Literal["OK", "Warn", "Stall", "Stop", "Unknown"]

# The consumer pod template is a core/v1 PodTemplateSpec: kept as given, validated by the API
# server when the operator writes the Deployment.
POD_TEMPLATE_SCHEMA: dict[str, Any] = {"type": "object", "x-kubernetes-preserve-unknown-fields": True}


class SubscribedTopic(ApiModel):
    """One topic to consume: an EventTopic in this namespace, or a Kafka topic by name."""

    model_config = {"json_schema_extra": validations(
        cel("has(self.eventTopic) != has(self.name)",
            "each entry of spec.topics needs exactly one of eventTopic or name"),
        cel("!has(self.expectsSchemaVersion) || has(self.eventTopic)",
            "spec.topics[].expectsSchemaVersion needs eventTopic: only an EventTopic declares a "
            "schema", ".expectsSchemaVersion"),
    )}

    event_topic: ObjectName | None = None
    """Name of an EventTopic in this namespace."""
    name: TopicName | None = None
    """Name of a Kafka topic not managed by an EventTopic."""
    expects_schema_version: Annotated[int | None, Field(ge=1)] = None
    """The version of the EventTopic's value schema (status.schema.value.version) this consumer
    was written for: the condition SchemaVersion says when the topic moves past it, and a
    refused schema change names it."""


class ScalingPolicy(ApiModel):
    """How the operator sizes the consumer Deployment from the group's lag."""

    # The API server also checks this rule against the `{}` default before defaulting its fields.
    model_config = {"json_schema_extra": validations(
        cel("(has(self.minReplicas) ? self.minReplicas : 1) <= "
            "(has(self.maxReplicas) ? self.maxReplicas : 10)",
            "spec.scaling.minReplicas must not exceed spec.scaling.maxReplicas", ".minReplicas"),
    )}

    mode: ScalingMode = "Auto"
    """Auto: the operator sets replicas from lag. Manual: replicas are left to the user."""
    min_replicas: Annotated[int, Field(ge=0, le=1000)] = 1
    """Fewest replicas; 0 allows scaling to zero when there is no lag."""
    max_replicas: Annotated[int, Field(ge=1, le=1000)] = 10
    """Most replicas."""
    lag_threshold: Annotated[int, Field(ge=1, le=1_000_000_000)] = 10
    """Target lag (messages) per replica: replicas = ceil(total lag / lagThreshold)."""
    activation_lag_threshold: Annotated[int, Field(ge=0, le=1_000_000_000)] = 0
    """From zero replicas, scale up only when total lag exceeds this."""
    poll_interval_seconds: Annotated[int, Field(ge=1, le=3600)] = 5
    """How often lag is read."""
    cooldown_seconds: Annotated[int, Field(ge=0, le=86400)] = 300
    """With minReplicas 0: how long lag must stay zero before scaling to zero."""
    scale_up_stabilization_seconds: Annotated[int, Field(ge=0, le=3600)] = 0
    """Scale up to the lowest recommendation of this window, so one spike does not scale out."""
    scale_down_stabilization_seconds: Annotated[int, Field(ge=0, le=3600)] = 120
    """Scale down to the highest recommendation of this window, so noisy lag does not flap."""
    allow_idle_consumers: bool = False
    """Allow more replicas than partitions (the extra consumers get no partition)."""
    limit_to_partitions_with_lag: bool = False
    """Cap replicas at the number of partitions that have lag."""
    target_drain_seconds: Annotated[int | None, Field(ge=1, le=86400)] = None
    """Drain-time mode: size for arrival rate plus the backlog drained within this many seconds,
    using the per-replica rate learned from observed consumption. Overrides lagThreshold sizing."""
    max_lag_seconds: Annotated[int | None, Field(ge=1, le=864000)] = None
    """Time-lag target: scale out while the oldest unconsumed message is older than this."""


class EventSubscriptionSpec(ApiModel):
    """One consumer group reading one or more topics with pods the operator runs and scales."""

    model_config = {"json_schema_extra": validations(
        cel("has(self.consumerGroup) == has(oldSelf.consumerGroup) && "
            "(!has(self.consumerGroup) || self.consumerGroup == oldSelf.consumerGroup)",
            "spec.consumerGroup is immutable: a new group would lose the committed offsets",
            ".consumerGroup"),
    )}

    connection_ref: LocalObjectReference
    """The KafkaConnection of the cluster to consume from."""
    topics: Annotated[list[SubscribedTopic], Field(min_length=1, max_length=100)]
    """Topics to consume."""
    consumer_group: Annotated[str | None, Field(min_length=1, max_length=249,
                                                pattern=r"^[a-zA-Z0-9._-]+$")] = None
    """Kafka consumer group id; defaults to <namespace>.<name>. Immutable."""
    start_position: StartPosition = "Latest"
    """Where the consumer group starts when the subscription is created: Latest (what is
    produced from then on) or Earliest (what the topics still hold). The operator commits these
    start offsets before any consumer runs; partitions added later start at their beginning."""
    template: Annotated[dict[str, Any], Field(json_schema_extra=POD_TEMPLATE_SCHEMA)]
    """Pod template (core/v1 PodTemplateSpec) of the consumer; the operator adds the wiring
    environment (EVENTSUB_*) to every container."""
    dead_letter_topic: TopicName | None = None
    """Kafka topic for messages the consumer gives up on; created if missing."""
    scaling: Annotated[ScalingPolicy, Field(json_schema_extra={"default": {}})] = ScalingPolicy()
    """Scaling policy."""
    produces: Annotated[list[TopicName], Field(max_length=100)] = []
    """Topics the consumer writes to, for the catalog."""


class PartitionLag(ApiModel):
    """Lag of one partition."""

    model_config = {"extra": "ignore"}

    topic: str
    """Topic name."""
    partition: Annotated[int, Field(ge=0)]
    """Partition number."""
    lag: Annotated[int, Field(ge=0)]
    """Messages behind the log end."""
    lag_seconds: Annotated[int, Field(ge=0)] | None = None
    """Estimated seconds behind the log end."""
    health: LagHealth = "Unknown"
    """Health of the partition's consumption: OK, Warn, Stall, Stop or Unknown."""


class SubscriptionWiringStatus(CommonStatus):
    """The part of a subscription's status its reconciler writes (with the Ready condition)."""

    consumer_group: str | None = None
    """Kafka consumer group id in use."""
    topics: list[str] = []
    """Kafka topic names consumed."""
    topics_summary: str | None = None
    """Topics consumed, comma-separated (for kubectl get)."""
    deployment_name: str | None = None
    """Name of the owned consumer Deployment."""
    start_offsets_time: Annotated[str | None, Field(json_schema_extra={"format": "date-time"})] = None
    """When the operator settled where the group starts (RFC 3339), before any consumer ran:
    lag counts everything produced since. A partition without a committed offset after that
    (one added later) is read from its beginning."""
    start_offsets_committed: bool | None = None
    """Whether settling the start committed offsets. False when the group had members or every
    partition already had an offset: nothing was committed then, so Kafka's offset retention
    clock did not restart."""


class SubscriptionLagStatus(ConditionsStatus):
    """The part of a subscription's status the autoscaler writes (with the LagAvailable and
    Healthy conditions)."""

    replicas: Annotated[int, Field(ge=0)] | None = None
    """Replicas of the consumer Deployment."""
    desired_replicas: Annotated[int, Field(ge=0)] | None = None
    """Replicas the scaling decision asks for."""
    total_lag: Annotated[int, Field(ge=0)] | None = None
    """Sum of lag over all partitions."""
    max_lag_seconds: Annotated[int, Field(ge=0)] | None = None
    """Largest estimated time lag of any partition."""
    health: LagHealth | None = None
    """Worst partition health."""
    last_scale_time: Annotated[str | None, Field(json_schema_extra={"format": "date-time"})] = None
    """When replicas last changed (RFC 3339)."""
    last_scale_reason: str | None = None
    """Why replicas last changed."""
    partitions: Annotated[list[PartitionLag], Field(max_length=10000)] = []
    """Lag per partition."""
    offsets_renewed_time: Annotated[str | None, Field(json_schema_extra={"format": "date-time"})] = None
    """When the operator last renewed the group's committed offsets while it had no consumer
    (RFC 3339), so that Kafka's offset retention (offsets.retention.minutes) does not expire
    them during a long quiet period."""


class SubscriptionCatalogStatus(ConditionsStatus):
    """The part of a subscription's status the catalog writes: the FeedbackLoop condition,
    present only while the subscription is on a produce/consume cycle."""


class EventSubscriptionStatus(SubscriptionWiringStatus, SubscriptionLagStatus,
                              SubscriptionCatalogStatus):
    """Observed state of the subscription."""
