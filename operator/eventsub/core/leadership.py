"""Leader election on a coordination.k8s.io Lease: what a candidate does next. Pure.

The rules of client-go's leader election, which Kubernetes controllers and controller-runtime
operators use: a lease held by someone else is taken over only after it has not changed for its
whole duration, measured on the candidate's own clock from the moment the candidate saw the
current version (so clocks need not agree); the leader renews every retry period and gives up
leadership, before anyone could take it over, when it could not renew for the renew deadline.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Timing:
    lease_seconds: int  # how long a lease that stopped changing is respected by the others
    renew_deadline_seconds: float  # the leader steps down after failing to renew this long
    retry_seconds: float  # how often candidates look and the leader renews

    @classmethod
    def for_lease(cls, lease_seconds: int) -> Timing:
        """client-go's proportions (15 s lease, 10 s deadline, 2 s retry), scaled."""
        if lease_seconds < 4:
            raise ValueError(f"the lease duration must be at least 4 seconds, not {lease_seconds}")
        return cls(lease_seconds, lease_seconds * 2 / 3, max(1.0, math.floor(lease_seconds / 7.5)))


@dataclass(frozen=True)
class LeaseRecord:
    """The Lease as read from the API server."""

    holder: str | None  # None or "": released, free to take
    duration_seconds: int
    transitions: int
    version: str  # metadata.resourceVersion: changes on every renewal


@dataclass(frozen=True)
class Sighting:
    """The version of the lease a candidate last saw change, and when (its monotonic clock)."""

    version: str
    since: float


class Claim(enum.Enum):
    CREATE = "create"  # no lease yet: create it, holding it
    RENEW = "renew"  # ours: renew it
    TAKE_OVER = "take over"  # released or expired: write ourselves in, one more transition
    WAIT = "wait"  # someone else holds a live lease


def sight(previous: Sighting | None, record: LeaseRecord | None, now: float) -> Sighting | None:
    """Remembers when the lease's current version was first seen."""
    if record is None:
        return None
    if previous is not None and previous.version == record.version:
        return previous
    return Sighting(record.version, now)


def claim(record: LeaseRecord | None, sighting: Sighting | None, me: str, now: float) -> Claim:
    if record is None:
        return Claim.CREATE
    if record.holder == me:
        return Claim.RENEW
    if not record.holder:
        return Claim.TAKE_OVER
    seen_since = sighting.since if sighting is not None and sighting.version == record.version \
        else now
    if now - seen_since >= record.duration_seconds:
        return Claim.TAKE_OVER
    return Claim.WAIT


def must_step_down(last_renewed: float, now: float, timing: Timing) -> bool:
    """True when the leader could not renew in time: others may take the lease soon, so it
    stops acting before they can (the renew deadline is shorter than the lease)."""
    return now - last_renewed >= timing.renew_deadline_seconds
