"""The chart's RBAC is enough, and no more: the operator runs with a token of the chart's
ServiceAccount (not an admin certificate) through a whole scenario — a SCRAM connection whose
Secret it reads, a Delete-policy topic, a subscription that scales, a rewind and a bounded
replay — and the same credentials are refused outside the watched namespace."""

from __future__ import annotations

import base64
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient
from kubernetes import client

from conftest import Kube, fresh_namespace
from helm import CHART, client_for, helm, helm_ok, service_account_kubeconfig
from localstack import StackInfo
from localstack.consumers import ConsumerRunner
from operator_process import TEST_SETTINGS, OperatorProcess
from resources import create, delete, event_posted, get, gone, resource, wait_condition
from support import eventually, unique

# Job pods (a bounded replay) stay Running on kwok until their consumer process exits.
TEMPLATE = {"metadata": {"annotations": {"localstack.eventsub.io/run-until-exit": "true"}},
            "spec": {"containers": [{"name": "consumer", "image": "example/consumer:1"}]}}


@pytest.fixture
def namespaces(kube: Kube) -> Iterator[tuple[str, str, str]]:
    """(where the chart is installed, the one namespace it watches, one it does not watch)."""
    with fresh_namespace(kube, "sys") as home, fresh_namespace(kube, "w") as watched, \
            fresh_namespace(kube, "o") as other:
        yield home, watched, other


@pytest.fixture
def release(stack_info: StackInfo, crds: StackInfo, namespaces: tuple[str, str, str]) -> Iterator[str]:
    home, watched, _ = namespaces
    name = unique("rbac")
    helm_ok(stack_info, "install", name, str(CHART), "--namespace", home,
            "--set", f"watchNamespaces={{{watched}}}")
    try:
        yield name
    finally:
        helm(stack_info, "uninstall", name, "--namespace", home, "--wait")


def _chart_env(kube: Kube, namespace: str, deployment: str) -> dict[str, str]:
    """The operator's environment exactly as the chart's Deployment sets it."""
    container = kube.apps.read_namespaced_deployment(deployment, namespace).spec.template.spec.containers[0]
    fields = {"metadata.namespace": namespace, "metadata.name": f"{deployment}-local"}
    return {e.name: e.value if e.value is not None else fields[e.value_from.field_ref.field_path]
            for e in container.env}


def _secret(kube: Kube, namespace: str, stack_info: StackInfo) -> None:
    data = {"username": stack_info.sasl_username, "password": stack_info.sasl_password}
    kube.core.create_namespaced_secret(namespace, client.V1Secret(
        metadata=client.V1ObjectMeta(name="kafka-user"),
        data={k: base64.b64encode(v.encode()).decode() for k, v in data.items()}))


