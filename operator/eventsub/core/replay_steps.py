"""The EventReplay workflow as a pure transition. No I/O, no clock reads.

    advance(spec, state, seen) -> Read | Transition

`state` is what status persists (`ReplayState.from_status`); `seen` is what the reconciler has
observed in this pass, `now_ms` included. While `advance` needs a fact it has not seen yet, it
returns a `Read` naming it, and the reconciler observes exactly that and asks again: so a pass
reads what the current code path needs and nothing else, in the order decided here (e.g. no
Kafka request while another replay runs first, committed offsets only once the group is Empty).
Then it returns a `Transition`: the actions the reconciler executes in order through its
adapters, and the state they lead to.

Persisting is an action (`WriteStatus`) placed among the others, because its position is what
makes a restart at any point neither repeat nor skip a step:

  (none) -> Planned      plan and snapshot of the committed offsets written to status
  Planned -> Paused      pausedReplicas written first; next pass scale to zero, then the step
  Paused -> OffsetsMoved once the group is Empty: the final committed offsets written as the
                         snapshot, then moved (only if they are not there yet), then the step
  OffsetsMoved -> Restored  offsets verified, replicas restored, then the step
  Restored -> Done       the consumers caught up with where they were
Any step can end in Failed with a reason; nothing moves after a failure, and a paused
subscription gets its replicas back first. A dry run stops after planning.

Job mode leaves the subscription alone: (none) -> Planned -> JobStarted (while no Job exists:
its own group committed at the start offsets, then the Job created; then the step) -> Done when
the Job completed, its group then removed unless keepJobGroup.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any, Literal

from eventsub.api.connection import KafkaConnectionSpec
from eventsub.api.replay import EventReplaySpec, EventReplayStatus, OffsetMove, PartitionOffset
from eventsub.api.subscription import EventSubscriptionSpec
from eventsub.core.deployment import SubscriptionRef, template_problem
from eventsub.core.job import job_group, job_name, render_job
from eventsub.core.lag import PartitionOffsets
from eventsub.core.refusal import Refusal
from eventsub.core.replay import Move, PartitionState, Plan, plan_replay, remaining
from eventsub.core.status import merged

HOLDING = ("Paused", "OffsetsMoved")  # the subscription stays at zero replicas
FINAL = ("Done", "Failed")
EMPTY_GROUP_STATES = ("Empty", "Dead")
JOB_WAIT_SECONDS = 2.0  # between looks at a running Job, or at consumers catching up
EMPTY_WAIT_SECONDS = 1.0  # between looks at a group that is not Empty yet

Partition = tuple[str, int]
JobOutcome = Literal["Complete", "Failed", "Running", "Absent"]


# -- state: what status persists ------------------------------------------------------------


@dataclass(frozen=True)
class ReplayState:
    """The persisted status as the workflow reads it back: the properties below; the other
    fields (snapshot, times, ...) are only written."""

    status: EventReplayStatus = field(default_factory=EventReplayStatus)

    @classmethod
    def from_status(cls, status: EventReplayStatus) -> ReplayState:
        return cls(status)

    def with_facts(self, facts: EventReplayStatus) -> ReplayState:
        """This state after `facts` (the fields set in it) were written to status."""
        return ReplayState(merged(self.status, facts))

    @property
    def step(self) -> str | None:
        return self.status.step

    @cached_property
    def moves(self) -> tuple[Move, ...]:
        """status.plan"""
        return tuple(_move(m) for m in self.status.plan)

    @property
    def paused_replicas(self) -> int | None:
        return self.status.paused_replicas

    @property
    def pause_time(self) -> str | None:
        """RFC 3339, as stored"""
        return self.status.pause_time

    @property
    def job_group(self) -> str | None:
        return self.status.job_consumer_group

    @property
    def job_name(self) -> str | None:
        return self.status.job_name

    @property
    def messages_to_replay(self) -> int:
        """0 while not recorded (it is written with the plan)."""
        recorded = self.status.messages_to_replay
        return 0 if recorded is None else recorded


def holds_subscription(status: EventReplayStatus) -> bool:
    """Whether a replay with this status keeps its subscription paused (the scaler and the
    subscription reconciler leave the replicas alone): from the moment the replicas to restore
    are recorded until they are restored."""
    step = status.step
    return step in HOLDING or (step == "Planned" and status.paused_replicas is not None)


# -- observations -----------------------------------------------------------------------------


@dataclass(frozen=True)
class ReplayIdentity:
    namespace: str
    name: str
    uid: str
    created: str  # metadata.creationTimestamp: older replays of a subscription run first

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"


@dataclass(frozen=True)
class Subscription:
    """The subscription as its status says it runs; found=False: it does not exist."""

    key: str  # namespace/name
    found: bool
    uid: str = ""
    group: str | None = None
    topics: tuple[str, ...] = ()
    deployment: str | None = None
    connection: str = ""  # namespace/name of its KafkaConnection

    @property
    def name(self) -> str:
        return self.key.split("/", 1)[1]


@dataclass(frozen=True)
class Connection:
    available: bool
    reason: str = ""  # why not
    message: str = ""


@dataclass(frozen=True)
class ReplayListing:
    """Another EventReplay of the namespace, as far as ordering replays goes."""

    key: str
    created: str
    subscription: str | None
    step: str | None
    dry_run: bool
    mode: str | None


@dataclass(frozen=True)
class KafkaRead:
    """The subscription group's offsets on its topics, or why they could not be read."""

    offsets: tuple[PartitionOffsets, ...] = ()
    error: str | None = None


