"""EventReplay: the reconciler of the workflow in `eventsub.core.replay_steps`, which decides
every step (see there: the steps, and why persisting status is an action placed among the
others). One pass: observe what the transition asks for, then execute its actions in order
through the adapters; the status it writes is the persisted state the next pass starts from.
"""

from __future__ import annotations

import dataclasses
import datetime
import logging

from pydantic import ValidationError

from eventsub.api.base import spec_errors
from eventsub.api.connection import KafkaConnectionSpec
from eventsub.api.replay import EventReplaySpec, EventReplayStatus
from eventsub.api.resources import EVENT_REPLAY, EVENT_SUBSCRIPTION, KAFKA_CONNECTION
from eventsub.api.subscription import EventSubscriptionSpec, SubscriptionWiringStatus
from eventsub.core.replay_steps import (
    FINAL,
    Action,
    Connection,
    CreateJob,
    DeleteGroup,
    GroupView,
    InvalidSpec,
    JobOutcome,
    JobTemplate,
    KafkaRead,
    MoveOffsets,
    Observation,
    PostEvent,
    Read,
    ReadCommitted,
    ReadConnection,
    ReadGroup,
    ReadJob,
    ReadJobTemplate,
    ReadOffsets,
    ReadOffsetsAt,
    ReadReplays,
    ReadReplicas,
    ReadSnapshot,
    ReadSubscription,
    ReplayIdentity,
    ReplayListing,
    ReplayState,
    Requeue,
    ScaleDeployment,
    Subscription,
    Transition,
    WriteStatus,
    advance,
    holds_subscription,
)
from eventsub.core.status import REPLAY, merged
from eventsub.kafka.admin import ClusterAdmin, GroupInfo
from eventsub.kafka.errors import KafkaRequestError
from eventsub.kafka.lag import collect
from eventsub.kube.api import Kube
from eventsub.kube.objects import ObjectRef
from eventsub.reconcilers.contracts import Autoscaler, Connections
from eventsub.reconcilers.status import (
    generation,
    read_status,
    stored,
    updated_condition,
    write_part,
)
from eventsub.runtime.cache import Body, ObjectCache
from eventsub.runtime.contract import EachKey
from eventsub.runtime.queue import WorkQueue

logger = logging.getLogger("eventsub.replay")
PLURAL = EVENT_REPLAY.plural
_JOB_OUTCOMES: dict[str | None, JobOutcome] = {
    None: "Absent", "Complete": "Complete", "Failed": "Failed", "Running": "Running"}


@dataclasses.dataclass
class _Pass:
    """One reconcile of one replay: the object, and what reads brought that actions use."""

    key: str
    ref: ObjectRef
    body: Body
    status: EventReplayStatus  # as stored when the pass began, then as this pass last wrote it
    admin: ClusterAdmin | None = None  # the subscription's cluster, once its connection is read
    subscription: Body | None = None

    @property
    def kafka(self) -> ClusterAdmin:
        assert self.admin is not None, "advance() reads the connection before any Kafka request"
        return self.admin


