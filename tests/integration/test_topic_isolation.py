"""One bad EventTopic never holds up another; ownership never changes hands on a tie; status
maps lose removed keys. On the real broker and API server."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka.admin import AdminClient, ConfigResource, NewTopic, ResourceType
from kubernetes.client.exceptions import ApiException

from conftest import Kube, fresh_namespace
from eventsub.core.topic_plan import DesiredTopic
from eventsub.kafka.admin import ClusterAdmin
from localstack import StackInfo
from operator_process import OperatorProcess
from resources import condition, create, events, get, patch_spec, resource, wait_condition
from support import eventually, unique


def _connection(kube: Kube, namespace: str, bootstrap: str, name: str = "local") -> None:
    create(kube, namespace, resource("KafkaConnection", name, {"bootstrapServers": [bootstrap]}))
    wait_condition(kube, namespace, "KafkaConnection", name, reason="Connected")


def _topic(name: str, connection: str = "local", **spec: Any) -> dict[str, Any]:
    return resource("EventTopic", name, {"connectionRef": {"name": connection}, **spec})


def _refused_at_admission(kube: Kube, namespace: str, doc: dict[str, Any]) -> str:
    with pytest.raises(ApiException) as refused:
        create(kube, namespace, doc)
    assert refused.value.status == 422
    return str(refused.value.body)


def _warnings(kube: Kube, namespace: str, name: str) -> list[str]:
    return [e.reason for e in events(kube, namespace)
            if e.involved_object.name == name and e.type == "Warning"]


@pytest.mark.usefixtures("operator")
def test_bad_topics_fail_alone_and_valid_ones_in_the_same_batch_are_ready(
        kube: Kube, namespace: str, stack_info: StackInfo, kafka_admin: AdminClient) -> None:
    _connection(kube, namespace, stack_info.kafka_bootstrap)
    # What Kafka's client would refuse is refused at admission, naming the field.
    assert "spec.replicationFactor" in _refused_at_admission(
        kube, namespace, _topic("too-many-replicas", replicationFactor=32767))
    assert "spec.config keys must not be empty" in _refused_at_admission(
        kube, namespace, _topic("empty-key", config={"": "1"}))
    # A topic whose name collides with an existing one once '.' and '_' are equated (Kafka's
    # metric names): only Kafka can refuse it.
    prefix = unique("iso")
    kafka_admin.create_topics([NewTopic(f"{prefix}.taken", 1)])[f"{prefix}.taken"].result(15)
    bad = {
        "illegal-name": (_topic("illegal-name", topicName="."), "InvalidTopicName"),
        "collides": (_topic("collides", topicName=f"{prefix}_taken"), "InvalidTopicName"),
        "unplaceable": (_topic("unplaceable", topicName=f"{prefix}-rf", replicationFactor=10000),
                        "InvalidReplicationFactor"),
        "bad-config": (_topic("bad-config", topicName=f"{prefix}-cfg",
                              config={"retention.ms": "soon"}), "InvalidConfig"),
    }
    valid = [f"ok-{i}" for i in range(10)]
    docs = [doc for doc, _ in bad.values()] + [_topic(n, topicName=f"{prefix}-{n}", partitions=2)
                                               for n in valid]
    for doc in docs:  # all at once: they meet in the same batched passes
        create(kube, namespace, doc)
    for name in valid:
        wait_condition(kube, namespace, "EventTopic", name, reason="InSync", timeout=30)
    for name, (_, reason) in bad.items():
        body = wait_condition(kube, namespace, "EventTopic", name, status="False", reason=reason)
        assert (condition(body) or {}).get("message"), name
    topics = kafka_admin.list_topics(timeout=10).topics
    assert all(f"{prefix}-{n}" in topics for n in valid)
    assert f"{prefix}_taken" not in topics and f"{prefix}-rf" not in topics
    # The valid ones never saw another's error.
    for name in valid:
        assert _warnings(kube, namespace, name) == [], name


def test_the_kafka_client_refusing_one_request_does_not_fail_the_others(
        stack_info: StackInfo, kafka_admin: AdminClient) -> None:
    """The adapter's own isolation, for refusals admission cannot see (e.g. a resource stored
    before the CRD bounded a field): the client refuses the whole call, the adapter splits it."""
    prefix = unique("split")
    good, refused = f"{prefix}-good", f"{prefix}-refused"

    async def scenario() -> tuple[dict[str, Any], dict[str, Any]]:
        admin = ClusterAdmin({"bootstrap.servers": stack_info.kafka_bootstrap})
        created = await admin.create_topics([DesiredTopic(good, 1, None, {}),
                                             DesiredTopic(refused, 1, 32767, {})])
        altered = await admin.alter_topic_configs({good: ({"retention.ms": "3600000"}, ()),
                                                   refused: ({"": "x"}, ())})
        return created, altered

    created, altered = asyncio.run(scenario())
    assert created[good] is None and altered[good] is None
    assert created[refused].reason == "InvalidSpec"
    assert "replication_factor" in created[refused].message
    assert altered[refused].reason == "InvalidSpec"
    assert good in kafka_admin.list_topics(timeout=10).topics


def _same_second_pair(kube: Kube, namespace: str, first: str, second: str, topic: str) -> None:
    """Creates `first` (on the connection) and `second` (on a connection that does not exist
    yet, so it is no rival until it does) with the same creation second."""
    for _ in range(5):
        while time.time() % 1 > 0.5:  # start early in a second, so both land in it
            time.sleep(0.05)
        a = create(kube, namespace, _topic(first, topicName=topic, config={"retention.ms": "111111"}))
        b = create(kube, namespace, _topic(second, connection="later", topicName=topic,
                                           config={"retention.ms": "222222"}))
        if a["metadata"]["creationTimestamp"] == b["metadata"]["creationTimestamp"]:
            return
        for name in (first, second):
            kube.custom.delete_namespaced_custom_object("eventsub.io", "v1alpha1", namespace,
                                                        "eventtopics", name)
        eventually(lambda: not kube.custom.list_namespaced_custom_object(
            "eventsub.io", "v1alpha1", namespace, "eventtopics")["items"], what="pair deleted")
    raise AssertionError("could not create two EventTopics in the same second")


@pytest.mark.usefixtures("operator")
@pytest.mark.parametrize(("first", "second"), [("alpha", "beta"), ("beta", "alpha")])
def test_ownership_never_changes_hands_on_a_tie(kube: Kube, namespace: str, stack_info: StackInfo,
                                                kafka_admin: AdminClient, first: str,
                                                second: str) -> None:
    _connection(kube, namespace, stack_info.kafka_bootstrap)
    topic = unique("tie")
    _same_second_pair(kube, namespace, first, second, topic)
    wait_condition(kube, namespace, "EventTopic", first, reason="InSync")
    _connection(kube, namespace, stack_info.kafka_bootstrap, name="later")  # now they are rivals
    body = wait_condition(kube, namespace, "EventTopic", second, status="False",
                          reason="ResourceConflict")
    message = (condition(body) or {})["message"]
    assert f"managed by EventTopic {namespace}/{first}, which already manages it" in message
    assert "topicName" not in (body.get("status") or {})

    def retention() -> str:
        res = ConfigResource(ResourceType.TOPIC, topic)
        return str(kafka_admin.describe_configs([res])[res].result(10)["retention.ms"].value)

    for _ in range(4):  # several resyncs (3 s each for the session operator)
        time.sleep(3)
        assert retention() == "111111"
        assert (condition(get(kube, namespace, "EventTopic", first)) or {}).get("reason") == "InSync"
        assert (condition(get(kube, namespace, "EventTopic", second)) or {}).get("reason") == \
            "ResourceConflict"


@pytest.fixture
def own_namespace(kube: Kube) -> Iterator[str]:
    with fresh_namespace(kube, "iso") as name:  # not watched by the session's operator
        yield name


def _status_writes(operator: OperatorProcess) -> float:
    return operator.metric("eventsub_status_writes_total",
                           {"kind": "EventTopic", "writer": "eventsub-topics"}) or 0.0


def test_a_removed_config_key_leaves_the_status_and_nothing_is_rewritten(
        kube: Kube, crds: StackInfo, own_namespace: str, tmp_path: Path) -> None:
    namespace = own_namespace
    operator = OperatorProcess(crds, tmp_path / "operator.log", {"EVENTSUB_NAMESPACES": namespace})
    try:
        _connection(kube, namespace, crds.kafka_bootstrap)
        create(kube, namespace, _topic("keys", topicName=unique("keys"),
                                       config={"retention.ms": "3600000", "segment.ms": "600000"}))
        eventually(lambda: get(kube, namespace, "EventTopic", "keys").get("status", {})
                   .get("config", {}).get("segment.ms") == "600000", what="both keys in status")
        patch_spec(kube, namespace, "EventTopic", "keys", {"config": {"segment.ms": None}})
        eventually(lambda: "segment.ms" not in get(kube, namespace, "EventTopic", "keys")
                   ["status"]["config"], timeout=30, what="removed key gone from status")
        status = get(kube, namespace, "EventTopic", "keys")["status"]
        assert status["config"] == {"retention.ms": "3600000"}
        assert status["observedGeneration"] == 2
        time.sleep(1)  # the write that removed the key has landed in the operator's cache
        before = _status_writes(operator)
        time.sleep(4 * 3 + 1)  # four resyncs (EVENTSUB_RESYNC_SECONDS=3 in tests)
        assert _status_writes(operator) == before, "an unchanged status was written again"
        assert get(kube, namespace, "EventTopic", "keys")["status"] == status
    finally:
        assert operator.stop() == 0
        assert "Traceback" not in operator.log()
