"""The rendered consumer Deployment: the user's template intact, the wiring added, no secrets."""

from __future__ import annotations

import json
from typing import Any

import pytest

from eventsub.api.connection import KafkaConnectionSpec
from eventsub.api.subscription import EventSubscriptionSpec
from eventsub.core.deployment import SubscriptionRef, render_deployment, template_problem

REF = SubscriptionRef("team-a", "emails", "uid-1")
TEMPLATE = {"metadata": {"labels": {"app": "emails"}, "annotations": {"a": "b"}},
            "spec": {"serviceAccountName": "emails", "containers": [
                {"name": "main", "image": "img:1", "env": [{"name": "LOG_LEVEL", "value": "debug"},
                                                           {"name": "EVENTSUB_GROUP_ID",
                                                            "value": "hijack"}]},
                {"name": "sidecar", "image": "side:1"}]}}


def _render(connection: dict[str, Any], replicas: int | None = 2, **spec: Any) -> dict[str, Any]:
    sub = EventSubscriptionSpec.model_validate({
        "connectionRef": {"name": "c"}, "topics": [{"name": "orders"}], "template": TEMPLATE,
        **spec})
    conn = KafkaConnectionSpec.model_validate(connection)
    return render_deployment(REF, sub, conn, ["orders", "payments"], "team-a.emails", replicas)


def _env(container: dict[str, Any]) -> dict[str, Any]:
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in container["env"]}


def test_template_is_kept_and_labelled() -> None:
    deployment = _render({"bootstrapServers": ["k:9092"]})
    template = deployment["spec"]["template"]
    assert template["metadata"]["annotations"] == {"a": "b"}
    assert template["metadata"]["labels"]["app"] == "emails"
    assert template["metadata"]["labels"]["eventsub.io/subscription"] == "emails"
    assert template["spec"]["serviceAccountName"] == "emails"
    assert deployment["spec"]["selector"]["matchLabels"] == {"eventsub.io/subscription": "emails"}
    assert deployment["spec"]["replicas"] == 2
    owner = deployment["metadata"]["ownerReferences"][0]
    assert (owner["kind"], owner["uid"], owner["controller"]) == ("EventSubscription", "uid-1", True)
    assert TEMPLATE["spec"]["containers"][0]["env"][1]["value"] == "hijack"  # input not mutated


def test_every_container_gets_the_wiring_and_keeps_its_own_env() -> None:
    containers = _render({"bootstrapServers": ["a:9092", "b:9092"]},
                         deadLetterTopic="emails.dlq")["spec"]["template"]["spec"]["containers"]
    for container in containers:
        env = _env(container)
        assert env["EVENTSUB_BOOTSTRAP_SERVERS"] == "a:9092,b:9092"
        assert env["EVENTSUB_TOPICS"] == "orders,payments"
        assert env["EVENTSUB_GROUP_ID"] == "team-a.emails"  # the user's copy does not win
        assert env["EVENTSUB_DEAD_LETTER_TOPIC"] == "emails.dlq"
        assert env["EVENTSUB_START_POSITION"] == "latest"
        assert env["EVENTSUB_POD_NAME"] == {"fieldRef": {"fieldPath": "metadata.name"}}
    assert _env(containers[0])["LOG_LEVEL"] == "debug"


def test_credentials_are_secret_references_only() -> None:
    deployment = _render({
        "bootstrapServers": ["k:9093"], "securityProtocol": "SASL_SSL",
        "sasl": {"mechanism": "SCRAM-SHA-512", "secretName": "creds", "passwordKey": "pw"},
        "tls": {"ca": {"name": "ca", "key": "ca.crt"}}, "clientConfig": {"client.id": "x"}})
    env = _env(deployment["spec"]["template"]["spec"]["containers"][0])
    assert env["EVENTSUB_SASL_PASSWORD"] == {"secretKeyRef": {"name": "creds", "key": "pw"}}
    assert env["EVENTSUB_SASL_USERNAME"] == {"secretKeyRef": {"name": "creds", "key": "username"}}
    assert env["EVENTSUB_SSL_CA_PEM"] == {"secretKeyRef": {"name": "ca", "key": "ca.crt"}}
    assert json.loads(env["EVENTSUB_CLIENT_CONFIG"]) == {"client.id": "x"}
    plain = [e for e in deployment["spec"]["template"]["spec"]["containers"][0]["env"]
             if "PASSWORD" in e["name"] or "KEY" in e["name"]]
    assert all("value" not in e for e in plain)