@dataclass(frozen=True)
class GroupView:
    state: str  # Empty, Stable, PreparingRebalance, Dead, ...
    members: int


@dataclass(frozen=True)
class JobTemplate:
    """What the Job is rendered from."""

    subscription: EventSubscriptionSpec
    connection: KafkaConnectionSpec


@dataclass(frozen=True)
class Observation:
    """What the reconciler observed in this pass; None: not observed (yet)."""

    now_ms: int
    replay: ReplayIdentity
    subscription: Subscription | None = None
    connection: Connection | None = None
    replays: tuple[ReplayListing, ...] | None = None
    kafka: KafkaRead | None = None
    at_origin: Mapping[Partition, int | None] | None = None
    snapshot_of: Mapping[Partition, int] | None = None  # the earlier replay's snapshot
    at_end: Mapping[Partition, int | None] | None = None
    replicas: int | None = None  # the subscription's current replicas
    group: GroupView | None = None
    committed: Mapping[Partition, int | None] | None = None
    job: JobOutcome | None = None
    job_template: JobTemplate | None = None


# -- reads: what advance() asks the reconciler to observe --------------------------------------


@dataclass(frozen=True)
class ReadSubscription:
    """-> Observation.subscription"""

    key: str


@dataclass(frozen=True)
class ReadConnection:
    """-> Observation.connection (and the reconciler keeps the connection's client)"""

    key: str


@dataclass(frozen=True)
class ReadReplays:
    """-> Observation.replays: the other EventReplays of the namespace"""

    namespace: str


@dataclass(frozen=True)
class ReadOffsets:
    """-> Observation.kafka: log start, log end and committed offsets of the group's topics"""

    group: str
    topics: tuple[str, ...]


@dataclass(frozen=True)
class ReadOffsetsAt:
    """-> Observation.at_end if `end` else .at_origin: the first offset at or after a time"""

    timestamp_ms: int
    partitions: tuple[Partition, ...]
    end: bool = False


@dataclass(frozen=True)
class ReadSnapshot:
    """-> Observation.snapshot_of: status.snapshot of an earlier replay ({} when it has none)"""

    key: str


@dataclass(frozen=True)
class ReadReplicas:
    """-> Observation.replicas: what the scaler holds, else the Deployment's (0 when gone)"""

    subscription: str
    deployment: str


