"""EventReplay (Rewind mode) end to end: pause, move offsets while the group is Empty, resume;
the consumers process again exactly the replayed messages. Bad input moves nothing."""

from __future__ import annotations

import datetime
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import Consumer, Producer

from conftest import Kube
from localstack import StackInfo
from localstack.consumers import ConsumerRunner
from operator_process import OperatorProcess
from resources import condition, create, event_posted, event_reasons, get, resource, wait_condition
from support import eventually, unique

pytestmark = pytest.mark.usefixtures("operator")
TEMPLATE = {"spec": {"containers": [{"name": "consumer", "image": "example/consumer:1"}]}}


def _setup(kube: Kube, namespace: str, stack_info: StackInfo, replicas: int = 4,
           template: dict[str, Any] | None = None) -> str:
    create(kube, namespace, resource("KafkaConnection", "local",
                                     {"bootstrapServers": [stack_info.kafka_bootstrap]}))
    topic = unique("replayed")
    create(kube, namespace, resource("EventTopic", "events", {
        "connectionRef": {"name": "local"}, "topicName": topic, "partitions": 4}))
    wait_condition(kube, namespace, "EventTopic", "events", reason="InSync")
    create(kube, namespace, resource("EventSubscription", "readers", {
        "connectionRef": {"name": "local"}, "topics": [{"eventTopic": "events"}],
        "startPosition": "Earliest", "template": template or TEMPLATE,
        "scaling": {"minReplicas": replicas, "maxReplicas": replicas, "pollIntervalSeconds": 1}}))
    wait_condition(kube, namespace, "EventSubscription", "readers", reason="Running")
    return topic


def _produce(stack_info: StackInfo, topic: str, per_partition: int) -> set[tuple[str, int, int]]:
    producer = Producer({"bootstrap.servers": stack_info.kafka_bootstrap})
    offsets: set[tuple[str, int, int]] = set()

    def delivered(error: Any, message: Any) -> None:
        assert error is None
        offsets.add((message.topic(), message.partition(), message.offset()))
    for i in range(per_partition):
        for partition in range(4):
            producer.produce(topic, f"event-{i}".encode(), partition=partition, on_delivery=delivered)
    assert producer.flush(30) == 0
    return offsets


def _replicas(kube: Kube, namespace: str) -> int:
    return int(kube.apps.read_namespaced_deployment("readers-consumer", namespace).spec.replicas)


def test_rewind_to_a_timestamp_reprocesses_exactly_the_messages_since(
        kube: Kube, namespace: str, stack_info: StackInfo, tmp_path: Path) -> None:
    topic = _setup(kube, namespace, stack_info)
    with ConsumerRunner(kube.core, namespace, "readers", tmp_path) as runner:
        eventually(lambda: len(runner.processes) == 4, timeout=60, what="4 consumers")
        time.sleep(4)  # the group settles before anything is produced
        before = _produce(stack_info, topic, 25)
        eventually(lambda: set(runner.processed()) >= before, timeout=60, what="first batch")
        # The replay starts at a whole second strictly between the two batches.
        cut = datetime.datetime.now(datetime.UTC).replace(microsecond=0) + datetime.timedelta(seconds=2)
        time.sleep(max(0.0, (cut - datetime.datetime.now(datetime.UTC)).total_seconds()) + 1.0)
        since = _produce(stack_info, topic, 20)
        eventually(lambda: set(runner.processed()) >= before | since, timeout=60,
                   what="second batch")
        eventually(lambda: (get(kube, namespace, "EventSubscription", "readers").get("status")
                            or {}).get("totalLag") == 0, timeout=30, what="everything committed")
        applied = time.monotonic()
        create(kube, namespace, resource("EventReplay", "since-cut", {
            "subscriptionRef": {"name": "readers"},
            "from": {"timestamp": cut.strftime("%Y-%m-%dT%H:%M:%SZ")}}))
        eventually(lambda: (get(kube, namespace, "EventReplay", "since-cut").get("status") or {})
                   .get("step") in ("Restored", "Done"), timeout=90, interval=0.1,
                   what="consumers resumed")
        resumed = time.monotonic() - applied
        eventually(lambda: _replicas(kube, namespace) == 4 and len(runner.processes) == 4,
                   timeout=30, what="4 consumers running again")
        running_again = time.monotonic() - applied
        print(f"rewind of a 4-replica subscription: resumed {resumed:.1f}s, consumers running "
              f"{running_again:.1f}s after kubectl apply")
        body = wait_condition(kube, namespace, "EventReplay", "since-cut", type_="Succeeded",
                              reason="CaughtUp", timeout=90)
        eventually(lambda: sum(Counter(runner.processed()).values()) >=
                   len(before) + 2 * len(since), timeout=30, what="replayed messages processed")
    counts = Counter(runner.processed())
    again = {record for record, n in counts.items() if n > 1}
    assert again == since  # exactly the messages from the timestamp on, once more
    per_partition = Counter(p for _, p, _ in again)
    assert per_partition == {0: 20, 1: 20, 2: 20, 3: 20}
    status = body["status"]
    assert status["messagesToReplay"] == 80 and status["remainingLag"] == 0
    assert status["pausedReplicas"] == 4 and len(status["snapshot"]) == 4
    reasons = event_reasons(kube, namespace, "since-cut")
    assert reasons.count("OffsetsMoved") == 1
    assert {"Planned", "Paused", "Resumed", "CaughtUp"} <= set(reasons)
    # Rolling back is one field: a replay to the snapshot the first one took.
    create(kube, namespace, resource("EventReplay", "undo", {
        "subscriptionRef": {"name": "readers"}, "from": {"snapshotOf": "since-cut"}}))
    undo = wait_condition(kube, namespace, "EventReplay", "undo", type_="Succeeded",
                          reason="CaughtUp", timeout=90)
    snapshot = {(o["topic"], o["partition"]): o["offset"] for o in status["snapshot"]}
    assert {(m["topic"], m["partition"]): m["newOffset"] for m in undo["status"]["plan"]} == snapshot