def test_a_whole_scenario_under_the_charts_service_account(
        kube: Kube, stack_info: StackInfo, kafka_admin: AdminClient, namespaces: tuple[str, str, str],
        release: str, tmp_path: Path) -> None:
    home, watched, other = namespaces
    name = f"{release}-eventsub-operator"
    kubeconfig = service_account_kubeconfig(stack_info, kube.api, home, name, tmp_path / "sa.yaml")
    env = {**_chart_env(kube, home, name), **TEST_SETTINGS, "KUBECONFIG": str(kubeconfig)}
    del env["EVENTSUB_METRICS_PORT"]  # the test picks a free port
    operator = OperatorProcess(stack_info, tmp_path / "operator.log", env, lease=name)
    try:
        assert f"authenticated to the Kubernetes API as system:serviceaccount:{home}:{name}" \
            in operator.log()
        assert client.CoordinationV1Api(kube.api).read_namespaced_lease(name, home)  # its Lease
        _secret(kube, watched, stack_info)
        create(kube, watched, resource("KafkaConnection", "kafka", {
            "bootstrapServers": [stack_info.kafka_sasl_bootstrap], "securityProtocol": "SASL_PLAINTEXT",
            "sasl": {"mechanism": "SCRAM-SHA-512", "secretName": "kafka-user"}}))
        wait_condition(kube, watched, "KafkaConnection", "kafka", reason="Connected")
        topic = unique("rbac")
        create(kube, watched, resource("EventTopic", "work", {
            "connectionRef": {"name": "kafka"}, "topicName": topic, "partitions": 4,
            "deletionPolicy": "Delete"}))
        wait_condition(kube, watched, "EventTopic", "work", reason="InSync")
        create(kube, watched, resource("EventSubscription", "workers", {
            "connectionRef": {"name": "kafka"}, "topics": [{"eventTopic": "work"}],
            "startPosition": "Earliest", "template": TEMPLATE,
            "scaling": {"minReplicas": 0, "maxReplicas": 4, "lagThreshold": 50,
                        "pollIntervalSeconds": 1}}))
        wait_condition(kube, watched, "EventSubscription", "workers", reason="Running")

        with ConsumerRunner(kube.core, watched, "workers", tmp_path / "consumers") as runner:
            producer = Producer({"bootstrap.servers": stack_info.kafka_bootstrap, "linger.ms": 5})
            for i in range(400):
                producer.produce(topic, f"event-{i}".encode(), partition=i % 4)
            assert producer.flush(30) == 0
            eventually(lambda: _replicas(kube, watched) == 4, timeout=30, what="scaled out")
            eventually(lambda: len(set(runner.processed())) == 400, timeout=90, what="drained")
            eventually(lambda: (get(kube, watched, "EventSubscription", "workers").get("status")
                                or {}).get("totalLag") == 0, timeout=30, what="committed")
            create(kube, watched, resource("EventReplay", "again", {
                "subscriptionRef": {"name": "workers"}, "from": {"earliest": True}}))
            wait_condition(kube, watched, "EventReplay", "again", type_="Succeeded",
                           reason="CaughtUp", timeout=120)
            eventually(lambda: sum(Counter(runner.processed()).values()) >= 800, timeout=60,
                       what="every message processed again")
            # A bounded replay: a Job the operator creates and whose status it reads.
            with ConsumerRunner(kube.core, watched, "", tmp_path / "job",
                                selector="eventsub.io/replay=bounded") as job:
                create(kube, watched, resource("EventReplay", "bounded", {
                    "subscriptionRef": {"name": "workers"}, "from": {"earliest": True},
                    "mode": "Job"}))
                wait_condition(kube, watched, "EventReplay", "bounded", type_="Succeeded",
                               reason="Completed", timeout=120)
            assert len(job.processed()) == 400
        event_posted(kube, watched, "workers", "ScaledUp")

        delete(kube, watched, "EventTopic", "work")  # Delete policy: the finalizer is the SA's
        eventually(lambda: gone(kube, watched, "EventTopic", "work"), timeout=60, what="released")
        assert topic not in kafka_admin.list_topics(timeout=10).topics
    finally:
        assert operator.stop() == 0, operator.log()[-3000:]
    log = operator.log()
    assert "Traceback" not in log and "HTTP 403" not in log and "Forbidden" not in log, log[-3000:]

    # The same credentials, outside what the chart grants:
    as_operator = client.CoreV1Api(client_for(kubeconfig))
    assert as_operator.read_namespaced_secret("kafka-user", watched).data  # granted: get, watched
    kube.core.create_namespaced_secret(other, client.V1Secret(metadata=client.V1ObjectMeta(name="x")))
    for refused in (lambda: as_operator.read_namespaced_secret("x", other),  # not watched
                    lambda: as_operator.list_namespaced_secret(watched),  # get by name only
                    lambda: client.AppsV1Api(as_operator.api_client).list_namespaced_deployment(other),
                    lambda: as_operator.create_namespace(
                        client.V1Namespace(metadata=client.V1ObjectMeta(name=unique("no"))))):
        with pytest.raises(client.ApiException) as denied:
            refused()
        assert denied.value.status == 403


def _replicas(kube: Kube, namespace: str) -> int:
    return int(kube.apps.read_namespaced_deployment("workers-consumer", namespace).spec.replicas)

