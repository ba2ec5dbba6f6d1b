"""The `__consumer_offsets` reader: one per KafkaConnection, tailing the topic on a thread of its
own (as Burrow does), so that the polling lag cycle reads the committed offsets and the group
membership of its groups from memory instead of one OffsetFetch and one DescribeGroups per group.

The consumer only reads: it is assigned every partition from the beginning, never joins a group
and never commits (confluent-kafka insists on a group.id, which is given and never used). Its
buffers are small: the operator's memory target counts every byte it prefetches.

What it cannot answer, the caller asks Kafka for (kafka.lag.collect): every group until the
topic has been read up to where it ended when reading started, a group the operator started to
ask about until its partition has been read again from the beginning, a group of another
protocol (the consumer protocol of KIP-848, share and streams groups). While fetching the topic
fails, no group is asked for at all (core.offsets_log.answer says why) and the lag cycle fails:
the scaler then closes the reader until the connection's probe succeeds, and starts a fresh one.
When the topic cannot be read at all (e.g. ACLs deny it), it stops for good and says so once in
the log; requests answer from then on.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Mapping
from typing import Any

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, KafkaException, TopicPartition

from eventsub.core.offsets_log import (
    TOPIC,
    Answer,
    DecodeError,
    GroupsLog,
    GroupView,
    UnexpectedPartition,
    answer,
)

logger = logging.getLogger("eventsub.kafka")

# Small on purpose: at 10,000 subscriptions the operator's memory target leaves a few MiB for
# this reader. librdkafka's defaults (64 MiB queued, 50 MiB per fetch) are for throughput.
SETTINGS = {
    "group.id": "eventsub-offsets-log",  # required by confluent-kafka; never joined, never committed
    "enable.auto.commit": False,
    "enable.auto.offset.store": False,
    "enable.partition.eof": True,  # how the reader knows it reached a partition's end
    # librdkafka prefetches until either bound: at its default of 100,000 messages per
    # partition the reader added 28 MiB to the process; at 10,000, 4-6 MiB (at 1,000, 2-4 MiB
    # but its first read of a large topic took 2.5 times as long).
    "queued.min.messages": 10000,
    "queued.max.messages.kbytes": 1024,
    "fetch.max.bytes": 1048576,  # librdkafka's floor: message.max.bytes (1,000,000)
    "max.partition.fetch.bytes": 262144,
    "fetch.wait.max.ms": 200,  # how far behind the view may be while the topic is quiet
    "client.id": "eventsub-offsets-log",
}
_DENIED = {KafkaError.TOPIC_AUTHORIZATION_FAILED, KafkaError.GROUP_AUTHORIZATION_FAILED,
           KafkaError.CLUSTER_AUTHORIZATION_FAILED, KafkaError.SASL_AUTHENTICATION_FAILED,
           KafkaError._AUTHENTICATION}


class OffsetsLogReader:
    def __init__(self, config: Mapping[str, str], name: str, fingerprint: str = "",
                 retry_seconds: float = 5.0) -> None:
        self.name, self.fingerprint = name, fingerprint
        self.retry_seconds = retry_seconds
        self.failed: str | None = None  # why the topic cannot be read, for good
        self._config = dict(config)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._log: GroupsLog | None = None
        self._wanted: frozenset[str] = frozenset()
        self._wanted_version = 0
        self._trouble: str | None = None  # a fetch error not yet followed by a record or an end
        self._warned: set[str] = set()
        self._thread = threading.Thread(target=self._run, name=f"offsets-log-{name}", daemon=True)

    def start(self) -> OffsetsLogReader:
        self._thread.start()
        return self

    def close(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def track(self, groups: Iterable[str]) -> None:
        """The groups to keep (every group the operator polls on this connection): others are
        forgotten; new ones are known once their partition has been read again."""
        wanted = frozenset(groups)
        with self._lock:
            if wanted != self._wanted:
                self._wanted, self._wanted_version = wanted, self._wanted_version + 1

    @property
    def caught_up(self) -> bool:
        with self._lock:
            return self._log is not None and self._log.caught_up

    def answer(self, groups: Iterable[str]) -> Answer:
        """Which groups this reader answers for now, which need requests, or why none may be
        asked (core.offsets_log.answer)."""
        with self._lock:
            return answer(self._log, groups, self.failed, self._trouble)

    def views(self, groups: Iterable[str]) -> dict[str, GroupView]:
        """The groups this reader can answer for now."""
        return dict(self.answer(groups).views)

    # -- the reader's thread ---------------------------------------------------------------

    def _run(self) -> None:
        try:
            consumer = Consumer({**self._config, **SETTINGS, "logger": logger})
        except (KafkaException, ValueError, TypeError) as error:
            self._fail(f"the Kafka client refused the consumer's settings: {error}")
            return
        try:
            self._read(consumer)
        except Exception as error:  # never silently: the lag cycle falls back to requests
            logger.exception("reading %s on %s stopped", TOPIC, self.name)
            self._fail(f"the reader stopped: {error}")
        finally:
            consumer.close()

    def _read(self, consumer: Any) -> None:
        partitions = self._partitions(consumer)
        if partitions is None:
            return
        ends = {}
        for p in range(partitions):
            while not self._stop.is_set():
                try:
                    _, ends[p] = consumer.get_watermark_offsets(TopicPartition(TOPIC, p),
                                                                timeout=10, cached=False)
                    break
                except KafkaException as error:
                    if self._denied(error.args[0]):
                        return
                    self._stop.wait(self.retry_seconds)
        with self._lock:
            self._log = GroupsLog(partitions, ends)
        consumer.incremental_assign([TopicPartition(TOPIC, p, OFFSET_BEGINNING)
                                     for p in range(partitions)])
        seen_version = -1
        while not self._stop.is_set():
            with self._lock:
                if seen_version != self._wanted_version:
                    seen_version = self._wanted_version
                    for p in self._log.want(self._wanted):
                        self._rewind(consumer, p)
            messages = consumer.consume(500, 0.2)
            if messages:
                self._apply(consumer, messages)

    def _partitions(self, consumer: Any) -> int | None:
        """The topic's partition count; None when it cannot be read for good or on stop. The
        topic may not exist yet on a fresh cluster (the first group creates it): waited for."""
        while not self._stop.is_set():
            try:
                topic = consumer.list_topics(TOPIC, timeout=10).topics.get(TOPIC)
            except KafkaException as error:
                if self._denied(error.args[0]):
                    return None
                topic = None
            if topic is not None and topic.error is not None and self._denied(topic.error):
                return None
            if topic is not None and topic.error is None and topic.partitions:
                return len(topic.partitions)
            self._stop.wait(self.retry_seconds)
        return None

    def _apply(self, consumer: Any, messages: list[Any]) -> None:
        with self._lock:
            log = self._log
            assert log is not None
            rewound: set[int] = set()  # the rest of the batch there is read again anyway
            for message in messages:
                p = message.partition()
                if p in rewound:
                    continue
                error = message.error()
                again: int | None = None
                if error is None:
                    self._trouble = None
                    try:
                        again = log.record(p, message.offset(), message.key(), message.value())
                    except UnexpectedPartition as problem:
                        self._fail(str(problem))
                        return
                    except DecodeError as problem:
                        self._warn_once("decode", f"skipping records of {TOPIC} on {self.name} it "
                                        f"cannot decode, e.g. at {p}/{message.offset()}: {problem}")
                elif error.code() == KafkaError._PARTITION_EOF:
                    self._trouble = None
                    again = log.end_of_partition(p, message.offset())
                elif self._denied(error):
                    return
                else:
                    self._trouble = error.str()
                    self._warn_once(str(error.code()), f"reading {TOPIC} on {self.name}: {error.str()}"
                                    " (lag reads use requests until it recovers)")
                if again is not None:
                    rewound.add(again)
                    self._rewind(consumer, again)

    def _rewind(self, consumer: Any, partition: int) -> None:
        """Reads a partition again from its beginning, for groups newly asked about."""
        start = TopicPartition(TOPIC, partition, OFFSET_BEGINNING)
        try:
            consumer.seek(start)
        except KafkaException:  # not fetching yet: assigned again at the beginning
            consumer.incremental_unassign([TopicPartition(TOPIC, partition)])
            consumer.incremental_assign([start])

    def _denied(self, error: KafkaError) -> bool:
        if error.code() not in _DENIED:
            return False
        self._fail(f"not allowed to read {TOPIC}: {error.str()}")
        return True

    def _fail(self, reason: str) -> None:
        self.failed = reason  # one assignment: views() reads it under the lock or not at all
        logger.warning("lag reads on %s use DescribeGroups and OffsetFetch from now on: %s",
                       self.name, reason)
        self._stop.set()

    def _warn_once(self, kind: str, message: str) -> None:
        if kind not in self._warned:
            self._warned.add(kind)
            logger.warning("%s", message)
