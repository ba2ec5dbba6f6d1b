"""The EventReplay workflow as a pure transition: a table of every step and transition (what is
read, in which order, and the actions with their exact reasons and messages), the facts written,
and restarts at every point of a run: no step repeated, none skipped, replicas always restored."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from eventsub.api.connection import KafkaConnectionSpec
from eventsub.api.replay import EventReplaySpec, EventReplayStatus, OffsetMove, PartitionOffset
from eventsub.api.subscription import EventSubscriptionSpec
from eventsub.core.lag import PartitionOffsets
from eventsub.core.replay_steps import (
    Action,
    Connection,
    CreateJob,
    DeleteGroup,
    GroupView,
    InvalidSpec,
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
    origin_ms,
    rfc3339,
    runs_first,
)
from eventsub.core.status import merged

NOW = 1_800_000_000_000  # 2027-01-15T08:00:00Z
NOW_TEXT = rfc3339(NOW)
REPLAY = ReplayIdentity("ns", "r1", "uid-r1", "2026-06-01T00:00:00Z")
SUB = Subscription("ns/readers", True, "uid-s", "ns.readers", ("t",), "readers-consumer", "ns/local")
JOB_GROUP = "ns.readers.replay.r1"
# t[0]: committed 90 of 100; t[1]: nothing committed, 50 messages.
OFFSETS = (PartitionOffsets("t", 0, 0, 100, 90), PartitionOffsets("t", 1, 0, 50, None))
TEMPLATE = JobTemplate(
    EventSubscriptionSpec.model_validate({
        "connectionRef": {"name": "local"}, "topics": [{"name": "t"}],
        "template": {"spec": {"containers": [{"name": "c", "image": "img:1"}]}}}),
    KafkaConnectionSpec.model_validate({"bootstrapServers": ["k:9092"]}))

REWIND_PLAN = [
    OffsetMove(topic="t", partition=0, current_offset=90, new_offset=0, messages=90),
    OffsetMove(topic="t", partition=1, current_offset=None, new_offset=0, messages=50)]
JOB_PLAN = [
    OffsetMove(topic="t", partition=0, current_offset=90, new_offset=0, messages=100,
               end_offset=100),
    OffsetMove(topic="t", partition=1, current_offset=None, new_offset=0, messages=50,
               end_offset=50)]
NEW = EventReplayStatus()
PLANNED = EventReplayStatus(step="Planned", plan=REWIND_PLAN, messages_to_replay=140)
PAUSING = merged(PLANNED, EventReplayStatus(paused_replicas=4))
PAUSED = merged(PAUSING, EventReplayStatus(step="Paused", pause_time=rfc3339(NOW - 10_000)))
MOVED = merged(PAUSED, EventReplayStatus(step="OffsetsMoved"))
RESTORED = merged(MOVED, EventReplayStatus(step="Restored", remaining_lag=140))
JOB_PLANNED = EventReplayStatus(step="Planned", plan=JOB_PLAN, messages_to_replay=150,
                                job_consumer_group=JOB_GROUP)
JOB_STARTED = merged(JOB_PLANNED, EventReplayStatus(step="JobStarted", job_name="r1-replay"))
AT_NEW = {("t", 0): 0, ("t", 1): 0}  # committed where the replay moved them


def spec(**fields: Any) -> EventReplaySpec:
    return EventReplaySpec.model_validate(
        {"subscriptionRef": {"name": "readers"}, "from": {"earliest": True}, **fields})


def job(**fields: Any) -> EventReplaySpec:
    return spec(mode="Job", **fields)


def listing(key: str, created: str, **fields: Any) -> ReplayListing:
    base: dict[str, Any] = {"subscription": "readers", "step": "Paused", "dry_run": False,
                            "mode": "Rewind"}
    return ReplayListing(key, created, **{**base, **fields})


# -- the harness: answer advance()'s reads from a table row, and describe what it did ----------

FIELD = {ReadSubscription: "subscription", ReadConnection: "connection", ReadReplays: "replays",
         ReadOffsets: "kafka", ReadSnapshot: "snapshot_of", ReadReplicas: "replicas",
         ReadGroup: "group", ReadCommitted: "committed", ReadJob: "job",
         ReadJobTemplate: "job_template"}


def field_of(read: Read) -> str:
    if isinstance(read, ReadOffsetsAt):
        return "at_end" if read.end else "at_origin"
    return FIELD[type(read)]


def read_name(read: Read) -> str:
    if isinstance(read, ReadCommitted) and read.describe_first:
        return "described+committed"
    return field_of(read)


def run(replay: EventReplaySpec | InvalidSpec, status: EventReplayStatus,
        answers: Mapping[str, Any], now: int = NOW) -> tuple[list[Read], Transition]:
    """One pass: advance() until it decides, answering each read from `answers` (a value, or a
    function of the read)."""
    state, seen, reads = ReplayState.from_status(status), Observation(now, REPLAY), []
    while not isinstance(decided := advance(replay, state, seen), Transition):
        reads.append(decided)
        name = field_of(decided)
        assert name in answers, f"unexpected read {decided}"
        answer = answers[name]
        seen = dataclasses.replace(seen, **{name: answer(decided) if callable(answer) else answer})
        assert len(reads) < 20
    return reads, decided


def short(value: Any) -> str:
    if isinstance(value, list):
        return f"[{len(value)}]"
    return "now" if value == NOW_TEXT else str(value)


def describe(action: Action) -> str:
    match action:
        case WriteStatus(facts, ok, reason, message):
            # The fields set, as the API spells them.
            written = facts.model_dump(by_alias=True, exclude_unset=True)
            shown = ", ".join(f"{k}={short(v)}" for k, v in sorted(written.items()))
            return f"status {'?' if ok is None else ok} {reason}: {message}" + \
                (f" | {shown}" if shown else "")
        case PostEvent(type_, reason, message):
            return f"event {type_} {reason}: {message}"
        case ScaleDeployment(subscription, deployment, replicas):
            return f"scale {subscription} {deployment} to {replicas}"
        case MoveOffsets(group, offsets):
            return f"move {group} {dict(sorted(offsets.items()))}"
        case CreateJob(manifest):
            return f"create Job {manifest['metadata']['name']}"
        case DeleteGroup(group):
            return f"delete group {group}"
        case Requeue(seconds):
            return "retry" if seconds is None else f"requeue {seconds}"
    raise AssertionError(action)


BASE = {"subscription": SUB, "connection": Connection(True), "replays": (),
        "kafka": KafkaRead(OFFSETS)}
PREREQS = "subscription connection"


@dataclasses.dataclass(frozen=True)
class Row:
    id: str
    spec: EventReplaySpec | InvalidSpec
    status: EventReplayStatus
    answers: Mapping[str, Any]
    reads: str  # the reads asked, in order
    actions: Sequence[str]
    step: str | None  # after the actions


def row(id: str, spec: EventReplaySpec | InvalidSpec, status: EventReplayStatus, reads: str,
        actions: Sequence[str], step: str | None, **answers: Any) -> Any:
    return pytest.param(Row(id, spec, status, {**BASE, **answers}, reads, actions, step), id=id)


RESUMED = "event Normal Resumed: scaled readers-consumer back to 4 replica(s)"
SCALE_BACK = "scale ns/readers readers-consumer to 4"

TABLE = [
    # -- finished, invalid, waiting ---------------------------------------------------------------
    row("done does nothing", spec(), EventReplayStatus(step="Done"), "", [], "Done"),
    row("failed does nothing", spec(), EventReplayStatus(step="Failed"), "", [], "Failed"),
    row("invalid spec fails", InvalidSpec("spec.from: bad"), NEW, "", [
        "status False InvalidSpec: spec.from: bad | completionTime=now, step=Failed",
        "event Warning InvalidSpec: spec.from: bad"], "Failed"),
    row("subscription not found waits", spec(), NEW, "subscription", [
        "status ? SubscriptionNotFound: EventSubscription ns/readers not found", "retry"], None,
        subscription=Subscription("ns/readers", False)),
    row("subscription without a Deployment yet waits", spec(), PLANNED, "subscription", [
        "status ? SubscriptionNotReady: EventSubscription ns/readers is not running yet", "retry"],
        "Planned", subscription=dataclasses.replace(SUB, deployment=None)),
    row("subscription without a group yet waits", spec(), NEW, "subscription", [
        "status ? SubscriptionNotReady: EventSubscription ns/readers is not running yet", "retry"],
        None, subscription=dataclasses.replace(SUB, group=None)),
    row("unavailable connection waits", spec(), PAUSED, PREREQS, [
        "status ? ConnectionNotReady: KafkaConnection ns/local: not probed yet", "retry"], "Paused",
        connection=Connection(False, "ConnectionNotReady", "KafkaConnection ns/local: not probed yet")),
    row("an older running replay goes first: WaitingForReplay, no Kafka read", spec(), NEW,
        f"{PREREQS} replays", [
            "status ? WaitingForReplay: EventReplay ns/r0 of the same subscription runs first",
            "retry"], None,
        replays=(listing("ns/r0", "2026-05-01T00:00:00Z"),)),
    row("a dry run waits for an older running replay too", spec(dryRun=True), NEW,
        f"{PREREQS} replays", [
            "status ? WaitingForReplay: EventReplay ns/r0 of the same subscription runs first",
            "retry"], None,
        replays=(listing("ns/r0", "2026-05-01T00:00:00Z", step=None),)),
    row("Kafka unavailable while planning waits", spec(), NEW, f"{PREREQS} replays kafka", [
        "status ? KafkaUnavailable: KafkaUnavailable: broker down", "retry"], None,
        kafka=KafkaRead(error="KafkaUnavailable: broker down")),

    # -- Rewind: plan --------------------------------------------------------------------------------
    row("plan a rewind", spec(), NEW, f"{PREREQS} replays kafka", [
        "status ? Planned: 140 message(s) to re-process; pausing the subscription | "
        "messagesToReplay=140, plan=[2], snapshot=[1], startTime=now, step=Planned",
        "event Normal Planned: 2 partition(s), 140 message(s) to re-process"], "Planned"),
    row("replays that do not go first: newer, finished, dry runs, Job mode, other subscriptions",
        spec(), NEW, f"{PREREQS} replays kafka", [
            "status ? Planned: 140 message(s) to re-process; pausing the subscription | "
            "messagesToReplay=140, plan=[2], snapshot=[1], startTime=now, step=Planned",
            "event Normal Planned: 2 partition(s), 140 message(s) to re-process"], "Planned",
        replays=(listing("ns/r1", REPLAY.created),  # itself
                 listing("ns/r2", "2026-07-01T00:00:00Z"),
                 listing("ns/r0a", "2026-05-01T00:00:00Z", step="Done"),
                 listing("ns/r0b", "2026-05-01T00:00:00Z", step="Failed"),
                 listing("ns/r0c", "2026-05-01T00:00:00Z", dry_run=True),
                 listing("ns/r0d", "2026-05-01T00:00:00Z", mode="Job"),
                 listing("ns/r0e", "2026-05-01T00:00:00Z", subscription="others"))),
    row("plan from a timestamp: offsets looked up at it", spec(**{"from": {"secondsAgo": 60}}), NEW,
        f"{PREREQS} replays kafka at_origin", [
            "status ? Planned: 20 message(s) to re-process; pausing the subscription | "
            f"messagesToReplay=20, plan=[2], resolvedTimestamp={rfc3339(NOW - 60_000)}, "
            "snapshot=[1], startTime=now, step=Planned",
            "event Normal Planned: 2 partition(s), 20 message(s) to re-process"], "Planned",
        at_origin={("t", 0): 70, ("t", 1): None}),
    row("a timestamp in the future fails, nothing looked up", spec(
        **{"from": {"timestamp": "2099-01-01T00:00:00Z"}}), NEW, f"{PREREQS} replays kafka", [
            "status False TimestampInFuture: spec.from is 2270908800s in the future: nothing to "
            "replay | completionTime=now, step=Failed",
            "event Warning TimestampInFuture: spec.from is 2270908800s in the future: nothing to "
            "replay"], "Failed"),
    row("offsets beyond the log end fail", spec(
        **{"from": {"offsets": [{"topic": "t", "partition": 0, "offset": 999}]}}), NEW,
        f"{PREREQS} replays kafka", [
            "status False OffsetOutOfRange: offset 999 is beyond the log end 100 of t[0] | "
            "completionTime=now, step=Failed",
            "event Warning OffsetOutOfRange: offset 999 is beyond the log end 100 of t[0]"],
        "Failed"),
    row("roll back to an earlier replay's snapshot", spec(**{"from": {"snapshotOf": "r0"}}), NEW,
        f"{PREREQS} replays kafka snapshot_of", [
            "status ? Planned: 70 message(s) to re-process; pausing the subscription | "
            "messagesToReplay=70, plan=[2], snapshot=[1], startTime=now, step=Planned",
            "event Normal Planned: 2 partition(s), 70 message(s) to re-process"], "Planned",
        snapshot_of={("t", 0): 20}),
    row("roll back to a replay without a snapshot fails", spec(**{"from": {"snapshotOf": "r0"}}),
        NEW, f"{PREREQS} replays kafka snapshot_of", [
            "status False SnapshotNotFound: EventReplay r0 has no snapshot of offsets to return to"
            " | completionTime=now, step=Failed",
            "event Warning SnapshotNotFound: EventReplay r0 has no snapshot of offsets to return "
            "to"], "Failed", snapshot_of={}),
    row("dry run: the plan, Done, nothing paused", spec(dryRun=True), NEW,
        f"{PREREQS} replays kafka", [
            "status True DryRun: dry run: 140 message(s) would be re-processed | "
            "completionTime=now, messagesToReplay=140, plan=[2], snapshot=[1], startTime=now, "
            "step=Done"], "Done"),

    # -- Rewind: pause -------------------------------------------------------------------------------
    row("pause: the replicas are recorded first, nothing scaled", spec(), PLANNED,
        f"{PREREQS} replicas", [
            "status ? Pausing: pausing the subscription (it had 4 replica(s)) | pausedReplicas=4"],
        "Planned", replicas=4),
    row("pause: recorded replicas, so scale to zero, then the step", spec(), PAUSING, PREREQS, [
        "scale ns/readers readers-consumer to 0",
        "status ? WaitingForEmptyGroup: consumers paused; waiting for the group to be Empty | "
        "pauseTime=now, step=Paused",
        "event Normal Paused: scaled readers-consumer from 4 to 0 replicas"], "Paused"),
    row("pause: a subscription at zero is paused all the same", spec(),
        merged(PLANNED, EventReplayStatus(paused_replicas=0)), PREREQS, [
            "scale ns/readers readers-consumer to 0",
            "status ? WaitingForEmptyGroup: consumers paused; waiting for the group to be Empty | "
            "pauseTime=now, step=Paused",
            "event Normal Paused: scaled readers-consumer from 0 to 0 replicas"], "Paused"),

    # -- Rewind: wait for Empty, move ----------------------------------------------------------------
    row("group not Empty yet: look again in a second, nothing read or written", spec(), PAUSED,
        f"{PREREQS} group", ["requeue 1.0"], "Paused", group=GroupView("PreparingRebalance", 2)),
    row("an Empty group with a member left is not Empty", spec(), PAUSED,
        f"{PREREQS} group", ["requeue 1.0"], "Paused", group=GroupView("Empty", 1)),
    row("at the timeout exactly it still waits", spec(emptyGroupTimeoutSeconds=10), PAUSED,
        f"{PREREQS} group", ["requeue 1.0"], "Paused", group=GroupView("Stable", 1)),
    row("GroupNotEmpty after the timeout: replicas restored, then Failed, nothing moved",
        spec(emptyGroupTimeoutSeconds=9), PAUSED, f"{PREREQS} group", [
            SCALE_BACK, RESUMED,
            "status False GroupNotEmpty: group ns.readers still has 1 member(s) (Stable) after 9s:"
            " consumers outside eventsub's control? Nothing was moved; the subscription's "
            "replicas were restored | completionTime=now, step=Failed",
            "event Warning GroupNotEmpty: group ns.readers still has 1 member(s) (Stable) after "
            "9s: consumers outside eventsub's control? Nothing was moved; the subscription's "
            "replicas were restored"], "Failed", group=GroupView("Stable", 1)),
    row("Empty: final offsets snapshotted, moved, then the step", spec(), PAUSED,
        f"{PREREQS} group committed", [
            "status ? MovingOffsets: group Empty; moving its offsets | messagesToReplay=95, "
            "plan=[2], snapshot=[1]",
            "move ns.readers {('t', 0): 0, ('t', 1): 0}",
            "event Normal OffsetsMoved: moved the offsets of group ns.readers on 2 partition(s)",
            "status ? Verifying: offsets moved; verifying | step=OffsetsMoved"], "OffsetsMoved",
        group=GroupView("Empty", 0), committed={("t", 0): 95, ("t", 1): None}),
    row("a Dead group counts as Empty", spec(), PAUSED, f"{PREREQS} group committed", [
        "status ? MovingOffsets: group Empty; moving its offsets | messagesToReplay=150, "
        "plan=[2], snapshot=[2]",
        "move ns.readers {('t', 0): 0, ('t', 1): 0}",
        "event Normal OffsetsMoved: moved the offsets of group ns.readers on 2 partition(s)",
        "status ? Verifying: offsets moved; verifying | step=OffsetsMoved"], "OffsetsMoved",
        group=GroupView("Dead", 0), committed={("t", 0): 100, ("t", 1): 50}),
    row("restart after the move: offsets already there, moved and announced once", spec(), PAUSED,
        f"{PREREQS} group committed", [
            "status ? Verifying: offsets moved; verifying | step=OffsetsMoved"], "OffsetsMoved",
        group=GroupView("Empty", 0), committed=AT_NEW),

    # -- Rewind: verify and restore, catch up ---------------------------------------------------------
    row("verified: replicas restored, then Restored", spec(), MOVED,
        f"{PREREQS} replicas described+committed", [
            SCALE_BACK, RESUMED,
            "status True Replaying: offsets moved and verified; consumers resumed, 90 message(s) "
            "to re-process | remainingLag=90, step=Restored"], "Restored", committed=AT_NEW,
        replicas=0),
    row("already resumed (a restart before Restored): Restored, nothing verified or repeated",
        spec(), MOVED, f"{PREREQS} replicas described+committed", [
            "status True Replaying: offsets moved and verified; consumers resumed, 40 message(s) "
            "to re-process | remainingLag=40, step=Restored"], "Restored",
        committed={("t", 0): 50, ("t", 1): 0}, replicas=4),
    row("VerifyFailed: someone else moved them; replicas restored, then Failed", spec(), MOVED,
        f"{PREREQS} replicas described+committed", [
            SCALE_BACK, RESUMED,
            "status False VerifyFailed: t[1] is at 7, not 0: someone else moved the offsets; the "
            "subscription's replicas were restored | completionTime=now, step=Failed",
            "event Warning VerifyFailed: t[1] is at 7, not 0: someone else moved the offsets; the "
            "subscription's replicas were restored"], "Failed",
        committed={("t", 0): 0, ("t", 1): 7}, replicas=0),
    row("catching up: remainingLag, look again in 2 s", spec(), RESTORED,
        f"{PREREQS} described+committed", [
            "status True Replaying: 30 message(s) of the replayed range left to process | "
            "remainingLag=30", "requeue 2.0"], "Restored",
        committed={("t", 0): 60, ("t", 1): 40}),
    row("caught up: Done", spec(), RESTORED, f"{PREREQS} described+committed", [
        "status True CaughtUp: the consumers re-processed the replayed range and caught up | "
        "completionTime=now, remainingLag=0, step=Done",
        "event Normal CaughtUp: replay complete"], "Done",
        committed={("t", 0): 100, ("t", 1): 50}),
    row("a Rewind replay at a Job step does nothing", spec(), JOB_STARTED, PREREQS, [],
        "JobStarted"),

    # -- Job mode -------------------------------------------------------------------------------------
    row("plan a Job: no wait for other replays, its own group", job(), NEW, f"{PREREQS} kafka", [
        "status ? Planned: 150 message(s) to re-process; starting the Job | "
        f"jobConsumerGroup={JOB_GROUP}, messagesToReplay=150, plan=[2], snapshot=[1], "
        "startTime=now, step=Planned",
        "event Normal Planned: 2 partition(s), 150 message(s) to re-process"], "Planned",
        replays=(listing("ns/r0", "2026-05-01T00:00:00Z"),)),
    row("plan a Job up to a time: its end offsets looked up", job(
        to={"timestamp": "2026-12-01T00:00:00Z"}), NEW, f"{PREREQS} kafka at_end", [
            "status ? Planned: 130 message(s) to re-process; starting the Job | "
            f"jobConsumerGroup={JOB_GROUP}, messagesToReplay=130, plan=[2], snapshot=[1], "
            "startTime=now, step=Planned",
            "event Normal Planned: 2 partition(s), 130 message(s) to re-process"], "Planned",
        at_end={("t", 0): 80, ("t", 1): None}),
    row("dry run of a Job", job(dryRun=True), NEW, f"{PREREQS} kafka", [
        "status True DryRun: dry run: 150 message(s) would be re-processed | completionTime=now, "
        f"jobConsumerGroup={JOB_GROUP}, messagesToReplay=150, plan=[2], snapshot=[1], "
        "startTime=now, step=Done"], "Done"),
    row("start the Job: its group at the start offsets first, then the Job, then the step", job(),
        JOB_PLANNED, f"{PREREQS} job job_template", [
            f"move {JOB_GROUP} {{('t', 0): 0, ('t', 1): 0}}",
            "create Job r1-replay",
            f"event Normal JobStarted: Job r1-replay re-processes 150 message(s) as group {JOB_GROUP}",
            "status ? Replaying: Job r1-replay is re-processing the range; the subscription keeps "
            "running | jobName=r1-replay, step=JobStarted"], "JobStarted",
        job="Absent", job_template=TEMPLATE),
    row("restart after the Job was created: never rewound again", job(), JOB_PLANNED,
        f"{PREREQS} job", [
            "status ? Replaying: Job r1-replay is re-processing the range; the subscription keeps "
            "running | jobName=r1-replay, step=JobStarted"], "JobStarted", job="Running"),
    row("Job running: remainingLag, look again in 2 s", job(), JOB_STARTED,
        f"{PREREQS} job described+committed", [
            "status ? Replaying: 60 message(s) of the range left to process | remainingLag=60",
            "requeue 2.0"], "JobStarted", job="Running", committed={("t", 0): 40, ("t", 1): 50}),
    row("Job complete: its group removed, Done", job(), JOB_STARTED,
        f"{PREREQS} job described+committed", [
            f"delete group {JOB_GROUP}",
            "status True Completed: Job r1-replay re-processed the range | completionTime=now, "
            "remainingLag=0, step=Done",
            "event Normal Completed: bounded replay complete"], "Done",
        job="Complete", committed={("t", 0): 100, ("t", 1): 50}),
    row("Job complete with keepJobGroup: the group stays", job(keepJobGroup=True), JOB_STARTED,
        f"{PREREQS} job described+committed", [
            "status True Completed: Job r1-replay re-processed the range | completionTime=now, "
            "remainingLag=0, step=Done",
            "event Normal Completed: bounded replay complete"], "Done",
        job="Complete", committed={("t", 0): 100, ("t", 1): 50}),
    row("Job failed: JobFailed", job(), JOB_STARTED, f"{PREREQS} job described+committed", [
        "status False JobFailed: Job r1-replay failed; 90 message(s) were left | "
        "completionTime=now, step=Failed",
        "event Warning JobFailed: Job r1-replay failed; 90 message(s) were left"], "Failed",
        job="Failed", committed={("t", 0): 10, ("t", 1): 50}),
    row("Job gone: JobFailed", job(), JOB_STARTED, f"{PREREQS} job described+committed", [
        "status False JobFailed: Job r1-replay is gone; 150 message(s) were left | "
        "completionTime=now, step=Failed",
        "event Warning JobFailed: Job r1-replay is gone; 150 message(s) were left"], "Failed",
        job="Absent", committed={("t", 0): None, ("t", 1): None}),
    row("a Job replay at a Rewind step does nothing", job(), PAUSED, PREREQS, [], "Paused"),
]


@pytest.mark.parametrize("case", TABLE)
def test_transition(case: Row) -> None:
    reads, decided = run(case.spec, case.status, case.answers)
    assert " ".join(read_name(r) for r in reads) == case.reads
    assert [describe(a) for a in decided.actions] == list(case.actions)
    assert decided.state.step == case.step


def test_the_table_reaches_every_step_and_every_failure_reason() -> None:
    rows = [p.values[0] for p in TABLE]
    assert {r.step for r in rows} >= {None, "Planned", "Paused", "OffsetsMoved", "Restored",
                                      "JobStarted", "Done", "Failed"}
    reasons = {a.split(":")[0].split()[-1] for r in rows for a in r.actions if a.startswith("status")}
    assert reasons >= {"InvalidSpec", "SubscriptionNotFound", "SubscriptionNotReady",
                       "ConnectionNotReady", "WaitingForReplay", "KafkaUnavailable", "Planned",
                       "TimestampInFuture", "OffsetOutOfRange", "SnapshotNotFound", "DryRun",
                       "Pausing", "WaitingForEmptyGroup", "GroupNotEmpty", "MovingOffsets",
                       "Verifying", "VerifyFailed", "Replaying", "CaughtUp", "Completed",
                       "JobFailed"}


# -- the facts written ------------------------------------------------------------------------------


def assert_facts(facts: EventReplayStatus, expected: EventReplayStatus) -> None:
    """The same values, and the same fields set (only those are written)."""
    assert facts == expected
    assert facts.model_fields_set == expected.model_fields_set


def test_the_plan_and_the_snapshot_written_when_planning() -> None:
    _, decided = run(spec(**{"from": {"secondsAgo": 60}}), NEW, {
        **BASE, "at_origin": {("t", 0): 70, ("t", 1): None}})
    facts = decided.actions[0].facts  # type: ignore[union-attr]
    assert_facts(facts, EventReplayStatus(
        plan=[OffsetMove(topic="t", partition=0, current_offset=90, new_offset=70, messages=20),
              OffsetMove(topic="t", partition=1, current_offset=None, new_offset=50,
                         messages=0)],
        snapshot=[PartitionOffset(topic="t", partition=0, offset=90)], messages_to_replay=20,
        start_time=NOW_TEXT, resolved_timestamp=rfc3339(NOW - 60_000), step="Planned"))


def test_a_job_plan_carries_its_end_offsets() -> None:
    _, decided = run(job(), NEW, BASE)
    assert decided.actions[0].facts.plan == JOB_PLAN  # type: ignore[union-attr]
    assert decided.state.job_group == JOB_GROUP


def test_the_final_committed_offsets_become_the_snapshot_before_the_move() -> None:
    _, decided = run(spec(), PAUSED, {**BASE, "group": GroupView("Empty", 0),
                                      "committed": {("t", 1): 30, ("t", 0): 95}})
    first = decided.actions[0]
    assert isinstance(first, WriteStatus) and isinstance(decided.actions[1], MoveOffsets)
    assert_facts(first.facts, EventReplayStatus(
        plan=[OffsetMove(topic="t", partition=0, current_offset=95, new_offset=0, messages=95),
              OffsetMove(topic="t", partition=1, current_offset=30, new_offset=0, messages=30)],
        snapshot=[PartitionOffset(topic="t", partition=0, offset=95),
                  PartitionOffset(topic="t", partition=1, offset=30)],
        messages_to_replay=125))


def test_the_job_is_rendered_with_its_group_and_end_offsets() -> None:
    _, decided = run(job(), JOB_PLANNED, {**BASE, "job": "Absent", "job_template": TEMPLATE})
    create = decided.actions[1]
    assert isinstance(create, CreateJob)
    env = {e["name"]: e.get("value") for e in
           create.manifest["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env["EVENTSUB_GROUP_ID"] == JOB_GROUP
    assert env["EVENTSUB_END_OFFSETS"] == '{"t": {"0": 100, "1": 50}}'
    assert create.manifest["metadata"]["ownerReferences"][0]["uid"] == "uid-r1"


def test_the_state_follows_what_was_written() -> None:
    state = ReplayState.from_status(PAUSED)
    assert (state.step, state.paused_replicas, len(state.moves)) == ("Paused", 4, 2)
    assert state.with_facts(EventReplayStatus(step="OffsetsMoved")).moves == state.moves


def test_facts_replace_only_the_fields_they_set() -> None:
    assert merged(PAUSED, EventReplayStatus(step="OffsetsMoved")) == EventReplayStatus(
        step="OffsetsMoved", plan=REWIND_PLAN, messages_to_replay=140, paused_replicas=4,
        pause_time=rfc3339(NOW - 10_000))
    assert merged(PAUSED, EventReplayStatus()) == PAUSED
    assert merged(RESTORED, EventReplayStatus(remaining_lag=None)).remaining_lag is None  # cleared


@pytest.mark.parametrize(("status", "held"), [
    (NEW, False), (PLANNED, False), (PAUSING, True), (PAUSED, True), (MOVED, True),
    (RESTORED, False), (EventReplayStatus(step="Failed", paused_replicas=4), False),
])
def test_which_steps_hold_the_subscription(status: EventReplayStatus, held: bool) -> None:
    assert holds_subscription(status) is held


def test_replays_of_a_subscription_go_oldest_first_then_by_name() -> None:
    same_time = [listing("ns/r0", REPLAY.created), listing("ns/r2", REPLAY.created)]
    assert runs_first(REPLAY, "readers", same_time) == "ns/r0"
    assert runs_first(REPLAY, "readers", same_time[1:]) is None


# -- restarts and the whole run: a small world the actions act on ---------------------------------


class World:
    """Kafka, the Deployment and the status, as the actions leave them; the consumers commit up to
    the log end each pass while they run, an outsider may sit in the group."""

    ENDS: ClassVar[dict[tuple[str, int], int]] = {("t", 0): 100, ("t", 1): 50}

    def __init__(self, replicas: int, outsider_passes: int = 0) -> None:
        self.replicas, self.initial, self.outsider_passes = replicas, replicas, outsider_passes
        self.status = EventReplayStatus()
        self.committed: dict[str, dict[tuple[str, int], int | None]] = {
            "ns.readers": {("t", 0): 90, ("t", 1): None}}
        self.job: str = "Absent"
        self.now = NOW
        self.log: list[Any] = []  # what was done, in order

    def members(self) -> int:
        return self.replicas + (1 if self.outsider_passes > 0 else 0)

    def answers(self) -> dict[str, Any]:
        group = self.committed["ns.readers"]
        return {**BASE, "kafka": KafkaRead(tuple(
            PartitionOffsets(t, p, 0, end, group.get((t, p))) for (t, p), end in self.ENDS.items())),
            "replicas": self.replicas,
            "group": GroupView("Empty" if self.members() == 0 else "Stable", self.members()),
            "job": self.job, "job_template": TEMPLATE,
            "committed": lambda read: {p: self.committed.get(read.group, {}).get(p)
                                       for p in read.partitions}}

    def act(self, action: Action) -> None:
        match action:
            case WriteStatus(facts):
                self.status = merged(self.status, facts)
                self.log.append(("status", facts.step))
            case ScaleDeployment(_, _, replicas):
                self.replicas = replicas
                self.log.append(("scale", replicas))
            case MoveOffsets(group, offsets):
                if group == "ns.readers":
                    assert self.members() == 0, "offsets move only while the group is Empty"
                self.committed.setdefault(group, {}).update(offsets)
                self.log.append(("move", group))
            case CreateJob():
                assert self.job == "Absent"
                self.job = "Running"
                self.log.append(("job",))
            case PostEvent(_, reason):
                self.log.append(("event", reason))
            case DeleteGroup(group):
                self.log.append(("delete", group))

    def tick(self, seconds: int) -> None:
        """Between passes: time goes on, consumers that run commit, the outsider may leave."""
        self.now += seconds * 1000
        if self.replicas > 0:
            self.committed["ns.readers"] = {**self.ENDS}
        if self.job == "Running":
            self.job = "Complete"
            self.committed[JOB_GROUP] = {**self.ENDS}
        self.outsider_passes = max(0, self.outsider_passes - 1)

    def run(self, replay: EventReplaySpec, crashes: Mapping[int, int], seconds: int = 3,
            passes: int = 200) -> None:
        """Passes until the replay finished; crashes: pass number -> actions done before the
        operator died in that pass (the others are lost, the next pass starts from the status)."""
        for number in range(passes):
            if self.status.step in ("Done", "Failed"):
                return
            _, decided = run(replay, self.status, self.answers(), now=self.now)
            for action in decided.actions[:crashes.get(number, len(decided.actions))]:
                self.act(action)
            self.tick(seconds)
        # A subscription at zero replicas has nobody to catch up: Restored until it scales.
        assert self.status.step == "Restored" and self.initial == 0, self.status.step

    def count(self, *entry: Any) -> int:
        return self.log.count(entry)


def check_safe(world: World) -> None:
    """Offsets moved at most once; replicas go up only when the move was verified or the replay
    fails; at the end the subscription has its replicas back."""
    assert world.count("move", "ns.readers") <= 1
    assert world.count("event", "OffsetsMoved") <= 1
    assert world.count("event", "Paused") <= 1
    for i, entry in enumerate(world.log):
        if entry[0] == "scale" and entry[1] > 0:
            assert entry[1] == world.initial
            moved = ("move", "ns.readers") in world.log[:i]
            steps = [e[1] for e in world.log[i:] if e[0] == "status" and e[1] is not None]
            assert moved or steps[:1] == ["Failed"], world.log
    assert world.replicas == world.initial
    assert world.status.step in ("Done", "Failed", "Restored")


def test_a_rewind_without_restarts_does_every_step_once() -> None:
    world = World(replicas=4)
    world.run(spec(), {})
    check_safe(world)
    assert [e[1] for e in world.log if e[0] == "status" and e[1]] == [
        "Planned", "Paused", "OffsetsMoved", "Restored", "Done"]
    assert [e[1] for e in world.log if e[0] == "event"] == [
        "Planned", "Paused", "OffsetsMoved", "Resumed", "CaughtUp"]


def _rewind_passes() -> list[Any]:
    """(pass, actions done before the crash) for every point of an undisturbed rewind."""
    world, points = World(replicas=4), []
    for number in range(20):
        step = world.status.step
        if step in ("Done", "Failed"):
            break
        _, decided = run(spec(), world.status, world.answers(), now=world.now)
        points += [pytest.param(number, done, id=f"{step}-after-{done}")
                   for done in range(len(decided.actions))]
        for action in decided.actions:
            world.act(action)
        world.tick(3)
    return points


@pytest.mark.parametrize(("crash_pass", "done"), _rewind_passes())
def test_a_restart_at_any_point_of_a_rewind_neither_repeats_nor_skips(crash_pass: int,
                                                                       done: int) -> None:
    world = World(replicas=4)
    world.run(spec(), {crash_pass: done})
    check_safe(world)
    assert world.status.step == "Done"
    assert world.count("move", "ns.readers") == 1
    assert world.committed["ns.readers"] == World.ENDS  # replayed, then caught up


def test_a_step_observed_again_after_its_effects_repeats_none() -> None:
    """What a restart mid-step sees: the step persisted before, the world after its effect."""
    # Replicas recorded, Deployment already at zero: the recorded 4 stay what is restored.
    reads, decided = run(spec(), PAUSING, {**BASE, "replicas": 0})
    assert "replicas" not in [read_name(r) for r in reads]
    assert "event Normal Paused: scaled readers-consumer from 4 to 0 replicas" in \
        [describe(a) for a in decided.actions]
    # Offsets already moved: neither moved nor announced again.
    _, decided = run(spec(), PAUSED, {**BASE, "group": GroupView("Empty", 0), "committed": AT_NEW})
    assert [describe(a) for a in decided.actions] == [
        "status ? Verifying: offsets moved; verifying | step=OffsetsMoved"]
    # The Job exists: its group is not rewound, no second Job, no second JobStarted.
    _, decided = run(job(), JOB_PLANNED, {**BASE, "job": "Running"})
    assert [type(a) for a in decided.actions] == [WriteStatus]


@pytest.mark.parametrize("crash_pass", range(6))
@pytest.mark.parametrize("done", range(4))
def test_a_restart_in_a_job_replay_creates_one_job(crash_pass: int, done: int) -> None:
    world = World(replicas=2)
    world.run(job(), {crash_pass: done})
    assert world.count("job",) == 1 and world.status.step == "Done"
    assert world.replicas == 2 and not any(e[0] == "scale" for e in world.log)


@settings(max_examples=300, deadline=None)
@given(replicas=st.integers(0, 5), outsider=st.integers(0, 40), timeout=st.integers(1, 60),
       seconds=st.integers(1, 20),
       crashes=st.dictionaries(st.integers(0, 30), st.integers(0, 4), max_size=4))
def test_no_run_moves_offsets_of_a_busy_group_or_keeps_the_replicas(
        replicas: int, outsider: int, timeout: int, seconds: int, crashes: dict[int, int]) -> None:
    world = World(replicas, outsider_passes=outsider)
    world.run(spec(emptyGroupTimeoutSeconds=timeout), crashes, seconds=seconds)
    check_safe(world)
    if world.count("event", "GroupNotEmpty"):
        assert world.count("move", "ns.readers") == 0
    # Nobody else moves the offsets here: a restart anywhere never fails the verification.
    assert world.count("event", "VerifyFailed") == 0


@pytest.mark.parametrize(("stamp", "expected"), [
    ("1969-07-20T20:17:40Z", 0),  # before the epoch: Kafka's negative times mean other things
    ("1970-01-01T00:00:00Z", 0),
    ("2026-01-01T00:00:00+05:30", 1_767_205_800_000),
])
def test_a_time_before_the_epoch_starts_at_the_epoch(stamp: str, expected: int) -> None:
    assert origin_ms(spec(**{"from": {"timestamp": stamp}}), NOW) == expected
