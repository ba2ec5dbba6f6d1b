"""One long-lived admin client per cluster, with async, batched, time-bounded calls.

Every call takes many topics at once and becomes one Kafka request (or one per broker), so a
thousand EventTopics cost a handful of requests, not a thousand.
"""

from __future__ import annotations

import asyncio
import collections
import concurrent.futures
import contextlib
import contextvars
import enum
import logging
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any, TypeVar

from confluent_kafka import (
    ConsumerGroupTopicPartitions,
    KafkaError,
    KafkaException,
    TopicCollection,
    TopicPartition,
)
from confluent_kafka.admin import (
    AdminClient,
    AlterConfigOpType,
    ConfigEntry,
    ConfigResource,
    ConfigSource,
    NewPartitions,
    NewTopic,
    OffsetSpec,
    ResourceType,
)

from eventsub import fence
from eventsub.core.topic_plan import DesiredTopic, ObservedTopic, request_batches
from eventsub.kafka.errors import KafkaRequestError, KafkaUnavailable, from_exception
from eventsub.kafka.in_flight import InFlightLimit
from eventsub.kafka.tls_errors import tls_failure

logger = logging.getLogger("eventsub.kafka")
T = TypeVar("T")
R = TypeVar("R")

# The admin calls of the current unit of work (see counting_calls), by kind.
_WORK_CALLS: contextvars.ContextVar[collections.Counter[str] | None] = contextvars.ContextVar(
    "eventsub_admin_calls", default=None)


@contextlib.contextmanager
def counting_calls() -> Iterator[collections.Counter[str]]:
    """Counts the admin calls made inside the block (and the tasks it starts), apart from those
    of other work running at the same time on the same client."""
    calls: collections.Counter[str] = collections.Counter()
    token = _WORK_CALLS.set(calls)
    try:
        yield calls
    finally:
        _WORK_CALLS.reset(token)


def _count(admin_calls: collections.Counter[str], what: str, calls: int = 1) -> None:
    admin_calls[what] += calls
    work = _WORK_CALLS.get()
    if work is not None:
        work[what] += calls


# Settings a KafkaConnection's clientConfig may override.
DEFAULTS = {"socket.timeout.ms": "10000", "reconnect.backoff.max.ms": "5000"}


@dataclass(frozen=True)
class GroupInfo:
    state: str  # e.g. Empty, Stable, PreparingRebalance, Dead
    members: int
    protocol: str = "Classic"  # Classic, or Consumer (the newer consumer group protocol)
    owners: Mapping[tuple[str, int], str] = field(default_factory=dict)  # partition -> member id


@dataclass(frozen=True)
class ClusterInfo:
    cluster_id: str
    broker_count: int
    controller_id: int | None
    broker_ids: tuple[int, ...] = ()


Results = dict[str, KafkaRequestError | None]
Observed = ObservedTopic | KafkaRequestError | None
# What confluent-kafka raises, before sending, for a request it refuses (e.g. a replication
# factor above its limit): the whole call fails, so the call is split to find the culprit.
_REFUSED = (ValueError, TypeError, KafkaException)


