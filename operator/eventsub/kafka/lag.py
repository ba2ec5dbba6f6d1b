"""The lag collector: one cycle reads the lag of every subscription on one cluster.

Per cycle: one metadata request for the partition counts of all subscribed topics; then
together one ListOffsets request per leader broker for the log-end offsets (and, about once a
minute, one for the log-start offsets: see LogStarts) and the groups' committed offsets and
membership. Those come, for a poller that keeps an OffsetsLogReader (the scaler, one per
connection), from the `__consumer_offsets` topic it tails (kafka/offsets_log.py): no request.
For the groups the reader cannot answer for (it has not caught up, the group is of another
protocol, the topic cannot be read) and for one-shot reads (BatchedReads: they must see a commit
made just before, which the reader may not have read yet), DescribeGroups for those groups and
then the committed offsets of the groups that described fine (one OffsetFetch per group, as
confluent-kafka takes one group per call). The group requests go out in waves the admin client
bounds (kafka.admin GROUP_REQUESTS_IN_FLIGHT). While the reader cannot fetch its topic, whose
partition leaders are the groups' coordinators, no group request goes out and every group's
read fails as KafkaUnavailable (core.offsets_log.answer).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

from eventsub.core.lag import PartitionOffsets
from eventsub.core.offsets_log import GroupView
from eventsub.kafka.admin import ClusterAdmin, GroupInfo
from eventsub.kafka.errors import KafkaRequestError, KafkaUnavailable
from eventsub.kafka.offsets_log import OffsetsLogReader


@dataclass(frozen=True)
class GroupRead:
    """One group's offsets on its topics, or why they could not be read (never partial)."""

    offsets: tuple[PartitionOffsets, ...] = ()
    members: int = 0
    state: str = "Unknown"
    protocol: str = "Classic"  # the group's protocol: Classic or Consumer
    owners: Mapping[tuple[str, int], str] = field(default_factory=dict)  # partition -> member
    error: str | None = None


