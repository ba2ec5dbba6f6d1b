"""EventSubscription end to end: a Deployment that scales on lag, consumers that really consume.

The consumer runner starts one real consumer process (eventsub.consumer) per Running pod, so
replicas the operator sets become consumers that drain the backlog.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient

from conftest import Kube
from localstack import StackInfo
from localstack.consumers import ConsumerRunner
from operator_process import OperatorProcess
from resources import condition, consumed_topic, event_posted, get, wait_condition
from support import assigned_partitions, eventually, group_members

pytestmark = pytest.mark.usefixtures("operator")


def _setup(kube: Kube, namespace: str, stack_info: StackInfo, partitions: int,
           scaling: dict[str, Any]) -> str:
    return consumed_topic(kube, namespace, stack_info.kafka_bootstrap,
                          {"pollIntervalSeconds": 1, **scaling}, partitions=partitions,
                          dead_letter_topic=True)


def _produce(bootstrap: str, topic: str, partitions: int, count: int, start: int = 0,
             partition: int | None = None, value: bytes | None = None) -> None:
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 5})
    for i in range(start, start + count):
        producer.produce(topic, value or f"event-{i}".encode(),
                         partition=partition if partition is not None else i % partitions)
    assert producer.flush(30) == 0


def _status(kube: Kube, namespace: str) -> dict[str, Any]:
    return get(kube, namespace, "EventSubscription", "workers").get("status") or {}


def _deployment_replicas(kube: Kube, namespace: str) -> int:
    return int(kube.apps.read_namespaced_deployment("workers-consumer", namespace).spec.replicas)


def test_backlog_scales_out_drains_scales_to_zero_and_wakes(
        kube: Kube, namespace: str, stack_info: StackInfo, kafka_admin: AdminClient,
        tmp_path: Path, operator: OperatorProcess) -> None:
    topic = _setup(kube, namespace, stack_info, partitions=4, scaling={
        "minReplicas": 0, "maxReplicas": 4, "lagThreshold": 50, "cooldownSeconds": 6,
        "scaleDownStabilizationSeconds": 8})
    assert f"{topic}.dlq" in kafka_admin.list_topics(timeout=10).topics  # created for it
    eventually(lambda: _deployment_replicas(kube, namespace) == 0, what="starts at zero")
    with ConsumerRunner(kube.core, namespace, "workers", tmp_path, delay_ms=5) as runner:
        _produce(stack_info.kafka_bootstrap, topic, 4, 800)
        produced_at = time.monotonic()
        eventually(lambda: _deployment_replicas(kube, namespace) == 4, timeout=30,
                   interval=0.1, what="scaled out to the partition count (800 / 50 capped at 4)")
        print(f"backlog -> 4 replicas in {time.monotonic() - produced_at:.1f}s")
        ours = {"namespace": namespace, "subscription": "workers"}
        # The metrics follow the scale (after its Event is posted): wait for them.
        eventually(lambda: operator.metric("eventsub_subscription_replicas", ours) == 4.0,
                   timeout=15, what="replicas metric")
        assert operator.metric("eventsub_partition_lag", {**ours, "topic": topic,
                                                            "partition": "0"}) is not None
        assert operator.metric("eventsub_scale_events_total", {**ours, "direction": "up"}) == 1.0
        eventually(lambda: len(set(runner.processed())) == 800, timeout=90, what="backlog drained")
        eventually(lambda: _status(kube, namespace).get("totalLag") == 0, what="lag 0 in status")
        eventually(lambda: _deployment_replicas(kube, namespace) == 0, timeout=60,
                   what="scaled to zero after the window and the cooldown")
        assert runner.started_total >= 4
        # The scaled-in consumers leave only once their pods are gone: until then they would
        # consume the new messages themselves and there would be no lag to wake on.
        eventually(lambda: group_members(stack_info.kafka_bootstrap, f"{namespace}.workers") == 0,
                   timeout=60, what="the scaled-in consumers gone from the group")
        _produce(stack_info.kafka_bootstrap, topic, 4, 100, start=800)
        try:
            eventually(lambda: _deployment_replicas(kube, namespace) >= 1, timeout=30,
                       what="woken from zero by new messages")
        except AssertionError as error:  # say what the scaler saw and did, to find out why
            lines = [line for line in operator.log().splitlines() if namespace in line]
            raise AssertionError(f"{error}\nprocessed: {len(set(runner.processed()))}\n"
                                 f"status: {_status(kube, namespace)}\noperator log:\n"
                                 + "\n".join(lines[-40:])) from None
        eventually(lambda: len(set(runner.processed())) == 900, timeout=60, what="new messages processed")
    processed = set(runner.processed())
    per_partition = {p: sum(1 for t, q, _ in processed if q == p) for p in range(4)}
    assert per_partition == {0: 225, 1: 225, 2: 225, 3: 225}  # every message, none missing
    event_posted(kube, namespace, "workers", "ScaledUp")
    event_posted(kube, namespace, "workers", "ScaledDown")
    status = _status(kube, namespace)
    assert status["consumerGroup"] == f"{namespace}.workers" and status["topics"] == [topic]
    assert status["lastScaleReason"]


def test_a_fresh_backlog_with_a_consumer_present_scales_out_on_the_first_poll_that_sees_it(
        kube: Kube, namespace: str, stack_info: StackInfo, tmp_path: Path,
        operator: OperatorProcess) -> None:
    topic = _setup(kube, namespace, stack_info, partitions=4, scaling={
        "minReplicas": 1, "maxReplicas": 4, "lagThreshold": 50, "pollIntervalSeconds": 3})
    ours = {"namespace": namespace, "subscription": "workers"}
    with ConsumerRunner(kube.core, namespace, "workers", tmp_path, delay_ms=20):
        eventually(lambda: assigned_partitions(stack_info.kafka_bootstrap, f"{namespace}.workers")
                   == 4, timeout=60, what="the consumer owning the 4 partitions")
        eventually(lambda: operator.metric("eventsub_subscription_lag", ours) == 0,
                   what="a lag read of the idle group")
        _produce(stack_info.kafka_bootstrap, topic, 4, 2000)
        # Scraped many times per poll, so each poll's lag and recommendation (exported together)
        # is seen: on the old rule the first poll showed the backlog with a recommendation of 1.
        seen: list[dict[str, float]] = []

        def scaled_out() -> bool:
            seen.append(operator.metric_values(ours))
            return seen[-1].get("eventsub_subscription_replicas") == 4

        eventually(scaled_out, timeout=30, interval=0.05, what="scaled out to 4")
    # Each poll exports its lag, the lag's read time and its recommendation at once; after a
    # failed read the lag and its time stay while the recommendation holds the replicas. So
    # each read is judged by the first scrape that shows it (many scrapes per poll).
    reads: dict[float, dict[str, float]] = {}
    for sample in seen:
        if "eventsub_subscription_lag_read_timestamp_seconds" in sample:
            reads.setdefault(sample["eventsub_subscription_lag_read_timestamp_seconds"], sample)
    backlog = [s for s in reads.values() if s.get("eventsub_subscription_lag", 0) > 1000]
    assert backlog, seen  # the scale happened on a poll that saw the backlog
    late = [s for s in backlog if s.get("eventsub_subscription_desired_replicas") != 4]
    assert not late, f"a read saw the backlog and its poll recommended fewer than 4: {late[0]}"


def test_a_stuck_partition_does_not_scale_out(
        kube: Kube, namespace: str, stack_info: StackInfo, tmp_path: Path) -> None:
    topic = _setup(kube, namespace, stack_info, partitions=4, scaling={
        "minReplicas": 1, "maxReplicas": 4, "lagThreshold": 10})
    with ConsumerRunner(kube.core, namespace, "workers", tmp_path):
        # The consumer owns every partition before the poison arrives: the stall window then
        # runs from the poison, however long the consumer took to start.
        eventually(lambda: assigned_partitions(stack_info.kafka_bootstrap, f"{namespace}.workers")
                   == 4, timeout=60, what="the consumer owning the 4 partitions")
        _produce(stack_info.kafka_bootstrap, topic, 4, 1, partition=0, value=b"poison")
        _produce(stack_info.kafka_bootstrap, topic, 4, 200, partition=0)
        body = wait_condition(kube, namespace, "EventSubscription", "workers", type_="Healthy",
                              status="False", reason="PartitionStalled", timeout=60)
        assert f"{topic}[0] Stall" in condition(body, "Healthy")["message"]  # type: ignore[index]
        seen = set()
        for _ in range(10):  # KEDA would go to 4 (201 lag / 10, capped at 4 partitions)
            seen.add(_deployment_replicas(kube, namespace))
            time.sleep(1)
        assert seen == {1}
        assert _status(kube, namespace)["totalLag"] >= 200
    event_posted(kube, namespace, "workers", "PartitionStalled")


def test_manual_mode_leaves_replicas_to_the_user(kube: Kube, namespace: str,
                                                 stack_info: StackInfo) -> None:
    topic = _setup(kube, namespace, stack_info, partitions=2,
                   scaling={"mode": "Manual", "minReplicas": 1})
    eventually(lambda: _deployment_replicas(kube, namespace) == 1, what="created with min")
    kube.apps.patch_namespaced_deployment_scale("workers-consumer", namespace,
                                                {"spec": {"replicas": 2}})
    _produce(stack_info.kafka_bootstrap, topic, 2, 500)
    eventually(lambda: (_status(kube, namespace).get("totalLag") or 0) >= 500, what="lag seen")
    time.sleep(3)
    assert _deployment_replicas(kube, namespace) == 2
    assert _status(kube, namespace)["replicas"] == 2


def test_template_change_rolls_out_and_wiring_is_complete(kube: Kube, namespace: str,
                                                         stack_info: StackInfo) -> None:
    topic = _setup(kube, namespace, stack_info, partitions=2, scaling={"minReplicas": 1})
    deployment = kube.apps.read_namespaced_deployment("workers-consumer", namespace)
    env = {e.name: e for e in deployment.spec.template.spec.containers[0].env}
    assert env["EVENTSUB_TOPICS"].value == topic
    assert env["EVENTSUB_GROUP_ID"].value == f"{namespace}.workers"
    assert env["EVENTSUB_DEAD_LETTER_TOPIC"].value == f"{topic}.dlq"
    assert deployment.metadata.owner_references[0].kind == "EventSubscription"
    kube.custom.patch_namespaced_custom_object(
        "eventsub.io", "v1alpha1", namespace, "eventsubscriptions", "workers",
        {"spec": {"template": {"spec": {"containers": [
            {"name": "consumer", "image": "example/consumer:2"}]}}}})
    eventually(lambda: kube.apps.read_namespaced_deployment("workers-consumer", namespace)
               .spec.template.spec.containers[0].image == "example/consumer:2",
               what="new template applied")
    eventually(lambda: all(p.spec.containers[0].image == "example/consumer:2"
                           for p in kube.core.list_namespaced_pod(
                               namespace, label_selector="eventsub.io/subscription=workers").items
                           if p.metadata.deletion_timestamp is None), timeout=60,
               what="pods rolled to the new image")
