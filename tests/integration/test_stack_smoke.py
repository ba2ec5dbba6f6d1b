"""The local stack is real: a broker that stores messages, an API server with working controllers."""

from __future__ import annotations

import uuid

from confluent_kafka import Consumer, Producer
from confluent_kafka.admin import AdminClient, NewTopic
from kubernetes import client

from conftest import Kube
from localstack import StackInfo
from support import eventually, unique

LABELS = {"app": "smoke"}


def test_kafka_topic_produce_consume(stack_info: StackInfo, kafka_admin: AdminClient) -> None:
    topic = unique("smoke")
    kafka_admin.create_topics([NewTopic(topic, num_partitions=3, replication_factor=1)])[topic].result(30)
    payloads = [f"message-{i}-{uuid.uuid4().hex}".encode() for i in range(20)]
    producer = Producer({"bootstrap.servers": stack_info.kafka_bootstrap})
    for i, payload in enumerate(payloads):
        producer.produce(topic, payload, partition=i % 3)
    assert producer.flush(30) == 0

    consumer = Consumer({"bootstrap.servers": stack_info.kafka_bootstrap, "group.id": unique("g"),
                         "auto.offset.reset": "earliest"})
    consumer.subscribe([topic])
    received: list[bytes] = []
    try:
        def drained() -> bool:
            message = consumer.poll(1.0)
            if message is not None and message.error() is None:
                received.append(message.value())
            return len(received) == len(payloads)
        eventually(drained, timeout=60, interval=0, what="all messages consumed")
    finally:
        consumer.close()
    assert sorted(received) == sorted(payloads)
    assert len(kafka_admin.list_topics(topic, timeout=10).topics[topic].partitions) == 3


def test_crd_and_custom_resource_round_trip(kube: Kube, namespace: str) -> None:
    group, plural = "smoke.eventsub.io", f"widgets{uuid.uuid4().hex[:6]}"
    crd = client.V1CustomResourceDefinition(
        metadata=client.V1ObjectMeta(name=f"{plural}.{group}"),
        spec=client.V1CustomResourceDefinitionSpec(
            group=group, scope="Namespaced",
            names=client.V1CustomResourceDefinitionNames(plural=plural, kind=f"W{plural}",
                                                         singular=plural[:-1] + "x"),
            versions=[client.V1CustomResourceDefinitionVersion(
                name="v1", served=True, storage=True,
                schema=client.V1CustomResourceValidation(open_apiv3_schema={
                    "type": "object",
                    "properties": {"spec": {"type": "object", "properties": {
                        "size": {"type": "integer", "minimum": 1}}}},
                }),
            )],
        ),
    )
    kube.apiext.create_custom_resource_definition(crd)
    try:
        eventually(lambda: any(c.type == "Established" and c.status == "True" for c in
                               kube.apiext.read_custom_resource_definition(crd.metadata.name)
                               .status.conditions or []), what="CRD established")
        body = {"apiVersion": f"{group}/v1", "kind": f"W{plural}",
                "metadata": {"name": "one"}, "spec": {"size": 3}}
        eventually(lambda: kube.custom.create_namespaced_custom_object(
            group, "v1", namespace, plural, body), what="custom resource created")
        read = kube.custom.get_namespaced_custom_object(group, "v1", namespace, plural, "one")
        assert read["spec"] == {"size": 3}
    finally:
        kube.apiext.delete_custom_resource_definition(crd.metadata.name)


def _deployment(name: str, replicas: int) -> client.V1Deployment:
    return client.V1Deployment(
        metadata=client.V1ObjectMeta(name=name, labels=LABELS),
        spec=client.V1DeploymentSpec(
            replicas=replicas, selector=client.V1LabelSelector(match_labels=LABELS),
            template=client.V1PodTemplateSpec(
                metadata=client.V1ObjectMeta(labels=LABELS),
                spec=client.V1PodSpec(containers=[client.V1Container(name="c", image="busybox")]),
            ),
        ),
    )


def _running_pods(kube: Kube, namespace: str) -> list[client.V1Pod]:
    pods = kube.core.list_namespaced_pod(namespace, label_selector="app=smoke").items
    return [p for p in pods if p.status.phase == "Running" and p.metadata.deletion_timestamp is None]


def test_deployment_gets_running_pods(kube: Kube, namespace: str) -> None:
    kube.apps.create_namespaced_deployment(namespace, _deployment("smoke", 2))
    pods = eventually(lambda: (r := _running_pods(kube, namespace)) and len(r) == 2 and r,
                      what="2 Running pods")
    assert {p.spec.node_name for p in pods} == {"kwok-node-0"}
    eventually(lambda: kube.apps.read_namespaced_deployment("smoke", namespace)
               .status.ready_replicas == 2, what="Deployment reports 2 ready replicas")


def test_job_completes(kube: Kube, namespace: str) -> None:
    job = client.V1Job(
        metadata=client.V1ObjectMeta(name="smoke"),
        spec=client.V1JobSpec(template=client.V1PodTemplateSpec(spec=client.V1PodSpec(
            restart_policy="Never", containers=[client.V1Container(name="c", image="busybox")]))),
    )
    kube.batch.create_namespaced_job(namespace, job)

    def complete() -> bool:
        conditions = kube.batch.read_namespaced_job("smoke", namespace).status.conditions or []
        return any(c.type == "Complete" and c.status == "True" for c in conditions)
    eventually(complete, what="Job Complete")
    assert kube.batch.read_namespaced_job("smoke", namespace).status.succeeded == 1


def test_deleting_owner_garbage_collects_dependents(kube: Kube, namespace: str) -> None:
    owner = kube.core.create_namespaced_config_map(
        namespace, client.V1ConfigMap(metadata=client.V1ObjectMeta(name="owner")))
    reference = client.V1OwnerReference(api_version="v1", kind="ConfigMap",
                                        name="owner", uid=owner.metadata.uid)
    kube.core.create_namespaced_config_map(namespace, client.V1ConfigMap(
        metadata=client.V1ObjectMeta(name="dependent", owner_references=[reference])))
    kube.apps.create_namespaced_deployment(namespace, _deployment("smoke", 1))
    eventually(lambda: len(_running_pods(kube, namespace)) == 1, what="1 Running pod")

    kube.core.delete_namespaced_config_map("owner", namespace)
    kube.apps.delete_namespaced_deployment("smoke", namespace, propagation_policy="Background")

    def dependents_gone() -> bool:
        config_maps = {c.metadata.name for c in kube.core.list_namespaced_config_map(namespace).items}
        replica_sets = kube.apps.list_namespaced_replica_set(namespace).items
        pods = kube.core.list_namespaced_pod(namespace).items
        return "dependent" not in config_maps and not replica_sets and not pods
    eventually(dependents_gone, timeout=90, what="dependents garbage-collected")