@dataclass(frozen=True)
class ReadGroup:
    """-> Observation.group (after a metadata request: see the reconciler)"""

    group: str


@dataclass(frozen=True)
class ReadCommitted:
    """-> Observation.committed; describe_first: describe the group before asking (the
    reconciler's guard), unless that was just done in this pass."""

    group: str
    partitions: tuple[Partition, ...]
    describe_first: bool


@dataclass(frozen=True)
class ReadJob:
    """-> Observation.job"""

    name: str


@dataclass(frozen=True)
class ReadJobTemplate:
    """-> Observation.job_template"""

    subscription: str


Read = (ReadSubscription | ReadConnection | ReadReplays | ReadOffsets | ReadOffsetsAt | ReadSnapshot
        | ReadReplicas | ReadGroup | ReadCommitted | ReadJob | ReadJobTemplate)


# -- actions ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class WriteStatus:
    """Persist `facts` into status with the Succeeded condition (ok None: Unknown): the fields
    set in it (`model_fields_set`) replace the stored ones, the others are kept."""

    facts: EventReplayStatus
    ok: bool | None
    reason: str
    message: str


@dataclass(frozen=True)
class PostEvent:
    type: str  # Normal or Warning
    reason: str
    message: str


@dataclass(frozen=True)
class ScaleDeployment:
    """Set the subscription's Deployment to `replicas`, and tell the scaler so."""

    subscription: str
    deployment: str
    replicas: int


@dataclass(frozen=True)
class MoveOffsets:
    group: str
    offsets: Mapping[Partition, int]


@dataclass(frozen=True)
class CreateJob:
    manifest: dict[str, Any] = field(hash=False)


@dataclass(frozen=True)
class DeleteGroup:
    group: str


@dataclass(frozen=True)
class Requeue:
    """Look again after `seconds`; None: retry with the queue's backoff."""

    seconds: float | None


Action = WriteStatus | PostEvent | ScaleDeployment | MoveOffsets | CreateJob | DeleteGroup | Requeue


@dataclass(frozen=True)
class Transition:
    actions: tuple[Action, ...]
    state: ReplayState  # after the actions' WriteStatus facts

    @classmethod
    def of(cls, state: ReplayState, *actions: Action) -> Transition:
        after = state
        for action in actions:
            if isinstance(action, WriteStatus):
                after = after.with_facts(action.facts)
        return cls(actions, after)


@dataclass(frozen=True)
class InvalidSpec:
    """The spec did not validate; message: what is wrong."""

    message: str


# -- the transition -----------------------------------------------------------------------------


def advance(spec: EventReplaySpec | InvalidSpec, state: ReplayState,
            seen: Observation) -> Read | Transition:
    """The next read this pass needs, or the actions of this pass and the state they lead to."""
    if state.step in FINAL:
        return Transition((), state)
    if isinstance(spec, InvalidSpec):
        return _fail(state, seen, "InvalidSpec", spec.message)
    sub_key = f"{seen.replay.namespace}/{spec.subscription_ref.name}"
    if seen.subscription is None:
        return ReadSubscription(sub_key)
    sub = seen.subscription
    if not sub.found:
        return _wait(state, "SubscriptionNotFound", f"EventSubscription {sub_key} not found")
    if not sub.group or not sub.topics or not sub.deployment:
        return _wait(state, "SubscriptionNotReady", f"EventSubscription {sub_key} is not running yet")
    if seen.connection is None:
        return ReadConnection(sub.connection)
    if not seen.connection.available:
        return _wait(state, seen.connection.reason, seen.connection.message)
    if state.step is None:
        return _plan(spec, state, seen, sub, sub.group)
    if spec.mode == "Job":
        if state.step == "Planned":
            return _start_job(state, seen, sub)
        if state.step == "JobStarted":
            return _job_progress(spec, state, seen)
        return Transition((), state)
    if state.step == "Planned":
        return _pause(state, seen, sub, sub.deployment)
    if state.step == "Paused":
        return _move_offsets(spec, state, seen, sub, sub.group, sub.deployment)
    if state.step == "OffsetsMoved":
        return _restore(state, seen, sub, sub.group, sub.deployment)
    if state.step == "Restored":
        return _progress(state, seen, sub.group)
    return Transition((), state)


