"""EventReplay: one replay of a subscription, by rewinding its group or by a bounded Job."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from eventsub.api.base import (
    ApiModel,
    CommonStatus,
    LocalObjectReference,
    ObjectName,
    TopicName,
    cel,
    validations,
)

ReplayMode = Literal["Rewind", "Job"]
DateTime = Annotated[str, Field(json_schema_extra={"format": "date-time"})]

ORIGINS = ("timestamp", "secondsAgo", "earliest", "offsets", "shiftBy", "snapshotOf")


class PartitionOffset(ApiModel):
    """An offset of one partition."""

    topic: TopicName
    """Topic name."""
    partition: Annotated[int, Field(ge=0, le=100000)]
    """Partition number."""
    offset: Annotated[int, Field(ge=0)]
    """Offset."""


class ReplayOrigin(ApiModel):
    """Where the replay starts. Exactly one field."""

    model_config = {"json_schema_extra": validations(
        cel("[" + ", ".join(f"has(self.{o})" for o in ORIGINS) + "].filter(x, x).size() == 1",
            "spec.from needs exactly one of " + ", ".join(ORIGINS)),
    )}

    timestamp: DateTime | None = None
    """Start at the first message at or after this time (RFC 3339)."""
    seconds_ago: Annotated[int | None, Field(ge=1, le=31_536_000)] = None
    """Start this many seconds before the replay begins."""
    earliest: Annotated[bool | None, Field(json_schema_extra=validations(
        cel("self", "spec.from.earliest can only be true")))] = None
    """Start at the earliest retained message."""
    offsets: Annotated[list[PartitionOffset] | None, Field(min_length=1, max_length=10000)] = None
    """Start at these offsets, per partition."""
    shift_by: Annotated[int | None, Field(ge=-1_000_000_000_000, le=1_000_000_000_000,
                                          json_schema_extra=validations(
                                              cel("self != 0", "spec.from.shiftBy must not be 0")))] = None
    """Move each committed offset by this many messages (negative: back, positive: forward)."""
    snapshot_of: ObjectName | None = None
    """Roll back: restore the offsets snapshotted by this earlier EventReplay."""


class ReplayEnd(ApiModel):
    """Where a Job-mode replay stops. Exactly one field."""

    model_config = {"json_schema_extra": validations(
        cel("has(self.timestamp) != has(self.logEndAtStart)",
            "spec.to needs exactly one of timestamp or logEndAtStart"),
    )}

    timestamp: DateTime | None = None
    """Stop before the first message after this time (RFC 3339)."""
    log_end_at_start: Annotated[bool | None, Field(json_schema_extra=validations(
        cel("self", "spec.to.logEndAtStart can only be true")))] = None
    """Stop at the log-end offsets snapshotted when the replay starts."""


class ReplayScope(ApiModel):
    """Limits the replay to some topics and partitions."""

    topics: Annotated[list[TopicName], Field(max_length=100)] = []
    """Only these topics (all of the subscription's when empty)."""
    partitions: Annotated[list[Annotated[int, Field(ge=0, le=100000)]], Field(max_length=10000)] = []
    """Only these partition numbers (all when empty)."""


class EventReplaySpec(ApiModel):
    """One replay of a subscription. Immutable once created."""

    model_config = {"json_schema_extra": validations(
        cel("self == oldSelf", "spec is immutable once created: create a new EventReplay"),
        cel("!has(self.to) || self.mode == 'Job'", "spec.to is only for mode Job", ".to"),
        cel("self.mode == 'Rewind' || !has(self.from.snapshotOf)",
            "spec.from.snapshotOf (roll back) needs mode Rewind", ".mode"),
        cel("!has(self.keepJobGroup) || self.mode == 'Job'",
            "spec.keepJobGroup is only for mode Job", ".keepJobGroup"),
    )}

    subscription_ref: LocalObjectReference
    """The EventSubscription to replay."""
    from_: Annotated[ReplayOrigin, Field(alias="from")]
    """Where the replay starts."""
    to: ReplayEnd | None = None
    """Job mode: where the replay stops; the log end at start when omitted."""
    mode: ReplayMode = "Rewind"
    """Rewind: move the subscription's committed offsets (consumers paused meanwhile).
    Job: a bounded Job with its own group re-processes the range; the subscription keeps running."""
    scope: ReplayScope | None = None
    """Replay only some topics or partitions."""
    dry_run: bool = False
    """Only compute the plan into status; change nothing."""
    keep_job_group: bool | None = None
    """Job mode: keep the Job's consumer group afterwards (removed by default)."""
    empty_group_timeout_seconds: Annotated[int, Field(ge=1, le=3600)] = 120
    """Rewind mode: how long to wait for the group to become Empty before failing."""


class OffsetMove(ApiModel):
    """The planned move of one partition's offset."""

    model_config = {"extra": "ignore"}

    topic: str
    """Topic name."""
    partition: Annotated[int, Field(ge=0)]
    """Partition number."""
    current_offset: int | None = None
    """Committed offset before the replay (none if the group had not committed)."""
    new_offset: Annotated[int, Field(ge=0)]
    """Offset the replay starts at."""
    end_offset: Annotated[int, Field(ge=0)] | None = None
    """Job mode: offset the replay stops before."""
    messages: Annotated[int, Field(ge=0)] | None = None
    """Messages to re-process in this partition."""


class EventReplayStatus(CommonStatus):
    """Progress of the replay. `step` is the persisted state machine; conditions summarize it."""

    step: str | None = None
    """Last completed step: Planned, Paused, OffsetsMoved, Restored, then Done (or Failed). Rewind
    mode walks them all; Job mode goes Planned, JobStarted, Done; a dry run goes to Done."""
    plan: Annotated[list[OffsetMove], Field(max_length=10000)] = []
    """Current and new offset per partition."""
    snapshot: Annotated[list[PartitionOffset], Field(max_length=10000)] = []
    """Committed offsets before the replay, for roll back."""
    paused_replicas: Annotated[int, Field(ge=0)] | None = None
    """Replicas the subscription had before it was paused; restored afterwards."""
    messages_to_replay: Annotated[int, Field(ge=0)] | None = None
    """Messages the replay re-processes in total."""
    remaining_lag: Annotated[int, Field(ge=0)] | None = None
    """Messages of the replayed range not yet processed."""
    job_name: str | None = None
    """Job mode: name of the owned Job."""
    job_consumer_group: str | None = None
    """Job mode: consumer group of the Job."""
    start_time: Annotated[str | None, Field(json_schema_extra={"format": "date-time"})] = None
    """When the replay began (RFC 3339)."""
    pause_time: Annotated[str | None, Field(json_schema_extra={"format": "date-time"})] = None
    """Rewind mode: when the subscription was paused (the wait for an Empty group counts from
    here)."""
    resolved_timestamp: Annotated[str | None, Field(json_schema_extra={"format": "date-time"})] = None
    """The time the replay starts from, once secondsAgo or timestamp is resolved (RFC 3339)."""
    completion_time: Annotated[str | None, Field(json_schema_extra={"format": "date-time"})] = None
    """When the replay finished (RFC 3339)."""
