"""EventSubscription: resolve its topics, ensure its dead-letter topic, apply its Deployment,
and hand it to the scaler."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from pydantic import ValidationError

from eventsub.api.base import spec_errors
from eventsub.api.connection import KafkaConnectionSpec
from eventsub.api.resources import EVENT_SUBSCRIPTION, EVENT_TOPIC, KAFKA_CONNECTION
from eventsub.api.subscription import EventSubscriptionSpec, SubscriptionWiringStatus
from eventsub.api.topic import EventTopicSpec, EventTopicStatus, TopicSchemaStatus
from eventsub.core.conditions import is_true
from eventsub.core.deployment import (
    SubscriptionRef,
    TopicSchemaWiring,
    default_group,
    deployment_name,
    render_deployment,
    template_problem,
)
from eventsub.core.schema_plan import (
    Expectation,
    declared_parts,
    schema_version_condition,
    subject_of,
)
from eventsub.core.start_offsets import lag_start_position, start_offsets
from eventsub.core.status import SUBSCRIPTION, stamped
from eventsub.core.topic_plan import DesiredTopic
from eventsub.kafka.errors import KafkaRequestError
from eventsub.kube.api import Kube
from eventsub.kube.errors import KubeError
from eventsub.kube.objects import ObjectRef
from eventsub.reconcilers.contracts import Autoscaler, Connections, Target
from eventsub.reconcilers.status import (
    announce_transition,
    generation,
    now_rfc3339,
    read_status,
    updated_condition,
    write_part,
)
from eventsub.runtime.cache import Body, ObjectCache
from eventsub.runtime.contract import EachKey, Reference
from eventsub.runtime.queue import WorkQueue

logger = logging.getLogger("eventsub.subscription")
PLURAL = EVENT_SUBSCRIPTION.plural


def references(body: Body) -> list[Reference]:
    """What a subscription's reconcile reads: its connection and its EventTopics."""
    try:
        spec = EventSubscriptionSpec.model_validate(body.get("spec") or {})
    except ValidationError:
        return []
    namespace = body["metadata"]["namespace"]
    return [(KAFKA_CONNECTION.plural, f"{namespace}/{spec.connection_ref.name}"),
            *((EVENT_TOPIC.plural, f"{namespace}/{t.event_topic}")
              for t in spec.topics if t.event_topic is not None)]


class SubscriptionProblem(Exception):
    def __init__(self, reason: str, message: str, retry: bool = False) -> None:
        super().__init__(message)
        self.reason, self.message, self.retry = reason, message, retry


