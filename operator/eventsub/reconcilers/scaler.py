"""The autoscaler: per connection, one lag cycle for every subscription that is due, then a
decision per subscription (core.scaling) and a scale of its Deployment when it changes."""

from __future__ import annotations

import asyncio
import logging
import time
from collections import defaultdict
from collections.abc import Callable
from typing import cast

from eventsub import metrics
from eventsub.api.resources import EVENT_SUBSCRIPTION
from eventsub.api.subscription import (
    LagHealth,
    PartitionLag,
    SubscriptionLagStatus,
)
from eventsub.core.activity import ActivityTracker
from eventsub.core.health import OK, STALL, STOP, UNKNOWN, WARN
from eventsub.core.observation import Observation, observe
from eventsub.core.scaling import (
    Decision,
    LagSnapshot,
    ScalerMemory,
    decide,
    next_poll,
    resumed_memory,
)
from eventsub.core.status import SCALER, merged
from eventsub.fence import NotLeading
from eventsub.kafka.errors import KafkaUnavailable
from eventsub.kafka.lag import GroupRead, LogStarts, collect
from eventsub.kafka.offsets_log import OffsetsLogReader
from eventsub.kafka.registry import Entry
from eventsub.kube.api import Kube
from eventsub.kube.errors import KubeError
from eventsub.reconcilers.contracts import Connections, Target
from eventsub.reconcilers.offset_keeper import OffsetKeeper
from eventsub.reconcilers.status import (
    announce_transition,
    now_rfc3339,
    read_status,
    updated_condition,
    write_part,
)
from eventsub.runtime.cache import Body, ObjectCache

logger = logging.getLogger("eventsub.scaler")
PLURAL = EVENT_SUBSCRIPTION.plural
STATUS_MIN_SECONDS = 5.0  # status is written on change, at most this often per subscription
_HEALTH_REASONS = {OK: "Consuming", UNKNOWN: "Consuming", WARN: "FallingBehind",
                   STALL: "PartitionStalled", STOP: "PartitionStopped"}


