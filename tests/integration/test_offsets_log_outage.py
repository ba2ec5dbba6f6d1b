"""Broker outages with the `__consumer_offsets` reader on: the operator survives them, its reader
stops while Kafka is unreachable and resumes afterwards with the view the requests give; and a
group request that expired during an outage does not abort the process once the broker is back.

Stops and restarts the shared broker, so it lives in its own module.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient

from conftest import Kube, fresh_namespace
from localstack import LocalStack, StackInfo
from operator_process import REPO, OperatorProcess
from resources import consumed_topic, get, wait_condition
from support import eventually, unique

PARTITIONS = 4
CAUGHT_UP = "eventsub_offsets_log_caught_up"


@pytest.fixture
def own_namespace(kube: Kube) -> Iterator[str]:
    with fresh_namespace(kube, "olog") as name:  # not watched by the session's operator
        yield name


# The test's own reads and writes of the group go through a consumer (OffsetCommit, OffsetFetch),
# not an admin client: an admin group request that expires while the restarted broker is still
# loading its groups is the very librdkafka abort this module is about. DescribeGroups, which
# only the admin client sends, gets a client of its own per call, destroyed right after it.


def _consumer(bootstrap: str, group: str) -> Consumer:
    return Consumer({"bootstrap.servers": bootstrap, "group.id": group, "enable.auto.commit": False})


def _commit(bootstrap: str, group: str, topic: str, offsets: list[int]) -> None:
    def committed() -> bool:  # a restarted broker may still be loading the offsets topic
        consumer = _consumer(bootstrap, group)  # never subscribes: commits as the Empty group
        try:
            consumer.commit(offsets=[TopicPartition(topic, p, o) for p, o in enumerate(offsets)],
                            asynchronous=False)
        finally:
            consumer.close()
        return True

    eventually(committed, 60, what=f"offsets committed for {group}")


def _lag_by_requests(bootstrap: str, group: str, topic: str) -> tuple[int, str]:
    """The group's total lag and state as OffsetFetch, ListOffsets and DescribeGroups say."""
    partitions = [TopicPartition(topic, p) for p in range(PARTITIONS)]
    consumer = _consumer(bootstrap, group)
    try:
        committed = {tp.partition: tp.offset for tp in consumer.committed(partitions, timeout=10)}
        lag = sum(consumer.get_watermark_offsets(tp, timeout=10)[1] - committed[tp.partition]
                  for tp in partitions)
    finally:
        consumer.close()
    admin = AdminClient({"bootstrap.servers": bootstrap})
    state = admin.describe_consumer_groups([group], request_timeout=10)[group].result(30).state.name
    return lag, state.capitalize()


