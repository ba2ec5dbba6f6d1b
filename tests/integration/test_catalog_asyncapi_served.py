"""The AsyncAPI document on the real stack: the operator serves the catalog of the samples and of
a 200-topic namespace on its HTTP port; the official parser finds no error in either; every real
consumer group (the subscriptions' status, and Kafka's own list) is in it, and no secret is. The
kubectl plugin, run through kubectl as a user would, prints the same catalog without the
operator's port."""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from confluent_kafka.admin import AdminClient

from asyncapi_parser import errors
from conftest import NAMESPACE_PREFIX, Kube, fresh_namespace
from kubectl import REPO, kubectl_ok
from localstack import StackInfo
from operator_process import OperatorProcess
from resources import CONSUMER_TEMPLATE, GROUP, VERSION
from support import eventually

SAMPLES = REPO / "manifests" / "samples"
SAMPLE_FILES = ("kafkaconnection.yaml", "kafkaconnection-scram.yaml", "kafkaconnection-mtls.yaml",
                "eventtopic-orders.yaml", "eventtopic-payments.yaml", "eventsubscription.yaml")
SECRET_VALUES = ("change-me", "orders-service")  # the SCRAM sample's Secret
TOPICS, SUBSCRIPTIONS = 200, 100  # each subscription reads two topics and produces a third
CUSTOM_GROUP = "billing-custom-group"


def _samples(namespace: str, bootstrap: str) -> list[dict[str, Any]]:
    """The samples as the demo applies them: our Kafka, topic names of this namespace."""
    docs = [d for f in SAMPLE_FILES for d in yaml.safe_load_all((SAMPLES / f).read_text()) if d]
    for doc in docs:
        spec = doc.get("spec") or {}
        if doc["metadata"]["name"] == "local":
            spec["bootstrapServers"] = [bootstrap]
        if doc["kind"] == "EventTopic":
            spec["topicName"] = f"{namespace}.{doc['metadata']['name']}"
        if doc["kind"] == "EventSubscription":
            spec["deadLetterTopic"] = f"{namespace}.{spec['deadLetterTopic']}"
    return docs


def _bulk(namespace: str, bootstrap: str) -> list[dict[str, Any]]:
    def doc(kind: str, name: str, spec: dict[str, Any]) -> dict[str, Any]:
        return {"apiVersion": f"{GROUP}/{VERSION}", "kind": kind, "metadata": {"name": name},
                "spec": spec}
    docs = [doc("KafkaConnection", "local", {"bootstrapServers": [bootstrap]})]
    docs += [doc("EventTopic", f"events-{i:03d}", {
        "connectionRef": {"name": "local"}, "topicName": f"{namespace}.events-{i:03d}",
        "catalog": {"owner": f"team-{i % 7}", "description": f"event {i}"}})
        for i in range(TOPICS)]
    for i in range(SUBSCRIPTIONS):
        spec = {"connectionRef": {"name": "local"},
                "topics": [{"eventTopic": f"events-{2 * i:03d}"},
                           {"eventTopic": f"events-{2 * i + 1:03d}"}],
                "produces": [f"{namespace}.events-{(2 * i + 2) % TOPICS:03d}"],
                "scaling": {"minReplicas": 0, "maxReplicas": 1}, "template": CONSUMER_TEMPLATE}
        if i == 0:
            spec["consumerGroup"] = f"{namespace}-{CUSTOM_GROUP}"
        docs.append(doc("EventSubscription", f"service-{i:03d}", spec))
    return docs


def _apply(info: StackInfo, namespace: str, docs: list[dict[str, Any]]) -> None:
    kubectl_ok(info, "apply", "-n", namespace, "-f", "-", stdin=yaml.safe_dump_all(docs))


def _settled(kube: Kube, namespace: str, topics: int, subscriptions: int) -> dict[str, str] | None:
    """subscription -> its consumer group, once every topic and subscription is Ready."""
    def listed(plural: str) -> list[dict[str, Any]]:
        return list(kube.custom.list_namespaced_custom_object(GROUP, VERSION, namespace,
                                                              plural)["items"])

    def ready(body: dict[str, Any]) -> bool:
        return any(c["type"] == "Ready" and c["status"] == "True"
                   for c in (body.get("status") or {}).get("conditions", []))
    ready_topics = [t for t in listed("eventtopics") if ready(t)]
    subs = [s for s in listed("eventsubscriptions")
            if ready(s) and s["status"].get("consumerGroup") and s["status"].get("startOffsetsTime")]
    if len(ready_topics) < topics or len(subs) < subscriptions:
        return None
    return {s["metadata"]["name"]: s["status"]["consumerGroup"] for s in subs}


def _get(operator: OperatorProcess, path: str) -> tuple[int, dict[str, str], bytes]:
    url = f"http://127.0.0.1:{operator.metrics_port}{path}"
    try:
        with urllib.request.urlopen(url, timeout=30) as answer:
            return answer.status, dict(answer.headers), answer.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def _groups(doc: dict[str, Any]) -> set[str]:
    return {group for op in doc["operations"].values() if op["action"] == "receive"
            for group in op["bindings"]["kafka"]["groupId"]["enum"]}


