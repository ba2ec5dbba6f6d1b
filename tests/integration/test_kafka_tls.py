"""KafkaConnection over TLS, against the local broker's TLS listeners: server TLS with a CA from
a Secret, mutual TLS (a client certificate and key from a Secret), SASL over TLS. Topics are
created through them and consumers read through them; a wrong CA, a missing or untrusted client
certificate, or a Secret that holds no PEM is `Ready=False`, `TlsFailed`, with a message naming
the field to fix. Key material never shows in the operator's log, Events or status."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient

from conftest import Kube
from localstack import StackInfo
from localstack.certs import unrelated_ca_pem, unrelated_client_pem
from localstack.consumers import ConsumerRunner
from operator_process import OperatorProcess
from resources import (
    CONSUMER_TEMPLATE,
    assert_never_shown,
    condition,
    create,
    event_posted,
    get,
    patch_spec,
    pem_body_lines,
    put_secret,
    resource,
    wait_condition,
)
from support import eventually, unique

pytestmark = pytest.mark.usefixtures("operator")

CA = {"ca": {"name": "kafka-ca", "key": "ca.crt"}}
CLIENT_CERTIFICATE = {"clientCertificate": {"name": "kafka-client", "key": "tls.crt"},
                      "clientKey": {"name": "kafka-client", "key": "tls.key"}}


def _ca_secret(kube: Kube, namespace: str, pem: str) -> None:
    put_secret(kube, namespace, "kafka-ca", {"ca.crt": pem})


def _client_secret(kube: Kube, namespace: str, stack_info: StackInfo) -> str:
    """The stack's client certificate as a kubernetes.io/tls Secret; returns the key's PEM."""
    key = Path(stack_info.kafka_client_key).read_text()
    put_secret(kube, namespace, "kafka-client", {
        "tls.crt": Path(stack_info.kafka_client_certificate).read_text(), "tls.key": key},
        type_="kubernetes.io/tls")
    return key


def _connection(kube: Kube, namespace: str, name: str, bootstrap: str, protocol: str,
                **spec: Any) -> None:
    create(kube, namespace, resource("KafkaConnection", name, {
        "bootstrapServers": [bootstrap], "securityProtocol": protocol, **spec}))


def _topic_through(kube: Kube, namespace: str, connection: str, admin: AdminClient,
                   partitions: int = 1) -> str:
    """An EventTopic "events" through the connection; returns its Kafka topic, checked in Kafka."""
    name = unique("tls")
    create(kube, namespace, resource("EventTopic", "events", {
        "connectionRef": {"name": connection}, "topicName": name, "partitions": partitions}))
    wait_condition(kube, namespace, "EventTopic", "events", reason="InSync")
    metadata = admin.list_topics(timeout=10).topics.get(name)
    assert metadata is not None and len(metadata.partitions) == partitions
    return name


def test_tls_with_a_ca_from_a_secret(kube: Kube, namespace: str, stack_info: StackInfo,
                                     kafka_admin: AdminClient) -> None:
    _ca_secret(kube, namespace, Path(stack_info.kafka_ca).read_text())
    _connection(kube, namespace, "tls", stack_info.kafka_ssl_bootstrap, "SSL", tls=CA)
    body = wait_condition(kube, namespace, "KafkaConnection", "tls", reason="Connected")
    assert body["status"]["brokerCount"] == 1
    assert body["status"]["clusterId"] == stack_info.kafka_cluster_id
    _topic_through(kube, namespace, "tls", kafka_admin)


def test_mutual_tls_connection_and_its_consumers(
        kube: Kube, namespace: str, stack_info: StackInfo, kafka_admin: AdminClient,
        operator: OperatorProcess, tmp_path: Path) -> None:
    _ca_secret(kube, namespace, Path(stack_info.kafka_ca).read_text())
    key = _client_secret(kube, namespace, stack_info)
    _connection(kube, namespace, "mtls", stack_info.kafka_mtls_bootstrap, "SSL",
                tls={**CA, **CLIENT_CERTIFICATE})
    wait_condition(kube, namespace, "KafkaConnection", "mtls", reason="Connected")
    topic = _topic_through(kube, namespace, "mtls", kafka_admin, partitions=2)
    create(kube, namespace, resource("EventSubscription", "workers", {
        "connectionRef": {"name": "mtls"}, "topics": [{"eventTopic": "events"}],
        "startPosition": "Earliest", "template": CONSUMER_TEMPLATE,
        "scaling": {"minReplicas": 1, "maxReplicas": 1, "pollIntervalSeconds": 1}}))
    wait_condition(kube, namespace, "EventSubscription", "workers", reason="Running")
    # The consumers get the TLS material by Secret reference, never inline.
    deployment = kube.api.sanitize_for_serialization(
        kube.apps.read_namespaced_deployment("workers-consumer", namespace))
    assert not any(line in str(deployment) for line in pem_body_lines(key))

    producer = Producer({"bootstrap.servers": stack_info.kafka_bootstrap})
    for i in range(20):
        producer.produce(topic, f"event-{i}".encode(), partition=i % 2)
    assert producer.flush(30) == 0
    # The stack's consumer runner resolves the pod's secretKeyRefs like a kubelet; the listener
    # refuses any client without the certificate, so processing proves the wiring.
    with ConsumerRunner(kube.core, namespace, "workers", tmp_path) as runner:
        expected = {(topic, p, o) for p in (0, 1) for o in range(10)}
        eventually(lambda: set(runner.processed()) >= expected, timeout=45,
                   what="20 messages consumed over mutual TLS")
        # The operator reads the group's lag over the same connection.
        eventually(lambda: (get(kube, namespace, "EventSubscription", "workers").get("status")
                            or {}).get("totalLag") == 0, timeout=30, what="lag read, and zero")
    assert_never_shown(kube, namespace, operator, key)


def test_sasl_over_tls(kube: Kube, namespace: str, stack_info: StackInfo,
                       kafka_admin: AdminClient, operator: OperatorProcess) -> None:
    _ca_secret(kube, namespace, Path(stack_info.kafka_ca).read_text())
    put_secret(kube, namespace, "kafka-user", {"username": stack_info.sasl_username,
                                                "password": stack_info.sasl_password})
    _connection(kube, namespace, "sasl-tls", stack_info.kafka_sasl_ssl_bootstrap, "SASL_SSL",
                tls=CA, sasl={"mechanism": "SCRAM-SHA-256", "secretName": "kafka-user"})
    wait_condition(kube, namespace, "KafkaConnection", "sasl-tls", reason="Connected")
    _topic_through(kube, namespace, "sasl-tls", kafka_admin)
    assert_never_shown(kube, namespace, operator, stack_info.sasl_password)


def _failing_connections(kube: Kube, namespace: str, stack_info: StackInfo) -> tuple[str, ...]:
    """Connections that fail TLS four ways; returns the private keys their Secrets hold."""
    _ca_secret(kube, namespace, unrelated_ca_pem().decode())
    put_secret(kube, namespace, "not-a-ca", {"ca.crt": "hello"})
    put_secret(kube, namespace, "real-ca", {"ca.crt": Path(stack_info.kafka_ca).read_text()})
    key = _client_secret(kube, namespace, stack_info)
    untrusted_certificate, untrusted_key = (pem.decode() for pem in unrelated_client_pem())
    put_secret(kube, namespace, "untrusted-client", {"tls.crt": untrusted_certificate,
                                                      "tls.key": untrusted_key})
    _connection(kube, namespace, "wrong-ca", stack_info.kafka_ssl_bootstrap, "SSL", tls=CA)
    _connection(kube, namespace, "not-pem", stack_info.kafka_ssl_bootstrap, "SSL",
                tls={"ca": {"name": "not-a-ca", "key": "ca.crt"}})
    # The client-auth listener, without a client certificate.
    _connection(kube, namespace, "no-cert", stack_info.kafka_mtls_bootstrap, "SSL",
                tls={"ca": {"name": "real-ca", "key": "ca.crt"}})
    _connection(kube, namespace, "untrusted-cert", stack_info.kafka_mtls_bootstrap, "SSL", tls={
        "ca": {"name": "real-ca", "key": "ca.crt"},
        "clientCertificate": {"name": "untrusted-client", "key": "tls.crt"},
        "clientKey": {"name": "untrusted-client", "key": "tls.key"}})
    return key, untrusted_key


def test_tls_failures_say_which_field_to_fix_and_recover(
        kube: Kube, namespace: str, stack_info: StackInfo, operator: OperatorProcess) -> None:
    keys = _failing_connections(kube, namespace, stack_info)
    create(kube, namespace, resource("EventTopic", "events", {
        "connectionRef": {"name": "wrong-ca"}, "topicName": unique("never")}))

    expected = {
        "wrong-ca": f"TLS: the certificate of the broker at {stack_info.kafka_ssl_bootstrap} is "
                    "not trusted: it is not signed by the CA in spec.tls.ca",
        "not-pem": "TLS: spec.tls.ca does not hold a PEM certificate",
        "no-cert": f"TLS: the broker at {stack_info.kafka_mtls_bootstrap} requires a client "
                   "certificate (mutual TLS; TLS alert: bad certificate): set "
                   "spec.tls.clientCertificate and spec.tls.clientKey",
        "untrusted-cert": f"TLS: the broker at {stack_info.kafka_mtls_bootstrap} refused the "
                          "client certificate of spec.tls.clientCertificate (TLS alert: bad "
                          "certificate): it is not signed by a CA the brokers trust",
    }
    for name, message in expected.items():
        body = wait_condition(kube, namespace, "KafkaConnection", name, status="False",
                              reason="TlsFailed")
        assert condition(body)["message"].startswith(message)  # type: ignore[index]
        event_posted(kube, namespace, name, "TlsFailed")
    # Resources that use the connection say why they wait.
    body = wait_condition(kube, namespace, "EventTopic", "events", status="False",
                          reason="TlsFailed")
    assert f"KafkaConnection {namespace}/wrong-ca: TLS" in condition(body)["message"]  # type: ignore[index]

    # Fixed where the user would fix them: the CA Secret's content, the spec's client certificate.
    _ca_secret(kube, namespace, Path(stack_info.kafka_ca).read_text())
    patch_spec(kube, namespace, "KafkaConnection", "no-cert", {"tls": CLIENT_CERTIFICATE})
    wait_condition(kube, namespace, "KafkaConnection", "wrong-ca", reason="Connected")
    wait_condition(kube, namespace, "KafkaConnection", "no-cert", reason="Connected")
    wait_condition(kube, namespace, "EventTopic", "events", reason="InSync")
    assert_never_shown(kube, namespace, operator, *keys)