class ClusterAdmin:
    def __init__(self, config: Mapping[str, str], request_timeout: float = 10.0) -> None:
        self.request_timeout = request_timeout
        self.calls: collections.Counter[str] = collections.Counter()  # admin calls, by kind
        self._auth_error: KafkaError | None = None
        self._client_certificate = bool(config.get("ssl.certificate.pem"))
        self._group_requests = InFlightLimit(GROUP_REQUESTS_IN_FLIGHT)
        self._settings: dict[str, Any] = {**DEFAULTS, **config, "error_cb": self._on_error,
                                          "logger": logger}
        self._waiting = 0  # calls awaiting the client's answers
        self._stranded = False  # a group request expired: see _renew_if_stranded
        self.renewals = 0  # clients replaced after a group request expired
        try:
            self._client = AdminClient(self._settings)
        except _REFUSED as error:  # a setting it refuses, or TLS material it cannot load
            raise self._refused_settings(error) from None

    def _refused_settings(self, error: BaseException) -> KafkaRequestError:
        text = _error_text(error).removeprefix("Failed to create admin client: ")
        tls = tls_failure(text, self._client_certificate)
        return tls or KafkaRequestError("InvalidClientConfig",
                                        f"the Kafka client refused the settings: {text}")

    def _on_error(self, error: KafkaError) -> None:
        # Authentication and TLS failures arrive here, not on the request futures (which fail
        # as "transport failure" or time out). A broker refusing the client's certificate is a
        # transport error: recognised by its text.
        if error.code() in (KafkaError._AUTHENTICATION, KafkaError.SASL_AUTHENTICATION_FAILED,
                            KafkaError._SSL) or self._tls_failure(error) is not None:
            self._auth_error = error

    def _tls_failure(self, error: KafkaError) -> KafkaRequestError | None:
        return tls_failure(error.str(), self._client_certificate)

    async def _await(self, future: Future[T], what: str) -> T:
        with self._answers_awaited():
            try:
                return await asyncio.wait_for(asyncio.wrap_future(future), self.request_timeout + 5)
            except (KafkaException, TimeoutError) as error:
                raise self._explain(error, what) from None

    @contextlib.contextmanager
    def _answers_awaited(self) -> Iterator[None]:
        self._waiting += 1
        try:
            yield
        finally:
            self._waiting -= 1
            self._renew_if_stranded()

    def _renew_if_stranded(self) -> None:
        """A group-coordinator request (DescribeGroups, OffsetFetch, ...) that expired while its
        coordinator was unreachable strands its client: librdkafka (2.16) still holds the request
        and, once the coordinator answers it after all, handles that answer with the request's
        reference already released and aborts the process (rd_kafka_enq_once refcount
        assertion, in the client's main thread). Destroyed before the cluster is back, the
        client takes the request with it harmlessly; so it is replaced by a fresh one as soon as
        none of its calls is awaiting an answer any more (destroying a client with requests
        still pending is another way to abort it)."""
        if not self._stranded or self._waiting:
            return
        self._stranded = False
        self.renewals += 1
        logger.warning("a group request to Kafka expired; replacing the admin client before the "
                       "cluster answers it")
        # The old client's last reference: destroyed here, while its cluster is unreachable.
        self._client = AdminClient(self._settings)

    def _explain(self, error: BaseException, what: str) -> KafkaRequestError:
        mapped = from_exception(error, what)
        self._client.poll(0)  # serves error_cb, which only runs from poll()
        if isinstance(mapped, KafkaUnavailable) and self._auth_error is not None:
            return (self._tls_failure(self._auth_error)
                    or from_exception(KafkaException(self._auth_error), what))
        return mapped

    async def _in_waves(self, groups: Sequence[str],
                        send: Callable[[Sequence[str]], Awaitable[Mapping[str, Any]]]
                        ) -> dict[str, Any]:
        """Sends per-group requests (send: one call for a wave of groups) at most
        GROUP_REQUESTS_IN_FLIGHT at a time on this client, each wave answered before the next.
        Once a wave finds the cluster not answering, the remaining groups get that error unsent:
        more requests bound to time out are what triggers the abort (above)."""
        answers: dict[str, Any] = {}
        for start in range(0, len(groups), GROUP_REQUESTS_IN_FLIGHT):
            wave = groups[start:start + GROUP_REQUESTS_IN_FLIGHT]
            async with self._group_requests.hold(len(wave)):
                answered = await send(wave)
            answers.update(answered)
            unavailable = [a for a in answered.values() if isinstance(a, KafkaUnavailable)]
            if unavailable and len(unavailable) == len(answered):
                answers.update({g: unavailable[0] for g in groups[start + len(wave):]})
                break
        return answers

    async def _gather(self, futures: Mapping[Any, Future[Any]], what: str,
                      calls: int = 1) -> dict[Any, Any]:
        """Awaits the futures of one admin call; each value is its result or a KafkaRequestError.

        One wait with one deadline for all of them. A call over thousands of partitions returns
        thousands of futures: those are waited for in one worker thread, since bridging each
        into the event loop would cost more than the request itself.
        """
        _count(self.calls, what, calls)
        if not futures:
            return {}
        with self._answers_awaited():
            results = await self._answers(futures, what)
        return results

    async def _answers(self, futures: Mapping[Any, Future[Any]], what: str) -> dict[Any, Any]:
        timeout = self.request_timeout + 5
        if len(futures) > 64:
            _, pending = await asyncio.to_thread(concurrent.futures.wait, futures.values(), timeout)
        else:
            wrapped = {asyncio.wrap_future(f): f for f in futures.values()}
            _, late = await asyncio.wait(wrapped, timeout=timeout)
            pending = {wrapped[w] for w in late}
            for w in wrapped:  # retrieved here (as below, on the originals): no "never retrieved"
                if w.done() and not w.cancelled():
                    w.exception()
        results: dict[Any, Any] = {}
        for key, future in futures.items():
            if future in pending:
                results[key] = self._explain(TimeoutError(), what)
            elif future.exception() is not None:
                results[key] = self._explain(future.exception(), what)  # type: ignore[arg-type]
            else:
                results[key] = future.result()
        if what in GROUP_CALLS and expired(futures.values(), pending):
            self._stranded = True
        return results

    async def describe_cluster(self) -> ClusterInfo:
        """Broker count, cluster id and controller from a plain metadata request.

        Deliberately not DescribeCluster: librdkafka's admin requests that wait for a controller
        or coordinator can abort the process (rd_kafka_enq_once refcount assertion, 2.16) when
        they time out against a cluster that is down, and the probe is what runs during outages.
        """
        _count(self.calls, "metadata")
        try:
            metadata = await asyncio.to_thread(self._client.list_topics,
                                               timeout=self.request_timeout)
        except KafkaException as error:
            raise self._explain(error, "metadata") from None
        # The brokers accept this client now (e.g. they were made to trust its certificate): a
        # later outage is an outage, not that old refusal.
        self._client.poll(0)
        self._auth_error = None
        return ClusterInfo(cluster_id=str(metadata.cluster_id), broker_count=len(metadata.brokers),
                           controller_id=metadata.controller_id,
                           broker_ids=tuple(sorted(metadata.brokers)))

    async def broker_setting(self, key: str) -> str | None:
        """A broker setting as one broker has it (a cluster's brokers share settings such as
        offsets.retention.minutes); None when the broker does not report it."""
        cluster = await self.describe_cluster()
        if not cluster.broker_ids:
            raise KafkaUnavailable("describe broker configs: no broker in the metadata")
        resource = ConfigResource(ResourceType.BROKER, str(cluster.broker_ids[0]))
        answer = (await self._gather(self._client.describe_configs(
            [resource], request_timeout=self.request_timeout), "describe broker configs"))[resource]
        if isinstance(answer, KafkaRequestError):
            raise answer
        entry = answer.get(key)
        return None if entry is None or entry.value is None else str(entry.value)

    def _send(self, requests: Mapping[str, Any], send: Any, what: str
              ) -> tuple[dict[Any, Future[Any]], Results]:
        """Sends requests (name -> request object) in one call: the client's futures, and the
        names it refused before sending. A refusal of the whole call is narrowed down by sending
        each request alone, so one bad request never fails the others."""
        try:
            return dict(send(list(requests.values()))), {}
        except _REFUSED as error:
            if len(requests) == 1:
                return {}, {name: _refused(what, name, error) for name in requests}
        futures: dict[Any, Future[Any]] = {}
        refused: Results = {}
        for name, request in requests.items():
            try:
                futures.update(send([request]))
            except _REFUSED as error:
                refused[name] = _refused(what, name, error)
        return futures, refused

    async def describe_topics(self, names: Iterable[str]) -> dict[str, Observed]:
        """Observed state per topic: None for a topic that does not exist, an error for one
        Kafka would not describe (e.g. an illegal name). Raises KafkaUnavailable only when the
        cluster itself did not answer."""
        names = sorted(set(names))
        if not names:
            return {}
        descriptions = await self._gather(self._client.describe_topics(
            TopicCollection(names), request_timeout=self.request_timeout), "describe topics")
        _raise_unavailable(descriptions.values())
        existing = {n: d for n, d in descriptions.items() if not isinstance(d, KafkaRequestError)}
        observed: dict[str, Observed] = {
            n: None if d.reason == "TopicNotFound" else d
            for n, d in descriptions.items() if isinstance(d, KafkaRequestError)}
        overrides = await self._topic_overrides(list(existing))
        for name, description in existing.items():
            topic_overrides = overrides.get(name, {})
            if isinstance(topic_overrides, KafkaRequestError):
                observed[name] = topic_overrides
                continue
            observed[name] = ObservedTopic(
                name=name, topic_id=str(description.topic_id),
                partitions=len(description.partitions),
                replication_factor=len(description.partitions[0].replicas)
                if description.partitions else 0,
                overrides=topic_overrides)
        return observed

    async def _topic_overrides(self, names: list[str]
                               ) -> dict[str, dict[str, str] | KafkaRequestError]:
        """Topic-level overrides per topic, or the error Kafka gave for that topic."""
        if not names:
            return {}
        resources = [ConfigResource(ResourceType.TOPIC, n) for n in names]
        configs = await self._gather(self._client.describe_configs(
            resources, request_timeout=self.request_timeout), "describe topic configs")
        _raise_unavailable(configs.values())
        overrides: dict[str, dict[str, str] | KafkaRequestError] = {}
        for resource, entries in configs.items():
            if isinstance(entries, KafkaRequestError):
                if entries.reason != "TopicNotFound":  # deleted meanwhile: seen as new next time
                    overrides[resource.name] = entries
                continue
            overrides[resource.name] = {
                key: entry.value for key, entry in entries.items()
                if _source(entry) == ConfigSource.DYNAMIC_TOPIC_CONFIG.value and entry.value is not None
            }
        return overrides

    async def create_topics(self, topics: Iterable[DesiredTopic]) -> Results:
        fence.check("creating topics")
        new = {t.name: NewTopic(t.name, num_partitions=t.partitions,
                                replication_factor=t.replication_factor or -1, config=dict(t.config))
               for t in topics}
        return await self._in_batches(new, {n: t.num_partitions for n, t in new.items()},
                                      self._create_topics)

    async def _create_topics(self, new: Mapping[str, NewTopic]) -> Results:
        futures, refused = self._send(new, lambda batch: self._client.create_topics(
            batch, operation_timeout=self.request_timeout, request_timeout=self.request_timeout),
            "create topic")
        return {**await self._gather(futures, "create topics"), **refused}

    async def create_partitions(self, totals: Mapping[str, int]) -> Results:
        fence.check("adding partitions")
        # The totals bound the partitions each topic adds, which is what Kafka counts.
        return await self._in_batches({n: NewPartitions(n, t) for n, t in totals.items()}, totals,
                                      self._create_partitions)

    async def _create_partitions(self, grows: Mapping[str, NewPartitions]) -> Results:
        futures, refused = self._send(grows, lambda batch: self._client.create_partitions(
            batch, operation_timeout=self.request_timeout, request_timeout=self.request_timeout),
            "add partitions to")
        return {**await self._gather(futures, "create partitions"), **refused}

    @staticmethod
    async def _in_batches(requests: Mapping[str, R], partitions: Mapping[str, int],
                          send: Callable[[Mapping[str, R]], Awaitable[Results]]) -> Results:
        """Sends requests that create partitions in as few calls as Kafka takes: it refuses a
        whole call over MAX_PARTITIONS_PER_REQUEST partitions (core.topic_plan)."""
        outcomes = await asyncio.gather(*(send({n: requests[n] for n in batch})
                                          for batch in request_batches(partitions)))
        return {name: outcome for results in outcomes for name, outcome in results.items()}

    async def alter_topic_configs(
            self, changes: Mapping[str, tuple[Mapping[str, str], Iterable[str]]]) -> Results:
        """Incremental changes per topic: (settings to set, settings to remove)."""
        fence.check("changing topic configs")
        resources = {}
        for name, (to_set, to_delete) in changes.items():
            entries = [ConfigEntry(k, v, incremental_operation=AlterConfigOpType.SET)
                       for k, v in to_set.items()]
            entries += [ConfigEntry(k, None, incremental_operation=AlterConfigOpType.DELETE)
                        for k in to_delete]
            resources[name] = ConfigResource(ResourceType.TOPIC, name, incremental_configs=entries)
        if not resources:
            return {}
        futures, refused = self._send(resources, lambda batch: self._client.incremental_alter_configs(
            batch, request_timeout=self.request_timeout), "change the config of")
        results = await self._gather(futures, "alter topic configs")
        return {**{resource.name: outcome for resource, outcome in results.items()}, **refused}

    # -- what the lag collector needs: each one batched across partitions or groups ----------

    async def partition_counts(self, topics: Iterable[str]) -> dict[str, int | KafkaRequestError]:
        """Partitions per topic, from one Metadata request for the whole cluster: several times
        cheaper for the broker than DescribeTopicPartitions over the same topics. Raises
        KafkaUnavailable when the cluster did not answer."""
        names = sorted(set(topics))
        if not names:
            return {}
        what = "read metadata"
        _count(self.calls, what)
        try:
            metadata = await asyncio.to_thread(self._client.list_topics,
                                               timeout=self.request_timeout)
        except KafkaException as error:
            raise self._explain(error, what) from None
        counts: dict[str, int | KafkaRequestError] = {}
        for name in names:
            topic = metadata.topics.get(name)
            if topic is None:
                counts[name] = KafkaRequestError("TopicNotFound", f"{what}: topic {name} does not exist")
            elif topic.error is not None:
                counts[name] = self._explain(KafkaException(topic.error), what)
            else:
                counts[name] = len(topic.partitions)
        return counts

    async def log_offsets(self, partitions: Iterable[tuple[str, int]],
                          earliest: bool) -> dict[tuple[str, int], int | KafkaRequestError]:
        """Log-start (earliest) or log-end offsets: one ListOffsets request per leader broker.
        A partition Kafka answers with an error (e.g. not authorized) gets that error; raises
        KafkaUnavailable when the cluster did not answer."""
        spec = OffsetSpec.earliest() if earliest else OffsetSpec.latest()  # type: ignore[no-untyped-call]
        request = [TopicPartition(t, p, spec._value) for t, p in partitions]
        if not request:
            return {}
        what = "list log-start offsets" if earliest else "list log-end offsets"
        results = await self._list_offsets(request, what)
        _raise_unavailable(results.values())
        offsets: dict[tuple[str, int], int | KafkaRequestError] = {}
        for tp, info in results.items():
            if isinstance(info, KafkaRequestError):
                offsets[(tp.topic, tp.partition)] = info
                continue
            if info.offset < 0:  # no leader answered (e.g. a broker shutting down): not zero
                raise KafkaUnavailable(f"{what}: no offset for {tp.topic}[{tp.partition}]")
            offsets[(tp.topic, tp.partition)] = int(info.offset)
        return offsets

    async def _list_offsets(self, request: list[TopicPartition], what: str) -> dict[Any, Any]:
        """One ListOffsets call answered through one future: the client's own list_offsets
        makes a future per partition, and at thousands of partitions making, resolving and
        reading those costs more than the broker's answer (0.2-0.3 s of a 4,000-partition
        call). The call below is the one it wraps (confluent-kafka 2.16); its answer maps
        each TopicPartition to its ListOffsetsResultInfo or a KafkaError."""
        _count(self.calls, what)
        answer: Future[Any] = Future()
        answer.set_running_or_notify_cancel()
        try:
            super(AdminClient, self._client).list_offsets(
                request, answer, request_timeout=self.request_timeout)
            answered = await self._await(answer, what)
        except (KafkaRequestError, *_REFUSED) as error:
            failed = error if isinstance(error, KafkaRequestError) else self._explain(error, what)
            return {tp: failed for tp in request}
        return {tp: self._explain(KafkaException(info), what) if isinstance(info, KafkaError) else info
                for tp, info in answered.items()}

    async def committed_offsets(self, group: str, partitions: Iterable[tuple[str, int]]
                                ) -> dict[tuple[str, int], int | None]:
        """The group's committed offsets (None where it has none): one OffsetFetch request."""
        answer = (await self.committed_offsets_of({group: list(partitions)}))[group]
        if isinstance(answer, KafkaRequestError):
            raise answer
        return answer

    async def committed_offsets_of(self, groups: Mapping[str, Sequence[tuple[str, int]]]
                                   ) -> dict[str, dict[tuple[str, int], int | None] | KafkaRequestError]:
        """The committed offsets of many groups: one OffsetFetch per group (the client takes one
        group per request), sent in waves (see _in_waves)."""
        what = "list committed offsets"

        async def wave(names: Sequence[str]) -> dict[str, Any]:
            futures: dict[str, Future[Any]] = {}
            refused: dict[str, KafkaRequestError] = {}
            for group in names:
                request = [ConsumerGroupTopicPartitions(
                    group, [TopicPartition(t, p) for t, p in groups[group]])]
                try:
                    futures.update(self._client.list_consumer_group_offsets(
                        request, request_timeout=self.request_timeout))
                except (KafkaException, ValueError, TypeError) as error:  # this group alone fails
                    refused[group] = self._explain(error, what)
            return {**refused, **await self._gather(futures, what, calls=len(futures))}

        answers = await self._in_waves(list(groups), wave)
        return {group: _committed(answer) for group, answer in answers.items()}

    async def _group_partitions(self, group: str, futures: Mapping[Any, Future[Any]],
                                what: str) -> list[TopicPartition]:
        """The per-partition answer of a request about one group's offsets."""
        result = (await self._gather(futures, what))[group]
        if isinstance(result, KafkaRequestError):
            raise result
        return list(result.topic_partitions)

    async def offsets_for_time(self, partitions: Iterable[tuple[str, int]],
                               timestamp_ms: int) -> dict[tuple[str, int], int | None]:
        """First offset at or after the timestamp per partition; None past the log end."""
        spec = OffsetSpec.for_timestamp(timestamp_ms)
        request = {TopicPartition(t, p): spec for t, p in partitions}
        if not request:
            return {}
        results = await self._gather(self._client.list_offsets(
            request, request_timeout=self.request_timeout), "list offsets for a time")
        offsets: dict[tuple[str, int], int | None] = {}
        for tp, info in results.items():
            if isinstance(info, KafkaRequestError):
                raise info
            offsets[(tp.topic, tp.partition)] = int(info.offset) if info.offset >= 0 else None
        return offsets

    async def alter_group_offsets(self, group: str, offsets: Mapping[tuple[str, int], int]) -> None:
        """Commits these offsets for the group; Kafka refuses unless the group is Empty."""
        fence.check("moving group offsets")
        request = [ConsumerGroupTopicPartitions(group, [TopicPartition(t, p, o)
                                                        for (t, p), o in offsets.items()])]
        async with self._group_requests.hold(1):
            answered = await self._group_partitions(group, self._client.alter_consumer_group_offsets(
                request, request_timeout=self.request_timeout), "alter group offsets")
        failed = [tp for tp in answered if tp.error is not None]
        if failed:
            raise KafkaRequestError("OffsetsNotMoved", f"alter group offsets: {failed[0].error}")

    async def delete_group(self, group: str) -> None:
        fence.check("deleting a group")
        async with self._group_requests.hold(1):
            results = await self._gather(self._client.delete_consumer_groups(
                [group], request_timeout=self.request_timeout), "delete group")
        outcome = results[group]
        if isinstance(outcome, KafkaRequestError) and outcome.reason != "GroupNotFound":
            raise outcome

    async def describe_groups(self, groups: Iterable[str]) -> dict[str, GroupInfo | KafkaRequestError]:
        names = sorted(set(groups))
        if not names:
            return {}
        results = await self._in_waves(names, lambda wave: self._gather(
            self._client.describe_consumer_groups(list(wave), request_timeout=self.request_timeout),
            "describe groups"))
        return {g: r if isinstance(r, KafkaRequestError) else
                GroupInfo(state=_state_name(r.state), members=len(r.members), owners=_owners(r.members),
                          protocol=_state_name(r.type))
                for g, r in results.items()}

    async def delete_topics(self, names: Iterable[str]) -> Results:
        fence.check("deleting topics")
        names = sorted(set(names))
        if not names:
            return {}
        return await self._gather(self._client.delete_topics(
            names, operation_timeout=self.request_timeout, request_timeout=self.request_timeout),
            "delete topics")