class SubscriptionReconciler(EachKey):
    def __init__(self, kube: Kube, cache: ObjectCache, connections: Connections, scaler: Autoscaler,
                 queue: WorkQueue, resync_seconds: float) -> None:
        self.kube, self.cache, self.connections, self.scaler = kube, cache, connections, scaler
        self.queue, self.resync_seconds = queue, resync_seconds
        self.held: Callable[[str], str | None] = lambda key: None  # paused by a replay
        self._dead_letter_ready: set[tuple[str, str]] = set()  # (connection, topic) known to exist

    async def reconcile_one(self, key: str) -> None:
        body = self.cache.get(PLURAL, key)
        if body is None:
            self.scaler.unregister(key)
            return
        ref = ObjectRef.of(body, PLURAL)
        try:
            facts, message = await self._converge(key, body, ref)
        except SubscriptionProblem as problem:
            # What is known of the wiring stays; only the Ready condition says what is wrong.
            known = read_status(body, SubscriptionWiringStatus)
            await self._report(ref, body, known, False, problem.reason, problem.message)
            if problem.retry:
                self.queue.retry(key)
            else:
                self.queue.add(key, self.resync_seconds)
            return
        self.queue.forget(key)
        self.queue.add(key, self.resync_seconds)
        await self._report(ref, body, facts, True, "Running", message)

    async def _converge(self, key: str, body: Body,
                        ref: ObjectRef) -> tuple[SubscriptionWiringStatus, str]:
        try:
            spec = EventSubscriptionSpec.model_validate(body.get("spec") or {})
        except ValidationError as error:
            raise SubscriptionProblem("InvalidSpec", spec_errors(error)) from None
        problem = template_problem(spec.template)
        if problem is not None:
            raise SubscriptionProblem("InvalidTemplate", problem)
        namespace, name = ref.namespace, ref.name
        connection_key = f"{namespace}/{spec.connection_ref.name}"
        connection_body = self.cache.get(KAFKA_CONNECTION.plural, connection_key)
        if connection_body is None:
            raise SubscriptionProblem("ConnectionNotFound", f"KafkaConnection {connection_key} not found")
        connection = KafkaConnectionSpec.model_validate(connection_body.get("spec") or {})
        topics = self._topic_names(namespace, spec)
        group = spec.consumer_group or default_group(namespace, name)
        await self._ensure_dead_letter_topic(connection_key, spec)
        started, committed = await self._start_offsets(body, connection_key, group, topics, spec)
        manual = spec.scaling.mode == "Manual"
        # Replicas are set here only when the Deployment is created (see kube.deployments).
        initial = 0 if self.held(key) is not None else spec.scaling.min_replicas
        manifest = render_deployment(SubscriptionRef(namespace, name, ref.uid), spec, connection,
                                     topics, group, None, self._topic_schemas(namespace, spec))
        asked_at = time.monotonic()
        try:
            applied = await self.kube.apply_deployment(manifest, initial)
        except KubeError as error:
            raise SubscriptionProblem("DeploymentNotApplied", error.message, retry=True) from None
        current = int((applied.get("spec") or {}).get("replicas") or 0)
        self.scaler.register(Target(
            key=key, ref=ref, deployment=deployment_name(name), group=group, topics=tuple(topics),
            policy=spec.scaling, start_position=lag_start_position(spec.start_position, started=True),
            connection=connection_key, replicas=current, replicas_asked_at=asked_at))
        facts = SubscriptionWiringStatus(consumer_group=group, topics=topics,
                                         topics_summary=",".join(topics),
                                         deployment_name=deployment_name(name),
                                         start_offsets_time=started,
                                         start_offsets_committed=committed)
        mode = "manual scaling" if manual else \
            f"{spec.scaling.min_replicas}..{spec.scaling.max_replicas} replicas on lag"
        return facts, f"Deployment {deployment_name(name)} consumes {', '.join(topics)} as group " \
                      f"{group} ({mode})"

    async def _start_offsets(self, body: Body, connection_key: str, group: str, topics: list[str],
                             spec: EventSubscriptionSpec) -> tuple[str, bool | None]:
        """When the group's start was settled, and whether that committed offsets: the first
        time, now, before the Deployment exists (see core.start_offsets). A partition that has
        a committed offset is never moved, and a group with members (consumers outside the
        Deployment, or a subscription from an earlier version) is left as it is: then nothing
        is committed, and the offset keeper must not count this moment as a commit."""
        known = read_status(body, SubscriptionWiringStatus)
        if known.start_offsets_time is not None:
            return known.start_offsets_time, known.start_offsets_committed
        entry = self.connections.available(connection_key)
        if entry is None:
            problem = self.connections.problem(connection_key)
            raise SubscriptionProblem(problem.reason, problem.message, retry=True)
        read = await entry.reads.read(group, topics)
        if read.error is not None:
            raise SubscriptionProblem("StartOffsetsNotSet", (
                f"could not read the offsets of group {group} to set where it starts: "
                f"{read.error}; retrying"), retry=True)
        offsets = start_offsets(read.offsets, spec.start_position) if read.members == 0 else {}
        if offsets:
            try:
                await entry.admin.alter_group_offsets(group, offsets)
            except KafkaRequestError as error:
                raise SubscriptionProblem("StartOffsetsNotSet", error.message, retry=True) from None
            logger.info("group %s starts at %s on %d partition(s)", group,
                        spec.start_position.lower(), len(offsets))
        return now_rfc3339(), bool(offsets)

    def _schema_version(self, namespace: str, body: Body) -> tuple[bool, str, str] | None:
        """SchemaVersion: the value schema versions the subscription expects, against what its
        EventTopics report."""
        try:
            spec = EventSubscriptionSpec.model_validate(body.get("spec") or {})
        except ValidationError:
            return None
        expectations = []
        for index, entry in enumerate(spec.topics):
            if entry.event_topic is None or entry.expects_schema_version is None:
                continue
            topic = self.cache.get(EVENT_TOPIC.plural, f"{namespace}/{entry.event_topic}")
            registered = (read_status(topic, TopicSchemaStatus).schema_ if topic else None)
            expectations.append(Expectation(
                f"spec.topics[{index}].expectsSchemaVersion", entry.event_topic,
                entry.expects_schema_version, registered.value if registered else None))
        return schema_version_condition(expectations)

    def _topic_schemas(self, namespace: str, spec: EventSubscriptionSpec) -> TopicSchemaWiring:
        """The declared schemas of the EventTopics read, by Kafka topic (for decoding)."""
        found: dict[str, dict[str, dict[str, str]]] = {}
        for entry in spec.topics:
            if entry.event_topic is None:
                continue
            topic = self.cache.get(EVENT_TOPIC.plural, f"{namespace}/{entry.event_topic}")
            if topic is None:
                continue
            try:
                declared = EventTopicSpec.model_validate(topic.get("spec") or {})
            except ValidationError:
                continue
            if declared.schema_ is None:
                continue
            name = declared.topic_name or entry.event_topic
            found[name] = {part: {"subject": subject_of(name, part), "type": schema.type}
                           for part, schema in declared_parts(declared.schema_).items()}
        return found

    def _topic_names(self, namespace: str, spec: EventSubscriptionSpec) -> list[str]:
        names = []
        for entry in spec.topics:
            if entry.name is not None:
                names.append(entry.name)
                continue
            key = f"{namespace}/{entry.event_topic}"
            topic = self.cache.get(EVENT_TOPIC.plural, key)
            if topic is None:
                raise SubscriptionProblem("TopicNotFound", f"EventTopic {key} not found")
            status = read_status(topic, EventTopicStatus)
            if not is_true(status.conditions, "Ready") or not status.topic_name:
                raise SubscriptionProblem("TopicNotReady", f"EventTopic {key} is not Ready yet")
            names.append(status.topic_name)
        return names

    async def _ensure_dead_letter_topic(self, connection_key: str, spec: EventSubscriptionSpec) -> None:
        topic = spec.dead_letter_topic
        if topic is None or (connection_key, topic) in self._dead_letter_ready:
            return
        entry = self.connections.available(connection_key)
        if entry is None:
            problem = self.connections.problem(connection_key)
            raise SubscriptionProblem(problem.reason, problem.message, retry=True)
        try:
            existing = (await entry.admin.describe_topics([topic])).get(topic)
            if isinstance(existing, KafkaRequestError):
                raise existing
            if existing is None:
                created = await entry.admin.create_topics([DesiredTopic(topic, 1, None, {})])
                error = created.get(topic)
                if error is not None and error.reason != "TopicAlreadyExists":
                    raise SubscriptionProblem("DeadLetterTopicFailed", error.message)
                logger.info("created dead-letter topic %s", topic)
        except KafkaRequestError as error:
            raise SubscriptionProblem(error.reason, error.message, retry=True) from None
        self._dead_letter_ready.add((connection_key, topic))

    async def _report(self, ref: ObjectRef, body: Body, facts: SubscriptionWiringStatus, ok: bool,
                      reason: str, message: str) -> None:
        ready = updated_condition(body, "Ready", ok, reason, message)
        conditions = [ready]
        expected = self._schema_version(ref.namespace, body)
        if expected is not None:
            conditions.append(updated_condition(body, "SchemaVersion", *expected))
            await announce_transition(self.kube, ref, body, conditions[-1])
        status = stamped(facts, conditions, generation(body))
        first = not read_status(body, SubscriptionWiringStatus).deployment_name
        if ok and first:
            await self.kube.post_event(ref, "Normal", "DeploymentApplied", message)
        await announce_transition(self.kube, ref, body, ready)
        await write_part(self.kube, SUBSCRIPTION, ref, body, status)
