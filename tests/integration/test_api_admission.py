"""Against the real API server: samples apply, bad input is refused at admission naming the field,
`kubectl explain` teaches the API and `kubectl get eventsub` lists everything with its columns."""

from __future__ import annotations

import copy
from typing import Any

import pytest
import yaml

from kubectl import REPO, kubectl, kubectl_ok
from localstack import StackInfo

SAMPLES = REPO / "manifests" / "samples"


def _doc(kind: str, name: str, spec: dict[str, Any]) -> dict[str, Any]:
    return {"apiVersion": "eventsub.io/v1alpha1", "kind": kind, "metadata": {"name": name},
            "spec": spec}


def _topic(**spec: Any) -> dict[str, Any]:
    return _doc("EventTopic", "t", {"connectionRef": {"name": "local"}, **spec})


def _connection(**spec: Any) -> dict[str, Any]:
    return _doc("KafkaConnection", "c", spec)


SUBSCRIPTION = {"connectionRef": {"name": "local"}, "topics": [{"name": "orders"}],
                "template": {"spec": {"containers": [{"name": "c", "image": "i"}]}}}


def _subscription(**changes: Any) -> dict[str, Any]:
    spec = copy.deepcopy(SUBSCRIPTION)
    spec.update(changes)
    return _doc("EventSubscription", "s", spec)


def _replay(**spec: Any) -> dict[str, Any]:
    return _doc("EventReplay", "r", {"subscriptionRef": {"name": "s"}, **spec})


# (case, resources applied first, the bad resource, text the error must contain)
INVALID: list[tuple[str, list[dict[str, Any]], dict[str, Any], str]] = [
    ("zero partitions", [], _topic(partitions=0), "spec.partitions"),
    ("partitions as text", [], _topic(partitions="six"), "spec.partitions"),
    ("partitions decrease 6 to 3", [_topic(partitions=6)], _topic(partitions=3),
     "spec.partitions cannot decrease"),
    ("renamed topic", [_topic(topicName="a")], _topic(topicName="b"), "spec.topicName is immutable"),
    ("topic name set after creation", [_topic()], _topic(topicName="later"),
     "spec.topicName is immutable"),
    ("illegal topic name", [], _topic(topicName="has space"), "spec.topicName"),
    ("unknown deletion policy", [], _topic(deletionPolicy="Purge"), "spec.deletionPolicy"),
    ("unknown field", [], _topic(partitons=3), 'unknown field "spec.partitons"'),
    ("no connection reference", [], _doc("EventTopic", "t", {"partitions": 1}),
     "spec.connectionRef"),
    ("no bootstrap servers", [], _connection(bootstrapServers=[]), "spec.bootstrapServers"),
    ("bootstrap without port", [], _connection(bootstrapServers=["kafka"]),
     "spec.bootstrapServers[0]"),
    ("SASL protocol without sasl", [], _connection(bootstrapServers=["k:9092"],
                                                   securityProtocol="SASL_SSL"), "spec.sasl"),
    ("password inline in clientConfig", [],
     _connection(bootstrapServers=["k:9092"], clientConfig={"sasl.password": "x"}),
     "spec.clientConfig"),
    ("client certificate without key", [],
     _connection(bootstrapServers=["k:9092"], securityProtocol="SSL",
                 tls={"clientCertificate": {"name": "s", "key": "tls.crt"}}), "spec.tls"),
    ("min above max replicas", [], _subscription(scaling={"minReplicas": 5, "maxReplicas": 2}),
     "spec.scaling.minReplicas"),
    ("negative lag threshold", [], _subscription(scaling={"lagThreshold": -1}),
     "spec.scaling.lagThreshold"),
    ("no topics", [], _subscription(topics=[]), "spec.topics"),
    ("topic both by reference and by name", [],
     _subscription(topics=[{"eventTopic": "orders", "name": "orders"}]), "spec.topics[0]"),
    ("consumer group changed", [_subscription(consumerGroup="g1")],
     _subscription(consumerGroup="g2"), "spec.consumerGroup is immutable"),
    ("two replay origins", [], _replay(**{"from": {"earliest": True, "secondsAgo": 60}}),
     "spec.from"),
    ("no replay origin", [], _replay(**{"from": {}}), "spec.from"),
    ("earliest false", [], _replay(**{"from": {"earliest": False}}), "spec.from.earliest"),
    ("shift by zero", [], _replay(**{"from": {"shiftBy": 0}}), "spec.from.shiftBy"),
    ("end on a rewind", [], _replay(**{"from": {"earliest": True},
                                       "to": {"logEndAtStart": True}}), "spec.to"),
    ("replay changed after creation", [_replay(**{"from": {"secondsAgo": 60}})],
     _replay(**{"from": {"secondsAgo": 120}}), "spec is immutable once created"),
]


