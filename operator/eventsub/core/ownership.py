"""Which EventTopic owns a Kafka topic when several claim it.

The one that already manages the topic keeps it, whatever arrives later: ownership never moves
away from a working resource. Among claimants that do not manage it yet, the oldest wins, and
creation timestamps (one-second resolution) tie-break by namespace and name, so every pass and
every replica decides the same.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Claim:
    created: str  # RFC 3339 from metadata.creationTimestamp; sorts chronologically
    namespace: str
    name: str
    manages: bool = False  # it has been reconciling this topic (its status carries the topic)

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"

    @property
    def rank(self) -> tuple[bool, str, str, str]:
        return (not self.manages, self.created, self.namespace, self.name)


def owner(claims: Iterable[Claim]) -> Claim | None:
    return min(claims, key=lambda c: c.rank, default=None)


def conflict_message(topic: str, holder: Claim, claimant: Claim) -> str:
    """Why `claimant` does not own `topic`, truthfully."""
    if holder.manages:
        why = "which already manages it"
    elif holder.created < claimant.created:
        why = "which is older"
    else:
        why = "created in the same second and first by namespace/name"
    return (f"Kafka topic {topic} is managed by EventTopic {holder.key}, {why}; this resource "
            "changes nothing")
