"""EventTopic: one Kafka topic and its catalog facts."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from eventsub.api.base import (
    ApiModel,
    CommonStatus,
    ConditionsStatus,
    ConfigMapKeySelector,
    LocalObjectReference,
    StatusModel,
    TopicName,
    cel,
    validations,
)

DeletionPolicy = Literal["Retain", "Delete"]
# Held by Delete-policy EventTopics until their Kafka topic is deleted.
DELETE_TOPIC_FINALIZER = "eventsub.io/delete-kafka-topic"
SchemaFormat = Literal["Avro", "Protobuf", "JsonSchema"]
Lifecycle = Literal["Experimental", "Active", "Deprecated"]
Compatibility = Literal["BACKWARD", "BACKWARD_TRANSITIVE", "FORWARD", "FORWARD_TRANSITIVE", "FULL",
                        "FULL_TRANSITIVE", "NONE"]
SubjectName = Annotated[str, Field(min_length=1, max_length=255)]


class TopicSchema(ApiModel):
    """Documentation of the messages' schema for the catalog: inline, or a reference to where it
    lives. Not registered anywhere: declare spec.schema to have the operator register and guard
    it (the catalog then shows the registered schema, and this field must be left out)."""

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


class SchemaReference(ApiModel):
    """Another registered schema this one imports (an Avro named type, a JSON Schema $ref, a
    Protobuf import)."""

    name: Annotated[str, Field(min_length=1, max_length=1024)]
    """The name the schema uses for it: the Avro full name, the $ref URL, the .proto file."""
    subject: SubjectName
    """Registry subject that holds the referenced schema."""
    version: Annotated[int, Field(ge=1)]
    """Version of that subject."""


class MessageSchema(ApiModel):
    """The schema of one part of the messages (value or key), registered under the subject
    <topic>-value or <topic>-key (the topic-name strategy)."""

    type: SchemaFormat
    """Schema language: Avro, JsonSchema or Protobuf."""
    inline: Annotated[str | None, Field(min_length=1, max_length=262144)] = None
    """The schema document itself."""
    config_map_ref: ConfigMapKeySelector | None = None
    """A ConfigMap key holding the schema document."""
    references: Annotated[list[SchemaReference], Field(max_length=64)] = []
    """Registered schemas this one refers to."""
    compatibility: Compatibility = "BACKWARD"
    """Compatibility level the operator sets on the subject; a change that breaks it is refused
    before anything is registered. BACKWARD (the default): consumers on the new schema read
    what was written with the previous one; FORWARD: consumers on the previous schema read what
    is written with the new one; FULL: both; the *_TRANSITIVE forms check every earlier version,
    not only the latest; NONE: no check."""


class TopicSchemas(ApiModel):
    """The registered schemas of the topic's messages."""

    model_config = {"json_schema_extra": validations(
        cel("has(self.value.inline) != has(self.value.configMapRef)",
            "spec.schema.value needs exactly one of inline or configMapRef", ".value"),
        cel("!has(self.key) || has(self.key.inline) != has(self.key.configMapRef)",
            "spec.schema.key needs exactly one of inline or configMapRef", ".key"),
    )}

    value: MessageSchema
    """Schema of the message values, subject <topic>-value."""
    key: MessageSchema | None = None
    """Schema of the message keys, subject <topic>-key; keys are not registered without it."""


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
        cel("!has(self.schema) || !has(self.catalog) || !has(self.catalog.schema)",
            "spec.catalog.schema is documentation only and spec.schema is registered: declare one "
            "(with spec.schema the catalog shows the registered schema)", ".catalog.schema"),
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
    schema_: Annotated[TopicSchemas | None, Field(alias="schema")] = None
    """Schemas the operator registers in the connection's schema registry (spec.schemaRegistry
    of the KafkaConnection) and guards: a change that breaks the compatibility level is refused,
    naming the subscriptions that read the topic."""


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


class RegisteredSchema(StatusModel):
    """One schema as the registry has it."""

    subject: str
    """Registry subject."""
    version: Annotated[int, Field(ge=1)] | None = None
    """Version of the subject that holds the declared schema (the last good one while a change
    is refused)."""
    id: Annotated[int, Field(ge=0)] | None = None
    """Registry-wide schema id, what serializers put in each message."""
    compatibility: str | None = None
    """Compatibility level set on the subject."""


class RegisteredSchemas(StatusModel):
    """The topic's registered schemas, per part of the message."""

    value: RegisteredSchema | None = None
    """The value schema."""
    key: RegisteredSchema | None = None
    """The key schema."""


class TopicSchemaStatus(ConditionsStatus):
    """The part of a topic's status the schema reconciler writes (with the SchemaRegistered
    condition)."""

    schema_: Annotated[RegisteredSchemas | None, Field(alias="schema")] = None
    """Subject, version and id of each registered schema."""


class EventTopicObservedStatus(EventTopicStatus, TopicSchemaStatus):
    """Observed state of the Kafka topic and its schemas."""
