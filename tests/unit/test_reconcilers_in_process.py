"""Reconcilers in process, on the in-memory Kube: a fast tier for their logic and contracts.
The behaviour itself is proven by the integration tests on the real API server and Kafka."""

from __future__ import annotations

import asyncio
from typing import Any

from eventsub.kafka.errors import KafkaRequestError
from eventsub.kafka.registry import ConnectionRegistry, Entry
from eventsub.kube.fake import FakeKube
from eventsub.reconcilers.contracts import ConnectionProblem, Target
from eventsub.reconcilers.subscriptions import SubscriptionReconciler
from eventsub.reconcilers.topics import TopicReconciler
from eventsub.reconcilers.wiring import Runtime
from eventsub.runtime.cache import ObjectCache
from eventsub.runtime.queue import WorkQueue

NS = "team"


def body(kind: str, name: str, spec: dict[str, Any], status: dict[str, Any] | None = None,
         generation: int = 1) -> dict[str, Any]:
    return {"apiVersion": "eventsub.io/v1alpha1", "kind": kind, "spec": spec,
            "metadata": {"name": name, "namespace": NS, "uid": f"uid-{name}", "generation": generation,
                         "resourceVersion": "1", "creationTimestamp": "2026-12-02T10:00:00Z"},
            **({"status": status} if status else {})}


class NoKafka:
    """Connections that are never available (the topic paths that need no Kafka)."""

    registry = ConnectionRegistry(1.0)

    def __init__(self, cache: ObjectCache) -> None:
        self.cache = cache

    def available(self, key: str) -> Entry | None:
        return None

    def probing(self, key: str) -> bool:
        return False

    def problem(self, key: str) -> ConnectionProblem:
        if self.cache.get("kafkaconnections", key) is None:
            return ConnectionProblem("ConnectionNotFound", f"KafkaConnection {key} not found")
        return ConnectionProblem("KafkaUnavailable", "the brokers do not answer")

    def mark_unavailable(self, key: str, error: KafkaRequestError) -> None:
        pass


class RecordingAutoscaler:
    def __init__(self) -> None:
        self.targets: dict[str, Target] = {}

    def register(self, target: Target) -> None:
        self.targets[target.key] = target

    def unregister(self, key: str) -> None:
        self.targets.pop(key, None)

    def replicas_of(self, key: str) -> int | None:
        return None

    def set_replicas(self, key: str, replicas: int) -> None:
        pass


READY_TOPIC = {"topicName": "orders", "topicId": "id",
               "conditions": [{"type": "Ready", "status": "True", "reason": "InSync", "message": "",
                               "lastTransitionTime": "2026-12-02T10:00:00Z"}]}


STARTED = "2026-12-02T09:00:00Z"  # the group's start offsets were committed (needs Kafka)


World = tuple[FakeKube, ObjectCache, SubscriptionReconciler, RecordingAutoscaler]


def subscription_world(scaling: dict[str, Any], started: bool = True) -> World:
    kube, cache, scaler = FakeKube(), ObjectCache(), RecordingAutoscaler()
    cache.apply("kafkaconnections", "ADDED", body("KafkaConnection", "local",
                                                  {"bootstrapServers": ["kafka:9092"]}))
    cache.apply("eventtopics", "ADDED", body("EventTopic", "orders", {"connectionRef": {"name": "local"}},
                                             READY_TOPIC))
    cache.apply("eventsubscriptions", "ADDED", body("EventSubscription", "mailer", {
        "connectionRef": {"name": "local"}, "topics": [{"eventTopic": "orders"}], "scaling": scaling,
        "template": {"spec": {"containers": [{"name": "c", "image": "x"}]}}},
        {"startOffsetsTime": STARTED} if started else None))
    reconciler = SubscriptionReconciler(kube, cache, NoKafka(cache), scaler, WorkQueue(), 60)
    return kube, cache, reconciler, scaler


def reflect(kube: FakeKube, cache: ObjectCache, plural: str, name: str) -> None:
    """What the watch would bring back: the written status in the cached body."""
    cached = cache.get(plural, f"{NS}/{name}")
    assert cached is not None
    cache.apply(plural, "MODIFIED", {**cached, "status": kube.status(plural, NS, name)})