def test_the_reader_stops_during_an_outage_and_resumes_with_the_view_requests_give(
        kube: Kube, crds: StackInfo, own_namespace: str, tmp_path: Path) -> None:
    namespace, bootstrap = own_namespace, crds.kafka_bootstrap
    connection = f"{namespace}/local"
    operator = OperatorProcess(crds, tmp_path / "operator.log",
                               {"EVENTSUB_NAMESPACES": namespace, "EVENTSUB_OFFSETS_LOG": "true"})
    try:
        topic = consumed_topic(kube, namespace, bootstrap, partitions=PARTITIONS, scaling={
            "minReplicas": 0, "maxReplicas": 4, "lagThreshold": 1000, "pollIntervalSeconds": 1})
        group = f"{namespace}.workers"
        producer = Producer({"bootstrap.servers": bootstrap})
        for i in range(400):  # 100 per partition; nobody consumes (the pods are kwok's)
            producer.produce(topic, b"x", partition=i % PARTITIONS)
        assert producer.flush(30) == 0
        wait_condition(kube, namespace, "EventSubscription", "workers", type_="LagAvailable",
                       reason="LagRead")
        _commit(bootstrap, group, topic, [10, 20, 30, 40])

        def agreed() -> bool:
            """The reader is caught up and the status shows what the requests say."""
            if operator.metric(CAUGHT_UP, {"connection": connection}) != 1:
                return False
            lag, state = _lag_by_requests(bootstrap, group, topic)
            status = get(kube, namespace, "EventSubscription", "workers").get("status") or {}
            read = next((c for c in status.get("conditions", []) if c["type"] == "LagAvailable"), {})
            return status.get("totalLag") == lag and f": {state}, 0 member(s)" in read.get("message", "")

        eventually(agreed, 60, interval=0.5, what="the status shows the reader's lag (300)")

        stack = LocalStack(Path(crds.run_dir))
        stack.stop_kafka(crds)
        try:
            wait_condition(kube, namespace, "EventSubscription", "workers", type_="LagAvailable",
                           status="False", reason="LagUnavailable", timeout=60)
            eventually(lambda: operator.metric(CAUGHT_UP, {"connection": connection}) is None, 60,
                       what="no reader while Kafka is unreachable")
        finally:
            stack.start_kafka(crds)
        wait_condition(kube, namespace, "EventSubscription", "workers", type_="LagAvailable",
                       reason="LagRead", timeout=90)
        # Committed after the outage: only a reader reading again shows it.
        _commit(bootstrap, group, topic, [50, 60, 70, 80])
        eventually(agreed, 90, interval=0.5, what="a fresh reader, caught up, shows lag 140")
        assert _lag_by_requests(bootstrap, group, topic)[0] == 140
        assert "closing the __consumer_offsets reader" in operator.log()
    finally:
        code = operator.stop()
        assert code == 0, operator.log()[-3000:]
        assert "Traceback" not in operator.log(), operator.log()[-3000:]


# Run in a process of its own: librdkafka's abort would otherwise end the test session.
_EXPIRING = textwrap.dedent("""
    import asyncio, sys
    from eventsub.kafka.admin import ClusterAdmin

    async def main() -> None:
        admin = ClusterAdmin({"bootstrap.servers": sys.argv[1]}, request_timeout=2)
        groups = [f"{sys.argv[2]}-{i}" for i in range(10)]
        assert all(not isinstance(r, Exception) for r in (await admin.describe_groups(groups)).values())
        print("ready", flush=True)
        sys.stdin.readline()  # the broker is down
        expired = await admin.describe_groups(groups)
        offsets = await admin.committed_offsets_of({g: [("t", 0)] for g in groups})
        assert all(isinstance(r, Exception) for r in [*expired.values(), *offsets.values()])
        print("expired", flush=True)
        sys.stdin.readline()  # the broker is back
        while True:  # until the coordinator answers again
            answers = await admin.describe_groups(groups)
            if not any(isinstance(r, Exception) for r in answers.values()):
                break
            await asyncio.sleep(0.5)  # the broker is still starting: ask again
        print("answered", getattr(admin, "renewals", 0), flush=True)

    asyncio.run(main())
""")


def test_a_group_request_expired_in_an_outage_does_not_abort_the_process(
        stack_info: StackInfo) -> None:
    child = subprocess.Popen([sys.executable, "-c", _EXPIRING, stack_info.kafka_bootstrap,
                              unique("expiring")], cwd=REPO, stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert child.stdin is not None and child.stdout is not None
    stack = LocalStack(Path(stack_info.run_dir))
    try:
        assert child.stdout.readline() == "ready\n"
        stack.stop_kafka(stack_info)
        try:
            child.stdin.write("stopped\n")
            child.stdin.flush()
            expired = child.stdout.readline()
        finally:
            stack.start_kafka(stack_info)
        assert expired == "expired\n", child.stderr.read() if child.stderr else ""
        child.stdin.write("started\n")
        child.stdin.flush()
        out, err = child.communicate(timeout=120)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert child.returncode == 0, err[-3000:]  # librdkafka's abort: -6
    answered, renewals = out.split()
    assert answered == "answered" and int(renewals) >= 1  # the stranded client was replaced