def origin_ms(spec: EventReplaySpec, now_ms: int) -> int | None:
    """The time the replay starts at, if its origin is a time (secondsAgo resolves here)."""
    origin = spec.from_
    if origin.seconds_ago is not None:
        return now_ms - origin.seconds_ago * 1000
    return _kafka_time(origin.timestamp) if origin.timestamp is not None else None


def runs_first(me: ReplayIdentity, subscription: str,
               replays: Sequence[ReplayListing]) -> str | None:
    """An older Rewind replay of the same subscription that has not finished (dry runs and Job
    mode leave the group alone, so they do not count)."""
    mine = (me.created, me.key)
    for other in replays:
        if other.key == me.key or other.subscription != subscription or \
                other.step in FINAL or other.dry_run or other.mode == "Job":
            continue
        if (other.created, other.key) < mine:
            return other.key
    return None


def rfc3339(ms: int) -> str:
    return datetime.datetime.fromtimestamp(ms / 1000, datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _ms(stamp: str) -> int:
    return int(datetime.datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp() * 1000)


def _kafka_time(stamp: str) -> int:
    """A time to look offsets up at. Kafka holds no message before the epoch, and a negative time
    means something else to it (-1 the log end, -2 the log start, others are refused): a time
    before the epoch is the epoch, whose first message is the earliest one."""
    return max(0, _ms(stamp))


def _move(entry: OffsetMove) -> Move:
    return Move(entry.topic, entry.partition, entry.current_offset, entry.new_offset,
                entry.end_offset, entry.messages or 0)


def _plan_entry(m: Move) -> OffsetMove:
    return OffsetMove(topic=m.topic, partition=m.partition, current_offset=m.current,
                      new_offset=m.new, end_offset=m.end, messages=m.messages)


def _partitions(moves: Sequence[Move]) -> tuple[Partition, ...]:
    return tuple((m.topic, m.partition) for m in moves)


def _wait(state: ReplayState, reason: str, message: str) -> Transition:
    """Not yet possible: the reason in the condition (Unknown), and try again later."""
    return Transition.of(state, WriteStatus(EventReplayStatus(), None, reason, message),
                         Requeue(None))


def _fail(state: ReplayState, seen: Observation, reason: str, message: str,
          *before: Action) -> Transition:
    return Transition.of(state, *before, WriteStatus(
        EventReplayStatus(step="Failed", completion_time=rfc3339(seen.now_ms)), False, reason,
        message),
        PostEvent("Warning", reason, message))


def _resume(state: ReplayState, sub: Subscription, deployment: str) -> tuple[Action, ...]:
    replicas = int(state.paused_replicas or 0)
    return (ScaleDeployment(sub.key, deployment, replicas),
            PostEvent("Normal", "Resumed", f"scaled {deployment} back to {replicas} replica(s)"))


def _abort(state: ReplayState, seen: Observation, sub: Subscription, deployment: str, reason: str,
           message: str) -> Transition:
    """A paused replay cannot go on: the subscription gets its replicas back, then it fails."""
    return _fail(state, seen, reason, f"{message}; the subscription's replicas were restored",
                 *_resume(state, sub, deployment))


def _plan(spec: EventReplaySpec, state: ReplayState, seen: Observation, sub: Subscription,
          group: str) -> Read | Transition:
    if spec.mode == "Rewind":
        if seen.replays is None:
            return ReadReplays(seen.replay.namespace)
        other = runs_first(seen.replay, spec.subscription_ref.name, seen.replays)
        if other is not None:
            return _wait(state, "WaitingForReplay",
                         f"EventReplay {other} of the same subscription runs first")
    if seen.kafka is None:
        return ReadOffsets(group, sub.topics)
    if seen.kafka.error is not None:
        return _wait(state, "KafkaUnavailable", seen.kafka.error)
    offsets, now_ms, origin = seen.kafka.offsets, seen.now_ms, spec.from_
    start_ms = origin_ms(spec, now_ms)
    at: Mapping[Partition, int | None] = {}
    if start_ms is not None and start_ms <= now_ms:
        if seen.at_origin is None:
            return ReadOffsetsAt(start_ms, tuple((o.topic, o.partition) for o in offsets))
        at = seen.at_origin
    snapshot = None
    if origin.snapshot_of is not None:
        if seen.snapshot_of is None:
            return ReadSnapshot(f"{seen.replay.namespace}/{origin.snapshot_of}")
        snapshot = seen.snapshot_of
    partitions = [PartitionState(o.topic, o.partition, o.log_start, o.log_end, o.committed,
                                 at.get((o.topic, o.partition))) for o in offsets]
    job_mode = spec.mode == "Job"
    end_ms = _kafka_time(spec.to.timestamp) if spec.to is not None and spec.to.timestamp else None
    ends = None
    if end_ms is not None and end_ms <= now_ms:
        if seen.at_end is None:
            return ReadOffsetsAt(end_ms, tuple((p.topic, p.partition) for p in partitions), end=True)
        ends = seen.at_end
    result = plan_replay(origin, partitions, now_ms=now_ms, origin_ms=start_ms, job_mode=job_mode,
                         end_ms=end_ms, ends_at_timestamp=ends, snapshot=snapshot, scope=spec.scope)
    if isinstance(result, Refusal):
        return _fail(state, seen, result.reason, result.message)
    facts = _plan_facts(result, offsets, start_ms, now_ms)
    if job_mode:
        facts = merged(facts, EventReplayStatus(
            job_consumer_group=job_group(group, seen.replay.name)))
    if spec.dry_run:
        return Transition.of(state, WriteStatus(
            merged(facts, EventReplayStatus(step="Done", completion_time=rfc3339(now_ms))), True,
            "DryRun", f"dry run: {result.messages} message(s) would be re-processed"))
    then = "starting the Job" if job_mode else "pausing the subscription"
    return Transition.of(
        state,
        WriteStatus(merged(facts, EventReplayStatus(step="Planned")), None, "Planned",
                    f"{result.messages} message(s) to re-process; {then}"),
        PostEvent("Normal", "Planned",
                  f"{len(result.moves)} partition(s), {result.messages} message(s) to re-process"))


def _plan_facts(plan: Plan, offsets: Sequence[PartitionOffsets], start_ms: int | None,
                now_ms: int) -> EventReplayStatus:
    facts = EventReplayStatus(
        plan=[_plan_entry(m) for m in plan.moves],
        snapshot=[PartitionOffset(topic=o.topic, partition=o.partition, offset=o.committed)
                  for o in offsets if o.committed is not None],
        messages_to_replay=plan.messages, start_time=rfc3339(now_ms))
    if start_ms is None:
        return facts
    return merged(facts, EventReplayStatus(resolved_timestamp=rfc3339(start_ms)))


def _pause(state: ReplayState, seen: Observation, sub: Subscription,
           deployment: str) -> Read | Transition:
    paused = state.paused_replicas
    if paused is None:
        # Recorded before scaling to zero, so a restart knows what to restore. The write of
        # pausedReplicas triggers the next pass, which scales.
        if seen.replicas is None:
            return ReadReplicas(sub.key, deployment)
        current = seen.replicas
        return Transition.of(state, WriteStatus(
            EventReplayStatus(paused_replicas=current), None, "Pausing",
            f"pausing the subscription (it had {current} replica(s))"))
    return Transition.of(
        state,
        ScaleDeployment(sub.key, deployment, 0),
        WriteStatus(EventReplayStatus(step="Paused", pause_time=rfc3339(seen.now_ms)), None,
                    "WaitingForEmptyGroup", "consumers paused; waiting for the group to be Empty"),
        PostEvent("Normal", "Paused", f"scaled {deployment} from {paused} to 0 replicas"))


def _move_offsets(spec: EventReplaySpec, state: ReplayState, seen: Observation,
                  sub: Subscription, group: str, deployment: str) -> Read | Transition:
    if seen.group is None:
        return ReadGroup(group)
    info = seen.group
    if info.state not in EMPTY_GROUP_STATES or info.members:
        # Whole seconds, as both times are stored.
        waited = (_ms(rfc3339(seen.now_ms)) - _ms(state.pause_time or rfc3339(seen.now_ms))) / 1000
        if waited <= spec.empty_group_timeout_seconds:
            return Transition.of(state, Requeue(EMPTY_WAIT_SECONDS))
        return _abort(state, seen, sub, deployment, "GroupNotEmpty", (
            f"group {group} still has {info.members} member(s) ({info.state}) after "
            f"{spec.empty_group_timeout_seconds}s: consumers outside eventsub's control? "
            "Nothing was moved"))
    wanted = {(m.topic, m.partition): m.new for m in state.moves}
    if seen.committed is None:
        return ReadCommitted(group, tuple(wanted), describe_first=False)
    committed = seen.committed
    actions: list[Action] = []
    if any(committed.get(k) != v for k, v in wanted.items()):
        # The group is Empty: its committed offsets are final now (consumers commit as they
        # stop). Persist them as the snapshot before anything moves, so a restart after the
        # move still knows where the consumers were, and count the messages from them. A
        # restart after the move finds them there and moves (and announces) nothing again.
        actions += [
            WriteStatus(_final_positions(state.moves, committed), None, "MovingOffsets",
                        "group Empty; moving its offsets"),
            MoveOffsets(group, wanted),
            PostEvent("Normal", "OffsetsMoved",
                      f"moved the offsets of group {group} on {len(wanted)} partition(s)")]
    actions.append(WriteStatus(EventReplayStatus(step="OffsetsMoved"), None, "Verifying",
                               "offsets moved; verifying"))
    return Transition.of(state, *actions)


def _final_positions(moves: Sequence[Move],
                     committed: Mapping[Partition, int | None]) -> EventReplayStatus:
    final = []
    for m in moves:
        current = committed.get((m.topic, m.partition))
        base = current if current is not None else m.new
        final.append(replace(m, current=current, messages=max(0, base - m.new)))
    snapshot = [PartitionOffset(topic=t, partition=p, offset=o)
                for (t, p), o in sorted(committed.items()) if o is not None]
    return EventReplayStatus(plan=[_plan_entry(m) for m in final], snapshot=snapshot,
                             messages_to_replay=sum(m.messages for m in final))


def _restore(state: ReplayState, seen: Observation, sub: Subscription, group: str,
             deployment: str) -> Read | Transition:
    moves = state.moves
    paused = int(state.paused_replicas or 0)
    if paused and seen.replicas is None:
        return ReadReplicas(sub.key, deployment)
    if seen.committed is None:
        return ReadCommitted(group, _partitions(moves), describe_first=True)
    committed = seen.committed
    if paused and seen.replicas == paused:
        # Held at zero since the pause, so a pass that stopped after resuming the consumers and
        # before writing Restored did this: verified then, and the consumers have committed past
        # the new offsets since (verifying again would fail a replay that worked).
        left = remaining(moves, committed, job_mode=False)
        return Transition.of(state, WriteStatus(
            EventReplayStatus(step="Restored", remaining_lag=left), True, "Replaying",
            f"offsets moved and verified; consumers resumed, {left} message(s) to re-process"))
    wrong = [m for m in moves if committed.get((m.topic, m.partition)) != m.new]
    if wrong:
        first = wrong[0]
        return _abort(state, seen, sub, deployment, "VerifyFailed", (
            f"{first.topic}[{first.partition}] is at "
            f"{committed.get((first.topic, first.partition))}, not {first.new}: "
            "someone else moved the offsets"))
    left = remaining(moves, committed, job_mode=False)
    return Transition.of(
        state, *_resume(state, sub, deployment),
        WriteStatus(EventReplayStatus(step="Restored", remaining_lag=left), True, "Replaying",
                    f"offsets moved and verified; consumers resumed, {left} message(s) to "
                    "re-process"))


def _progress(state: ReplayState, seen: Observation, group: str) -> Read | Transition:
    moves = state.moves
    if seen.committed is None:
        return ReadCommitted(group, _partitions(moves), describe_first=True)
    left = remaining(moves, seen.committed, job_mode=False)
    if left > 0:
        return Transition.of(
            state,
            WriteStatus(EventReplayStatus(remaining_lag=left), True, "Replaying",
                        f"{left} message(s) of the replayed range left to process"),
            Requeue(JOB_WAIT_SECONDS))
    return Transition.of(
        state,
        WriteStatus(EventReplayStatus(step="Done", remaining_lag=0,
                                      completion_time=rfc3339(seen.now_ms)),
                    True, "CaughtUp", "the consumers re-processed the replayed range and caught up"),
        PostEvent("Normal", "CaughtUp", "replay complete"))


def _start_job(state: ReplayState, seen: Observation, sub: Subscription) -> Read | Transition:
    group, name = state.job_group or "", job_name(seen.replay.name)
    if seen.job is None:
        return ReadJob(name)
    actions: list[Action] = []
    if seen.job == "Absent":
        # Start offsets first: the Job's consumer begins from its group's commits. Only while
        # the Job does not exist, so a restart never rewinds a running Job.
        if seen.job_template is None:
            return ReadJobTemplate(sub.key)
        problem = template_problem(seen.job_template.subscription.template)
        if problem is not None:  # changed since the subscription last ran
            return _fail(state, seen, "InvalidTemplate", f"EventSubscription {sub.key}: {problem}")
        replay = seen.replay
        manifest = render_job(
            SubscriptionRef(replay.namespace, replay.name, replay.uid),
            SubscriptionRef(replay.namespace, sub.name, sub.uid),
            seen.job_template.subscription, seen.job_template.connection, sub.topics, group,
            state.moves)
        actions += [
            MoveOffsets(group, {(m.topic, m.partition): m.new for m in state.moves}),
            CreateJob(manifest),
            PostEvent("Normal", "JobStarted", f"Job {name} re-processes {state.messages_to_replay} "
                                              f"message(s) as group {group}")]
    actions.append(WriteStatus(
        EventReplayStatus(step="JobStarted", job_name=name), None, "Replaying",
        f"Job {name} is re-processing the range; the subscription keeps running"))
    return Transition.of(state, *actions)


def _job_progress(spec: EventReplaySpec, state: ReplayState, seen: Observation) -> Read | Transition:
    moves, group, name = state.moves, state.job_group or "", state.job_name
    if seen.job is None:
        return ReadJob(name or "")
    if seen.committed is None:
        return ReadCommitted(group, _partitions(moves), describe_first=True)
    outcome = seen.job
    left = remaining(moves, seen.committed, job_mode=True)
    if outcome in ("Failed", "Absent"):
        return _fail(state, seen, "JobFailed", f"Job {name} "
                     f"{'failed' if outcome == 'Failed' else 'is gone'}; {left} message(s) were left")
    if outcome != "Complete":
        return Transition.of(
            state,
            WriteStatus(EventReplayStatus(remaining_lag=left), None, "Replaying",
                        f"{left} message(s) of the range left to process"),
            Requeue(JOB_WAIT_SECONDS))
    return Transition.of(
        state,
        *([] if spec.keep_job_group else [DeleteGroup(group)]),
        WriteStatus(EventReplayStatus(step="Done", remaining_lag=left,
                                      completion_time=rfc3339(seen.now_ms)),
                    True, "Completed", f"Job {name} re-processed the range"),
        PostEvent("Normal", "Completed", "bounded replay complete"))
