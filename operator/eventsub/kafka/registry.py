"""One ClusterAdmin per KafkaConnection, replaced when its settings or credentials change."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field

from eventsub.core.client_config import fingerprint
from eventsub.kafka.admin import ClusterAdmin
from eventsub.kafka.lag import BatchedReads


@dataclass
class Entry:
    admin: ClusterAdmin
    fingerprint: str
    config: Mapping[str, str] = field(repr=False)  # holds credentials: never printed
    cluster_id: str | None = None
    reads: BatchedReads = field(init=False, repr=False)  # single-group lag reads, merged

    def __post_init__(self) -> None:
        self.reads = BatchedReads(self.admin)


class ConnectionRegistry:
    def __init__(self, request_timeout: float = 10.0) -> None:
        self.request_timeout = request_timeout
        self._entries: dict[str, Entry] = {}
        # Replaced clients are kept until their requests have surely ended: librdkafka (2.16)
        # aborts the process (rd_kafka_enq_once refcount assertion) when a client is destroyed
        # with admin requests still in flight.
        self._retired: list[tuple[float, ClusterAdmin]] = []

    def _retire(self, admin: ClusterAdmin) -> None:
        now = time.monotonic()
        grace = 3 * self.request_timeout + 30
        self._retired = [(t, a) for t, a in self._retired if now - t < grace]
        self._retired.append((now, admin))

    def ensure(self, key: str, config: Mapping[str, str]) -> Entry:
        """The entry for key, with a new client if the settings changed (e.g. a rotated Secret)."""
        current = self._entries.get(key)
        wanted = fingerprint(config)
        if current is not None and current.fingerprint == wanted:
            return current
        # Made first: settings the client refuses raise here and leave the current entry as it was.
        entry = Entry(admin=ClusterAdmin(config, self.request_timeout), fingerprint=wanted,
                      config=dict(config))
        if current is not None:
            self._retire(current.admin)
        self._entries[key] = entry
        return entry

    def rebuild(self, key: str) -> None:
        """A fresh client with the same settings. librdkafka's admin client does not always
        recover its group-coordinator requests after the brokers restart (seen with
        confluent-kafka 2.16: OffsetFetch and DescribeGroups time out forever while metadata
        requests work again); a new client does."""
        entry = self._entries.get(key)
        if entry is not None:
            self._retire(entry.admin)
            entry.admin = ClusterAdmin(entry.config, self.request_timeout)
            # The merged reads too: they held the old client, which kept it alive for good.
            entry.reads = BatchedReads(entry.admin)

    def get(self, key: str) -> Entry | None:
        return self._entries.get(key)

    def cluster_of(self, key: str) -> str:
        """Which cluster a connection reaches: the cluster id it reported, so two connections
        to one cluster name the same events; the connection key until it is known."""
        entry = self._entries.get(key)
        return (entry.cluster_id if entry is not None else None) or key

    def remove(self, key: str) -> None:
        entry = self._entries.pop(key, None)
        if entry is not None:
            self._retire(entry.admin)

    def keys(self) -> list[str]:
        return list(self._entries)
