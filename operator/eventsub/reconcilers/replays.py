"""EventReplay in Rewind mode: a state machine persisted in status, so every step survives a
restart of the operator and no step is done twice.

  (none) -> Planned      plan and snapshot of the committed offsets written to status
  Planned -> Paused      replicas the subscription had are recorded, then scaled to zero
  Paused -> OffsetsMoved once the group is Empty, offsets moved (unless already there)
  OffsetsMoved -> Restored  offsets verified, replicas restored
  Restored -> Done       the consumers caught up with where they were
Any step can end in Failed with a reason; nothing moves after a failure, and a paused
subscription gets its replicas back. A dry run stops after planning.

Job mode leaves the subscription alone: (none) -> Planned -> JobStarted (the Job's own group
committed at the start offsets, the Job created) -> Done when the Job completed, its group then
removed unless keepJobGroup.
"""

from __future__ import annotations

import datetime
import logging
from typing import Any

from pydantic import ValidationError

from eventsub.api.connection import KafkaConnectionSpec
from eventsub.api.replay import EventReplaySpec
from eventsub.api.subscription import EventSubscriptionSpec
from eventsub.core.deployment import SubscriptionRef
from eventsub.core.job import job_group, job_name, render_job
from eventsub.core.replay import Move, PartitionState, Plan, Refusal, plan_replay, remaining
from eventsub.kafka.admin import ClusterAdmin, GroupInfo
from eventsub.kafka.errors import KafkaRequestError
from eventsub.kafka.lag import collect
from eventsub.kube.deployments import deployment_replicas, scale_deployment
from eventsub.kube.jobs import create_job, job_outcome
from eventsub.kube.objects import ObjectRef, post_event
from eventsub.reconcilers import subscriptions as subs
from eventsub.reconcilers.cache import Body, ObjectCache
from eventsub.reconcilers.connections import ConnectionReconciler, spec_errors
from eventsub.reconcilers.queue import WorkQueue
from eventsub.reconcilers.scaler import Scaler
from eventsub.reconcilers.status import now_rfc3339, with_condition, write_status

logger = logging.getLogger("eventsub.replay")
PLURAL = "eventreplays"
HOLDING = ("Paused", "OffsetsMoved")  # the subscription stays at zero replicas
FINAL = ("Done", "Failed")


