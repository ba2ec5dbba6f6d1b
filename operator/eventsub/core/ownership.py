"""Which EventTopic owns a Kafka topic when several claim it: the oldest one."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True, order=True)
class Claim:
    # Field order is the tie-break order: creation time, then namespace and name (stable).
    created: str  # RFC 3339 from metadata.creationTimestamp; sorts chronologically
    namespace: str
    name: str

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"


def owner(claims: Iterable[Claim]) -> Claim | None:
    return min(claims, default=None)