def test_manual_mode_leaves_replicas_out() -> None:
    assert "replicas" not in _render({"bootstrapServers": ["k:9092"]}, replicas=None)["spec"]


C = {"name": "c", "image": "i"}


@pytest.mark.parametrize(("template", "problem"), [
    ({}, None),
    ({"metadata": {"labels": None}, "spec": {"containers": [{**C, "env": None}]}}, None),
    ({"spec": {"containers": [{**C, "env": [{"name": "X", "value": "1"}]}]}}, None),
    ({"spec": "nope"}, "spec.template.spec must be an object"),
    ({"metadata": ["x"]}, "spec.template.metadata must be an object"),
    ({"metadata": None}, "spec.template.metadata must be an object"),
    ({"metadata": {"labels": "a=b"}}, "spec.template.metadata.labels must be an object"),
    ({"spec": {"containers": "c"}}, "spec.template.spec.containers must be a list of containers"),
    ({"spec": {"containers": [C, "c"]}}, "spec.template.spec.containers[1] must be a container (an object)"),
    ({"spec": {"containers": [{**C, "env": "X=1"}]}},
     "spec.template.spec.containers[0].env must be a list of name/value objects"),
    ({"spec": {"containers": [{**C, "env": ["X=1"]}]}},
     "spec.template.spec.containers[0].env must be a list of name/value objects"),
])
def test_a_template_that_cannot_be_rendered_is_named(template: dict[str, Any],
                                                     problem: str | None) -> None:
    assert template_problem(template) == problem
    if problem is None:  # what passes the check renders
        _render({"bootstrapServers": ["k:9092"]}, template=template)


def test_registry_wiring_by_reference_only() -> None:
    sub = EventSubscriptionSpec.model_validate({
        "connectionRef": {"name": "c"}, "topics": [{"eventTopic": "orders"}], "template": TEMPLATE})
    conn = KafkaConnectionSpec.model_validate({
        "bootstrapServers": ["k:9092"],
        "schemaRegistry": {"url": "https://registry:8081", "basicAuth": {"secretName": "reg"},
                           "ca": {"configMapKeyRef": {"name": "reg-ca", "key": "ca.crt"}}}})
    schemas = {"orders": {"value": {"subject": "orders-value", "type": "Avro"}}}
    deployment = render_deployment(REF, sub, conn, ["orders"], "g", 1, schemas)
    env = _env(deployment["spec"]["template"]["spec"]["containers"][0])
    assert env["EVENTSUB_SCHEMA_REGISTRY_URL"] == "https://registry:8081"
    assert env["EVENTSUB_SCHEMA_REGISTRY_USERNAME"] == {"secretKeyRef": {"name": "reg", "key": "username"}}
    assert env["EVENTSUB_SCHEMA_REGISTRY_PASSWORD"] == {"secretKeyRef": {"name": "reg", "key": "password"}}
    assert env["EVENTSUB_SCHEMA_REGISTRY_CA_PEM"] == {
        "configMapKeyRef": {"name": "reg-ca", "key": "ca.crt"}}
    assert json.loads(env["EVENTSUB_SCHEMAS"]) == schemas


def test_no_registry_no_registry_wiring() -> None:
    env = _env(_render({"bootstrapServers": ["k:9092"]})["spec"]["template"]["spec"]["containers"][0])
    assert not [name for name in env if "SCHEMA" in name]
