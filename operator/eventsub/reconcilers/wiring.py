"""The composition root: builds the reconcilers, the autoscaler and the objects they share, and
registers every kind in the table the runtime's Manager runs."""

from __future__ import annotations

from eventsub.api.resources import EVENT_REPLAY, EVENT_SUBSCRIPTION, EVENT_TOPIC, KAFKA_CONNECTION
from eventsub.config import OperatorConfig
from eventsub.kafka.registry import ConnectionRegistry
from eventsub.kube.api import Kube, KubeApi
from eventsub.kube.events import POSTER
from eventsub.reconcilers import connections, replays, schemas, subscriptions, topics
from eventsub.reconcilers.catalog import CatalogGovernance, LiveCatalog
from eventsub.reconcilers.scaler import Scaler
from eventsub.runtime.cache import ObjectCache
from eventsub.runtime.contract import Body, Kind, Loop, Table, Watch, Worker
from eventsub.runtime.manager import Manager
from eventsub.runtime.queue import WorkQueue

TOPIC_WORKERS = 2  # two passes in flight: one slow cluster does not hold up the others
TOPIC_BATCH = 500
SCHEMA_BATCH = 50  # topics whose schemas are registered concurrently
# A registry outage is retried at least this often (seconds): one cheap failing request per
# topic, and schemas converge soon after the registry is back.
SCHEMA_RETRY_MAX = 10.0
TOPIC_LINGER = 0.1  # seconds a pass waits for more topics to arrive (as Strimzi's batching does)


class Runtime:
    """Everything the operator holds in memory while it runs."""

    def __init__(self, config: OperatorConfig, kube: Kube | None = None) -> None:
        kube = kube or KubeApi()
        self.cache = ObjectCache(references={EVENT_TOPIC.plural: topics.references,
                                             EVENT_SUBSCRIPTION.plural: subscriptions.references})
        self.registry = ConnectionRegistry(float(config.kafka_request_timeout_seconds))
        self.connections = connections.ConnectionReconciler(
            kube, self.cache, self.registry, WorkQueue(), on_availability_change=self._availability,
            probe_seconds=config.probe_seconds)
        self.topics = topics.TopicReconciler(
            kube, self.cache, self.connections, WorkQueue(), config.resync_seconds,
            config.topic_deletion_timeout_seconds)
        self.schemas = schemas.SchemaReconciler(
            kube, self.cache, WorkQueue(backoff_max=SCHEMA_RETRY_MAX), config.resync_seconds,
            float(config.kafka_request_timeout_seconds))
        self.scaler = Scaler(kube, self.cache, self.connections, offsets_log=config.offsets_log)
        self.subscriptions = subscriptions.SubscriptionReconciler(
            kube, self.cache, self.connections, self.scaler, WorkQueue(), config.resync_seconds)
        self.replays = replays.ReplayReconciler(kube, self.cache, self.connections, self.scaler,
                                                WorkQueue())
        # A replay that paused a subscription owns its replicas until it resumes it.
        self.scaler.held = self.replays.holding
        self.subscriptions.held = self.replays.holding
        self.catalog = LiveCatalog(self.cache, self.registry, self.scaler.activity)
        self.governance = CatalogGovernance(kube, self.catalog, working=self._working)
        self.manager = Manager(self.cache, self.table())
        # Informational Events wait while a burst of resources is being made Ready.
        POSTER.defer_while(self._working)

    def table(self) -> Table:
        """Every kind: its reconciler and queue, and what it must react to."""
        on_connection = Watch(KAFKA_CONNECTION.plural, every_change=False)  # probed up or down
        return Table(
            kinds=(
                Kind(KAFKA_CONNECTION.plural,
                     Worker("KafkaConnection", self.connections.queue, self.connections),
                     referred_by=(EVENT_TOPIC.plural,)),  # kept while Delete topics use it
                Kind(EVENT_TOPIC.plural,
                     Worker("EventTopic", self.topics.queue, self.topics, batch=TOPIC_BATCH,
                            count=TOPIC_WORKERS, linger=TOPIC_LINGER),
                     references=topics.references, watches=(on_connection,),
                     reconcile_deleted=False,  # a deletion is the finalizer's business
                     # Each pass schedules its verify or resync; the schema part feeds Ready.
                     status_change_matters=topics.schema_status_changed,
                     # Schemas beside the Kafka topic: a registry outage never stalls topics.
                     also=(Worker("EventTopicSchema", self.schemas.queue, self.schemas,
                                  batch=SCHEMA_BATCH),)),
                Kind(EVENT_SUBSCRIPTION.plural,
                     Worker("EventSubscription", self.subscriptions.queue, self.subscriptions,
                            batch=100),
                     references=subscriptions.references,
                     watches=(on_connection, Watch(EVENT_TOPIC.plural))),
                Kind(EVENT_REPLAY.plural,
                     Worker("EventReplay", self.replays.queue, self.replays),
                     reconcile_deleted=False),
            ),
            workers=(Worker("EventTopicDeletion", self.topics.deletions,
                            topics.TopicDeletions(self.topics), batch=20),),
            loops=(Loop("scaler", self.scaler.run), Loop("catalog", self.governance.run)),
        )

    def _working(self) -> bool:
        return self.manager.in_burst()

    def _availability(self, connection_key: str) -> None:
        self.manager.changed(KAFKA_CONNECTION.plural, connection_key, state_changed=True)

    def observe(self, plural: str, event_type: str | None, body: Body) -> None:
        self.manager.observe(plural, event_type, body)

    def start(self) -> None:
        self.manager.start()

    async def stop(self) -> None:
        await self.manager.stop()
