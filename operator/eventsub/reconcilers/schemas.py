"""EventTopic schemas: register spec.schema in the connection's schema registry and guard it.

A worker of its own beside the topic reconciler's (same keys, own queue, own status part and
condition, SchemaRegistered): a registry that is slow or down never holds up Kafka topics, and
Kafka being down does not stop schemas. For each declared part (value, key) the subject
<topic>-<part> gets the declared compatibility level, then the declared schema is looked up;
a schema the subject does not hold yet is checked for compatibility first and registered only
if the registry accepts it. A refused change names the subscriptions that read the topic and
leaves the last good version registered. The topic reconciler folds SchemaRegistered into
Ready.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from pydantic import ValidationError

from eventsub.api.connection import KafkaConnectionSpec, SchemaRegistrySettings
from eventsub.api.resources import EVENT_SUBSCRIPTION, EVENT_TOPIC, KAFKA_CONNECTION
from eventsub.api.subscription import EventSubscriptionSpec
from eventsub.api.topic import (
    EventTopicSpec,
    MessageSchema,
    RegisteredSchema,
    RegisteredSchemas,
    TopicSchemaStatus,
)
from eventsub.core import schema_plan as plan
from eventsub.core.conditions import find
from eventsub.core.refusal import Refusal
from eventsub.core.status import SCHEMA
from eventsub.kube.api import Kube
from eventsub.kube.objects import ObjectRef
from eventsub.kube.secrets import SecretProblem
from eventsub.reconcilers.status import (
    announce_transition,
    read_status,
    updated_condition,
    write_part,
)
from eventsub.registry.client import RegistryClient, RegistrySettings, SchemaDocument
from eventsub.registry.errors import (
    IncompatibleSchema,
    InvalidSchema,
    RegistryError,
    RegistryUnavailable,
)
from eventsub.runtime.cache import Body, ObjectCache
from eventsub.runtime.contract import EachKey
from eventsub.runtime.queue import WorkQueue

logger = logging.getLogger("eventsub.schema")
PLURAL = EVENT_TOPIC.plural


class SchemaProblem(Exception):
    """Why the schemas cannot be registered now; retry: worth trying again soon."""

    def __init__(self, reason: str, message: str, retry: bool = False) -> None:
        super().__init__(message)
        self.reason, self.message, self.retry = reason, message, retry


class SchemaReconciler(EachKey):
    def __init__(self, kube: Kube, cache: ObjectCache, queue: WorkQueue, resync_seconds: float,
                 timeout_seconds: float) -> None:
        self.kube, self.cache, self.queue = kube, cache, queue
        self.resync_seconds, self.timeout_seconds = resync_seconds, timeout_seconds

    async def reconcile_one(self, key: str) -> None:
        body = self.cache.get(PLURAL, key)
        if body is None or body["metadata"].get("deletionTimestamp"):
            return
        try:
            spec = EventTopicSpec.model_validate(body.get("spec") or {})
        except ValidationError:
            return  # the topic reconciler reports an invalid spec
        if spec.schema_ is None:
            await self._clear(body)
            return
        try:
            outcomes = await self._sync(body, spec)
        except SchemaProblem as problem:
            await self._write(body, {}, False, problem.reason, problem.message, keep=True)
            if problem.retry:
                self.queue.retry(key)
            else:
                self._resync(key)
            return
        ok, reason, message = plan.schema_condition(outcomes)
        await self._write(body, outcomes, ok, reason, message)
        self._resync(key)

    def _resync(self, key: str) -> None:
        self.queue.forget(key)
        self.queue.add(key, self.resync_seconds)

    # -- observe and act ----------------------------------------------------------------------

    async def _sync(self, body: Body, spec: EventTopicSpec) -> dict[plan.Part, plan.PartOutcome]:
        assert spec.schema_ is not None
        namespace = body["metadata"]["namespace"]
        settings = await self._settings(namespace, spec.connection_ref.name)
        parts = plan.declared_parts(spec.schema_)
        documents = {part: await self._document(namespace, part, declared)
                     for part, declared in parts.items()}
        recorded = read_status(body, TopicSchemaStatus).schema_ or RegisteredSchemas()
        topic = spec.topic_name or body["metadata"]["name"]
        outcomes: dict[plan.Part, plan.PartOutcome] = {}
        try:
            async with RegistryClient(settings) as registry:
                for part, declared in parts.items():
                    outcomes[part] = await self._sync_part(
                        registry, body, spec, topic, part, declared, documents[part],
                        getattr(recorded, part))
        except RegistryUnavailable as error:
            raise SchemaProblem(error.reason, f"{error.message}; the Kafka topic is managed "
                                "regardless, the schema is registered once the registry is back",
                                retry=True) from None
        except RegistryError as error:
            raise SchemaProblem(error.reason, error.message, retry=True) from None
        return outcomes

    async def _sync_part(self, registry: RegistryClient, body: Body, spec: EventTopicSpec,
                         topic: str, part: plan.Part, declared: MessageSchema,
                         document: SchemaDocument,
                         recorded: RegisteredSchema | None) -> plan.PartOutcome:
        subject = plan.subject_of(topic, part)
        level = declared.compatibility
        if recorded is not None and recorded.subject != subject:
            recorded = None
        try:
            state = await self._observe(registry, subject, document)
        except InvalidSchema as error:
            return plan.PartOutcome(recorded, plan.invalid(part, subject, error.message))
        decided = plan.plan_subject(subject, level, state, recorded)
        ref = ObjectRef.of(body, PLURAL)
        for said in decided.announcements:
            await self.kube.post_event(ref, said.type, said.reason, said.message)
        if decided.set_compatibility is not None:
            await registry.set_compatibility_level(subject, decided.set_compatibility)
        for version in decided.delete_versions:
            await registry.delete_version(subject, version)
        if not decided.register:
            assert state.declared is not None
            version, id_ = state.declared
            return plan.PartOutcome(RegisteredSchema(subject=subject, version=version, id=id_,
                                                     compatibility=level))
        refusal = await self._register(registry, body, spec, topic, part, subject, level,
                                       document, recorded)
        if refusal is not None:
            kept = recorded.model_copy(update={"compatibility": level}) if recorded else None
            return plan.PartOutcome(kept, refusal)
        found = await registry.lookup(subject, document)
        if found is None:  # registered and gone at once: the next pass registers it again
            raise SchemaProblem("SchemaPending", f"subject {subject}: the registered version "
                                "is not visible yet", retry=True)
        await self.kube.post_event(ref, "Normal", "SchemaRegistered", (
            f"registered spec.schema.{part} as subject {subject} version {found.version} "
            f"(id {found.id}, compatibility {level})"))
        return plan.PartOutcome(RegisteredSchema(subject=subject, version=found.version,
                                                 id=found.id, compatibility=level))

    @staticmethod
    async def _observe(registry: RegistryClient, subject: str,
                       document: SchemaDocument) -> plan.SubjectState:
        found = await registry.lookup(subject, document)
        return plan.SubjectState(
            compatibility=await registry.compatibility_level(subject),
            declared=(found.version, found.id) if found else None,
            versions=tuple(await registry.versions(subject)))

    async def _register(self, registry: RegistryClient, body: Body, spec: EventTopicSpec,
                        topic: str, part: plan.Part, subject: str, level: str,
                        document: SchemaDocument,
                        recorded: RegisteredSchema | None) -> Refusal | None:
        """Checks, then registers; the refusal if the registry would not take it."""
        try:
            verdict = await registry.check(subject, document)
            if verdict.compatible:
                await registry.register(subject, document)
                return None
            said = verdict.messages
        except InvalidSchema as error:
            return plan.invalid(part, subject, error.message)
        except IncompatibleSchema as error:  # changed between the check and the registration
            said = (error.message,)
        readers = self._readers(body, spec, topic)
        return plan.incompatible(part, subject, level, recorded, said, readers)

    def _readers(self, body: Body, spec: EventTopicSpec, topic: str) -> tuple[plan.Reader, ...]:
        namespace = body["metadata"]["namespace"]
        subscriptions = []
        for key, sub in self.cache.items(EVENT_SUBSCRIPTION.plural, namespace):
            try:
                subscriptions.append((key, EventSubscriptionSpec.model_validate(sub.get("spec") or {})))
            except ValidationError:
                continue
        return plan.readers_of(namespace, body["metadata"]["name"], topic,
                               spec.connection_ref.name, subscriptions)

    # -- what the spec refers to --------------------------------------------------------------

    async def _settings(self, namespace: str, connection: str) -> RegistrySettings:
        body = self.cache.get(KAFKA_CONNECTION.plural, f"{namespace}/{connection}")
        if body is None:
            raise SchemaProblem("ConnectionNotFound", f"KafkaConnection {namespace}/{connection} "
                                "not found (spec.connectionRef)")
        try:
            registry = KafkaConnectionSpec.model_validate(body.get("spec") or {}).schema_registry
        except ValidationError:
            raise SchemaProblem("ConnectionInvalid", f"KafkaConnection {namespace}/{connection} "
                                "has an invalid spec") from None
        if registry is None:
            raise SchemaProblem("SchemaRegistryMissing", (
                f"spec.schema needs a schema registry: KafkaConnection {namespace}/{connection} "
                "has no spec.schemaRegistry"))
        where = f"spec.schemaRegistry of KafkaConnection {namespace}/{connection}"
        try:
            return await self._read_settings(namespace, registry)
        except SecretProblem as problem:
            raise SchemaProblem(problem.reason, f"{where}: {problem.message}") from None

    async def _read_settings(self, namespace: str,
                             registry: SchemaRegistrySettings) -> RegistrySettings:
        username = password = ca = None
        if registry.basic_auth is not None:
            auth = registry.basic_auth
            username = await self.kube.read_secret_key(namespace, auth.secret_name,
                                                       auth.username_key)
            password = await self.kube.read_secret_key(namespace, auth.secret_name,
                                                       auth.password_key)
        if registry.ca is not None:
            if registry.ca.secret_key_ref is not None:
                ref = registry.ca.secret_key_ref
                ca = await self.kube.read_secret_key(namespace, ref.name, ref.key)
            elif registry.ca.config_map_key_ref is not None:
                cm = registry.ca.config_map_key_ref
                ca = await self.kube.read_config_map_key(namespace, cm.name, cm.key)
        return RegistrySettings(registry.url, username, password, ca, self.timeout_seconds)

    async def _document(self, namespace: str, part: plan.Part,
                        declared: MessageSchema) -> SchemaDocument:
        text = declared.inline
        if declared.config_map_ref is not None:
            ref = declared.config_map_ref
            try:
                text = await self.kube.read_config_map_key(namespace, ref.name, ref.key)
            except SecretProblem as problem:
                raise SchemaProblem("SchemaSourceNotFound",
                                    f"spec.schema.{part}.configMapRef: {problem.message}") from None
        assert text is not None  # admission: exactly one of inline and configMapRef
        return SchemaDocument(text, declared.type, tuple(
            (r.name, r.subject, r.version) for r in declared.references))

    # -- status -------------------------------------------------------------------------------

    async def _write(self, body: Body, outcomes: Mapping[plan.Part, plan.PartOutcome], ok: bool,
                     reason: str, message: str, keep: bool = False) -> None:
        """Writes the schema part: the registered schemas (kept as last reported when `keep`)
        and SchemaRegistered; an Event when it changes (and for every new refusal)."""
        before = read_status(body, TopicSchemaStatus)
        if keep:
            schemas = before.schema_
        else:
            schemas = RegisteredSchemas(**{p: o.registered for p, o in outcomes.items()})
        condition = updated_condition(body, plan.CONDITION, ok, reason, message)
        ref = ObjectRef.of(body, PLURAL)
        previous = find(before.conditions, plan.CONDITION)
        await announce_transition(self.kube, ref, body, condition)
        if (previous is not None and not ok and previous.reason == reason
                and previous.message != message and reason == "IncompatibleSchema"):
            await self.kube.post_event(ref, "Warning", reason, message)  # another refused change
        status = TopicSchemaStatus(schema_=schemas, conditions=[condition])
        await write_part(self.kube, SCHEMA, ref, body, status)

    async def _clear(self, body: Body) -> None:
        """No spec.schema (any more): the part is emptied, the subjects are left as they are."""
        if find(read_status(body, TopicSchemaStatus).conditions, plan.CONDITION) is None:
            return
        await write_part(self.kube, SCHEMA, ObjectRef.of(body, PLURAL), body, TopicSchemaStatus())
