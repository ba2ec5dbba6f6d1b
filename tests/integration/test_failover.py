"""Leader election with two operator replicas: exactly one acts; when it dies the other takes over
with the production lease settings, without scaling twice or undoing what the first decided."""

from __future__ import annotations

import signal
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from confluent_kafka import Producer
from kubernetes import client
from prometheus_client.parser import text_string_to_metric_families

from conftest import Kube, fresh_namespace
from localstack import StackInfo
from localstack.consumers import ConsumerRunner
from operator_process import OperatorProcess
from resources import consumed_topic, create, event_reasons, get, resource, wait_condition
from support import eventually, unique


@pytest.fixture
def own_namespace(kube: Kube) -> Iterator[str]:
    with fresh_namespace(kube, "l") as name:  # not watched by the session's operator
        yield name


def _pair(crds: StackInfo, namespace: str, tmp_path: Path) -> tuple[str, OperatorProcess, OperatorProcess]:
    """Two operators on one Lease watching namespace: (the lease, the leader, the standby)."""
    lease, env = unique("eventsub-leader"), {"EVENTSUB_NAMESPACES": namespace}
    first = OperatorProcess(crds, tmp_path / "first.log", env, lease=lease)
    second = OperatorProcess(crds, tmp_path / "second.log", env, lease=lease, expect_leader=False)
    return lease, first, second


def _reconciled(operator: OperatorProcess) -> float:
    """How many objects this process reconciled, from its own /metrics."""
    return sum(sample.value for family in text_string_to_metric_families(operator.metrics())
               for sample in family.samples if sample.name == "eventsub_reconcile_total")


def _lease(kube: Kube, name: str) -> client.V1Lease:
    return client.CoordinationV1Api(kube.api).read_namespaced_lease(name, "default")


def _replicas(kube: Kube, namespace: str) -> int:
    return int(kube.apps.read_namespaced_deployment("workers-consumer", namespace).spec.replicas)


def _produce(bootstrap: str, topic: str, count: int) -> None:
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 5})
    for i in range(count):
        producer.produce(topic, f"event-{i}".encode(), partition=i % 4)
    assert producer.flush(30) == 0


def test_one_replica_leads_and_a_standby_takes_over_when_it_dies(
        kube: Kube, crds: StackInfo, own_namespace: str, tmp_path: Path) -> None:
    namespace = own_namespace
    lease, first, second = _pair(crds, namespace, tmp_path)
    try:
        assert first.leading() and not second.leading()
        assert second.probe("/readyz")[0] == 200  # a standby is ready: it serves and waits
        assert _lease(kube, lease).spec.holder_identity == first.probe("/readyz")[1]["identity"]
        # A long cooldown: whoever leads after the drain must hold the 4 replicas through it.
        topic = consumed_topic(kube, namespace, crds.kafka_bootstrap, {
            "minReplicas": 0, "maxReplicas": 4, "lagThreshold": 50, "pollIntervalSeconds": 1,
            "cooldownSeconds": 20, "scaleDownStabilizationSeconds": 20})
        assert _reconciled(first) > 0
        assert _reconciled(second) == 0  # the standby watched everything and wrote nothing

        with ConsumerRunner(kube.core, namespace, "workers", tmp_path) as runner:
            _produce(crds.kafka_bootstrap, topic, 800)
            eventually(lambda: _replicas(kube, namespace) == 4, timeout=30, what="scaled out")
            eventually(lambda: len(set(runner.processed())) == 800, timeout=90, what="drained")
            # Drained, inside the cooldown: the leader dies before it may scale down. (It may
            # have scaled out in two steps, when its first poll saw part of the backlog.)
            scaled_up = event_reasons(kube, namespace, "workers").count("ScaledUp")
            first.kill()
            killed = time.monotonic()
            eventually(second.leading, timeout=40, interval=0.2, what="the standby leads")
            handover = time.monotonic() - killed
            create(kube, namespace, resource("EventTopic", "after", {
                "connectionRef": {"name": "local"}, "topicName": unique("after"), "partitions": 1}))
            wait_condition(kube, namespace, "EventTopic", "after", reason="InSync")
            acting = time.monotonic() - killed
            print(f"hand-over: standby leads {handover:.1f}s after the leader was killed; "
                  f"a new topic was Ready {acting:.1f}s after")
            # The new leader's scaler has polled (its metric exists) and kept the 4 replicas:
            # with no lag, a fresh memory would have scaled to zero on that first poll.
            ours = {"namespace": namespace, "subscription": "workers"}
            eventually(lambda: second.metric("eventsub_subscription_desired_replicas", ours)
                       is not None, timeout=30, what="the new leader polled the group")
            assert _replicas(kube, namespace) == 4
            assert "ScaledDown" not in event_reasons(kube, namespace, "workers")
            eventually(lambda: _replicas(kube, namespace) == 0, timeout=90,
                       what="scaled to zero by the new leader after the window and cooldown")
        reasons = event_reasons(kube, namespace, "workers")
        assert reasons.count("ScaledUp") == scaled_up, reasons  # the new leader never scaled out
        assert reasons.count("ScaledDown") == 1, reasons  # 4 -> 0 once the cooldown passed
        assert "ScaledDown" in second.log() and "ScaledDown" not in first.log()
        spec = _lease(kube, lease).spec
        assert spec.holder_identity == second.probe("/readyz")[1]["identity"]
        assert spec.lease_transitions == 1
    finally:
        first.stop()
        assert second.stop() == 0, second.log()[-3000:]
    assert "Traceback" not in first.log() + second.log()


