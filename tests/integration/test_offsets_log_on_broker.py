"""The `__consumer_offsets` reader on the real broker: what it says of real groups (committed by
the admin client, consuming with members, rebalanced, deleted, with an offset deleted) is what
OffsetFetch and DescribeGroups say, and once it has caught up a lag cycle sends neither."""

from __future__ import annotations

import asyncio
import subprocess
import time
from collections.abc import Iterator

import pytest
from confluent_kafka import Consumer, ConsumerGroupTopicPartitions, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from eventsub.kafka.admin import ClusterAdmin, counting_calls
from eventsub.kafka.lag import GroupRead, collect
from eventsub.kafka.offsets_log import OffsetsLogReader
from localstack import StackInfo
from localstack.kafka import java_argv
from localstack.paths import Binaries
from support import eventually, unique

PARTITIONS = 4


def _commit(admin: AdminClient, group: str, offsets: dict[tuple[str, int], int]) -> None:
    def committed() -> bool:  # a fresh broker may still be loading the offsets topic
        answer = admin.alter_consumer_group_offsets([ConsumerGroupTopicPartitions(
            group, [TopicPartition(t, p, o) for (t, p), o in offsets.items()])])[group].result(30)
        return all(tp.error is None for tp in answer.topic_partitions)

    eventually(committed, 30, what=f"offsets committed for {group}")


def _member(bootstrap: str, group: str, topic: str) -> Consumer:
    return Consumer({"bootstrap.servers": bootstrap, "group.id": group,
                     "enable.auto.commit": False, "auto.offset.reset": "earliest",
                     "session.timeout.ms": 6000, "heartbeat.interval.ms": 500,
                     "partition.assignment.strategy": "range"})