def test_a_subscription_gets_its_deployment_wiring_and_ready_condition() -> None:
    kube, _, reconciler, scaler = subscription_world({"minReplicas": 0, "maxReplicas": 4})
    asyncio.run(reconciler.reconcile([f"{NS}/mailer"]))
    deployment = kube.deployments[(NS, "mailer-consumer")]
    assert deployment["spec"]["replicas"] == 0
    env = {e["name"]: e.get("value") for e in
           deployment["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env["EVENTSUB_TOPICS"] == "orders" and env["EVENTSUB_GROUP_ID"] == "team.mailer"
    status = kube.status("eventsubscriptions", NS, "mailer")
    assert status["consumerGroup"] == "team.mailer" and status["conditions"][0]["reason"] == "Running"
    assert status["startOffsetsTime"] == STARTED
    assert env["EVENTSUB_OFFSET_RESET"] == "earliest"
    assert scaler.targets[f"{NS}/mailer"].topics == ("orders",)
    assert kube.reasons("mailer") == ["DeploymentApplied"]


def test_manual_mode_never_takes_the_users_replicas_away() -> None:
    kube, cache, reconciler, _ = subscription_world({"mode": "Manual", "minReplicas": 1})
    asyncio.run(reconciler.reconcile([f"{NS}/mailer"]))
    asyncio.run(kube.scale_deployment(NS, "mailer-consumer", 2, manager="kubectl"))
    for _ in range(3):  # resyncs, with and without the written status seen
        asyncio.run(reconciler.reconcile([f"{NS}/mailer"]))
        reflect(kube, cache, "eventsubscriptions", "mailer")
    assert kube.deployments[(NS, "mailer-consumer")]["spec"]["replicas"] == 2
    assert [w[1] for w in kube.replica_writers] == ["eventsub-initial-replicas", "kubectl"]


def test_no_consumer_runs_before_the_start_offsets_are_set() -> None:
    kube, _, reconciler, scaler = subscription_world({"minReplicas": 1}, started=False)
    asyncio.run(reconciler.reconcile([f"{NS}/mailer"]))
    ready = kube.status("eventsubscriptions", NS, "mailer")["conditions"][0]
    assert (ready["status"], ready["reason"]) == ("False", "KafkaUnavailable")
    assert kube.deployments == {} and scaler.targets == {}


def test_an_unready_topic_keeps_the_subscription_waiting_with_a_reason() -> None:
    kube, cache, reconciler, _ = subscription_world({})
    cache.apply("eventtopics", "MODIFIED", body("EventTopic", "orders", {"connectionRef": {"name": "local"}}))
    asyncio.run(reconciler.reconcile([f"{NS}/mailer"]))
    ready = kube.status("eventsubscriptions", NS, "mailer")["conditions"][0]
    assert (ready["status"], ready["reason"]) == ("False", "TopicNotReady")
    assert kube.deployments == {}
    assert kube.reasons("mailer") == ["TopicNotReady"]


def test_topics_fail_alone_each_with_its_own_reason() -> None:
    kube, cache = FakeKube(), ObjectCache()
    cache.apply("kafkaconnections", "ADDED", body("KafkaConnection", "local",
                                                  {"bootstrapServers": ["kafka:9092"]}))
    # A bound the CRD did not have when this object was stored: refused before any Kafka call.
    cache.apply("eventtopics", "ADDED", body("EventTopic", "huge", {
        "connectionRef": {"name": "local"}, "replicationFactor": 32767}))
    cache.apply("eventtopics", "ADDED", body("EventTopic", "lost", {"connectionRef": {"name": "nowhere"}}))
    cache.apply("eventtopics", "ADDED", body("EventTopic", "fine", {"connectionRef": {"name": "local"}}))
    reconciler = TopicReconciler(kube, cache, NoKafka(cache), WorkQueue(), 60, 300)
    asyncio.run(reconciler.reconcile([f"{NS}/huge", f"{NS}/lost", f"{NS}/fine"]))
    reasons = {name: kube.status("eventtopics", NS, name)["conditions"][0]["reason"]
               for name in ("huge", "lost", "fine")}
    assert reasons == {"huge": "InvalidSpec", "lost": "ConnectionNotFound", "fine": "KafkaUnavailable"}
    message = kube.status("eventtopics", NS, "huge")["conditions"][0]["message"]
    assert "spec.replicationFactor" in message and "10000" in message


def test_the_runtime_requeues_referrers_from_its_index() -> None:
    async def scenario() -> list[str]:
        runtime = Runtime(_config(), kube=FakeKube())
        sub = body("EventSubscription", "mailer", {
            "connectionRef": {"name": "local"}, "topics": [{"eventTopic": "orders"}],
            "template": {"spec": {"containers": [{"name": "c", "image": "x"}]}}})
        runtime.observe("eventsubscriptions", "ADDED", sub)
        for key in runtime.subscriptions.queue.take_ready(10):  # its own event, handled
            runtime.subscriptions.queue.done(key)
        runtime.observe("eventtopics", "MODIFIED", body("EventTopic", "orders",
                                                        {"connectionRef": {"name": "local"}}))
        runtime.observe("eventtopics", "MODIFIED", body("EventTopic", "other",
                                                        {"connectionRef": {"name": "local"}}))
        return runtime.subscriptions.queue.take_ready(10)
    assert asyncio.run(scenario()) == [f"{NS}/mailer"]


def _config() -> Any:
    from eventsub.config import OperatorConfig
    return OperatorConfig.from_env()


def test_a_topic_change_requeues_the_connection_it_uses() -> None:
    async def scenario() -> list[str]:
        runtime = Runtime(_config(), kube=FakeKube())
        queue = runtime.connections.queue
        runtime.observe("kafkaconnections", "ADDED", body("KafkaConnection", "local",
                                                          {"bootstrapServers": ["kafka:9092"]}))
        for key in queue.take_ready(10):
            queue.done(key)
        topic = body("EventTopic", "orders", {"connectionRef": {"name": "local"},
                                              "deletionPolicy": "Delete"})
        runtime.observe("eventtopics", "ADDED", topic)
        woken = queue.take_ready(10)
        for key in woken:
            queue.done(key)
        runtime.observe("eventtopics", "DELETED", topic)  # its references are gone with it
        return woken + queue.take_ready(10)
    assert asyncio.run(scenario()) == [f"{NS}/local", f"{NS}/local"]


def test_a_connection_is_held_exactly_while_a_delete_policy_topic_uses_it() -> None:
    async def scenario() -> list[list[str]]:
        kube = FakeKube()
        runtime = Runtime(_config(), kube=kube)
        connection = body("KafkaConnection", "local", {"bootstrapServers": ["kafka:9092"]})
        runtime.observe("kafkaconnections", "ADDED", connection)
        topic = body("EventTopic", "orders", {"connectionRef": {"name": "local"}})
        topic["metadata"]["finalizers"] = ["eventsub.io/delete-kafka-topic"]
        runtime.observe("eventtopics", "ADDED", topic)
        await runtime.connections.reconcile([f"{NS}/local"])
        held = kube.finalizers[(NS, "local")]
        connection["metadata"]["finalizers"] = held
        runtime.observe("kafkaconnections", "MODIFIED", connection)
        runtime.observe("eventtopics", "DELETED", topic)
        await runtime.connections.reconcile([f"{NS}/local"])
        return [held, kube.finalizers[(NS, "local")]]
    assert asyncio.run(scenario()) == [["eventsub.io/delete-topics-first"], []]


def test_client_settings_the_kafka_client_refuses_make_the_connection_not_ready() -> None:
    async def scenario() -> dict[str, Any]:
        kube = FakeKube()
        runtime = Runtime(_config(), kube=kube)
        runtime.observe("kafkaconnections", "ADDED", body("KafkaConnection", "local", {
            "bootstrapServers": ["kafka:9092"], "clientConfig": {"no.such.property": "1"}}))
        await runtime.connections.reconcile([f"{NS}/local"])  # raises nothing
        assert runtime.connections.registry.get(f"{NS}/local") is None
        return kube.status("kafkaconnections", NS, "local")
    ready = asyncio.run(scenario())["conditions"][0]
    assert (ready["type"], ready["status"], ready["reason"]) == ("Ready", "False", "InvalidClientConfig")
    assert ready["message"] == ('the Kafka client refused the settings: '
                                'No such configuration property: "no.such.property"')
