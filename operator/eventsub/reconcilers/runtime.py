"""Everything the operator holds in memory while it runs, and the workers that drain the queues."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

from eventsub import metrics
from eventsub.config import OperatorConfig
from eventsub.fence import NotLeading
from eventsub.kafka.registry import ConnectionRegistry
from eventsub.kube.errors import KubeError
from eventsub.reconcilers import connections, replays, subscriptions, topics
from eventsub.reconcilers.cache import Body, ObjectCache
from eventsub.reconcilers.queue import WorkQueue
from eventsub.reconcilers.scaler import Scaler

logger = logging.getLogger("eventsub.runtime")
TOPIC_WORKERS = 2  # two passes in flight: one slow cluster does not hold up the others
TOPIC_BATCH = 500
NOT_LEADING_RETRY_SECONDS = 1.0
TOPIC_LINGER = 0.1  # seconds a pass waits for more topics to arrive (as Strimzi's batching does)


class Runtime:
    def __init__(self, config: OperatorConfig) -> None:
        self.config = config
        self.cache = ObjectCache()
        self.registry = ConnectionRegistry(float(config.kafka_request_timeout_seconds))
        self.connection_queue = WorkQueue()
        self.topic_queue = WorkQueue()
        self.subscription_queue = WorkQueue()
        self.topics: topics.TopicReconciler
        self.connections = connections.ConnectionReconciler(
            self.cache, self.registry, self.connection_queue,
            on_availability_change=self._connection_changed, probe_seconds=config.probe_seconds)
        self.topics = topics.TopicReconciler(
            self.cache, self.connections, self.topic_queue, config.resync_seconds,
            config.topic_deletion_timeout_seconds)
        self.scaler = Scaler(self.cache, self.connections)
        self.subscriptions = subscriptions.SubscriptionReconciler(
            self.cache, self.connections, self.scaler, self.subscription_queue,
            config.resync_seconds)
        self.replay_queue = WorkQueue()
        self.replays = replays.ReplayReconciler(self.cache, self.connections, self.scaler,
                                                self.replay_queue)
        # A replay that paused a subscription owns its replicas until it resumes it.
        self.scaler.held = self.replays.holding
        self.subscriptions.held = self.replays.holding
        self._tasks: list[asyncio.Task[None]] = []

    def observe(self, plural: str, event_type: str | None, body: Body) -> None:
        """A watch event: remember the body and reconcile the object (level-based)."""
        key = self.cache.apply(plural, event_type, body)
        if plural == connections.PLURAL:
            self.connection_queue.add(key)
            if event_type == "DELETED":
                self._connection_changed(key)
        elif plural == topics.PLURAL:
            if event_type != "DELETED":
                self.topic_queue.add(key)
            self.subscriptions.requeue_referencing(plural, key)
        elif plural == subscriptions.PLURAL:
            self.subscription_queue.add(key)
        elif plural == replays.PLURAL and event_type != "DELETED":
            self.replay_queue.add(key)

    def _connection_changed(self, key: str) -> None:
        self.topics.requeue_connection(key)
        self.subscriptions.requeue_referencing(connections.PLURAL, key)

    def start(self) -> None:
        self._tasks.append(asyncio.create_task(self._work(
            "KafkaConnection", self.connection_queue, 50, self._each(self.connections.reconcile))))
        for _ in range(TOPIC_WORKERS):
            self._tasks.append(asyncio.create_task(self._work(
                "EventTopic", self.topic_queue, TOPIC_BATCH, self.topics.reconcile, TOPIC_LINGER)))
        self._tasks.append(asyncio.create_task(self._work(
            "EventTopicDeletion", self.topics.deletions, 20, self._each(self.topics.finish_deletion))))
        self._tasks.append(asyncio.create_task(self._work(
            "EventSubscription", self.subscription_queue, 100,
            self._each(self.subscriptions.reconcile))))
        self._tasks.append(asyncio.create_task(self._work(
            "EventReplay", self.replay_queue, 50, self._each(self.replays.reconcile))))
        self._tasks.append(asyncio.create_task(self._supervise("scaler", self.scaler.run)))

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()

    @staticmethod
    def _each(fn: Callable[[str], Awaitable[None]]) -> Callable[[list[str]], Awaitable[None]]:
        async def run(keys: list[str]) -> None:
            await asyncio.gather(*(fn(k) for k in keys))
        return run

    async def _supervise(self, name: str, loop: Callable[[], Awaitable[None]]) -> None:
        """Keeps a long-running loop alive: a bug is logged and the loop restarted."""
        while True:
            try:
                await loop()
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("%s loop failed; restarting it", name)
                await asyncio.sleep(1)

    async def _work(self, kind: str, queue: WorkQueue, batch: int,
                    reconcile: Callable[[list[str]], Awaitable[None]], linger: float = 0.05) -> None:
        while True:
            keys = await queue.take(batch, linger)
            outcome, started = "error", time.monotonic()
            try:
                await reconcile(keys)
                outcome = "success"
            except asyncio.CancelledError:
                raise
            except NotLeading as refused:
                # Leadership is lapsing: this process is about to exit; keep the work queued,
                # without spinning on it meanwhile.
                logger.info("%s: %s", kind, refused)
                for key in keys:
                    queue.add(key, NOT_LEADING_RETRY_SECONDS)
            except KubeError as error:
                # The API server refused or failed (e.g. a namespace being deleted): retry later.
                logger.warning("%s: %s; retrying %d object(s)", kind, error.message, len(keys))
                for key in keys:
                    queue.retry(key)
            except Exception:
                # A bug must not stop the operator: log it, retry these keys with backoff.
                logger.exception("%s: reconcile of %d object(s) failed", kind, len(keys))
                for key in keys:
                    queue.retry(key)
            finally:
                metrics.RECONCILES.labels(kind, outcome).inc(len(keys))
                metrics.RECONCILE_SECONDS.labels(kind).observe(time.monotonic() - started)
                for key in keys:
                    queue.done(key)
