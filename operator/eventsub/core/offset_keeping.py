"""When to renew a quiet group's committed offsets, so Kafka's offset retention never expires them.

Kafka deletes the committed offsets of a group that has had no member for longer than
`offsets.retention.minutes` (7 days by default). A subscription scaled to zero for a quiet week,
or paused, would then wake up at its start position again. Which clock Kafka uses depends on
the group (checked on Kafka 4.x):
- a classic group that had members: the time it became Empty. Committing again does not
  move that clock; a member joining and leaving does (the group's state changes);
- a group that only ever had offsets committed (the operator's start offsets) and a group of
  the newer consumer protocol: the time of each offset's last commit, so committing again
  moves it.
The operator renews well before the deadline (at half the retention), counting from the last
moment it knows Kafka's clock started: its own last renewal, the commit of the start offsets, or
the moment it saw the group become Empty. When it knows none of them (first sight of an Empty
group), it renews at once.
"""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_RETENTION_SECONDS = 7 * 24 * 3600.0  # Kafka's default offsets.retention.minutes
RENEW_AT = 0.5  # renew once this fraction of the retention has passed


@dataclass(frozen=True)
class KeeperMemory:
    """What the operator knows about one group's retention clock (wall-clock seconds)."""

    seen_active: bool = False  # the group had members when last seen
    empty_since: float | None = None  # when the operator saw it go from members to Empty
    renewed: float | None = None  # the last renewal, or the commit of the start offsets


def renewal_due(state: str, has_offsets: bool, memory: KeeperMemory, now: float,
                retention_seconds: float) -> tuple[bool, KeeperMemory]:
    """Whether to renew the group's offsets now, and what to remember."""
    if state != "Empty":
        active = state not in ("Dead", "Unknown")
        return False, KeeperMemory(seen_active=active, renewed=memory.renewed)
    if memory.seen_active:
        memory = KeeperMemory(empty_since=now, renewed=memory.renewed)
    if not has_offsets:
        return False, memory
    return now >= next_renewal(memory, retention_seconds), memory


def next_renewal(memory: KeeperMemory, retention_seconds: float) -> float:
    """When the renewal falls due: at once when no start of Kafka's clock is known."""
    known = [t for t in (memory.empty_since, memory.renewed) if t is not None]
    return max(known) + retention_seconds * RENEW_AT if known else float("-inf")


def renewed(memory: KeeperMemory, now: float) -> KeeperMemory:
    return KeeperMemory(empty_since=memory.empty_since, renewed=now)


def with_known_renewal(memory: KeeperMemory, when: float | None) -> KeeperMemory:
    """Memory that also counts a renewal read back from status (after a restart)."""
    if when is None or (memory.renewed is not None and memory.renewed >= when):
        return memory
    return KeeperMemory(seen_active=memory.seen_active, empty_since=memory.empty_since,
                        renewed=when)
