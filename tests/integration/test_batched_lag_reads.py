"""Single-group lag reads that arrive together (the subscriptions wired in one pass) are merged
into one read of the real broker, and each caller gets what a read of its group alone gives."""

from __future__ import annotations

import asyncio

from confluent_kafka import ConsumerGroupTopicPartitions, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from eventsub.kafka.admin import ClusterAdmin
from eventsub.kafka.lag import BatchedReads, GroupRead, collect
from localstack import StackInfo
from support import eventually, unique

GROUPS = 40


def _prepare(bootstrap: str, kafka_admin: AdminClient) -> tuple[str, list[str]]:
    topic = unique("batched")
    kafka_admin.create_topics([NewTopic(topic, 2, 1)])[topic].result(30)
    producer = Producer({"bootstrap.servers": bootstrap})
    for i in range(10):
        producer.produce(topic, b"m", partition=i % 2)
    assert producer.flush(30) == 0
    groups = [f"{topic}.g{i}" for i in range(GROUPS)]
    for i, group in enumerate(groups[: GROUPS // 2]):  # half have committed offsets
        offsets = [TopicPartition(topic, p, (i + p) % 5) for p in (0, 1)]

        def committed(group: str = group, offsets: list[TopicPartition] = offsets) -> bool:
            # On a fresh broker the offsets topic may still be loading: the commit then fails
            # per partition, and is tried again.
            answer = kafka_admin.alter_consumer_group_offsets(
                [ConsumerGroupTopicPartitions(group, offsets)])[group].result(30)
            return all(tp.error is None for tp in answer.topic_partitions)

        eventually(committed, 30, what=f"offsets committed for {group}")
    return topic, groups


def test_reads_that_arrive_together_cost_one_read_and_match_single_reads(
        stack_info: StackInfo, kafka_admin: AdminClient) -> None:
    topic, groups = _prepare(stack_info.kafka_bootstrap, kafka_admin)

    async def scenario() -> tuple[list[GroupRead], list[GroupRead], dict[str, int]]:
        admin = ClusterAdmin({"bootstrap.servers": stack_info.kafka_bootstrap})
        alone = [(await collect(admin, {g: [topic]}))[g] for g in groups]
        admin.calls.clear()
        reads = BatchedReads(admin)
        together = await asyncio.gather(*(reads.read(g, [topic]) for g in groups))
        return alone, list(together), dict(admin.calls)

    alone, together, calls = asyncio.run(scenario())
    assert together == alone
    committed = [[o.committed for o in read.offsets] for read in together]
    assert committed[:2] == [[0, 1], [1, 2]] and committed[-1] == [None, None]
    assert all(read.error is None for read in together), [r.error for r in together]
    # One metadata request and one per kind of offset for all 40 groups; only the group
    # requests (one DescribeGroups and one OffsetFetch per group) stay per group.
    assert calls["read metadata"] == 1
    assert calls["list log-end offsets"] == 1 and calls["list log-start offsets"] == 1
    assert calls["describe groups"] == 1 and calls["list committed offsets"] == GROUPS
