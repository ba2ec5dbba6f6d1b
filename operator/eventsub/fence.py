"""The write fence: may this process change anything right now?

Leader election installs the check. A leader that has not renewed its Lease within the renew
deadline (it was frozen, or the API server was unreachable) may already have been replaced, so
every write to Kubernetes or Kafka is refused from that moment, not only once the leader notices
and exits: a process that wakes up after a long pause cannot act on what it thought before.
"""

from __future__ import annotations

from collections.abc import Callable


class NotLeading(Exception):
    """A write was refused: this replica does not (or no longer surely) hold the leader Lease."""


_may_write: Callable[[], bool] = lambda: True  # noqa: E731  (no leader election: always)


def install(may_write: Callable[[], bool]) -> None:
    global _may_write
    _may_write = may_write


def check(what: str) -> None:
    """Raises NotLeading instead of letting `what` happen without a current lease."""
    if not _may_write():
        raise NotLeading(f"not the leader: {what} refused")