@pytest.fixture(scope="module")
def catalog_namespaces(kube: Kube, stack_info: StackInfo, operator: OperatorProcess
                       ) -> Iterator[tuple[str, str, dict[str, str], dict[str, str]]]:
    """(samples namespace, 200-topic namespace, their groups by subscription), all settled."""
    with fresh_namespace(kube, NAMESPACE_PREFIX) as samples, \
            fresh_namespace(kube, NAMESPACE_PREFIX) as bulk:
        _apply(stack_info, samples, _samples(samples, stack_info.kafka_bootstrap))
        _apply(stack_info, bulk, _bulk(bulk, stack_info.kafka_bootstrap))
        sample_groups = eventually(lambda: _settled(kube, samples, 2, 1), timeout=60,
                                   what="the samples Ready")
        bulk_groups = eventually(lambda: _settled(kube, bulk, TOPICS, SUBSCRIPTIONS), timeout=120,
                                 what=f"{TOPICS} topics and {SUBSCRIPTIONS} subscriptions Ready")
        yield samples, bulk, sample_groups, bulk_groups


def test_the_served_documents_validate_and_list_every_real_consumer_group(
        catalog_namespaces: tuple[str, str, dict[str, str], dict[str, str]],
        operator: OperatorProcess, kafka_admin: AdminClient) -> None:
    samples, bulk, sample_groups, bulk_groups = catalog_namespaces
    assert bulk_groups["service-000"] == f"{bulk}-{CUSTOM_GROUP}"  # the real id, not a default
    # Kafka has these groups: the operator committed their start offsets.
    in_kafka = {g.group_id for g in kafka_admin.list_consumer_groups().result(timeout=30).valid}
    assert {*sample_groups.values(), *bulk_groups.values()} <= in_kafka

    def document(namespace: str, fmt: str) -> tuple[bytes, dict[str, Any]] | None:
        status, headers, body = _get(operator, f"/catalog/asyncapi.{fmt}?namespace={namespace}")
        assert (status, headers["Cache-Control"]) == (200, "no-store")
        doc = yaml.safe_load(body) if fmt == "yaml" else json.loads(body)
        expected = set((sample_groups if namespace == samples else bulk_groups).values())
        return (body, doc) if _groups(doc) == expected else None  # the snapshot caught up

    samples_text, doc = eventually(lambda: document(samples, "yaml"), timeout=30,
                                   what="the samples' document with their group")
    assert doc["channels"][f"{samples}_orders"]["address"] == f"{samples}.orders"
    assert doc["servers"][f"{samples}_secure"]["protocol"] == "kafka-secure"
    assert all(secret.encode() not in samples_text for secret in SECRET_VALUES)

    bulk_text, doc = eventually(lambda: document(bulk, "json"), timeout=30,
                                what=f"the document of {TOPICS} topics with every group")
    assert len(doc["channels"]) == TOPICS
    assert len([o for o in doc["operations"].values() if o["action"] == "receive"]) == TOPICS
    assert errors(samples_text, bulk_text) == [[], []]  # the official parser finds nothing

    status, _, body = _get(operator, "/catalog/asyncapi.json?namespace=Not_A_Namespace")
    assert status == 400 and b"is not a namespace name" in body
    _, _, whole = _get(operator, "/catalog/asyncapi.json")  # every namespace: still no secret
    assert all(secret.encode() not in whole for secret in SECRET_VALUES)


def _plugin(info: StackInfo, *args: str) -> subprocess.CompletedProcess[str]:
    """`kubectl eventsub ...`: kubectl finds the plugin installed beside this Python on PATH,
    as a user's would."""
    path = f"{Path(sys.executable).parent}:{os.environ['PATH']}"
    return subprocess.run([str(Path(info.bin_dir) / "kubectl"), "eventsub", *args],
                          capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PATH": path, "KUBECONFIG": info.kubeconfig})


def test_the_kubectl_plugin_prints_the_catalog_without_the_operator(
        catalog_namespaces: tuple[str, str, dict[str, str], dict[str, str]],
        stack_info: StackInfo, tmp_path: Path) -> None:
    samples, bulk, sample_groups, bulk_groups = catalog_namespaces
    table = _plugin(stack_info, "catalog", "-n", samples)
    assert table.returncode == 0, table.stderr
    orders = next(line for line in table.stdout.splitlines()
                  if line.startswith(f"{samples}.orders "))
    assert orders.split()[1:4] == ["team-orders", "<none>", "order-emails"]

    # A kubeconfig of the user's own, whose second context defaults to the bulk namespace.
    config = yaml.safe_load(Path(stack_info.kubeconfig).read_text())
    context = copy.deepcopy(config["contexts"][0])
    context["name"], context["context"]["namespace"] = "team-bulk", bulk
    config["contexts"].append(context)
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(yaml.safe_dump(config))
    exported = _plugin(stack_info, "catalog", "--kubeconfig", str(kubeconfig),
                       "--context", "team-bulk", "-o", "asyncapi-json")
    assert exported.returncode == 0, exported.stderr
    doc = json.loads(exported.stdout)
    assert doc["info"]["title"] == f"eventsub catalog: namespace {bulk}"
    assert _groups(doc) == set(bulk_groups.values())

    everything = _plugin(stack_info, "catalog", "-A", "-o", "asyncapi-yaml")
    assert everything.returncode == 0, everything.stderr
    assert set(sample_groups.values()) | set(bulk_groups.values()) <= _groups(
        yaml.safe_load(everything.stdout))
    assert all(secret not in everything.stdout for secret in SECRET_VALUES)

    wrong = _plugin(stack_info, "catalog", "--context", "no-such-context")
    assert wrong.returncode == 1
    assert "error: context 'no-such-context' not found" in wrong.stderr
