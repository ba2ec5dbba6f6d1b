"""One ClusterAdmin per KafkaConnection, replaced when its settings or credentials change."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from eventsub.core.client_config import fingerprint
from eventsub.kafka.admin import ClusterAdmin


@dataclass
class Entry:
    admin: ClusterAdmin
    fingerprint: str
    cluster_id: str | None = None


class ConnectionRegistry:
    def __init__(self, request_timeout: float = 10.0) -> None:
        self.request_timeout = request_timeout
        self._entries: dict[str, Entry] = {}

    def ensure(self, key: str, config: Mapping[str, str]) -> Entry:
        """The entry for key, with a new client if the settings changed (e.g. a rotated Secret)."""
        current = self._entries.get(key)
        wanted = fingerprint(config)
        if current is not None and current.fingerprint == wanted:
            return current
        entry = Entry(admin=ClusterAdmin(config, self.request_timeout), fingerprint=wanted)
        self._entries[key] = entry
        return entry

    def get(self, key: str) -> Entry | None:
        return self._entries.get(key)

    def remove(self, key: str) -> None:
        self._entries.pop(key, None)

    def keys(self) -> list[str]:
        return list(self._entries)
