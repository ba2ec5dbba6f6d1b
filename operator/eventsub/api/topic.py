"""EventTopic: one Kafka topic and its catalog facts."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from eventsub.api.base import (
    ApiModel,
    CommonStatus,
    LocalObjectReference,
    TopicName,
    cel,
    validations,
)

DeletionPolicy = Literal["Retain", "Delete"]
# Held by Delete-policy EventTopics until their Kafka topic is deleted.
DELETE_TOPIC_FINALIZER = "eventsub.io/delete-kafka-topic"
SchemaFormat = Literal["Avro", "Protobuf", "JsonSchema"]
Lifecycle = Literal["Experimental", "Active", "Deprecated"]


class TopicSchema(ApiModel):
    """The schema of the topic's messages: inline, or a reference to where it lives."""

    model_config = {"json_schema_extra": validations(
        cel("has(self.inline) != has(self.ref)",
            "spec.catalog.schema needs exactly one of inline or ref"),
    )}

    format: SchemaFormat
    """Schema language: Avro, Protobuf or JsonSchema."""
    inline: Annotated[str | None, Field(max_length=262144)] = None
    """The schema document itself."""
    ref: Annotated[str | None, Field(max_length=2048)] = None
    """Where the schema lives: a registry subject or a URL."""


class TopicCatalog(ApiModel):
    """Facts for people looking for events: who owns the topic, what it carries."""

    owner: Annotated[str | None, Field(max_length=253)] = None
    """Team or person responsible for the topic."""
    description: Annotated[str | None, Field(max_length=4096)] = None
    """What the events on this topic mean."""
    schema_: Annotated[TopicSchema | None, Field(alias="schema")] = None
    """Schema of the messages."""
    producers: Annotated[list[Annotated[str, Field(min_length=1, max_length=253)]],
                         Field(max_length=100)] = []
    """Services that write this topic besides subscriptions (which declare it in their
    `produces`), e.g. a web front end; the catalog shows them as its producers."""
    lifecycle: Lifecycle = "Active"
    """Where the event is in its life: Experimental, Active, or Deprecated (keep consuming it,
    but plan to move to replacedBy)."""
    replaced_by: TopicName | None = None
    """The Kafka topic that replaces this one, for a Deprecated event."""


class EventTopicSpec(ApiModel):
    """One Kafka topic."""

    model_config = {"json_schema_extra": validations(
        cel("has(self.topicName) == has(oldSelf.topicName) && "
            "(!has(self.topicName) || self.topicName == oldSelf.topicName)",
            "spec.topicName is immutable: Kafka cannot rename a topic", ".topicName"),
    )}

    topic_name: TopicName | None = None
    """Kafka topic name; defaults to metadata.name. Immutable."""
    connection_ref: LocalObjectReference
    """The KafkaConnection of the cluster that holds the topic."""
    partitions: Annotated[int, Field(ge=1, le=100000, json_schema_extra=validations(
        cel("self >= oldSelf", "spec.partitions cannot decrease: Kafka cannot remove partitions"),
    ))] = 1
    """Number of partitions. Can grow, never shrink."""
    replication_factor: Annotated[int | None, Field(ge=1, le=10000)] = None
    """Replicas per partition (at most 10000, the Kafka client's limit); the broker default when
    omitted. Cannot change after creation."""
    config: Annotated[dict[str, Annotated[str, Field(max_length=4096)]], Field(
        max_length=128, json_schema_extra=validations(
            cel("self.all(k, k != '')", "spec.config keys must not be empty"),
        ))] = {}
    """Topic-level Kafka configuration (e.g. retention.ms, cleanup.policy), as strings."""
    deletion_policy: DeletionPolicy = "Retain"
    """What deleting this resource does to the Kafka topic: Retain keeps it and its data, Delete
    deletes it."""
    catalog: TopicCatalog | None = None
    """Catalog facts: owner, description, schema."""


class EventTopicStatus(CommonStatus):
    """Observed state of the Kafka topic."""

    topic_name: str | None = None
    """Kafka topic name this resource manages."""
    topic_id: str | None = None
    """Kafka topic id (changes if the topic is deleted and created again)."""
    partitions: Annotated[int, Field(ge=0)] | None = None
    """Partitions the topic has in Kafka."""
    replication_factor: Annotated[int, Field(ge=0)] | None = None
    """Replicas per partition in Kafka."""
    config: dict[str, str] = {}
    """Topic-level configuration overrides in effect in Kafka."""