class ReplayReconciler(EachKey):
    def __init__(self, kube: Kube, cache: ObjectCache, connections: Connections, scaler: Autoscaler,
                 queue: WorkQueue) -> None:
        self.kube, self.cache, self.connections = kube, cache, connections
        self.scaler, self.queue = scaler, queue

    # -- the hold the scaler and the subscription reconciler respect -------------------------

    def holding(self, subscription_key: str) -> str | None:
        """The replay that has paused this subscription, if any."""
        namespace, name = subscription_key.split("/", 1)
        for key, body in self.cache.items(PLURAL, namespace):
            if (body.get("spec") or {}).get("subscriptionRef", {}).get("name") == name and \
                    holds_subscription(read_status(body, EventReplayStatus)):
                return key
        return None

    # -- one pass -----------------------------------------------------------------------------

    async def reconcile_one(self, key: str) -> None:
        body = self.cache.get(PLURAL, key)
        if body is None:
            return
        # The persisted state of the workflow: one that does not parse fails the pass (retried
        # with backoff) rather than count as empty, which would start the replay over.
        status = EventReplayStatus.model_validate(stored(body))
        if status.step in FINAL:
            return  # advance() would do nothing either: spare parsing the spec
        ref = ObjectRef.of(body, PLURAL)
        spec: EventReplaySpec | InvalidSpec
        try:
            spec = EventReplaySpec.model_validate(body.get("spec") or {})
        except ValidationError as error:
            spec = InvalidSpec(spec_errors(error))
        state = ReplayState.from_status(status)
        now_ms = int(datetime.datetime.now(datetime.UTC).timestamp() * 1000)
        seen = Observation(now_ms, ReplayIdentity(ref.namespace, ref.name, ref.uid,
                                                  body["metadata"].get("creationTimestamp", "")))
        this = _Pass(key, ref, body, status)
        try:
            while not isinstance(decided := advance(spec, state, seen), Transition):
                seen = await self._read(this, decided, seen)
            for action in decided.actions:
                await self._act(this, action)
        except KafkaRequestError as error:
            await self._write(this, EventReplayStatus(), None, error.reason, error.message)
            self.queue.retry(key)

    # -- observing what the transition asks for -----------------------------------------------

    async def _read(self, this: _Pass, read: Read, seen: Observation) -> Observation:
        ns = this.ref.namespace
        match read:
            case ReadSubscription(key):
                this.subscription = self.cache.get(EVENT_SUBSCRIPTION.plural, key)
                return dataclasses.replace(seen, subscription=_subscription(key, this.subscription))
            case ReadConnection(key):
                entry = self.connections.available(key)
                if entry is None:
                    problem = self.connections.problem(key)
                    return dataclasses.replace(
                        seen, connection=Connection(False, problem.reason, problem.message))
                this.admin = entry.admin
                return dataclasses.replace(seen, connection=Connection(True))
            case ReadReplays(namespace):
                return dataclasses.replace(seen, replays=tuple(
                    _listing(k, b) for k, b in self.cache.items(PLURAL, namespace)))
            case ReadOffsets(group, topics):
                got = (await collect(this.kafka, {group: list(topics)}))[group]
                return dataclasses.replace(seen, kafka=KafkaRead(got.offsets, got.error))
            case ReadOffsetsAt(timestamp_ms, partitions, end):
                at = await this.kafka.offsets_for_time(list(partitions), timestamp_ms)
                if end:
                    return dataclasses.replace(seen, at_end=at)
                return dataclasses.replace(seen, at_origin=at)
            case ReadSnapshot(key):
                earlier = read_status(self.cache.get(PLURAL, key) or {}, EventReplayStatus)
                return dataclasses.replace(seen, snapshot_of={
                    (o.topic, o.partition): o.offset for o in earlier.snapshot})
            case ReadReplicas(subscription, deployment):
                current = self.scaler.replicas_of(subscription)
                if current is None:
                    current = await self.kube.deployment_replicas(ns, deployment) or 0
                return dataclasses.replace(seen, replicas=current)
            case ReadGroup(group):
                info = await _describe(this.kafka, group)
                return dataclasses.replace(seen, group=GroupView(info.state, info.members))
            case ReadCommitted(group, partitions, describe_first):
                if describe_first:
                    await _describe(this.kafka, group)
                committed = await this.kafka.committed_offsets(group, list(partitions))
                return dataclasses.replace(seen, committed=committed)
            case ReadJob(name):
                outcome = await self.kube.job_outcome(ns, name)
                return dataclasses.replace(seen, job=_JOB_OUTCOMES.get(outcome, "Running"))
            case ReadJobTemplate():
                sub_body = this.subscription or {}
                sub_spec = EventSubscriptionSpec.model_validate(sub_body.get("spec") or {})
                connection = self.cache.get(
                    KAFKA_CONNECTION.plural, f"{ns}/{sub_spec.connection_ref.name}") or {}
                return dataclasses.replace(seen, job_template=JobTemplate(
                    sub_spec, KafkaConnectionSpec.model_validate(connection.get("spec") or {})))
        raise AssertionError(f"unknown read {read!r}")

    # -- executing its actions ----------------------------------------------------------------

    async def _act(self, this: _Pass, action: Action) -> None:
        match action:
            case WriteStatus(facts, ok, reason, message):
                await self._write(this, facts, ok, reason, message)
            case PostEvent(type_, reason, message):
                await self.kube.post_event(this.ref, type_, reason, message)
            case ScaleDeployment(subscription, deployment, replicas):
                await self.kube.scale_deployment(this.ref.namespace, deployment, replicas)
                self.scaler.set_replicas(subscription, replicas)
            case MoveOffsets(group, offsets):
                await this.kafka.alter_group_offsets(group, offsets)
            case CreateJob(manifest):
                await self.kube.create_job(manifest)
            case DeleteGroup(group):
                await this.kafka.delete_group(group)
            case Requeue(seconds):
                if seconds is None:
                    self.queue.retry(this.key)
                else:
                    self.queue.add(this.key, seconds)

    async def _write(self, this: _Pass, facts: EventReplayStatus, ok: bool | None, reason: str,
                     message: str) -> None:
        """The status with `facts` (the fields set in it) and the Succeeded condition. A write
        merges into what the pass wrote before it: the whole part is applied each time, so a
        later write of the pass must carry the earlier one's fields (e.g. the final snapshot
        taken just before the offsets moved)."""
        status = merged(this.status, facts, EventReplayStatus(
            observed_generation=generation(this.body),
            conditions=[updated_condition(this.body, "Succeeded", ok, reason, message)]))
        await write_part(self.kube, REPLAY, this.ref, this.body, status)
        this.status = status


def _subscription(key: str, body: Body | None) -> Subscription:
    if body is None:
        return Subscription(key, found=False)
    status = read_status(body, SubscriptionWiringStatus)
    connection = ((body.get("spec") or {}).get("connectionRef") or {}).get("name", "")
    return Subscription(key, found=True, uid=body["metadata"].get("uid", ""),
                        group=status.consumer_group, topics=tuple(status.topics),
                        deployment=status.deployment_name,
                        connection=f"{key.split('/', 1)[0]}/{connection}")


def _listing(key: str, body: Body) -> ReplayListing:
    spec = body.get("spec") or {}
    return ReplayListing(key, body["metadata"].get("creationTimestamp", ""),
                         spec.get("subscriptionRef", {}).get("name"),
                         read_status(body, EventReplayStatus).step,
                         bool(spec.get("dryRun")), spec.get("mode"))


async def _describe(admin: ClusterAdmin, group: str) -> GroupInfo:
    """The group's state, asked only once the cluster answered a metadata request: librdkafka
    (2.16) aborts the process when a group-coordinator request timed out against a broker that
    is down and the broker comes back. Committed offsets are asked only after this answered
    (ReadCommitted.describe_first): librdkafka crashes on an OffsetFetch answered with a
    coordinator error."""
    await admin.describe_cluster()
    info = (await admin.describe_groups([group])).get(group)
    if isinstance(info, KafkaRequestError):
        raise info
    assert info is not None
    return info
