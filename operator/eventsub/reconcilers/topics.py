"""EventTopic: make the Kafka topic match the spec, in batches per cluster.

One pass takes every queued EventTopic, groups them by connection, observes all of a group's
topics with one describe, plans each (core.topic_plan), and applies the plans with one create,
one partition and one config request. A pass that changed something re-queues its topics at
once; the next pass verifies and reports them Ready, so status always shows what Kafka has.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from pydantic import ValidationError

from eventsub.api.base import spec_errors
from eventsub.api.resources import EVENT_TOPIC, KAFKA_CONNECTION
from eventsub.api.topic import (
    DELETE_TOPIC_FINALIZER,
    EventTopicSpec,
    EventTopicStatus,
    TopicSchemaStatus,
)
from eventsub.core.conditions import find
from eventsub.core.ownership import Claim, conflict_message, owner
from eventsub.core.schema_plan import CONDITION as SCHEMA_CONDITION
from eventsub.core.schema_plan import ready_with_schema
from eventsub.core.status import TOPIC, topic_status
from eventsub.core.topic_plan import (
    DesiredTopic,
    ObservedTopic,
    TopicPlan,
    check_limits,
    plan_topic,
)
from eventsub.kafka.admin import ClusterAdmin, Observed, counting_calls
from eventsub.kafka.errors import KafkaRequestError, KafkaUnavailable
from eventsub.kube.api import Kube
from eventsub.kube.errors import KubeError
from eventsub.kube.objects import ObjectRef
from eventsub.reconcilers.contracts import Connections
from eventsub.reconcilers.status import (
    announce_transition,
    generation,
    read_status,
    updated_condition,
    write_part,
)
from eventsub.runtime.cache import Body, ObjectCache
from eventsub.runtime.contract import EachKey, Reference
from eventsub.runtime.queue import WorkQueue

logger = logging.getLogger("eventsub.topic")
PLURAL = EVENT_TOPIC.plural
VERIFY_DELAY = 0.2  # seconds between acting and verifying: metadata propagates asynchronously
# A created topic is not created again for this long while the brokers do not show it yet (they
# publish new topics after creating the logs of earlier ones: seconds in a burst); each repeat
# costs the controller a request for nothing.
APPEAR_SECONDS = 10.0
# Held by Delete-policy EventTopics only, so deleting a Retain topic never waits on anything.
FINALIZER = DELETE_TOPIC_FINALIZER
LEGACY_FINALIZERS = ("eventsub.io/finalizer",)  # what earlier versions set through kopf
DELETION_RETRY_SECONDS = 10.0
ALREADY_EXISTS = "TopicAlreadyExists"  # a create's answer for a topic Kafka has


_Claimed = tuple[str, Claim, str]  # the Kafka topic name, the claim, its connection key


@dataclass
class Item:
    key: str
    body: Body
    spec: EventTopicSpec
    desired: DesiredTopic

    @property
    def ref(self) -> ObjectRef:
        return ObjectRef.of(self.body, PLURAL)

    @property
    def connection_key(self) -> str:
        return connection_key(self.body, self.spec)

    @property
    def status(self) -> EventTopicStatus:
        return read_status(self.body, EventTopicStatus)


def connection_key(body: Body, spec: EventTopicSpec) -> str:
    return f"{body['metadata']['namespace']}/{spec.connection_ref.name}"


def topic_name(body: Body, spec: EventTopicSpec) -> str:
    return spec.topic_name or body["metadata"]["name"]


def desired_topic(body: Body, spec: EventTopicSpec) -> DesiredTopic:
    return DesiredTopic(name=topic_name(body, spec), partitions=spec.partitions,
                        replication_factor=spec.replication_factor, config=dict(spec.config))


def manages(body: Body, name: str) -> bool:
    """Has this EventTopic been reconciling Kafka topic `name`? (Its status says so.)"""
    status = read_status(body, EventTopicStatus)
    return status.topic_name == name and status.topic_id is not None


def references(body: Body) -> list[Reference]:
    """What a topic's reconcile reads: its connection."""
    try:
        spec = EventTopicSpec.model_validate(body.get("spec") or {})
    except ValidationError:
        return []
    return [(KAFKA_CONNECTION.plural, connection_key(body, spec))]


def schema_status_changed(before: Body, after: Body) -> bool:
    """Did the schema writer's condition change? (Ready includes it; the topic's own status
    writes need no further pass.)"""
    def schema_condition(body: Body) -> object:
        return find(read_status(body, TopicSchemaStatus).conditions, SCHEMA_CONDITION)
    return schema_condition(before) != schema_condition(after)


