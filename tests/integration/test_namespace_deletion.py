"""Deleting a whole namespace: its Delete-policy topics are deleted in Kafka (their connection
waits for them), its Retain-policy topics are kept, and nothing is left behind."""

from __future__ import annotations

import pytest
from confluent_kafka.admin import AdminClient
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from conftest import NAMESPACE_PREFIX, Kube
from localstack import StackInfo
from resources import CONSUMER_TEMPLATE, create, get, resource, wait_condition
from support import eventually, unique

pytestmark = pytest.mark.usefixtures("operator")


def _namespace_gone(kube: Kube, name: str) -> bool:
    try:
        kube.core.read_namespace(name)
    except ApiException as error:
        return error.status == 404
    return False


def test_a_deleted_namespace_deletes_its_delete_policy_topics_in_kafka(
        kube: Kube, stack_info: StackInfo, kafka_admin: AdminClient) -> None:
    namespace = unique(NAMESPACE_PREFIX)  # watched by the session's operator; deleted here
    kube.core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=namespace)))
    deleted, kept = unique("ns-delete"), unique("ns-retain")
    create(kube, namespace, resource("KafkaConnection", "local",
                                     {"bootstrapServers": [stack_info.kafka_bootstrap]}))
    for name, topic, policy in (("gone", deleted, "Delete"), ("kept", kept, "Retain")):
        create(kube, namespace, resource("EventTopic", name, {
            "connectionRef": {"name": "local"}, "topicName": topic, "deletionPolicy": policy}))
        wait_condition(kube, namespace, "EventTopic", name, reason="InSync")
    create(kube, namespace, resource("EventSubscription", "reader", {
        "connectionRef": {"name": "local"}, "topics": [{"eventTopic": "gone"}, {"eventTopic": "kept"}],
        "template": CONSUMER_TEMPLATE}))
    wait_condition(kube, namespace, "EventSubscription", "reader", reason="Running")
    create(kube, namespace, resource("EventReplay", "look", {
        "subscriptionRef": {"name": "reader"}, "from": {"earliest": True}, "dryRun": True}))
    wait_condition(kube, namespace, "EventReplay", "look", type_="Succeeded")
    # The connection is held for the Delete-policy topic, not for the other one.
    eventually(lambda: "eventsub.io/delete-topics-first" in
               (get(kube, namespace, "KafkaConnection", "local")["metadata"].get("finalizers") or []),
               timeout=30, what="connection held for its Delete-policy topic")

    kube.core.delete_namespace(namespace)
    eventually(lambda: _namespace_gone(kube, namespace), timeout=120, what="namespace deleted")

    topics = kafka_admin.list_topics(timeout=10).topics
    assert deleted not in topics, "the Delete-policy topic was kept"
    assert kept in topics, "the Retain-policy topic was deleted"
