"""The lag collector: one cycle reads the lag of every subscription on one cluster.

Per cycle: one metadata request for the partitions of all subscribed topics, one ListOffsets
request per leader broker for log-start and one for log-end offsets of all of them, then (only
if those answered) DescribeGroups for all groups, then the committed offsets of the groups that
described fine (one OffsetFetch per group, as confluent-kafka takes one group per call). The
group requests go out in waves the admin client bounds (kafka.admin GROUP_REQUESTS_IN_FLIGHT).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import cast

from eventsub.core.lag import PartitionOffsets
from eventsub.kafka.admin import ClusterAdmin, GroupInfo
from eventsub.kafka.errors import KafkaRequestError, KafkaUnavailable


@dataclass(frozen=True)
class GroupRead:
    """One group's offsets on its topics, or why they could not be read (never partial)."""

    offsets: tuple[PartitionOffsets, ...] = ()
    members: int = 0
    state: str = "Unknown"
    protocol: str = "Classic"  # the group's protocol: Classic or Consumer
    owners: Mapping[tuple[str, int], str] = field(default_factory=dict)  # partition -> member
    error: str | None = None


async def collect(admin: ClusterAdmin, groups: Mapping[str, Sequence[str]]) -> dict[str, GroupRead]:
    """Reads every group's lag inputs; groups: group id -> its topics."""
    topics = sorted({t for ts in groups.values() for t in ts})
    try:
        counts = await admin.partition_counts(topics)
        for count in counts.values():
            if isinstance(count, KafkaUnavailable):
                raise count  # no group requests to a cluster that is not answering (see below)
        partitions = {t: [(t, p) for p in range(c)] for t, c in counts.items() if isinstance(c, int)}
        every = [tp for tps in partitions.values() for tp in tps]
        starts, ends = await asyncio.gather(admin.log_offsets(every, earliest=True),
                                            admin.log_offsets(every, earliest=False))
        # Group-coordinator requests only after the cluster answered the others: librdkafka
        # (2.16) aborts the process when one of them timed out against a broker that is down
        # and the broker comes back.
        described = await admin.describe_groups(groups)
    except KafkaRequestError as error:
        return {g: GroupRead(error=f"{error.reason}: {error.message}") for g in groups}
    missing = {t: c.message for t, c in counts.items() if isinstance(c, KafkaRequestError)}
    for (topic, _), offset in [*starts.items(), *ends.items()]:
        if isinstance(offset, KafkaRequestError):  # fails the groups reading this topic only
            missing.setdefault(topic, offset.message)

    def of(group_topics: Sequence[str]) -> list[tuple[str, int]]:
        return [tp for t in dict.fromkeys(group_topics) for tp in partitions.get(t, [])]

    # Only the groups whose coordinator answered DescribeGroups: librdkafka (2.16) crashes the
    # process handling an OffsetFetch answered with a coordinator error (e.g. while a fresh
    # cluster still loads __consumer_offsets).
    wanted = {g: of(ts) for g, ts in groups.items() if isinstance(described.get(g), GroupInfo)}
    fetched_of = await admin.committed_offsets_of({g: tps for g, tps in wanted.items() if tps})
    not_ready = KafkaUnavailable("group coordinator not ready")
    committed = [fetched_of.get(g, {}) if g in wanted else not_ready for g in groups]
    reads: dict[str, GroupRead] = {}
    for (group, group_topics), fetched in zip(groups.items(), committed, strict=True):
        info = described.get(group)
        problems = [f"topic {t}: {missing[t]}" for t in group_topics if t in missing]
        if isinstance(fetched, KafkaRequestError):
            problems.append(fetched.message)
        if isinstance(info, KafkaRequestError):
            problems.append(info.message)
        if problems or isinstance(fetched, KafkaRequestError) or not isinstance(info, GroupInfo):
            reads[group] = GroupRead(error="; ".join(problems) or "no answer")
            continue
        offsets = tuple(PartitionOffsets(t, p, cast(int, starts[(t, p)]), cast(int, ends[(t, p)]),
                                         fetched.get((t, p)))
                        for t, p in of(group_topics))  # no errors: their topics are in `missing`
        reads[group] = GroupRead(offsets=offsets, members=info.members, state=info.state,
                                 protocol=info.protocol, owners=info.owners)
    return reads
