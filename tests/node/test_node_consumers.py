"""A subscription's consumers and a Job-mode replay as real containers on the real node: the
operator image's `python -m eventsub.consumer`, started, stopped and reaped by a kubelet.

The operator runs as the integration tests run it (a host process); what is under test here is
what the kubelet does to the consumers: scaled out on a backlog, SIGTERMed on scale-down with the
pod's grace period, a Job complete because its container exited 0."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic
from kubernetes import client

from conftest import Kube
from localstack import LocalStack, StackInfo
from realnode import RESTRICTED_CONTAINER, PodRecorder, placement
from resources import consumed_topic, create, get, resource, wait_condition
from support import eventually, unique

pytestmark = pytest.mark.usefixtures("operator")

HANDLER = Path(__file__).with_name("counting_handler.py")
GRACE_SECONDS = 45  # not the default 30: the pod's own grace period is what the kubelet uses
SIGTERM_LOG = "signal 15: draining and leaving the group"

Record = tuple[str, int, int]  # topic, partition, offset


def _consumer_template(image: str, counted_topic: str, handling_seconds: float) -> dict[str, Any]:
    """The subscription's pod: the operator image on the real node, restricted, with the
    counting handler mounted from a ConfigMap (the image stays the one users build)."""
    return {"spec": {
        **placement(), "terminationGracePeriodSeconds": GRACE_SECONDS,
        "volumes": [{"name": "handler", "configMap": {"name": "handler"}}],
        "containers": [{
            "name": "consumer", "image": image, "imagePullPolicy": "Never",
            "command": ["python", "-m", "eventsub.consumer", "counting_handler:handle"],
            "env": [{"name": "PYTHONPATH", "value": "/handler"},
                    {"name": "COUNTED_TOPIC", "value": counted_topic},
                    {"name": "HANDLING_SECONDS", "value": str(handling_seconds)}],
            "volumeMounts": [{"name": "handler", "mountPath": "/handler", "readOnly": True}],
            "securityContext": RESTRICTED_CONTAINER,
            "resources": {"limits": {"memory": "128Mi"}}}]}}


def _counting(info: StackInfo, kube: Kube, namespace: str, admin: AdminClient,
              handling_seconds: float = 0) -> tuple[dict[str, Any], str]:
    """The pod template, with its handler's ConfigMap, and the topic it counts into."""
    counted = unique("counted")
    admin.create_topics([NewTopic(counted, 1, 1)])[counted].result(30)
    kube.core.create_namespaced_config_map(namespace, client.V1ConfigMap(
        metadata=client.V1ObjectMeta(name="handler"),
        data={"counting_handler.py": HANDLER.read_text()}))
    image = LocalStack().node_image(info, "operator")
    return _consumer_template(image, counted, handling_seconds), counted