@pytest.mark.parametrize(("case", "setup", "bad", "expected"), INVALID, ids=[c[0] for c in INVALID])
def test_invalid_resource_is_rejected_naming_the_field(
        crds: StackInfo, namespace: str, case: str, setup: list[dict[str, Any]],
        bad: dict[str, Any], expected: str) -> None:
    for doc in setup:
        kubectl_ok(crds, "apply", "-n", namespace, "-f", "-", stdin=yaml.safe_dump(doc))
    result = kubectl(crds, "apply", "-n", namespace, "-f", "-", stdin=yaml.safe_dump(bad))
    assert result.returncode != 0, f"{case}: accepted"
    assert expected in result.stderr, f"{case}: {result.stderr}"
    if setup:  # the earlier, valid version is untouched
        stored = yaml.safe_load(kubectl_ok(crds, "get", "-n", namespace, bad["kind"],
                                           bad["metadata"]["name"], "-o", "yaml"))
        assert all(stored["spec"][k] == v for k, v in setup[-1]["spec"].items())


def test_every_sample_applies_and_lists_with_printer_columns(crds: StackInfo, namespace: str) -> None:
    kubectl_ok(crds, "apply", "-n", namespace, "-f", str(SAMPLES))
    listing = kubectl_ok(crds, "get", "eventsub", "-n", namespace)
    names = [doc["metadata"]["name"] for path in SAMPLES.glob("*.yaml")
             for doc in yaml.safe_load_all(path.read_text()) if doc["kind"] != "Secret"]
    for name in names:
        assert name in listing, listing
    for header in ("BOOTSTRAP", "PROTOCOL", "PARTITIONS", "TOPICS", "LAG", "SUBSCRIPTION", "MODE",
                   "READY", "SUCCEEDED"):
        assert header in listing, listing
    orders = kubectl_ok(crds, "get", "etopic", "orders", "-n", namespace)
    assert orders.split("\n")[1].split()[:2] == ["orders", "6"] or "6" in orders.split("\n")[1]


def test_defaults_are_applied_by_the_api_server(crds: StackInfo, namespace: str) -> None:
    kubectl_ok(crds, "apply", "-n", namespace, "-f", "-", stdin=yaml.safe_dump(_subscription()))
    kubectl_ok(crds, "apply", "-n", namespace, "-f", "-", stdin=yaml.safe_dump(_topic()))
    sub = yaml.safe_load(kubectl_ok(crds, "get", "-n", namespace, "esub", "s", "-o", "yaml"))
    assert sub["spec"]["scaling"]["minReplicas"] == 1
    assert sub["spec"]["scaling"]["scaleDownStabilizationSeconds"] == 120
    assert sub["spec"]["startPosition"] == "Latest"
    topic = yaml.safe_load(kubectl_ok(crds, "get", "-n", namespace, "etopic", "t", "-o", "yaml"))
    assert (topic["spec"]["partitions"], topic["spec"]["deletionPolicy"]) == (1, "Retain")


@pytest.mark.parametrize(("path", "text"), [
    ("eventtopic.spec.partitions", "Number of partitions. Can grow, never shrink."),
    ("eventsubscription.spec.scaling.lagThreshold", "Target lag (messages) per replica"),
    ("eventreplay.spec.from", "Where the replay starts."),
    ("kafkaconnection.spec.sasl.secretName", "holds the username and password"),
])
def test_kubectl_explain_prints_descriptions(crds: StackInfo, path: str, text: str) -> None:
    assert text in " ".join(kubectl_ok(crds, "explain", path).split())


def test_status_subresource_is_separate_from_spec(crds: StackInfo, namespace: str) -> None:
    kubectl_ok(crds, "apply", "-n", namespace, "-f", "-", stdin=yaml.safe_dump(_topic()))
    patch = '{"status": {"partitions": 9, "observedGeneration": 1}}'
    kubectl_ok(crds, "patch", "-n", namespace, "etopic", "t", "--subresource=status",
               "--type=merge", "-p", patch)
    stored = yaml.safe_load(kubectl_ok(crds, "get", "-n", namespace, "etopic", "t", "-o", "yaml"))
    assert stored["status"]["partitions"] == 9 and stored["spec"]["partitions"] == 1


def test_crd_files_are_the_chart_copies() -> None:
    chart = REPO / "helm" / "eventsub-operator" / "crds"
    assert sorted(p.name for p in chart.glob("*.yaml")) == sorted(
        p.name for p in (REPO / "crds").glob("*.yaml"))
    for path in (REPO / "crds").glob("*.yaml"):
        assert (chart / path.name).read_text() == path.read_text()


