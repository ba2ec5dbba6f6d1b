"""EventTopics deleted while the operator's watch is cut leave no ghost in its cache.

How the watch really misses a DELETED: the operator is frozen (SIGSTOP), the API server is
restarted (every watch is cut, and the new server's watch cache starts after the operator's
last resourceVersion), an EventTopic is deleted, and the operator thaws. kopf resumes its watch
from its last resourceVersion, which the new server no longer has (410 Gone), so kopf lists
again: the deleted topic is simply missing from that list, and kopf reports no DELETED for it.
The control test shows that gap is real: without the periodic re-list the ghost stays.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from conftest import Kube, fresh_namespace
from localstack import LocalStack, StackInfo
from operator_process import OperatorProcess
from resources import CONSUMER_TEMPLATE, condition, create, delete, get, gone, resource, wait_condition
from support import eventually, unique


@pytest.fixture
def own_namespace(kube: Kube) -> Iterator[str]:
    with fresh_namespace(kube, "gap") as name:  # not watched by the session's operator
        yield name


def _reason(kube: Kube, namespace: str, kind: str, name: str) -> str | None:
    return (condition(get(kube, namespace, kind, name)) or {}).get("reason")


def _gap(kube: Kube, crds: StackInfo, namespace: str, tmp_path: Path,
         relist_seconds: int) -> OperatorProcess:
    """The older of two EventTopics claiming one Kafka topic, and a subscription reading it,
    deleted while the operator's watch is cut. Returns the (running) operator."""
    operator = OperatorProcess(crds, tmp_path / "operator.log", {
        "EVENTSUB_NAMESPACES": namespace, "EVENTSUB_LEADER_ELECTION": "false",
        "EVENTSUB_RELIST_SECONDS": str(relist_seconds)}, expect_leader=False)
    try:
        _cut_the_watch_while_deleting(kube, crds, namespace, operator)
    except BaseException:
        operator.stop()  # never leave the operator running behind a failed setup
        raise
    return operator


def _cut_the_watch_while_deleting(kube: Kube, crds: StackInfo, namespace: str,
                                  operator: OperatorProcess) -> None:
    create(kube, namespace, resource("KafkaConnection", "local",
                                     {"bootstrapServers": [crds.kafka_bootstrap]}))
    topic = unique("gap")
    create(kube, namespace, resource("EventTopic", "first", {"connectionRef": {"name": "local"},
                                                             "topicName": topic}))
    wait_condition(kube, namespace, "EventTopic", "first", reason="InSync")
    time.sleep(1.1)  # a later creation second: "first" is the older one by every rule
    create(kube, namespace, resource("EventTopic", "second", {
        "connectionRef": {"name": "local"}, "topicName": topic, "partitions": 3}))
    wait_condition(kube, namespace, "EventTopic", "second", status="False", reason="ResourceConflict")
    create(kube, namespace, resource("EventSubscription", "reader", {
        "connectionRef": {"name": "local"}, "topics": [{"eventTopic": "first"}],
        "template": CONSUMER_TEMPLATE}))
    wait_condition(kube, namespace, "EventSubscription", "reader", reason="Running")

    os.kill(operator.process.pid, signal.SIGSTOP)
    try:
        LocalStack(Path(crds.run_dir)).restart_apiserver(crds)
        delete(kube, namespace, "EventTopic", "first")
        eventually(lambda: gone(kube, namespace, "EventTopic", "first"), what="first deleted")
    finally:
        os.kill(operator.process.pid, signal.SIGCONT)


def test_a_topic_deleted_during_a_watch_gap_leaves_no_ghost(
        kube: Kube, crds: StackInfo, own_namespace: str, tmp_path: Path) -> None:
    namespace = own_namespace
    operator = _gap(kube, crds, namespace, tmp_path, relist_seconds=3)
    try:
        # No false ResourceConflict: the newer topic takes the Kafka topic over.
        body = wait_condition(kube, namespace, "EventTopic", "second", reason="InSync", timeout=60)
        assert body["status"]["partitions"] == 3
        # No stale reference: the subscription sees its topic gone.
        wait_condition(kube, namespace, "EventSubscription", "reader", status="False",
                       reason="TopicNotFound", timeout=30)
        assert "was deleted while the watch was not looking" in operator.log()
        time.sleep(5)  # and it stays so
        assert _reason(kube, namespace, "EventTopic", "second") == "InSync"
        assert _reason(kube, namespace, "EventSubscription", "reader") == "TopicNotFound"
    finally:
        assert operator.stop() == 0
    assert "Traceback" not in operator.log()


def test_control_without_the_relist_the_ghost_stays(
        kube: Kube, crds: StackInfo, own_namespace: str, tmp_path: Path) -> None:
    namespace = own_namespace
    operator = _gap(kube, crds, namespace, tmp_path, relist_seconds=3600)
    try:
        # The operator is watching again: a change made now reaches it...
        create(kube, namespace, resource("EventTopic", "probe", {
            "connectionRef": {"name": "local"}, "topicName": unique("probe")}))
        wait_condition(kube, namespace, "EventTopic", "probe", reason="InSync", timeout=60)
        time.sleep(8)  # ...several resyncs (3 s in tests)
        # ...but the deletion of "first" never did: its ghost still owns the Kafka topic.
        assert _reason(kube, namespace, "EventTopic", "second") == "ResourceConflict"
        assert _reason(kube, namespace, "EventSubscription", "reader") == "Running"
    finally:
        assert operator.stop() == 0