def _counted(bootstrap: str, topic: str) -> list[tuple[str, Record]]:
    """(pod, message) for every message the handlers counted, in order."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": unique("count"),
                         "enable.auto.commit": False})
    _, end = consumer.get_watermark_offsets(TopicPartition(topic, 0), timeout=10)
    consumer.assign([TopicPartition(topic, 0, 0)])
    records: list[tuple[str, Record]] = []
    while len(records) < end:
        message = consumer.poll(10)
        assert message is not None and message.error() is None, message and message.error()
        name, partition, offset = message.value().decode().split()
        records.append((message.key().decode(), (name, int(partition), int(offset))))
    consumer.close()
    return records


def _produce(bootstrap: str, topic: str, partitions: int, count: int) -> set[Record]:
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 5})
    produced: set[Record] = set()

    def delivered(error: Any, message: Any) -> None:
        assert error is None, error
        produced.add((message.topic(), message.partition(), message.offset()))
    for i in range(count):
        producer.produce(topic, f"event-{i}".encode(), partition=i % partitions,
                         on_delivery=delivered)
    assert producer.flush(30) == 0
    return produced


def _replicas(kube: Kube, namespace: str) -> int:
    return int(kube.apps.read_namespaced_deployment("workers-consumer", namespace).spec.replicas)


def test_consumer_pods_scale_out_on_a_backlog_drain_it_and_stop_on_the_kubelets_sigterm(
        real_node: StackInfo, kube: Kube, namespace: str, kafka_admin: AdminClient) -> None:
    # 600 messages of 20 ms: 12 s for one consumer, so the others get a share once they joined.
    template, counted_topic = _counting(real_node, kube, namespace, kafka_admin, 0.02)
    topic = consumed_topic(kube, namespace, real_node.kafka_bootstrap, {
        "minReplicas": 0, "maxReplicas": 3, "lagThreshold": 50, "pollIntervalSeconds": 1,
        "cooldownSeconds": 3, "scaleDownStabilizationSeconds": 3}, partitions=3, template=template)
    with PodRecorder(kube.core, namespace, "eventsub.io/subscription=workers") as pods:
        produced = _produce(real_node.kafka_bootstrap, topic, 3, 600)
        eventually(lambda: _replicas(kube, namespace) == 3, timeout=30,
                   what="scaled out to the partition count (600 / 50, capped at 3)")
        eventually(lambda: (get(kube, namespace, "EventSubscription", "workers").get("status")
                            or {}).get("totalLag") == 0, timeout=120, what="the backlog drained")
        eventually(lambda: _replicas(kube, namespace) == 0, timeout=60, what="scaled to zero")
        # Every consumer pod the Deployment had ended, as the kubelet reported it.
        eventually(lambda: len(pods.pods) >= 3 and all(pods.terminated(n) for n in list(pods.pods)),
                   timeout=GRACE_SECONDS + 30, what="every consumer container terminated")
    for name, pod in pods.pods.items():
        assert pod.spec.node_name == "127.0.0.1"
        # Deleted with the pod's grace period; the consumer drained, committed and exited 0 on
        # the SIGTERM, well within it (a kill at its end would be exit code 137).
        assert pods.grace_seconds[name] == GRACE_SECONDS
        ended = pods.terminated(name)
        assert (ended.exit_code, ended.reason) == (0, "Completed"), ended
        assert SIGTERM_LOG in pods.logs[name], pods.logs[name]
        assert "final commit failed" not in pods.logs[name], pods.logs[name]
    counted = _counted(real_node.kafka_bootstrap, counted_topic)
    # At least once, and only what was produced: every message processed, none lost.
    assert {record for _, record in counted} == produced
    by_pod = Counter(pod for pod, _ in counted)
    assert len(by_pod) >= 2, by_pod  # the scale-out shared the backlog
    print(f"processed by pod: {by_pod}; "
          f"twice: {sum(n - 1 for n in Counter(r for _, r in counted).values())}")


def test_a_job_replay_runs_on_the_real_node_and_completes_when_its_container_exits(
        real_node: StackInfo, kube: Kube, namespace: str, kafka_admin: AdminClient) -> None:
    template, counted_topic = _counting(real_node, kube, namespace, kafka_admin)
    # Manual scaling at zero replicas: the Job is the only consumer.
    topic = consumed_topic(kube, namespace, real_node.kafka_bootstrap,
                           {"mode": "Manual", "minReplicas": 0}, partitions=2, template=template)
    produced = _produce(real_node.kafka_bootstrap, topic, 2, 40)
    with PodRecorder(kube.core, namespace, "eventsub.io/replay=bounded") as pods:
        create(kube, namespace, resource("EventReplay", "bounded", {
            "subscriptionRef": {"name": "workers"}, "from": {"earliest": True}, "mode": "Job"}))
        wait_condition(kube, namespace, "EventReplay", "bounded", type_="Succeeded",
                       reason="Completed", timeout=120)
        eventually(lambda: any(pods.terminated(n) for n in list(pods.pods)), timeout=30,
                   what="the Job's container terminated")
    assert kube.batch.read_namespaced_job("bounded-replay", namespace).status.succeeded == 1
    (name, pod), = pods.pods.items()
    assert pod.spec.node_name == "127.0.0.1"
    assert pod.status.phase == "Succeeded"
    ended = pods.terminated(name)
    assert (ended.exit_code, ended.reason) == (0, "Completed"), ended
    assert "localstack.eventsub.io/exit-code" not in (pod.metadata.annotations or {})
    # The bounded range, each message once, all by the Job's pod.
    counted = _counted(real_node.kafka_bootstrap, counted_topic)
    assert sorted(record for _, record in counted) == sorted(produced)
    assert {pod for pod, _ in counted} == {name}