def test_dry_run_plans_and_moves_nothing(kube: Kube, namespace: str, stack_info: StackInfo) -> None:
    topic = _setup(kube, namespace, stack_info, replicas=1)
    _produce(stack_info, topic, 10)
    create(kube, namespace, resource("EventReplay", "look", {
        "subscriptionRef": {"name": "readers"}, "from": {"earliest": True}, "dryRun": True}))
    body = wait_condition(kube, namespace, "EventReplay", "look", type_="Succeeded", reason="DryRun")
    assert {m["newOffset"] for m in body["status"]["plan"]} == {0}
    assert len(body["status"]["plan"]) == 4
    assert "Paused" not in event_reasons(kube, namespace, "look")
    assert _replicas(kube, namespace) == 1


@pytest.mark.parametrize(("name", "spec", "reason"), [
    ("future", {"from": {"timestamp": "2099-01-01T00:00:00Z"}}, "TimestampInFuture"),
    ("beyond", {"from": {"offsets": [{"topic": "TOPIC", "partition": 0, "offset": 999}]}},
     "OffsetOutOfRange"),
])
def test_bad_replays_fail_with_a_reason_and_move_nothing(
        kube: Kube, namespace: str, stack_info: StackInfo, name: str, spec: dict[str, Any],
        reason: str) -> None:
    topic = _setup(kube, namespace, stack_info, replicas=1)
    _produce(stack_info, topic, 5)
    if "offsets" in spec["from"]:
        spec["from"]["offsets"][0]["topic"] = topic
    create(kube, namespace, resource("EventReplay", name, {"subscriptionRef": {"name": "readers"},
                                                          **spec}))
    body = wait_condition(kube, namespace, "EventReplay", name, type_="Succeeded", status="False",
                          reason=reason)
    assert body["status"]["step"] == "Failed"
    assert not body["status"].get("pausedReplicas")
    assert _replicas(kube, namespace) == 1
    event_posted(kube, namespace, name, reason)


def test_unknown_subscription_waits_with_a_reason(kube: Kube, namespace: str) -> None:
    create(kube, namespace, resource("EventReplay", "orphan", {
        "subscriptionRef": {"name": "nobody"}, "from": {"earliest": True}}))
    body = wait_condition(kube, namespace, "EventReplay", "orphan", type_="Succeeded",
                          status="Unknown", reason="SubscriptionNotFound")
    assert "nobody" in condition(body, "Succeeded")["message"]  # type: ignore[index]


def test_a_group_that_never_empties_fails_and_restores_replicas(
        kube: Kube, namespace: str, stack_info: StackInfo) -> None:
    topic = _setup(kube, namespace, stack_info, replicas=2)
    _produce(stack_info, topic, 5)
    outsider = Consumer({"bootstrap.servers": stack_info.kafka_bootstrap,
                         "group.id": f"{namespace}.readers", "auto.offset.reset": "earliest"})
    outsider.subscribe([topic])
    try:
        eventually(lambda: outsider.poll(0.5) is not None or outsider.assignment(), timeout=30,
                   what="an outside consumer in the group")
        create(kube, namespace, resource("EventReplay", "blocked", {
            "subscriptionRef": {"name": "readers"}, "from": {"earliest": True},
            "emptyGroupTimeoutSeconds": 5}))

        def failed() -> dict[str, Any] | None:
            outsider.poll(0.1)  # stay in the group
            body = get(kube, namespace, "EventReplay", "blocked")
            c = condition(body, "Succeeded")
            return body if c and c["reason"] == "GroupNotEmpty" else None
        body = eventually(failed, timeout=60, what="GroupNotEmpty")
    finally:
        outsider.close()
    assert "Nothing was moved" in condition(body, "Succeeded")["message"]  # type: ignore[index]
    assert "OffsetsMoved" not in event_reasons(kube, namespace, "blocked")
    eventually(lambda: _replicas(kube, namespace) == 2, what="replicas restored")


def _wait_for(probe: Any, what: str, timeout: float = 90) -> Any:
    return eventually(probe, timeout=timeout, interval=0.05, what=what)


