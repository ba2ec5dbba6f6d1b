"""Helpers for tests against real, eventually consistent systems."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")


def eventually(probe: Callable[[], T], timeout: float = 60.0, interval: float = 0.25,
               what: str = "condition") -> T:
    """Calls probe until it returns something truthy; fails with the last value or error."""
    deadline = time.monotonic() + timeout
    last: object = None
    while time.monotonic() < deadline:
        try:
            last = probe()
            if last:
                return last  # type: ignore[return-value]
        except Exception as error:  # the system may not be there yet: keep the error for the report
            last = error
        time.sleep(interval)
    raise AssertionError(f"{what} not reached within {timeout:.0f}s; last: {last!r}")


def unique(prefix: str) -> str:
    """A name no earlier run used: tests may share a long-running stack."""
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def _group(bootstrap: str, group: str) -> Any:
    """The group's description (state, members and their assignments), as Kafka gives it."""
    from confluent_kafka.admin import AdminClient

    admin = AdminClient({"bootstrap.servers": bootstrap})
    return admin.describe_consumer_groups([group])[group].result(timeout=10)


def group_members(bootstrap: str, group: str) -> int:
    """How many members the group has, whatever its state."""
    return len(_group(bootstrap, group).members)


def assigned_partitions(bootstrap: str, group: str) -> int:
    """How many partitions the members of a Stable group own (0 while it is not Stable)."""
    from confluent_kafka import ConsumerGroupState

    description = _group(bootstrap, group)
    if description.state != ConsumerGroupState.STABLE:
        return 0
    return sum(len(m.assignment.topic_partitions) for m in description.members if m.assignment)