class Wait(Exception):
    """Not yet possible (missing subscription, Kafka unavailable, another replay running)."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason, self.message = reason, message


def _ms(stamp: str) -> int:
    return int(datetime.datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp() * 1000)


def _rfc3339(ms: int) -> str:
    return datetime.datetime.fromtimestamp(ms / 1000, datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _moves(status: dict[str, Any]) -> list[Move]:
    return [Move(m["topic"], m["partition"], m.get("currentOffset"), m["newOffset"],
                 m.get("endOffset"), m.get("messages") or 0) for m in status.get("plan", [])]


class ReplayReconciler:
    def __init__(self, cache: ObjectCache, connections: ConnectionReconciler, scaler: Scaler,
                 queue: WorkQueue) -> None:
        self.cache, self.connections, self.scaler, self.queue = cache, connections, scaler, queue

    # -- the hold the scaler and the subscription reconciler respect -------------------------

    def holding(self, subscription_key: str) -> str | None:
        """The replay that has paused this subscription, if any."""
        namespace, name = subscription_key.split("/", 1)
        for key, body in self.cache.items(PLURAL, namespace):
            status = body.get("status") or {}
            if (body.get("spec") or {}).get("subscriptionRef", {}).get("name") == name and \
                    (status.get("step") in HOLDING or
                     (status.get("step") == "Planned" and status.get("pausedReplicas") is not None)):
                return key
        return None

    # -- one step -----------------------------------------------------------------------------

    async def reconcile(self, key: str) -> None:
        body = self.cache.get(PLURAL, key)
        if body is None or (body.get("status") or {}).get("step") in FINAL:
            return
        ref = ObjectRef.of(body, PLURAL)
        try:
            spec = EventReplaySpec.model_validate(body.get("spec") or {})
        except ValidationError as error:
            await self._fail(ref, body, "InvalidSpec", spec_errors(error))
            return
        try:
            await self._step(key, ref, body, spec)
        except Wait as wait:
            await self._write(ref, body, {}, None, wait.reason, wait.message)
            self.queue.retry(key)
        except KafkaRequestError as error:
            await self._write(ref, body, {}, None, error.reason, error.message)
            self.queue.retry(key)

    async def _step(self, key: str, ref: ObjectRef, body: Body, spec: EventReplaySpec) -> None:
        status = body.get("status") or {}
        sub_key = f"{ref.namespace}/{spec.subscription_ref.name}"
        subscription = self.cache.get(subs.PLURAL, sub_key)
        if subscription is None:
            raise Wait("SubscriptionNotFound", f"EventSubscription {sub_key} not found")
        sub_status = subscription.get("status") or {}
        group, topics = sub_status.get("consumerGroup"), sub_status.get("topics")
        deployment = sub_status.get("deploymentName")
        if not group or not topics or not deployment:
            raise Wait("SubscriptionNotReady", f"EventSubscription {sub_key} is not running yet")
        connection = f"{ref.namespace}/{(subscription.get('spec') or {})['connectionRef']['name']}"
        entry = self.connections.available(connection)
        if entry is None:
            problem = self.connections.problem(connection)
            raise Wait(problem.reason, problem.message)
        step = status.get("step")
        if spec.mode == "Job" and step is not None:
            if step == "Planned":
                await self._start_job(ref, body, spec, entry.admin, subscription, topics)
            elif step == "JobStarted":
                await self._job_progress(key, ref, body, spec, entry.admin)
            return
        if step is None:
            await self._plan(key, ref, body, spec, entry.admin, sub_key, group, topics)
        elif step == "Planned":
            await self._pause(ref, body, sub_key, deployment)
        elif step == "Paused":
            await self._move(ref, body, spec, entry.admin, sub_key, group, deployment)
        elif step == "OffsetsMoved":
            await self._restore(ref, body, entry.admin, sub_key, group, deployment)
        elif step == "Restored":
            await self._progress(key, ref, body, entry.admin, group)

    async def _plan(self, key: str, ref: ObjectRef, body: Body, spec: EventReplaySpec,
                    admin: ClusterAdmin, sub_key: str, group: str, topics: list[str]) -> None:
        other = self._running_before(key, body, sub_key) if spec.mode == "Rewind" else None
        if other is not None:
            raise Wait("WaitingForReplay", f"EventReplay {other} of the same subscription runs first")
        read = (await collect(admin, {group: topics}))[group]
        if read.error is not None:
            raise Wait("KafkaUnavailable", read.error)
        now_ms = int(datetime.datetime.now(datetime.UTC).timestamp() * 1000)
        origin = spec.from_
        origin_ms = now_ms - origin.seconds_ago * 1000 if origin.seconds_ago is not None else (
            _ms(origin.timestamp) if origin.timestamp is not None else None)
        at = {}
        if origin_ms is not None and origin_ms <= now_ms:
            at = await admin.offsets_for_time([(o.topic, o.partition) for o in read.offsets],
                                              origin_ms)
        snapshot = None
        if origin.snapshot_of is not None:
            earlier = self.cache.get(PLURAL, f"{ref.namespace}/{origin.snapshot_of}") or {}
            snapshot = {(o["topic"], o["partition"]): o["offset"]
                        for o in (earlier.get("status") or {}).get("snapshot", [])}
        partitions = [PartitionState(o.topic, o.partition, o.log_start, o.log_end, o.committed,
                                     at.get((o.topic, o.partition))) for o in read.offsets]
        job_mode = spec.mode == "Job"
        end_ms = _ms(spec.to.timestamp) if spec.to is not None and spec.to.timestamp else None
        ends = None
        if end_ms is not None and end_ms <= now_ms:
            ends = await admin.offsets_for_time([(p.topic, p.partition) for p in partitions], end_ms)
        result = plan_replay(origin, partitions, now_ms=now_ms, origin_ms=origin_ms,
                             job_mode=job_mode, end_ms=end_ms, ends_at_timestamp=ends,
                             snapshot=snapshot, scope=spec.scope)
        if isinstance(result, Refusal):
            await self._fail(ref, body, result.reason, result.message)
            return
        facts = self._plan_facts(result, read.offsets, origin_ms)
        if job_mode:
            facts["jobConsumerGroup"] = job_group(group, ref.name)
        if spec.dry_run:
            facts["completionTime"] = now_rfc3339()
            await self._write(ref, body, {**facts, "step": "Done"}, True, "DryRun",
                              f"dry run: {result.messages} message(s) would be re-processed")
            return
        then = "starting the Job" if job_mode else "pausing the subscription"
        await self._write(ref, body, {**facts, "step": "Planned"}, None, "Planned",
                          f"{result.messages} message(s) to re-process; {then}")
        await post_event(ref, "Normal", "Planned", f"{len(result.moves)} partition(s), "
                                                   f"{result.messages} message(s) to re-process")

    def _plan_facts(self, plan: Plan, offsets: Any, origin_ms: int | None) -> dict[str, Any]:
        facts: dict[str, Any] = {
            "plan": [{"topic": m.topic, "partition": m.partition, "currentOffset": m.current,
                      "newOffset": m.new, "messages": m.messages,
                      **({"endOffset": m.end} if m.end is not None else {})} for m in plan.moves],
            "snapshot": [{"topic": o.topic, "partition": o.partition, "offset": o.committed}
                         for o in offsets if o.committed is not None],
            "messagesToReplay": plan.messages, "startTime": now_rfc3339()}
        if origin_ms is not None:
            facts["resolvedTimestamp"] = _rfc3339(origin_ms)
        return facts

    def _running_before(self, key: str, body: Body, sub_key: str) -> str | None:
        """An older replay of the same subscription that has not finished."""
        namespace, name = sub_key.split("/", 1)
        mine = (body["metadata"].get("creationTimestamp", ""), key)
        for other_key, other in self.cache.items(PLURAL, namespace):
            spec, status = other.get("spec") or {}, other.get("status") or {}
            if other_key == key or spec.get("subscriptionRef", {}).get("name") != name or \
                    status.get("step") in FINAL or spec.get("dryRun") or spec.get("mode") == "Job":
                continue
            if (other["metadata"].get("creationTimestamp", ""), other_key) < mine:
                return other_key
        return None

    async def _pause(self, ref: ObjectRef, body: Body, sub_key: str, deployment: str) -> None:
        status = body.get("status") or {}
        paused = status.get("pausedReplicas")
        if paused is None:
            # Recorded before scaling to zero, so a restart knows what to restore.
            current = self.scaler.replicas_of(sub_key)
            if current is None:
                current = await deployment_replicas(ref.namespace, deployment) or 0
            await self._write(ref, body, {"pausedReplicas": current}, None, "Pausing",
                              f"pausing the subscription (it had {current} replica(s))")
            return
        await scale_deployment(ref.namespace, deployment, 0)
        self.scaler.set_replicas(sub_key, 0)
        await self._write(ref, body, {"step": "Paused", "pauseTime": now_rfc3339()}, None,
                          "WaitingForEmptyGroup", "consumers paused; waiting for the group to be Empty")
        await post_event(ref, "Normal", "Paused", f"scaled {deployment} from {paused} to 0 replicas")

    async def _move(self, ref: ObjectRef, body: Body, spec: EventReplaySpec, admin: ClusterAdmin,
                    sub_key: str, group: str, deployment: str) -> None:
        status = body.get("status") or {}
        info = await _describe(admin, group)
        if info.state not in ("Empty", "Dead") or info.members:
            waited = (_ms(now_rfc3339()) - _ms(status["pauseTime"])) / 1000
            if waited <= spec.empty_group_timeout_seconds:
                self.queue.add(f"{ref.namespace}/{ref.name}", 1.0)
                return
            await self._abort(ref, body, sub_key, deployment, "GroupNotEmpty", (
                f"group {group} still has {info.members} member(s) ({info.state}) after "
                f"{spec.empty_group_timeout_seconds}s: consumers outside eventsub's control? "
                "Nothing was moved"))
            return
        moves = _moves(status)
        wanted = {(m.topic, m.partition): m.new for m in moves}
        committed = await admin.committed_offsets(group, list(wanted))
        if any(committed.get(k) != v for k, v in wanted.items()):
            # The group is Empty: its committed offsets are final now (consumers commit as they
            # stop). Persist them as the snapshot before anything moves, so a restart after the
            # move still knows where the consumers were, and count the messages from them.
            await self._write(ref, body, self._final_positions(status, committed), None,
                              "MovingOffsets", "group Empty; moving its offsets")
            await admin.alter_group_offsets(group, wanted)
            await post_event(ref, "Normal", "OffsetsMoved",
                             f"moved the offsets of group {group} on {len(wanted)} partition(s)")
        await self._write(ref, body, {"step": "OffsetsMoved"}, None, "Verifying",
                          "offsets moved; verifying")

    @staticmethod
    def _final_positions(status: dict[str, Any],
                         committed: dict[tuple[str, int], int | None]) -> dict[str, Any]:
        plan = []
        for m in status.get("plan", []):
            current = committed.get((m["topic"], m["partition"]))
            base = current if current is not None else m["newOffset"]
            plan.append({**m, "currentOffset": current, "messages": max(0, base - m["newOffset"])})
        snapshot = [{"topic": t, "partition": p, "offset": o}
                    for (t, p), o in sorted(committed.items()) if o is not None]
        return {"plan": plan, "snapshot": snapshot,
                "messagesToReplay": sum(m["messages"] for m in plan)}

    async def _restore(self, ref: ObjectRef, body: Body, admin: ClusterAdmin, sub_key: str,
                       group: str, deployment: str) -> None:
        status = body.get("status") or {}
        moves = _moves(status)
        committed = await _committed(admin, group, moves)
        wrong = [m for m in moves if committed.get((m.topic, m.partition)) != m.new]
        if wrong:
            await self._abort(ref, body, sub_key, deployment, "VerifyFailed", (
                f"{wrong[0].topic}[{wrong[0].partition}] is at "
                f"{committed.get((wrong[0].topic, wrong[0].partition))}, not {wrong[0].new}: "
                "someone else moved the offsets"))
            return
        await self._resume(ref, sub_key, deployment, status)
        left = remaining(moves, committed, job_mode=False)
        await self._write(ref, body, {"step": "Restored", "remainingLag": left}, True, "Replaying",
                          f"offsets moved and verified; consumers resumed, {left} message(s) to "
                          "re-process")

    async def _abort(self, ref: ObjectRef, body: Body, sub_key: str, deployment: str, reason: str,
                     message: str) -> None:
        """A paused replay cannot go on: the subscription gets its replicas back, then it fails."""
        await self._resume(ref, sub_key, deployment, body.get("status") or {})
        await self._fail(ref, body, reason, f"{message}; the subscription's replicas were restored")

    async def _resume(self, ref: ObjectRef, sub_key: str, deployment: str,
                      status: dict[str, Any]) -> None:
        replicas = int(status.get("pausedReplicas") or 0)
        await scale_deployment(ref.namespace, deployment, replicas)
        self.scaler.set_replicas(sub_key, replicas)
        await post_event(ref, "Normal", "Resumed", f"scaled {deployment} back to {replicas} replica(s)")

    async def _progress(self, key: str, ref: ObjectRef, body: Body, admin: ClusterAdmin,
                        group: str) -> None:
        status = body.get("status") or {}
        moves = _moves(status)
        committed = await _committed(admin, group, moves)
        left = remaining(moves, committed, job_mode=False)
        if left > 0:
            await self._write(ref, body, {"remainingLag": left}, True, "Replaying",
                              f"{left} message(s) of the replayed range left to process")
            self.queue.add(key, 2.0)
            return
        await self._write(ref, body, {"step": "Done", "remainingLag": 0,
                                      "completionTime": now_rfc3339()}, True, "CaughtUp",
                          "the consumers re-processed the replayed range and caught up")
        await post_event(ref, "Normal", "CaughtUp", "replay complete")

    async def _start_job(self, ref: ObjectRef, body: Body, spec: EventReplaySpec,
                         admin: ClusterAdmin, subscription: Body, topics: list[str]) -> None:
        status = body.get("status") or {}
        group, name = status["jobConsumerGroup"], job_name(ref.name)
        moves = _moves(status)
        if await job_outcome(ref.namespace, name) is None:
            # Start offsets first: the Job's consumer begins from its group's commits. Only
            # while the Job does not exist, so a restart never rewinds a running Job.
            await admin.alter_group_offsets(group, {(m.topic, m.partition): m.new for m in moves})
            sub_spec = EventSubscriptionSpec.model_validate(subscription.get("spec") or {})
            connection = self.cache.get(
                "kafkaconnections", f"{ref.namespace}/{sub_spec.connection_ref.name}") or {}
            manifest = render_job(
                SubscriptionRef(ref.namespace, ref.name, ref.uid),
                SubscriptionRef(ref.namespace, subscription["metadata"]["name"],
                                subscription["metadata"]["uid"]),
                sub_spec, KafkaConnectionSpec.model_validate(connection.get("spec") or {}),
                topics, group, moves)
            await create_job(manifest)
            await post_event(ref, "Normal", "JobStarted",
                             f"Job {name} re-processes {status.get('messagesToReplay', 0)} message(s) "
                             f"as group {group}")
        await self._write(ref, body, {"step": "JobStarted", "jobName": name}, None, "Replaying",
                          f"Job {name} is re-processing the range; the subscription keeps running")

    async def _job_progress(self, key: str, ref: ObjectRef, body: Body, spec: EventReplaySpec,
                            admin: ClusterAdmin) -> None:
        status = body.get("status") or {}
        moves, group = _moves(status), status["jobConsumerGroup"]
        outcome = await job_outcome(ref.namespace, status["jobName"])
        committed = await _committed(admin, group, moves)
        left = remaining(moves, committed, job_mode=True)
        if outcome == "Failed" or outcome is None:
            await self._fail(ref, body, "JobFailed", f"Job {status['jobName']} "
                             f"{'failed' if outcome else 'is gone'}; {left} message(s) were left")
            return
        if outcome != "Complete":
            await self._write(ref, body, {"remainingLag": left}, None, "Replaying",
                              f"{left} message(s) of the range left to process")
            self.queue.add(key, 2.0)
            return
        if not spec.keep_job_group:
            await admin.delete_group(group)
        await self._write(ref, body, {"step": "Done", "remainingLag": left,
                                      "completionTime": now_rfc3339()}, True, "Completed",
                          f"Job {status['jobName']} re-processed the range")
        await post_event(ref, "Normal", "Completed", "bounded replay complete")

    async def _fail(self, ref: ObjectRef, body: Body, reason: str, message: str) -> None:
        await self._write(ref, body, {"step": "Failed", "completionTime": now_rfc3339()}, False,
                          reason, message)
        await post_event(ref, "Warning", reason, message)

    async def _write(self, ref: ObjectRef, body: Body, facts: dict[str, Any], ok: bool | None,
                     reason: str, message: str) -> None:
        status = with_condition(body, facts, type_="Succeeded", ok=ok, reason=reason,
                                message=message)
        await write_status(ref, body, status)


async def _committed(admin: ClusterAdmin, group: str,
                     moves: list[Move]) -> dict[tuple[str, int], int | None]:
    """The group's committed offsets on the replayed partitions, asked only once its coordinator
    answers DescribeGroups (librdkafka crashes on an OffsetFetch answered with a coordinator
    error)."""
    await _describe(admin, group)
    return await admin.committed_offsets(group, [(m.topic, m.partition) for m in moves])


async def _describe(admin: ClusterAdmin, group: str) -> GroupInfo:
    """The group's state, asked only once the cluster answered a metadata request: librdkafka
    (2.16) aborts the process when a group-coordinator request timed out against a broker that
    is down and the broker comes back."""
    await admin.describe_cluster()
    info = (await admin.describe_groups([group])).get(group)
    if isinstance(info, KafkaRequestError):
        raise info
    assert info is not None
    return info