def test_operator_killed_after_the_pause_and_after_the_move_completes_once(
        kube: Kube, namespace: str, stack_info: StackInfo, tmp_path: Path,
        operator: OperatorProcess) -> None:
    topic = _setup(kube, namespace, stack_info)
    with ConsumerRunner(kube.core, namespace, "readers", tmp_path) as runner:
        eventually(lambda: len(runner.processes) == 4, timeout=60, what="4 consumers")
        time.sleep(4)
        produced = _produce(stack_info, topic, 15)
        eventually(lambda: set(runner.processed()) >= produced, timeout=60, what="processed")
        create(kube, namespace, resource("EventReplay", "crashy", {
            "subscriptionRef": {"name": "readers"}, "from": {"earliest": True}}))

        def step() -> str | None:
            return (get(kube, namespace, "EventReplay", "crashy").get("status") or {}).get("step")
        _wait_for(lambda: step() == "Paused", "paused")
        operator.kill()  # right after the pause
        assert _replicas(kube, namespace) == 0
        operator.start()
        # Right after the offsets moved: the Event is posted before the step is written.
        _wait_for(lambda: "OffsetsMoved" in event_reasons(kube, namespace, "crashy"), "moved")
        operator.kill()
        operator.start()
        wait_condition(kube, namespace, "EventReplay", "crashy", type_="Succeeded",
                       reason="CaughtUp", timeout=120)
        eventually(lambda: _replicas(kube, namespace) == 4, what="replicas restored")
        eventually(lambda: sum(Counter(runner.processed()).values()) >= 2 * len(produced),
                   timeout=60, what="replayed once")
    counts = Counter(runner.processed())
    assert {record for record, n in counts.items() if n > 1} == produced
    assert event_posted(kube, namespace, "crashy", "OffsetsMoved").count("OffsetsMoved") == 1


def test_job_mode_processes_exactly_the_bounded_range_while_the_subscription_runs(
        kube: Kube, namespace: str, stack_info: StackInfo, kafka_admin: Any,
        tmp_path: Path) -> None:
    template = {"metadata": {"annotations": {"localstack.eventsub.io/run-until-exit": "true"}},
                **TEMPLATE}
    topic = _setup(kube, namespace, stack_info, replicas=2, template=template)
    with ConsumerRunner(kube.core, namespace, "readers", tmp_path / "live") as live, \
            ConsumerRunner(kube.core, namespace, "", tmp_path / "job",
                           selector="eventsub.io/replay=bounded") as job:
        eventually(lambda: len(live.processes) == 2, timeout=60, what="2 live consumers")
        first = _produce(stack_info, topic, 30)
        eventually(lambda: set(live.processed()) >= first, timeout=60, what="live consumed")
        eventually(lambda: (get(kube, namespace, "EventSubscription", "readers").get("status")
                            or {}).get("totalLag") == 0, timeout=30, what="committed")
        create(kube, namespace, resource("EventReplay", "bounded", {
            "subscriptionRef": {"name": "readers"}, "from": {"earliest": True}, "mode": "Job"}))
        eventually(lambda: (get(kube, namespace, "EventReplay", "bounded").get("status") or {})
                   .get("step") == "JobStarted", timeout=60, what="Job started")
        later = _produce(stack_info, topic, 5)  # after the end was taken: not the Job's
        body = wait_condition(kube, namespace, "EventReplay", "bounded", type_="Succeeded",
                              reason="Completed", timeout=120)
        eventually(lambda: set(live.processed()) >= first | later, timeout=60,
                   what="the subscription kept consuming")
        assert _replicas(kube, namespace) == 2
    assert sorted(job.processed()) == sorted(first)  # the range, each message once
    assert body["status"]["remainingLag"] == 0 and body["status"]["messagesToReplay"] == 120
    group = body["status"]["jobConsumerGroup"]
    described = kafka_admin.describe_consumer_groups([group])[group].result(10)
    assert str(described.state).endswith("DEAD")  # removed after the Job
    assert kube.batch.read_namespaced_job("bounded-replay", namespace).status.succeeded == 1


def test_a_second_replay_of_the_subscription_waits_for_the_first(
        kube: Kube, namespace: str, stack_info: StackInfo) -> None:
    topic = _setup(kube, namespace, stack_info, replicas=1)
    _produce(stack_info, topic, 5)
    for name in ("first", "second"):
        create(kube, namespace, resource("EventReplay", name, {
            "subscriptionRef": {"name": "readers"}, "from": {"earliest": True},
            "emptyGroupTimeoutSeconds": 60}))
    wait_condition(kube, namespace, "EventReplay", "second", type_="Succeeded", status="Unknown",
                   reason="WaitingForReplay", timeout=30)
    for name in ("first", "second"):
        wait_condition(kube, namespace, "EventReplay", name, type_="Succeeded", reason="CaughtUp",
                       timeout=120)
        assert event_posted(kube, namespace, name, "Paused").count("Paused") == 1
    assert _replicas(kube, namespace) == 1
