"""The leader election runs on a thread of its own: a main event loop too busy to run a timer
for longer than the renew deadline (thousands of ready tasks) does not make the leader step
down, and the callbacks still run on the main loop. The store here is an in-memory Lease
(tests/integration/test_failover.py covers the real API server)."""

from __future__ import annotations

import asyncio
import logging
import threading
import time

import pytest

from eventsub.core.leadership import LeaseRecord, Timing
from eventsub.runtime.leadership import Campaign, LeaderElector


class MemoryLease:
    """The Lease as the API server keeps it: a version that changes on every write."""

    def __init__(self) -> None:
        self.record: LeaseRecord | None = None
        self.writes = 0
        self.namespace, self.name = "default", "eventsub-operator"

    async def read(self) -> LeaseRecord | None:
        return self.record

    async def write(self, previous: LeaseRecord | None, holder: str | None, duration_seconds: int,
                    acquired: bool) -> LeaseRecord:
        self.writes += 1
        transitions = 0 if previous is None else previous.transitions + int(acquired)
        self.record = LeaseRecord(holder, duration_seconds, transitions, str(self.writes))
        return self.record


def test_a_blocked_main_loop_does_not_cost_the_leadership() -> None:
    timing = Timing.for_lease(4)  # steps down after ~2.7 s without a renewal
    lease = MemoryLease()
    elector = LeaderElector(lease, "me", timing)  # type: ignore[arg-type]
    elected_on: list[threading.Thread] = []
    lost: list[bool] = []

    async def on_lost() -> None:
        lost.append(True)

    async def scenario() -> tuple[bool, int, int]:
        campaign = Campaign(elector, lambda: elected_on.append(threading.current_thread()), on_lost)
        while not elected_on:
            await asyncio.sleep(0.05)
        writes_before = lease.writes
        time.sleep(timing.renew_deadline_seconds * 1.5)  # the main loop runs nothing meanwhile
        still_leading = elector.current()
        writes_during = lease.writes - writes_before
        campaign.cancel()
        assert await campaign.stopped(timeout=5)
        return still_leading, writes_during, lease.writes

    still_leading, writes_during, _ = asyncio.run(scenario())
    assert elected_on == [threading.main_thread()]
    assert still_leading and not lost
    assert writes_during >= 2  # renewed from its own thread while the main loop was blocked


def test_a_campaign_cancelled_as_it_starts_still_stops() -> None:
    lease = MemoryLease()
    elector = LeaderElector(lease, "me", Timing.for_lease(4))  # type: ignore[arg-type]

    async def scenario() -> bool:
        campaign = Campaign(elector, lambda: None, _never)
        campaign.cancel()
        return await campaign.stopped(timeout=5)

    assert asyncio.run(scenario())


async def _never() -> None:
    raise AssertionError("cancelled, never stepped down")



class UnwritableLease(MemoryLease):
    """A Lease whose namespace does not exist (until `exists`): reading finds nothing, every
    create fails."""

    exists = False

    async def write(self, previous: LeaseRecord | None, holder: str | None, duration_seconds: int,
                    acquired: bool) -> LeaseRecord:
        if not self.exists:
            self.writes += 1
            raise RuntimeError('namespaces "gone" not found')
        return await super().write(previous, holder, duration_seconds, acquired)


def test_a_lease_that_reads_but_cannot_be_written_is_one_problem_said_once(
        caplog: pytest.LogCaptureFixture) -> None:
    lease = UnwritableLease()
    elector = LeaderElector(lease, "me", Timing.for_lease(4))  # type: ignore[arg-type]

    async def attempts(count: int) -> list[bool]:
        return [await elector._attempt(time.monotonic()) for _ in range(count)]

    with caplog.at_level(logging.INFO, logger="eventsub.leadership"):
        assert asyncio.run(attempts(3)) == [False] * 3
        problem = elector.problem
        lease.exists = True  # the namespace was created: the next create goes through
        assert asyncio.run(attempts(1)) == [True]
    said = [r.getMessage() for r in caplog.records]
    assert lease.writes == 4
    assert problem is not None and 'namespaces "gone" not found' in problem
    assert said.count(problem) == 1, said  # once, not once per retry
    assert said.count("the Lease is reachable again") == 1, said  # only when the write worked
    assert elector.problem is None