def test_a_clean_stop_releases_the_lease_and_the_standby_leads_at_once(
        kube: Kube, crds: StackInfo, own_namespace: str, tmp_path: Path) -> None:
    lease, first, second = _pair(crds, own_namespace, tmp_path)
    try:
        assert first.stop() == 0, first.log()[-3000:]
        stopped = time.monotonic()
        assert "released the Lease" in first.log()
        # Released: a free lease (or already the standby's), not one that must expire first.
        holder = _lease(kube, lease).spec.holder_identity
        assert holder in (None, "", second.probe("/readyz")[1]["identity"])
        eventually(second.leading, timeout=20, interval=0.2, what="the standby leads")
        print(f"after a clean stop the standby led within {time.monotonic() - stopped:.1f}s")
    finally:
        first.stop()
        assert second.stop() == 0, second.log()[-3000:]
    assert "Traceback" not in first.log() + second.log()



def test_a_frozen_leader_is_replaced_and_steps_down_without_acting_when_it_wakes(
        kube: Kube, crds: StackInfo, own_namespace: str, tmp_path: Path) -> None:
    # SIGSTOP is the zombie leader: alive, holding connections, not renewing. When it wakes up
    # the others have moved on; it must not write anything and must leave.
    lease, first, second = _pair(crds, own_namespace, tmp_path)
    try:
        create(kube, own_namespace, resource("KafkaConnection", "local",
                                             {"bootstrapServers": [crds.kafka_bootstrap]}))
        wait_condition(kube, own_namespace, "KafkaConnection", "local", reason="Connected")
        first.process.send_signal(signal.SIGSTOP)
        eventually(second.leading, timeout=40, interval=0.2, what="the standby leads")
        create(kube, own_namespace, resource("EventTopic", "meanwhile", {
            "connectionRef": {"name": "local"}, "topicName": unique("meanwhile"), "partitions": 1}))
        wait_condition(kube, own_namespace, "EventTopic", "meanwhile", reason="InSync")
        first.process.send_signal(signal.SIGCONT)
        assert first.process.wait(timeout=30) == 1  # stepped down and left
        log = first.log()
        assert "stepping down" in log and "lost leadership" in log
        # Whatever it tried on waking (it still had the topic and the connection queued for
        # their resync) was refused by the fence, not sent.
        woke = log[log.rindex("stepping down") - 4000:]
        assert "Traceback" not in woke
        assert _lease(kube, lease).spec.holder_identity == second.probe("/readyz")[1]["identity"]
        assert second.leading()
    finally:
        if first.process.poll() is None:
            first.process.send_signal(signal.SIGCONT)
        first.stop()
        assert second.stop() == 0, second.log()[-3000:]


def test_a_replay_interrupted_by_a_failover_moves_the_offsets_once(
        kube: Kube, crds: StackInfo, own_namespace: str, tmp_path: Path) -> None:
    namespace = own_namespace
    _, first, second = _pair(crds, namespace, tmp_path)
    try:
        topic = consumed_topic(kube, namespace, crds.kafka_bootstrap,
                               {"minReplicas": 2, "maxReplicas": 2, "pollIntervalSeconds": 1})
        with ConsumerRunner(kube.core, namespace, "workers", tmp_path / "consumers") as runner:
            _produce(crds.kafka_bootstrap, topic, 40)
            eventually(lambda: len(set(runner.processed())) == 40, timeout=60, what="consumed")
            eventually(lambda: (get(kube, namespace, "EventSubscription", "workers").get("status")
                                or {}).get("totalLag") == 0, timeout=30, what="committed")
            create(kube, namespace, resource("EventReplay", "again", {
                "subscriptionRef": {"name": "workers"}, "from": {"earliest": True}}))
            eventually(lambda: (get(kube, namespace, "EventReplay", "again").get("status") or {})
                       .get("step") == "Paused", timeout=30, what="the replay paused the consumers")
            first.kill()  # the leader dies while the group drains out
            eventually(second.leading, timeout=40, interval=0.2, what="the standby leads")
            wait_condition(kube, namespace, "EventReplay", "again", type_="Succeeded",
                           reason="CaughtUp", timeout=120)
            eventually(lambda: _replicas(kube, namespace) == 2, what="replicas restored")
            eventually(lambda: sum(Counter(runner.processed()).values()) >= 80, timeout=60,
                       what="replayed")
        counts = Counter(runner.processed())
        assert set(counts.values()) == {2}, counts  # every message exactly twice: moved once
        reasons = event_reasons(kube, namespace, "again")
        assert reasons.count("OffsetsMoved") == 1, reasons
        # The Paused Event follows the step's status write: a kill between the two loses the
        # Event, never the step. The new leader did not pause a second time.
        assert reasons.count("Paused") <= 1 and ": Paused:" not in second.log(), reasons
        assert "OffsetsMoved" in second.log() and "OffsetsMoved" not in first.log()
    finally:
        first.stop()
        assert second.stop() == 0, second.log()[-3000:]


def test_a_replica_that_cannot_reach_its_lease_is_not_ready_and_says_why(
        crds: StackInfo, tmp_path: Path) -> None:
    missing = unique("no-such-namespace")
    operator = OperatorProcess(crds, tmp_path / "operator.log",
                               {"EVENTSUB_NAMESPACES": missing, "EVENTSUB_LEASE_NAMESPACE": missing},
                               expect_leader=False)
    try:
        eventually(lambda: operator.probe("/readyz")[0] == 503, timeout=30, what="not ready")
        body = operator.probe("/readyz")[1]
        assert body["leader"] is False
        assert f"Lease {missing}/" in body["problem"] and "not found" in body["problem"]
        assert operator.probe("/healthz")[0] == 200  # alive: a restart would not help
        time.sleep(4)  # more than two retries (1.6 s apart for the default 12 s lease)
        assert operator.log().count(body["problem"]) == 1  # said once, not on every retry
    finally:
        assert operator.stop() == 0, operator.log()[-3000:]