class TopicDeletions(EachKey):
    """Delete-policy EventTopics being deleted, one by one until Kafka's topic is gone."""

    def __init__(self, topics: TopicReconciler) -> None:
        self.topics = topics

    async def reconcile_one(self, key: str) -> None:
        await self.topics.finish_deletion(key)


class TopicReconciler:
    def __init__(self, kube: Kube, cache: ObjectCache, connections: Connections, queue: WorkQueue,
                 resync_seconds: float, deletion_timeout_seconds: float) -> None:
        self.kube, self.cache, self.connections, self.queue = kube, cache, connections, queue
        self.resync_seconds = resync_seconds
        self.deletion_timeout_seconds = deletion_timeout_seconds
        self._created: set[str] = set()  # keys whose topic this process created (not adopted)
        self._appearing: dict[str, float] = {}  # key -> when its create was answered, until seen
        self.deletions = WorkQueue()  # Delete-policy topics being deleted, until Kafka's is gone
        self._failing_since: dict[str, float] = {}  # key -> first failed deletion attempt
        self._claimed: dict[str, tuple[object, _Claimed | None]] = {}  # key -> (version, claim)

    # -- scheduling -------------------------------------------------------------------------

    def _resync(self, key: str) -> None:
        self.queue.forget(key)
        self.queue.add(key, self.resync_seconds)

    # -- one pass ----------------------------------------------------------------------------

    async def reconcile(self, keys: Sequence[str]) -> None:
        groups: dict[str, list[Item]] = defaultdict(list)
        for key in keys:
            item = await self._item(key)
            if item is not None:
                groups[item.connection_key].append(item)
        claims = self._claims()
        await asyncio.gather(*(self._reconcile_group(conn, items, claims)
                               for conn, items in groups.items()))

    async def _item(self, key: str) -> Item | None:
        body = self.cache.get(PLURAL, key)
        if body is None:
            self._appearing.pop(key, None)
            return None
        finalizers = body["metadata"].get("finalizers") or []
        if body["metadata"].get("deletionTimestamp"):
            if _holds_ours(finalizers):
                self.deletions.add(key)
            return None
        try:
            spec = EventTopicSpec.model_validate(body.get("spec") or {})
        except ValidationError as error:
            await self._report(key, body, None, "InvalidSpec", spec_errors(error))
            self._resync(key)
            return None
        desired = desired_topic(body, spec)
        refusal = check_limits(desired)
        if refusal is not None:  # what the Kafka client would refuse fails here, alone
            await self._report(key, body, None, refusal.reason, refusal.message)
            self._resync(key)
            return None
        wants_finalizer = spec.deletion_policy == "Delete"
        if wants_finalizer != (FINALIZER in finalizers) or set(LEGACY_FINALIZERS) & set(finalizers):
            # The patch's watch event brings the topic back to a pass with the finalizer right.
            try:
                await self.kube.set_finalizer(ObjectRef.of(body, PLURAL), body["metadata"], FINALIZER,
                                    wants_finalizer, drop=LEGACY_FINALIZERS)
            except KubeError as error:  # e.g. a conflict: changed meanwhile; only this one waits
                logger.info("EventTopic %s: finalizer not updated (%s); retrying", key,
                            error.message)
                self.queue.retry(key)
            return None
        return Item(key, body, spec, desired)

    async def _reconcile_group(self, connection: str, items: list[Item],
                               claims: Mapping[str, list[tuple[Claim, str]]]) -> None:
        entry = self.connections.available(connection)
        if entry is None:
            if self.connections.probing(connection):
                return  # its first probe is pending; it re-queues these topics when it ends
            problem = self.connections.problem(connection)
            await asyncio.gather(*(self._fail(i, problem.reason, problem.message) for i in items))
            return
        owned = []
        for item in items:
            holder = self._owner(item, entry.cluster_id, claims)
            if holder is not None and holder.key != item.key:
                # No topic facts: this resource does not manage the topic, and says so.
                await self._report(item.key, item.body, None, "ResourceConflict", conflict_message(
                    item.desired.name, holder, self._claim(item.body, item.desired.name)),
                    keep_facts=False)
                self._resync(item.key)
            else:
                owned.append(item)
        if owned:
            await self._sync(connection, entry.admin, owned)

    def _claims(self) -> dict[str, list[tuple[Claim, str]]]:
        """Every EventTopic by the Kafka topic name it claims, with its connection key. Each
        object's claim is worked out again only when it changed (its resourceVersion): a pass
        runs this over every topic, and parsing them all each time dominated a burst's work."""
        claims: dict[str, list[tuple[Claim, str]]] = defaultdict(list)
        memo: dict[str, tuple[object, _Claimed | None]] = {}
        for key, body in self.cache.items(PLURAL):
            version = body["metadata"].get("resourceVersion")
            held = self._claimed.get(key)
            if held is None or version is None or held[0] != version:
                held = (version, self._claimed_by(body))
            memo[key] = held
            if held[1] is not None:
                name, claim, connection = held[1]
                claims[name].append((claim, connection))
        self._claimed = memo
        return claims

    def _claimed_by(self, body: Body) -> _Claimed | None:
        try:
            spec = EventTopicSpec.model_validate(body.get("spec") or {})
        except ValidationError:
            return None  # an invalid spec claims nothing
        name = topic_name(body, spec)
        return name, self._claim(body, name), connection_key(body, spec)

    @staticmethod
    def _claim(body: Body, name: str | None = None) -> Claim:
        meta = body["metadata"]
        return Claim(meta.get("creationTimestamp", ""), meta["namespace"], meta["name"],
                     manages=name is not None and manages(body, name))

    def _owner(self, item: Item, cluster_id: str | None,
               claims: Mapping[str, list[tuple[Claim, str]]]) -> Claim | None:
        """The oldest EventTopic naming the same Kafka topic on the same cluster."""
        def same_cluster(connection: str) -> bool:
            if connection == item.connection_key:
                return True
            entry = self.connections.registry.get(connection)
            return cluster_id is not None and entry is not None and entry.cluster_id == cluster_id
        return owner(c for c, connection in claims.get(item.desired.name, []) if same_cluster(connection))

    async def _sync(self, connection: str, admin: ClusterAdmin, items: list[Item]) -> None:
        with counting_calls() as made:  # this pass's own: another may run on the same client
            try:
                await self._sync_calls(connection, admin, items)
            finally:
                summary = ", ".join(f"{k} {v}" for k, v in sorted(made.items()) if v)
                logger.info("pass over %d EventTopic(s) on %s; Kafka admin requests: %s",
                            len(items), connection, summary or "none")

    async def _sync_calls(self, connection: str, admin: ClusterAdmin, items: list[Item]) -> None:
        try:
            described = await admin.describe_topics(i.desired.name for i in items)
        except KafkaRequestError as error:
            await self._kafka_failed(connection, items, error)
            return
        # A topic Kafka would not describe (e.g. an illegal name) fails alone.
        refused = [i for i in items if isinstance(described.get(i.desired.name), KafkaRequestError)]
        await asyncio.gather(*(self._refused(i, described[i.desired.name]) for i in refused))
        items = [i for i in items if i not in refused]
        observed = {n: o for n, o in described.items() if not isinstance(o, KafkaRequestError)}
        plans = {i.key: plan_topic(i.desired, observed.get(i.desired.name)) for i in items}
        items = self._skip_appearing(items, plans)
        acting = [i for i in items if plans[i.key].acts]
        try:
            outcomes = await self._apply(admin, acting, plans)
        except KafkaRequestError as error:
            await self._kafka_failed(connection, acting, error)
            outcomes = None
        await asyncio.gather(*(
            self._after_pass(i, plans[i.key], observed.get(i.desired.name), outcomes)
            for i in items if outcomes is not None or not plans[i.key].acts))

    def _skip_appearing(self, items: list[Item], plans: Mapping[str, TopicPlan]) -> list[Item]:
        """The items to act on: a topic created moments ago that the brokers do not show yet is
        only verified again later, not created again."""
        now = time.monotonic()
        acting = []
        for item in items:
            created = self._appearing.get(item.key)
            if plans[item.key].create and created is not None and now - created < APPEAR_SECONDS:
                self.queue.forget(item.key)
                self.queue.add(item.key, VERIFY_DELAY)
            else:
                self._appearing.pop(item.key, None)
                acting.append(item)
        return acting

    async def _apply(self, admin: ClusterAdmin, items: list[Item],
                     plans: Mapping[str, TopicPlan]) -> dict[str, KafkaRequestError | None]:
        """Creates, grows and reconfigures in one request each; per-topic outcomes by name."""
        by_name = {i.desired.name: plans[i.key] for i in items}
        creates = [i.desired for i in items if plans[i.key].create]
        grows = {n: p.grow_partitions_to for n, p in by_name.items() if p.grow_partitions_to is not None}
        alters = {n: (p.set_config, p.delete_config) for n, p in by_name.items()
                  if p.set_config or p.delete_config}
        created, grown, altered = await asyncio.gather(
            admin.create_topics(creates), admin.create_partitions(grows),
            admin.alter_topic_configs(alters))
        outcomes: dict[str, KafkaRequestError | None] = {}
        for results in (created, grown, altered):
            for name, error in results.items():
                if isinstance(error, KafkaUnavailable):
                    raise error
                if error is not None:
                    outcomes[name] = error
                else:
                    outcomes.setdefault(name, None)
        return outcomes

    async def _after_pass(self, item: Item, plan: TopicPlan, observed: ObservedTopic | None,
                          outcomes: Mapping[str, KafkaRequestError | None] | None) -> None:
        error = (outcomes or {}).get(item.desired.name)
        if error is not None and error.reason != ALREADY_EXISTS:
            await self._fail(item, error.reason, error.message, retry=False,
                             observed=observed)
            return
        if plan.acts:
            # A topic Kafka already had was created by an earlier pass (the brokers do not
            # show it yet: they publish new topics after creating the previous ones' logs) or
            # by someone else: the pass that observes it says which, so it is announced once.
            if plan.create:
                self._appearing[item.key] = time.monotonic()
            if error is None:
                await self._announce_actions(item, plan, observed)
            self.queue.forget(item.key)
            self.queue.add(item.key, VERIFY_DELAY)
            return
        assert observed is not None  # a plan that does not act found the topic
        if not item.status.topic_id and item.key not in self._created:
            await self.kube.post_event(item.ref, "Normal", "TopicAdopted",
                             f"adopted existing Kafka topic {observed.name}")
        self._created.discard(item.key)
        if plan.refusals:
            message = "; ".join(r.message for r in plan.refusals)
            await self._report(item.key, item.body, observed, plan.refusals[0].reason, message)
        else:
            await self._report(item.key, item.body, observed, "InSync",
                               f"Kafka topic {observed.name} matches the spec", ok=True)
        self._resync(item.key)

    async def _announce_actions(self, item: Item, plan: TopicPlan,
                                observed: ObservedTopic | None) -> None:
        name = item.desired.name
        if plan.create:
            self._created.add(item.key)
            if item.status.topic_id:
                await self.kube.post_event(item.ref, "Warning", "TopicRecreated", (
                    f"Kafka topic {name} was deleted outside eventsub (its data is gone); "
                    f"created it again with {item.desired.partitions} partitions"))
            else:
                await self.kube.post_event(item.ref, "Normal", "TopicCreated",
                                 f"created Kafka topic {name} with {item.desired.partitions} partitions")
            return
        changes = ", ".join(plan.changes)
        if not item.status.topic_id and item.key not in self._created:
            await self.kube.post_event(item.ref, "Normal", "TopicAdopted",
                             f"adopted existing Kafka topic {name}; changed {changes}")
        elif item.status.observed_generation == generation(item.body):
            await self.kube.post_event(item.ref, "Warning", "DriftReverted",
                             f"Kafka topic {name} was changed outside eventsub; reverted {changes}")
        else:
            await self.kube.post_event(item.ref, "Normal", "TopicUpdated",
                                       f"updated Kafka topic {name}: {changes}")
        self._created.add(item.key)  # adoption is announced once

    async def _refused(self, item: Item, error: Observed) -> None:
        assert isinstance(error, KafkaRequestError)
        await self._fail(item, error.reason, error.message, retry=isinstance(error, KafkaUnavailable))

    async def _kafka_failed(self, connection: str, items: list[Item], error: KafkaRequestError) -> None:
        if isinstance(error, KafkaUnavailable):
            self.connections.mark_unavailable(connection, error)
        await asyncio.gather(*(self._fail(i, error.reason, error.message) for i in items))

    async def _fail(self, item: Item, reason: str, message: str, retry: bool = True,
                    observed: ObservedTopic | None = None) -> None:
        await self._report(item.key, item.body, observed, reason, message)
        if retry:
            self.queue.retry(item.key)
        else:
            self._resync(item.key)

    async def _report(self, key: str, body: Body, observed: ObservedTopic | None, reason: str,
                      message: str, ok: bool = False, keep_facts: bool = True) -> None:
        """Writes the status: the topic as observed now (else as last known, unless keep_facts
        is False) and the Ready condition."""
        schema_refused = False
        if keep_facts and (body.get("spec") or {}).get("schema"):
            schema = find(read_status(body, TopicSchemaStatus).conditions, SCHEMA_CONDITION)
            # A refused schema has been announced by the schema writer, with its own Event.
            schema_refused = ok and schema is not None and schema.status == "False"
            ok, reason, message = ready_with_schema(schema, generation(body), ok, reason, message)
        ready = updated_condition(body, "Ready", ok, reason, message)
        known = read_status(body, EventTopicStatus) if keep_facts else None
        status = topic_status(observed or known, ready, generation(body))
        ref = ObjectRef.of(body, PLURAL)
        if not schema_refused:
            await announce_transition(self.kube, ref, body, ready)
        await write_part(self.kube, TOPIC, ref, body, status)

    # -- deletion ---------------------------------------------------------------------------

    async def finish_deletion(self, key: str) -> None:
        """Deletes the Kafka topic of a Delete-policy EventTopic, then lets the resource go."""
        body = self.cache.get(PLURAL, key)
        if body is None or not _holds_ours(body["metadata"].get("finalizers") or []):
            self._failing_since.pop(key, None)
            return
        ref = ObjectRef.of(body, PLURAL)
        try:
            spec = EventTopicSpec.model_validate(body.get("spec") or {})
        except ValidationError:
            spec = None
        if spec is None or spec.deletion_policy != "Delete":
            # Switched to Retain while the deletion waited (to save the data): keep the topic.
            await self.kube.post_event(ref, "Normal", "TopicRetained",
                             "deletionPolicy is not Delete: the Kafka topic was kept")
        elif self.connections.probing(connection_key(body, spec)):
            self.deletions.add(key, 1.0)  # not probed yet (a fresh process): decide nothing
            return
        else:
            try:
                logger.info("EventTopic %s: %s", key, await self.delete(key, body, spec))
            except KafkaRequestError:
                self.deletions.add(key, DELETION_RETRY_SECONDS)
                return
        self._failing_since.pop(key, None)
        await self.kube.set_finalizer(ref, body["metadata"], FINALIZER, False, drop=LEGACY_FINALIZERS)

    async def delete(self, key: str, body: Body, spec: EventTopicSpec) -> str:
        """Deletes the Kafka topic of a Delete-policy EventTopic being deleted.

        Returns what happened. Raises KafkaUnavailable while Kafka cannot be reached and the
        deletion deadline has not passed; after it, the topic is kept and the resource released,
        so an outage never wedges a namespace deletion.
        """
        name, ref = topic_name(body, spec), ObjectRef.of(body, PLURAL)
        connection = connection_key(body, spec)
        # A pass that began before the deletion could still create the topic after we delete
        # it: wait for it to end (new passes skip resources being deleted).
        for _ in range(300):
            if not self.queue.busy(f"{ref.namespace}/{ref.name}"):
                break
            await asyncio.sleep(0.1)
        item = Item(f"{ref.namespace}/{ref.name}", body, spec, desired_topic(body, spec))
        entry = self.connections.available(connection)
        holder = self._owner(item, entry.cluster_id if entry else None, self._claims())
        if holder is not None and holder.key != f"{ref.namespace}/{ref.name}":
            return f"Kafka topic {name} belongs to EventTopic {holder.key}; not deleted"
        if self.cache.get(KAFKA_CONNECTION.plural, connection) is None:
            message = f"KafkaConnection {connection} is gone; Kafka topic {name} was kept"
            await self.kube.post_event(ref, "Warning", "TopicRetained", message)
            return message
        error: KafkaRequestError | None
        if entry is None:
            problem = self.connections.problem(connection)
            error = KafkaUnavailable(problem.message)
        else:
            outcome = await entry.admin.delete_topics([name])
            error = outcome.get(name)
        if error is None or error.reason == "TopicNotFound":
            await self.kube.post_event(ref, "Normal", "TopicDeleted", f"deleted Kafka topic {name}")
            return f"deleted Kafka topic {name}"
        if self._deletion_overdue(key):
            message = (f"could not delete Kafka topic {name} for {self.deletion_timeout_seconds:.0f}s "
                       f"({error.message}); kept it and released the resource")
            await self.kube.post_event(ref, "Warning", "TopicRetained", message)
            return message
        await self.kube.post_event(ref, "Warning", "TopicDeletionPending", error.message)
        raise error

    def _deletion_overdue(self, key: str) -> bool:
        # Counted from this process's first failed attempt, not from the deletion timestamp:
        # after the operator itself was down, Kafka still gets the whole timeout.
        since = self._failing_since.setdefault(key, time.monotonic())
        return time.monotonic() - since > self.deletion_timeout_seconds


def _holds_ours(finalizers: list[str]) -> bool:
    return FINALIZER in finalizers or bool(set(LEGACY_FINALIZERS) & set(finalizers))