class Scaler:
    def __init__(self, kube: Kube, cache: ObjectCache, connections: Connections,
                 clock: Callable[[], float] = time.monotonic, offsets_log: bool = True) -> None:
        self.kube, self.cache, self.connections, self.clock = kube, cache, connections, clock
        self.use_offsets_log = offsets_log  # EVENTSUB_OFFSETS_LOG (on by default)
        self.targets: dict[str, Target] = {}
        self.keeper = OffsetKeeper(kube)
        self.activity = ActivityTracker()  # per event, for the catalog
        self._cycles: dict[str, asyncio.Task[None]] = {}  # the running cycle per connection
        self._log_starts: dict[str, LogStarts] = defaultdict(LogStarts)  # per connection
        # Per connection: the committed offsets and members of its groups, from __consumer_offsets.
        self._offsets_logs: dict[str, OffsetsLogReader] = {}
        self._rebuilt: dict[str, float] = {}  # when a connection's client was last rebuilt
        # Why a subscription must not be scaled now (a replay has paused it), or None.
        self.held: Callable[[str], str | None] = lambda key: None

    def register(self, target: Target) -> None:
        """Adds or updates a subscription, keeping what was learned if its group is unchanged.

        The known target is updated in place: a lag cycle running now holds it and records a
        scale on it (a copy registered meanwhile would miss that scale, and a subscription
        scaled to zero could then believe it still runs consumers and never wake)."""
        known = self.targets.get(target.key)
        if known is None or known.group != target.group or known.topics != target.topics:
            target.memory = resumed_memory(target.replicas or 0, self.clock())
            self.targets[target.key] = target
            return
        known.ref, known.deployment, known.policy = target.ref, target.deployment, target.policy
        known.start_position, known.connection = target.start_position, target.connection
        known.last_status_time = target.last_status_time  # the new spec's status goes out soon
        if known.replicas is None or target.replicas_asked_at >= known.replicas_asked_at:
            # Asked after the scaler last wrote or read them: the reconciler's figure is news
            # (a scale by someone else); asked before, it may predate the scaler's write.
            known.replicas, known.replicas_asked_at = target.replicas, target.replicas_asked_at

    def unregister(self, key: str) -> None:
        target = self.targets.pop(key, None)
        self.keeper.forget(key)
        if target is not None:
            metrics.forget_subscription(target.ref.namespace, target.ref.name)

    def replicas_of(self, key: str) -> int | None:
        target = self.targets.get(key)
        return target.replicas if target is not None else None

    def set_replicas(self, key: str, replicas: int) -> None:
        """Someone else (a replay) set the Deployment's replicas: remember, and start afresh."""
        target = self.targets.get(key)
        if target is not None:
            target.replicas, target.memory = replicas, ScalerMemory()
            target.replicas_asked_at = time.monotonic()

    async def run(self) -> None:
        """Starts a cycle per connection whenever some of its subscriptions are due; a slow or
        unreachable cluster only delays its own subscriptions."""
        try:
            while True:
                now = self.clock()
                due: dict[str, list[Target]] = defaultdict(list)
                for target in list(self.targets.values()):
                    running = self._cycles.get(target.connection)
                    if target.next_due <= now and (running is None or running.done()):
                        target.next_due = next_poll(now, target.policy.poll_interval_seconds)
                        due[target.connection].append(target)
                for connection, targets in due.items():
                    self._cycles[connection] = asyncio.create_task(self._bounded(connection, targets))
                self._close_unused_offsets_logs()
                await asyncio.sleep(0.25)
        finally:
            for task in self._cycles.values():
                task.cancel()
            for reader in self._offsets_logs.values():
                reader.close(timeout=0)

    async def _bounded(self, connection: str, targets: list[Target]) -> None:
        limit = 3 * self.connections.registry.request_timeout + 15
        try:
            await asyncio.wait_for(self._cycle(connection, targets), limit)
        except TimeoutError:
            logger.warning("lag cycle on %s took over %.0fs; abandoned", connection, limit)
        except Exception:
            logger.exception("lag cycle on %s failed", connection)

    async def _cycle(self, connection: str, targets: list[Target]) -> None:
        started = time.monotonic()
        entry = self.connections.available(connection)
        if entry is None:
            self._close_offsets_log(connection)
            problem = self.connections.problem(connection)
            reads = {t.group: GroupRead(error=f"{problem.reason}: {problem.message}") for t in targets}
        else:
            groups: dict[str, list[str]] = {}
            for t in targets:
                groups.setdefault(t.group, []).extend(t.topics)
            reader = self._offsets_log(connection, entry) if self.use_offsets_log else None
            reads = await collect(entry.admin, groups, self._log_starts[connection], reader)
            if reader is not None:
                metrics.OFFSETS_LOG_CAUGHT_UP.labels(connection).set(1 if reader.caught_up else 0)
            self._heal(connection, reads)
            self._sample_activity(connection, reads)
            await self._keep_offsets(targets, reads, entry)
        metrics.LAG_CYCLE_SECONDS.labels(connection).observe(time.monotonic() - started)
        now = self.clock()
        results = await asyncio.gather(*(self._step(t, reads[t.group], now) for t in targets),
                                       return_exceptions=True)
        for target, result in zip(targets, results, strict=True):
            if isinstance(result, NotLeading):
                logger.info("%s: %s", target.key, result)
            elif isinstance(result, KubeError):  # the API server's trouble, retried next poll
                logger.warning("scaling %s: %s", target.key, result.message)
            elif isinstance(result, Exception):
                logger.error("scaling %s failed: %s", target.key, result, exc_info=result)

    def _offsets_log(self, connection: str, entry: Entry) -> OffsetsLogReader:
        """The connection's __consumer_offsets reader (a new one when its settings changed),
        told every group polled on the connection, not only this cycle's."""
        reader = self._offsets_logs.get(connection)
        if reader is None or reader.fingerprint != entry.fingerprint:
            if reader is not None:
                reader.close(timeout=0)
            reader = OffsetsLogReader(entry.config, connection, entry.fingerprint).start()
            self._offsets_logs[connection] = reader
        reader.track({t.group for t in self.targets.values() if t.connection == connection})
        return reader

    def _close_unused_offsets_logs(self) -> None:
        """A connection none of whose subscriptions is polled any more keeps no reader (each
        holds a consumer, its thread and its buffers)."""
        used = {t.connection for t in self.targets.values()}
        for connection in [c for c in self._offsets_logs if c not in used]:
            self._close_offsets_log(connection)

    def _close_offsets_log(self, connection: str) -> None:
        """No reader while the connection is unavailable: the next cycle after its probe
        succeeds starts a fresh one, whose view is trusted only once it has read the topic up to
        where it then ends (requests answer meanwhile). A reader kept across the outage could
        not say when it is current again: its consumer reports no end of partition it has
        already reported, and a fetch error stays its last word until a new record comes."""
        reader = self._offsets_logs.pop(connection, None)
        if reader is not None:
            metrics.forget_offsets_log(connection)
            logger.info("closing the __consumer_offsets reader of %s until its probe succeeds",
                        connection)
            reader.close(timeout=0)

    def _sample_activity(self, connection: str, reads: dict[str, GroupRead]) -> None:
        """Each topic's summed log-end offsets, as this cycle read them, for the catalog."""
        ends: dict[tuple[str, int], int] = {}
        for read in reads.values():
            ends.update({(p.topic, p.partition): p.log_end for p in read.offsets})
        totals: dict[tuple[str, str], int] = defaultdict(int)
        cluster = self.connections.registry.cluster_of(connection)
        for (topic, _), end in ends.items():
            totals[(cluster, topic)] += end
        self.activity.observe(totals, time.time())

    async def _keep_offsets(self, targets: list[Target], reads: dict[str, GroupRead],
                            entry: Entry) -> None:
        """The retention guard, for the subscriptions no replay holds (a replay moves offsets)."""
        for target in targets:
            body = self.cache.get(PLURAL, target.key)
            if body is not None and self.held(target.key) is None:
                await self.keeper.observe(target, reads[target.group], entry, body)

    def _heal(self, connection: str, reads: dict[str, GroupRead]) -> None:
        """Every lag read of a cycle failed: no more requests to that cluster until its probe
        succeeds again, which then also gives it a fresh client.

        librdkafka's admin client can stay stuck on a group coordinator it looked up while the
        coordinator was not ready (a fresh cluster creating __consumer_offsets, a restarted
        broker), and its coordinator requests can abort the process when they time out against
        a cluster that is down: both are avoided by stopping and reconnecting."""
        if not reads or any(r.error is None for r in reads.values()):
            return
        errors = [r.error or "" for r in reads.values()]
        if all(e.startswith("KafkaUnavailable") for e in errors):
            logger.warning("lag reads on %s failed; waiting for the connection probe", connection)
            self.connections.mark_unavailable(connection, KafkaUnavailable(errors[0]))
        elif self.clock() - self._rebuilt.get(connection, -1e9) > 60:
            logger.warning("lag reads on %s keep failing; reconnecting its admin client", connection)
            self.connections.registry.rebuild(connection)
            self._rebuilt[connection] = self.clock()

    async def _step(self, target: Target, read: GroupRead, now: float) -> None:
        if self.held(target.key) is not None:
            return  # paused by a replay: its replicas are the replay's business until it resumes
        if target.replicas is None or target.policy.mode == "Manual":
            target.replicas_asked_at = time.monotonic()
            target.replicas = await self.kube.deployment_replicas(target.ref.namespace, target.deployment)
            if target.replicas is None:
                return  # the reconciler has not created the Deployment yet
        observation: Observation | None = None
        if read.error is not None:
            snapshot = LagSnapshot(ok=False, error=read.error)
        else:
            observation = observe(target.history, read.offsets, members=read.members,
                                  owners=read.owners,
                                  replicas=target.replicas, start_position=target.start_position,
                                  poll_seconds=target.policy.poll_interval_seconds, now=now)
            target.history, snapshot = observation.history, observation.snapshot
        decision = decide(target.policy, target.replicas, snapshot, target.memory, now)
        target.memory, target.desired = decision.memory, decision.desired
        scaled = decision.replicas != target.replicas and target.policy.mode != "Manual"
        if scaled:
            await self._scale(target, decision)
        self._export(target, observation)
        due = scaled or now - target.last_status_time >= STATUS_MIN_SECONDS
        if due and await self._write_status(target, decision, observation, read):
            target.last_status_time = now

    async def _scale(self, target: Target, decision: Decision) -> None:
        before = target.replicas or 0
        if not await self.kube.scale_deployment(target.ref.namespace, target.deployment, decision.replicas):
            target.replicas = None
            return
        direction = "up" if decision.replicas > before else "down"
        target.replicas, target.replicas_asked_at = decision.replicas, time.monotonic()
        target.last_scale_time, target.last_scale_reason = now_rfc3339(), decision.reason
        metrics.SCALE_EVENTS.labels(target.ref.namespace, target.ref.name, direction).inc()
        await self.kube.post_event(target.ref, "Normal", "ScaledUp" if direction == "up" else "ScaledDown",
                         f"{before} -> {decision.replicas} replicas: {decision.reason}")

    def _export(self, target: Target, observation: Observation | None) -> None:
        ns, name = target.ref.namespace, target.ref.name
        figures: dict[str, float] = {metrics.REPLICAS: target.replicas or 0,
                                     metrics.DESIRED: target.desired or 0}
        if observation is not None:  # else the last lag read stays
            figures[metrics.LAG] = observation.snapshot.total_lag
            figures[metrics.LAG_READ_TIME] = time.time()
            metrics.PARTITIONS.set(ns, name, ((v.topic, v.partition, v.lag, v.lag_seconds)
                                              for v in observation.partitions))
        metrics.SUBSCRIPTIONS.set((ns, name), figures)

    async def _write_status(self, target: Target, decision: Decision,
                            observation: Observation | None, read: GroupRead) -> bool:
        body = self.cache.get(PLURAL, target.key)
        if body is None:
            return False
        if observation is None:
            status = self._unread(target, body, decision)
        else:
            status = self._observed(target, body, decision, observation, read)
        for condition_ in status.conditions:
            await announce_transition(self.kube, target.ref, body, condition_)
        # The LagAvailable message changes with every decision: on its own it is no reason to write.
        return await write_part(self.kube, SCALER, target.ref, body, status, ignore_messages=True)

    @staticmethod
    def _unread(target: Target, body: Body, decision: Decision) -> SubscriptionLagStatus:
        """The lag could not be read: the last figures stay, the condition says they are old."""
        known = read_status(body, SubscriptionLagStatus)
        lag = updated_condition(body, "LagAvailable", False, "LagUnavailable", decision.reason)
        return merged(known, SubscriptionLagStatus(
            replicas=target.replicas, desired_replicas=decision.desired,
            last_scale_time=target.last_scale_time, last_scale_reason=target.last_scale_reason,
            conditions=[lag, *(c for c in known.conditions if c.type == "Healthy")]))

    @staticmethod
    def _observed(target: Target, body: Body, decision: Decision, observation: Observation,
                  read: GroupRead) -> SubscriptionLagStatus:
        snapshot = observation.snapshot
        lag = updated_condition(body, "LagAvailable", True, "LagRead", (
            f"group {target.group}: {read.state}, {read.members} member(s); {decision.reason}"))
        bad = [v for v in observation.partitions if v.health in (STALL, STOP, WARN)]
        message = ", ".join(f"{v.topic}[{v.partition}] {v.health} (lag {v.lag})" for v in bad[:10])
        healthy = updated_condition(body, "Healthy", not bad, _HEALTH_REASONS[observation.health],
                                    message or "every partition is consumed")
        return SubscriptionLagStatus(
            replicas=target.replicas, desired_replicas=decision.desired,
            last_scale_time=target.last_scale_time, last_scale_reason=target.last_scale_reason,
            offsets_renewed_time=target.offsets_renewed_time,
            total_lag=snapshot.total_lag, max_lag_seconds=int(snapshot.max_lag_seconds or 0),
            health=cast(LagHealth, observation.health),
            partitions=[PartitionLag(topic=v.topic, partition=v.partition, lag=v.lag,
                                     lag_seconds=int(v.lag_seconds), health=cast(LagHealth, v.health))
                        for v in observation.partitions],
            conditions=[lag, healthy])
