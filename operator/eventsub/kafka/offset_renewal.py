"""Renewing a quiet group's committed offsets, so that Kafka's offset retention keeps them
(core.offset_keeping says why and when). Nothing here moves an offset."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Mapping, Sequence

from confluent_kafka import Consumer

from eventsub import fence
from eventsub.kafka.admin import ClusterAdmin
from eventsub.kafka.errors import KafkaUnavailable

logger = logging.getLogger("eventsub.kafka")
RETENTION_SETTING = "offsets.retention.minutes"


async def offset_retention_seconds(admin: ClusterAdmin) -> float | None:
    """The cluster's offset retention, or None when the broker does not say."""
    minutes = await admin.broker_setting(RETENTION_SETTING)
    return float(minutes) * 60 if minutes is not None else None


async def renew_offsets(admin: ClusterAdmin, config: Mapping[str, str], group: str,
                        topics: Sequence[str], protocol: str, timeout: float) -> None:
    """Restarts Kafka's retention clock of an Empty group without changing its offsets.

    A group of the consumer protocol expires offset by offset from their last commit: the same
    offsets are committed again. A classic group expires from when it became Empty, which only
    a change of state resets: a member joins and leaves at once, committing nothing."""
    fence.check("renewing group offsets")
    if protocol == "Consumer":
        await _commit_again(admin, group, topics)
    elif not await asyncio.to_thread(_join_and_leave, config, group, topics, timeout):
        raise KafkaUnavailable(f"renewing the offsets of group {group}: no assignment within "
                               f"{timeout:.0f}s")


async def _commit_again(admin: ClusterAdmin, group: str, topics: Sequence[str]) -> None:
    counts = await admin.partition_counts(topics)
    partitions = [(t, p) for t, c in counts.items() if isinstance(c, int) for p in range(c)]
    committed = await admin.committed_offsets(group, partitions)
    kept = {tp: offset for tp, offset in committed.items() if offset is not None}
    if kept:
        await admin.alter_group_offsets(group, kept)


def _join_and_leave(config: Mapping[str, str], group: str, topics: Sequence[str],
                    timeout: float) -> bool:
    """Joins the group until it has an assignment, then leaves; True once assigned."""
    assigned = threading.Event()
    consumer = Consumer({**config, "group.id": group, "enable.auto.commit": False,
                         "partition.assignment.strategy": "cooperative-sticky",
                         "client.id": "eventsub-offset-keeper", "logger": logger})
    try:
        consumer.subscribe(list(topics), on_assign=lambda *_: assigned.set())
        deadline = time.monotonic() + timeout
        while not assigned.is_set() and time.monotonic() < deadline:
            consumer.poll(0.2)  # what it fetches is dropped: nothing is committed
    finally:
        consumer.close()
    return assigned.is_set()
