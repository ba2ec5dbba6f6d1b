"""Schema decisions for an EventTopic: the subjects, what to do on a subject so it holds the
declared schema, who a refused change would break, and the SchemaRegistered outcome.

The registry is observed by the reconciler (through eventsub.registry); everything here is pure.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from eventsub.api.base import Condition
from eventsub.api.subscription import EventSubscriptionSpec
from eventsub.api.topic import MessageSchema, RegisteredSchema, TopicSchemas
from eventsub.core.deployment import default_group
from eventsub.core.refusal import Refusal

Part = Literal["value", "key"]
CONDITION = "SchemaRegistered"


def subject_of(topic: str, part: Part) -> str:
    """The subject of the topic-name strategy, which the serializers use by default."""
    return f"{topic}-{part}"


def declared_parts(schemas: TopicSchemas) -> dict[Part, MessageSchema]:
    parts: dict[Part, MessageSchema] = {"value": schemas.value}
    if schemas.key is not None:
        parts["key"] = schemas.key
    return parts


# -- who reads the topic ------------------------------------------------------------------------

@dataclass(frozen=True, order=True)
class Reader:
    """A subscription that reads the topic, and the consumer group it reads with."""

    key: str  # namespace/name
    group: str
    expects: int | None = None  # the value schema version it declares it was written for


def readers_of(namespace: str, event_topic: str, kafka_topic: str, connection: str,
               subscriptions: Iterable[tuple[str, EventSubscriptionSpec]]) -> tuple[Reader, ...]:
    """The subscriptions of the namespace that consume the topic: by EventTopic name, or by
    Kafka topic name through the same connection."""
    found = set()
    for key, spec in subscriptions:
        ns, name = key.split("/", 1)
        if ns != namespace:
            continue
        entries = [t for t in spec.topics if t.event_topic == event_topic or
                   (t.name == kafka_topic and spec.connection_ref.name == connection)]
        if entries:
            expects = next((t.expects_schema_version for t in entries
                            if t.expects_schema_version is not None), None)
            found.add(Reader(key, spec.consumer_group or default_group(ns, name), expects))
    return tuple(sorted(found))


def describe_readers(readers: Sequence[Reader]) -> str:
    if not readers:
        return "no subscription reads the topic yet"
    listed = ", ".join(
        f"{r.key} (consumer group {r.group}"
        + (f", written for version {r.expects})" if r.expects is not None else ")")
        for r in readers)
    return f"it would break the subscription(s) that read the topic: {listed}"


# -- one subject --------------------------------------------------------------------------------

@dataclass(frozen=True)
class SubjectState:
    """A subject as the registry has it."""

    compatibility: str | None  # the level set on the subject itself
    declared: tuple[int, int] | None  # (version, id) holding the declared schema, if any
    versions: tuple[int, ...] = ()  # every live version


@dataclass(frozen=True)
class Announcement:
    type: Literal["Normal", "Warning"]
    reason: str
    message: str


@dataclass(frozen=True)
class SubjectPlan:
    set_compatibility: str | None = None  # the level to set, when the subject has another
    register: bool = False  # check the declared schema's compatibility, then register it
    delete_versions: tuple[int, ...] = ()  # versions registered outside eventsub, to undo
    announcements: tuple[Announcement, ...] = field(default_factory=tuple)


def plan_subject(subject: str, level: str, state: SubjectState,
                 recorded: RegisteredSchema | None) -> SubjectPlan:
    """What makes the subject hold the declared schema as its latest version at `level`.

    `recorded` is what the status last reported for this subject: a version it had that is
    gone, or a level it had that changed, was changed outside eventsub and is put back
    (reported by an announcement), like a Kafka topic's drift.
    """
    said: list[Announcement] = []
    set_level = level if state.compatibility != level else None
    if (set_level and recorded is not None and recorded.compatibility == level
            and state.compatibility is not None):
        said.append(Announcement("Warning", "CompatibilityRestored", (
            f"the compatibility of subject {subject} was changed to {state.compatibility} outside "
            f"eventsub; set it back to {level}")))
    if state.declared is None:
        if recorded is not None and recorded.version is not None and not state.versions:
            said.append(Announcement("Warning", "SubjectRestored", (
                f"subject {subject} was deleted outside eventsub; registering the declared "
                "schema again")))
        return SubjectPlan(set_level, register=True, announcements=tuple(said))
    # Versions newer than both the declared one and the last one eventsub registered were
    # registered by someone else: the declared schema must stay the latest.
    known = max(state.declared[0], (recorded.version if recorded else None) or 0)
    newer = tuple(v for v in state.versions if v > known)
    if newer:
        listed = ", ".join(str(v) for v in newer)
        said.append(Announcement("Warning", "SchemaDriftReverted", (
            f"subject {subject} got version(s) {listed} outside eventsub; deleted them so the "
            f"declared schema (version {state.declared[0]}) is the latest again")))
    return SubjectPlan(set_level, delete_versions=newer, announcements=tuple(said))


# -- outcome ------------------------------------------------------------------------------------

def incompatible(part: Part, subject: str, level: str, recorded: RegisteredSchema | None,
                 registry_says: Sequence[str], readers: Sequence[Reader]) -> Refusal:
    kept = (f"version {recorded.version} stays the registered one" if recorded and recorded.version
            else "nothing was registered")
    said = "; ".join(registry_says) or "the registry gave no details"
    return Refusal("IncompatibleSchema", (
        f"spec.schema.{part} was refused: the registry found it incompatible with subject "
        f"{subject} at compatibility {level} ({said}); {kept}; {describe_readers(readers)}"))


def invalid(part: Part, subject: str, registry_says: str) -> Refusal:
    return Refusal("InvalidSchema", (
        f"spec.schema.{part}: the registry could not accept the schema for subject {subject}: "
        f"{registry_says}"))


@dataclass(frozen=True)
class PartOutcome:
    registered: RegisteredSchema | None  # what the status reports (the last good one)
    refusal: Refusal | None = None


def schema_condition(outcomes: Mapping[Part, PartOutcome]) -> tuple[bool, str, str]:
    """SchemaRegistered: (ok, reason, message) over the parts; the first refusal wins."""
    refused = [o.refusal for o in outcomes.values() if o.refusal is not None]
    if refused:
        return False, refused[0].reason, "; ".join(r.message for r in refused)
    listed = ", ".join(
        f"{o.registered.subject} version {o.registered.version} (id {o.registered.id})"
        for o in outcomes.values() if o.registered is not None)
    return True, "Registered", f"registered: {listed}"


def ready_with_schema(schema: Condition | None, generation: int | None, ok: bool, reason: str,
                      message: str) -> tuple[bool, str, str]:
    """The topic's Ready when it declares a schema: the Kafka topic's own outcome, unless that
    is fine and the schema is not registered (yet) for this generation."""
    if not ok:
        return ok, reason, message
    if schema is None or (schema.status == "True" and schema.observed_generation != generation):
        return False, "SchemaPending", f"{message}; the schema in spec.schema is being registered"
    if schema.status != "True":
        return False, schema.reason, f"{message}; but {schema.message}"
    return ok, reason, message


# -- what a subscription expects ----------------------------------------------------------------

@dataclass(frozen=True)
class Expectation:
    field: str  # spec.topics[i].expectsSchemaVersion
    event_topic: str
    expects: int
    registered: RegisteredSchema | None  # the topic's value schema as its status reports it


def schema_version_condition(expectations: Sequence[Expectation]) -> tuple[bool, str, str] | None:
    """A subscription's SchemaVersion condition; None when it expects no version."""
    if not expectations:
        return None
    moved, missing = [], []
    for e in expectations:
        version = e.registered.version if e.registered else None
        if version is None or version < e.expects:
            missing.append(f"EventTopic {e.event_topic} has no value schema version {e.expects} "
                           f"registered (it is at {version or 'none'}; {e.field})")
        elif version > e.expects:
            level = e.registered.compatibility if e.registered else None
            moved.append(f"EventTopic {e.event_topic} moved on to value schema version {version}, "
                         f"compatible with version {e.expects} at {level}, which {e.field} "
                         "expects: update the consumer and the field")
    if missing:
        return False, "SchemaVersionNotRegistered", "; ".join(missing)
    if moved:
        return False, "SchemaMovedOn", "; ".join(moved)
    listed = ", ".join(f"{e.event_topic} version {e.expects}" for e in expectations)
    return True, "AsExpected", f"the topics are at the schema versions expected: {listed}"