class LogStarts:
    """Log-start offsets remembered between lag cycles. They move only when retention removes a
    segment (minutes apart) or records are deleted, and they matter only for a partition without
    a committed offset or one committed below them: a cycle re-reads them when one it needs is
    older than max_age seconds or unknown, and otherwise saves the request."""

    def __init__(self, max_age: float = 60.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.max_age = max_age
        self.clock = clock
        self._offsets: dict[tuple[str, int], tuple[int, float]] = {}  # partition -> offset, read at

    def remembered(self, partitions: Sequence[tuple[str, int]]) -> dict[tuple[str, int], int] | None:
        """The offsets of these partitions, or None when they must be read."""
        oldest = self.clock() - self.max_age
        known = {tp: self._offsets.get(tp) for tp in partitions}
        if any(entry is None or entry[1] < oldest for entry in known.values()):
            return None
        return {tp: entry[0] for tp, entry in known.items() if entry is not None}

    def remember(self, offsets: Mapping[tuple[str, int], int | KafkaRequestError]) -> None:
        now = self.clock()
        self._offsets.update({tp: (o, now) for tp, o in offsets.items() if isinstance(o, int)})


class BatchedReads:
    """Reads of single groups that arrive together, merged into one collect.

    Each subscription reads its group once when it is wired (to set its start offsets), and a
    pass wires up to a hundred of them at once: merged, they cost one Metadata request and one
    ListOffsets request per leader broker instead of a hundred of each.
    """

    def __init__(self, admin: ClusterAdmin, linger: float = 0.02) -> None:
        self.admin, self.linger = admin, linger
        self._waiting: dict[str, tuple[tuple[str, ...], list[asyncio.Future[GroupRead]]]] = {}
        self._flush: asyncio.Task[None] | None = None

    async def read(self, group: str, topics: Sequence[str]) -> GroupRead:
        wanted = tuple(dict.fromkeys(topics))
        waiting = self._waiting.get(group)
        if waiting is not None and waiting[0] != wanted:  # the same group on other topics
            return (await collect(self.admin, {group: list(wanted)}))[group]
        future: asyncio.Future[GroupRead] = asyncio.get_running_loop().create_future()
        self._waiting.setdefault(group, (wanted, []))[1].append(future)
        if self._flush is None:
            self._flush = asyncio.create_task(self._after_linger())
        return await future

    async def _after_linger(self) -> None:
        await asyncio.sleep(self.linger)
        waiting, self._waiting, self._flush = self._waiting, {}, None
        try:
            reads = await collect(self.admin, {g: list(topics) for g, (topics, _) in waiting.items()})
        except Exception as error:  # reaches every caller, as if each had called collect
            for _, futures in waiting.values():
                for future in futures:
                    if not future.done():
                        future.set_exception(error)
            return
        for group, (_, futures) in waiting.items():
            for future in futures:
                if not future.done():  # a caller cancelled meanwhile
                    future.set_result(reads[group])


async def collect(admin: ClusterAdmin, groups: Mapping[str, Sequence[str]],
                  log_starts: LogStarts | None = None,
                  offsets_log: OffsetsLogReader | None = None) -> dict[str, GroupRead]:
    """Reads every group's lag inputs; groups: group id -> its topics. With log_starts (kept by
    a caller that polls), log-start offsets are read only when those it remembers are stale;
    with offsets_log, the groups it knows are read from it (possibly a fetch interval behind)."""
    topics = sorted({t for ts in groups.values() for t in ts})
    views: Mapping[str, GroupView] = {}
    asked = list(groups)
    if offsets_log is not None:
        answer = offsets_log.answer(groups)
        if answer.unreachable is not None:  # no request at all: see core.offsets_log.answer
            unreachable = KafkaUnavailable(answer.unreachable)
            return {g: GroupRead(error=f"{unreachable.reason}: {unreachable.message}") for g in groups}
        views, asked = answer.views, list(answer.ask)
    try:
        # The metadata request goes first: it raises when the cluster is not answering, and then
        # no group-coordinator request is sent (librdkafka 2.16 aborts the process when such a
        # request timed out against a broker that is down and the broker comes back).
        counts = await admin.partition_counts(topics)
        partitions = {t: [(t, p) for p in range(c)] for t, c in counts.items() if isinstance(c, int)}
        every = [tp for tps in partitions.values() for tp in tps]
        ends, starts, described = await _all(admin.log_offsets(every, earliest=False),
                                             _log_starts(admin, every, log_starts),
                                             admin.describe_groups(asked))
        if any(isinstance(o, int) and isinstance(ends.get(tp), int) and o > ends[tp]
               for tp, o in starts.items()):
            # A log start past the log end: the topic was deleted and created again since the
            # offsets were remembered.
            starts = await _log_starts(admin, every, log_starts, reread=True)
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
    wanted = {g: of(groups[g]) for g in asked if isinstance(described.get(g), GroupInfo)}
    fetched_of = await admin.committed_offsets_of({g: tps for g, tps in wanted.items() if tps})
    for group, view in views.items():
        described[group] = GroupInfo(state=view.state, members=view.members,
                                     protocol=view.protocol, owners=view.owners)
        fetched_of[group] = {tp: view.committed.get(tp) for tp in of(groups[group])}
        wanted[group] = []
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


async def _log_starts(admin: ClusterAdmin, partitions: list[tuple[str, int]],
                      log_starts: LogStarts | None, reread: bool = False
                      ) -> Mapping[tuple[str, int], int | KafkaRequestError]:
    """Remembered log-start offsets when fresh enough (and not reread), else read (and kept)."""
    remembered = None if reread or log_starts is None else log_starts.remembered(partitions)
    if remembered is not None:
        return remembered
    starts = await admin.log_offsets(partitions, earliest=True)
    if log_starts is not None:
        log_starts.remember(starts)
    return starts


async def _all(*calls: Awaitable[Any]) -> list[Any]:
    """Awaits the calls together; when one raised, raises its error once all have finished
    (none is left running unawaited)."""
    results = await asyncio.gather(*calls, return_exceptions=True)
    for result in results:
        if isinstance(result, BaseException):
            raise result
    return results