def _poll_until_assigned(members: list[Consumer], count: int) -> None:
    """Polls every member until each owns some of the `count` partitions and they own all of
    them between them (a first member owns them all until the second has joined)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        for member in members:
            member.poll(0.1)
        owned = [len(m.assignment()) for m in members]
        if all(owned) and sum(owned) == count:
            return
    raise AssertionError("the members were not assigned every partition")


def _commit_owned(members: list[Consumer], topic: str, offset: int) -> None:
    """Each member commits `offset` for what it owns (retried while a rebalance is ending)."""

    def committed() -> bool:
        for member in members:
            member.poll(0.1)
            member.commit(offsets=[TopicPartition(topic, tp.partition, offset)
                                   for tp in member.assignment()], asynchronous=False)
        return True

    eventually(committed, 30, what="the members committed")


def _delete_offset(info: StackInfo, group: str, topic: str, partition: int) -> None:
    binaries = Binaries.locate()
    argv = java_argv(binaries.java, binaries.kafka_libs,
                     "org.apache.kafka.tools.consumer.group.ConsumerGroupCommand",
                     "--bootstrap-server", info.kafka_bootstrap, "--delete-offsets", "--group", group,
                     "--topic", f"{topic}:{partition}", heap="256m")
    out = subprocess.run(argv, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr


@pytest.fixture
def reader(stack_info: StackInfo) -> Iterator[OffsetsLogReader]:
    reader = OffsetsLogReader({"bootstrap.servers": stack_info.kafka_bootstrap}, "test").start()
    try:
        yield reader
    finally:
        reader.close()


def _reads(admin: ClusterAdmin, groups: dict[str, list[str]],
           reader: OffsetsLogReader | None) -> dict[str, GroupRead]:
    return asyncio.run(collect(admin, groups, offsets_log=reader))


def _agree(admin: ClusterAdmin, groups: dict[str, list[str]], reader: OffsetsLogReader,
           what: str) -> dict[str, GroupRead]:
    """Waits until the reader knows every group and says what the requests say."""

    def agreeing() -> dict[str, GroupRead] | None:
        if set(reader.views(groups)) != set(groups):
            return None
        asked, viewed = _reads(admin, groups, None), _reads(admin, groups, reader)
        assert all(r.error is None for r in asked.values()), asked
        return viewed if viewed == asked else None

    return eventually(agreeing, 60, interval=0.5, what=what)


def test_the_view_agrees_with_the_requests_and_replaces_them(
        stack_info: StackInfo, kafka_admin: AdminClient, reader: OffsetsLogReader) -> None:
    bootstrap = stack_info.kafka_bootstrap
    topic = unique("olog")
    kafka_admin.create_topics([NewTopic(topic, PARTITIONS, 1)])[topic].result(30)
    producer = Producer({"bootstrap.servers": bootstrap})
    for i in range(40):
        producer.produce(topic, b"m", partition=i % PARTITIONS)
    assert producer.flush(30) == 0
    committed, consuming, deleted, trimmed = (f"{topic}.{n}" for n in ("c", "m", "d", "t"))
    for i, group in enumerate((committed, deleted, trimmed)):
        _commit(kafka_admin, group, {(topic, p): i + p for p in range(PARTITIONS)})
    groups = {g: [topic] for g in (committed, consuming, deleted, trimmed)}
    reader.track(groups)
    admin = ClusterAdmin({"bootstrap.servers": bootstrap})

    # Two members of a classic group own the partitions and commit what they read.
    members = [_member(bootstrap, consuming, topic) for _ in range(2)]
    try:
        for member in members:
            member.subscribe([topic])
        _poll_until_assigned(members, PARTITIONS)
        _commit_owned(members, topic, 3)
        reads = _agree(admin, groups, reader, "the view agrees with two members consuming")
        assert reads[consuming].members == 2 and reads[consuming].state == "Stable"
        assert len(reads[consuming].owners) == PARTITIONS
        assert [o.committed for o in reads[consuming].offsets] == [3] * PARTITIONS
        assert [o.committed for o in reads[committed].offsets] == [0, 1, 2, 3]
        assert reads[committed].state == "Empty" and reads[committed].members == 0

        # Caught up: a cycle reads every group from the view, no group request at all.
        with counting_calls() as calls:
            _reads(admin, groups, reader)
        assert calls["describe groups"] == 0 and calls["list committed offsets"] == 0, calls
        assert calls["read metadata"] == 1

        # A rebalance: one member leaves, the other takes every partition.
        members.pop().close()
        _poll_until_assigned(members, PARTITIONS)
        reads = _agree(admin, groups, reader, "the view agrees after the rebalance")
        assert reads[consuming].members == 1 and len(set(reads[consuming].owners.values())) == 1
    finally:
        for member in members:
            member.close()

    # The last member left: Empty, its offsets kept.
    reads = _agree(admin, groups, reader, "the view agrees once the group is empty")
    assert reads[consuming].state == "Empty" and reads[consuming].members == 0

    # A deleted group (Dead, no offsets) and a group with one offset deleted.
    kafka_admin.delete_consumer_groups([deleted])[deleted].result(30)
    _delete_offset(stack_info, trimmed, topic, 1)
    reads = _agree(admin, groups, reader, "the view agrees after the deletions")
    assert reads[deleted].state == "Dead" and [o.committed for o in reads[deleted].offsets] == [None] * 4
    assert [o.committed for o in reads[trimmed].offsets] == [2, None, 4, 5]

    # A group asked about after the reader caught up: its partition is read again for it.
    late = f"{topic}.late"
    _commit(kafka_admin, late, {(topic, 0): 7})
    eventually(lambda: reader.views([committed]), 30, what="the reader still answers")
    groups[late] = [topic]
    reader.track(groups)
    reads = _agree(admin, groups, reader, "the view agrees for a group asked about late")
    assert reads[late].offsets[0].committed == 7
    with counting_calls() as calls:
        _reads(admin, groups, reader)
    assert calls["describe groups"] == 0 and calls["list committed offsets"] == 0, calls


def test_a_consumer_protocol_group_is_read_with_requests(
        stack_info: StackInfo, kafka_admin: AdminClient, reader: OffsetsLogReader) -> None:
    """A group of the consumer protocol (KIP-848) keeps its membership in records the reader
    does not decode: its lag is read with DescribeGroups and OffsetFetch, as before."""
    bootstrap = stack_info.kafka_bootstrap
    topic = unique("olog848")
    kafka_admin.create_topics([NewTopic(topic, 2, 1)])[topic].result(30)
    group = f"{topic}.g"
    member = Consumer({"bootstrap.servers": bootstrap, "group.id": group, "group.protocol": "consumer",
                       "enable.auto.commit": False, "auto.offset.reset": "earliest"})
    try:
        member.subscribe([topic])
        _poll_until_assigned([member], 2)
        member.commit(offsets=[TopicPartition(topic, 0, 0)], asynchronous=False)
        admin = ClusterAdmin({"bootstrap.servers": bootstrap})
        reader.track([group])
        eventually(lambda: reader.caught_up, 60, what="the reader caught up")
        time.sleep(1)  # a few fetches more: the group's records are read by now
        assert reader.views([group]) == {}
        with counting_calls() as calls:
            read = _reads(admin, {group: [topic]}, reader)[group]
        assert read.error is None and read.protocol == "Consumer" and read.members == 1
        assert calls["describe groups"] == 1 and calls["list committed offsets"] == 1
    finally:
        member.close()
