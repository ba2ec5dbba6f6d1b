"""Who writes which part of a resource's status, and whether a write would change anything.

Every status field and every condition type has exactly one writer. A writer sends only its
part, with server-side apply under its own field manager: the API server merges the parts
(conditions entry by entry, keyed by type), so one writer can never put back or drop what
another wrote, and a field (or map key) a writer stops sending is removed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from eventsub.api.base import Condition, StatusModel
from eventsub.api.connection import KafkaConnectionStatus
from eventsub.api.replay import EventReplayStatus
from eventsub.api.subscription import (
    SubscriptionCatalogStatus,
    SubscriptionLagStatus,
    SubscriptionWiringStatus,
)
from eventsub.api.topic import EventTopicStatus, TopicSchemaStatus
from eventsub.core.topic_plan import ObservedTopic

M = TypeVar("M", bound=StatusModel)


@dataclass(frozen=True)
class StatusWriter:
    manager: str  # the server-side apply field manager
    part: type[StatusModel]  # the API model of the fields it owns
    condition_types: tuple[str, ...]  # the conditions it owns


CONNECTION = StatusWriter("eventsub-connections", KafkaConnectionStatus, ("Ready",))
TOPIC = StatusWriter("eventsub-topics", EventTopicStatus, ("Ready",))
SUBSCRIPTION = StatusWriter("eventsub-subscriptions", SubscriptionWiringStatus,
                            ("Ready", "SchemaVersion"))
SCALER = StatusWriter("eventsub-scaler", SubscriptionLagStatus, ("LagAvailable", "Healthy"))
REPLAY = StatusWriter("eventsub-replays", EventReplayStatus, ("Succeeded",))
CATALOG = StatusWriter("eventsub-catalog", SubscriptionCatalogStatus, ("FeedbackLoop",))
SCHEMA = StatusWriter("eventsub-schemas", TopicSchemaStatus, ("SchemaRegistered",))
WRITERS = (CONNECTION, TOPIC, SUBSCRIPTION, SCALER, REPLAY, CATALOG, SCHEMA)


class NotOwned(ValueError):
    """A writer was given a part or a condition that another writer owns (a bug)."""


def merged(stored: M, *changes: M) -> M:
    """`stored` with the fields set in each of `changes` (their `model_fields_set`) copied over,
    in order; the others kept. A change is a model built with only the fields that change; a
    field set to None is cleared."""
    for change in changes:
        stored = stored.model_copy(
            update={name: getattr(change, name) for name in change.model_fields_set})
    return stored


def document(writer: StatusWriter, status: StatusModel) -> dict[str, Any]:
    """The apply document of a writer's part: the fields that are set, its own conditions."""
    if type(status) is not writer.part:
        raise NotOwned(f"{writer.manager} writes {writer.part.__name__}, not {type(status).__name__}")
    foreign = [c.type for c in getattr(status, "conditions", ()) if c.type not in writer.condition_types]
    if foreign:
        raise NotOwned(f"{writer.manager} does not own the condition(s) {', '.join(foreign)}")
    return status.model_dump(by_alias=True, exclude_none=True, mode="json")


def current_part(writer: StatusWriter, stored: Mapping[str, Any]) -> StatusModel | None:
    """The writer's part of a stored status (its fields, its conditions); None if it does not
    parse, which a write then repairs."""
    try:
        parsed = writer.part.model_validate(stored)
    except ValueError:
        return None
    if hasattr(parsed, "conditions"):
        mine = [c for c in parsed.conditions if c.type in writer.condition_types]
        parsed = parsed.model_copy(update={"conditions": mine})
    return parsed


def needs_write(writer: StatusWriter, stored: Mapping[str, Any], status: StatusModel,
                ignore_messages: bool = False) -> bool:
    """Would applying `status` change the stored status? ignore_messages: condition messages
    (and transition times) that change with every observation do not count on their own."""
    current = current_part(writer, stored)
    if current is None:
        return True
    document(writer, status)  # refuses what the writer does not own
    return _comparable(current, ignore_messages) != _comparable(status, ignore_messages)


def _comparable(status: StatusModel, ignore_messages: bool) -> dict[str, Any]:
    if ignore_messages and hasattr(status, "conditions"):
        status = status.model_copy(update={"conditions": [
            c.model_copy(update={"message": "", "last_transition_time": ""})
            for c in status.conditions]})
    return status.model_dump(by_alias=True, exclude_none=True, mode="json")


def stamped(part: M, conditions: list[Condition], generation: int | None) -> M:
    """A status part with its conditions and the generation they were decided for; every
    other field is kept as it is (adding a field to the part needs no change here)."""
    return part.model_copy(update={"conditions": conditions, "observed_generation": generation})


def topic_status(topic: ObservedTopic | EventTopicStatus | None, ready: Condition,
                 generation: int | None) -> EventTopicStatus:
    """An EventTopic's status: the Kafka topic as observed (or as last reported; None: no
    topic, e.g. one another resource manages) and the Ready condition."""
    if isinstance(topic, ObservedTopic):
        return EventTopicStatus(
            topic_name=topic.name, topic_id=topic.topic_id, partitions=topic.partitions,
            replication_factor=topic.replication_factor, config=dict(topic.overrides),
            conditions=[ready], observed_generation=generation)
    return stamped(topic or EventTopicStatus(), [ready], generation)