# The calls whose requests go to a group coordinator (librdkafka's coordinator requests).
GROUP_CALLS = frozenset({"describe groups", "list committed offsets", "alter group offsets",
                         "delete group"})


def expired(futures: Iterable[Future[Any]], pending: Iterable[Future[Any]]) -> bool:
    """Whether any of these answered futures timed out, or is still pending past the wait."""
    if any(True for _ in pending):
        return True
    for future in futures:
        error = future.exception() if future.done() and not future.cancelled() else None
        code = error.args[0].code() if isinstance(error, KafkaException) and error.args and \
            isinstance(error.args[0], KafkaError) else None
        if code in (KafkaError._TIMED_OUT, KafkaError.REQUEST_TIMED_OUT):
            return True
    return False


# Group-coordinator requests in flight at once on one client. librdkafka (2.16) can abort the
# process when many of them expire together (confluentinc/librdkafka#4605): thousands sent at
# once against one busy broker do (e.g. a few thousand new subscriptions each reading its
# group). Kept this far below, every request is answered well inside its timeout.
GROUP_REQUESTS_IN_FLIGHT = 250


def _committed(answer: Any) -> dict[tuple[str, int], int | None] | KafkaRequestError:
    """One group's OffsetFetch answer by partition; a partial answer is an error, since it
    must not read as "no committed offset"."""
    if isinstance(answer, KafkaRequestError):
        return answer
    partitions = list(answer.topic_partitions)
    failed = [tp for tp in partitions if tp.error is not None]
    if failed:
        return KafkaUnavailable(f"list committed offsets: {failed[0].topic}[{failed[0].partition}]: "
                                f"{failed[0].error}")
    return {(tp.topic, tp.partition): (tp.offset if tp.offset >= 0 else None) for tp in partitions}


def _error_text(error: BaseException) -> str:
    """The client's own words, without the KafkaError{code=...} wrapping."""
    first = error.args[0] if error.args else None
    return first.str() if isinstance(first, KafkaError) else str(error)


def _refused(what: str, name: str, error: BaseException) -> KafkaRequestError:
    return KafkaRequestError("InvalidSpec", f"the Kafka client refused to {what} {name}: {error}")


def _raise_unavailable(outcomes: Iterable[Any]) -> None:
    """The cluster did not answer: that fails the whole batch, and is retried as an outage."""
    for outcome in outcomes:
        if isinstance(outcome, KafkaUnavailable):
            raise outcome


def _owners(members: Iterable[Any]) -> dict[tuple[str, int], str]:
    """Which member each assigned partition belongs to."""
    return {(tp.topic, tp.partition): str(member.member_id) for member in members
            for tp in (member.assignment.topic_partitions if member.assignment else None) or []}


def _state_name(state: Any) -> str:
    name = str(getattr(state, "name", state))
    return "".join(part.capitalize() for part in name.split("_"))


def _source(entry: ConfigEntry) -> int:
    source: Any = entry.source
    return int(source.value if isinstance(source, enum.Enum) else source)
