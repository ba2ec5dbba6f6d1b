"""Group-coordinator requests go out in bounded waves per admin client (librdkafka can abort
the process when thousands of them expire together), and stop once the cluster is not
answering. The send functions here stand in for the client's calls: what is checked is how
many requests are out at once, which only the caller controls."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from typing import Any

import pytest

from eventsub.kafka.admin import GROUP_REQUESTS_IN_FLIGHT, ClusterAdmin
from eventsub.kafka.errors import KafkaRequestError, KafkaUnavailable
from eventsub.kafka.in_flight import InFlightLimit


class Recorder:
    """A send function that answers after a pause and notes how many requests were out."""

    def __init__(self, fail_from: int | None = None) -> None:
        self.out = 0
        self.most_out = 0
        self.sent: list[str] = []
        self.fail_from = fail_from

    async def __call__(self, wave: Sequence[str]) -> Mapping[str, Any]:
        self.out += len(wave)
        self.most_out = max(self.most_out, self.out)
        self.sent += wave
        await asyncio.sleep(0.001)
        self.out -= len(wave)
        if self.fail_from is not None and len(self.sent) > self.fail_from:
            return {g: KafkaUnavailable("describe groups: timed out") for g in wave}
        return {g: f"answer {g}" for g in wave}


def admin() -> ClusterAdmin:
    return ClusterAdmin({"bootstrap.servers": "127.0.0.1:1"})


def test_thousands_of_groups_go_out_a_bounded_wave_at_a_time() -> None:
    groups = [f"g{i}" for i in range(3 * GROUP_REQUESTS_IN_FLIGHT + 7)]
    send = Recorder()
    answers = asyncio.run(admin()._in_waves(groups, send))
    assert answers == {g: f"answer {g}" for g in groups}
    assert send.most_out == GROUP_REQUESTS_IN_FLIGHT


def test_concurrent_callers_share_the_bound_of_one_client() -> None:
    # e.g. thousands of new subscriptions, each reading its own group at the same moment.
    client, send = admin(), Recorder()

    async def many() -> list[dict[str, Any]]:
        return await asyncio.gather(*(client._in_waves([f"g{i}"], send) for i in range(1000)))

    answers = asyncio.run(many())
    assert [a for answer in answers for a in answer] == [f"g{i}" for i in range(1000)]
    assert send.most_out == GROUP_REQUESTS_IN_FLIGHT


def test_once_a_wave_finds_the_cluster_silent_the_rest_are_not_sent() -> None:
    groups = [f"g{i}" for i in range(4 * GROUP_REQUESTS_IN_FLIGHT)]
    send = Recorder(fail_from=GROUP_REQUESTS_IN_FLIGHT)
    answers = asyncio.run(admin()._in_waves(groups, send))
    assert len(send.sent) == 2 * GROUP_REQUESTS_IN_FLIGHT
    assert set(answers) == set(groups)
    assert all(answers[g] == f"answer {g}" for g in groups[:GROUP_REQUESTS_IN_FLIGHT])
    late = [answers[g] for g in groups[GROUP_REQUESTS_IN_FLIGHT:]]
    assert all(isinstance(a, KafkaUnavailable) for a in late)


def test_a_wave_with_some_refusals_does_not_stop_the_others() -> None:
    groups = [f"g{i}" for i in range(2 * GROUP_REQUESTS_IN_FLIGHT)]

    async def send(wave: Sequence[str]) -> Mapping[str, Any]:
        return {g: KafkaUnavailable("coordinator loading") if g == wave[0] else "ok" for g in wave}

    answers = asyncio.run(admin()._in_waves(groups, send))
    assert sum(isinstance(a, KafkaRequestError) for a in answers.values()) == 2
    assert sum(a == "ok" for a in answers.values()) == len(groups) - 2


def test_the_limit_lets_a_call_larger_than_it_go_alone() -> None:
    limit = InFlightLimit(4)
    seen: list[int] = []

    async def call(n: int) -> None:
        async with limit.hold(n):
            seen.append(limit.in_flight)
            await asyncio.sleep(0.001)

    async def scenario() -> None:
        await asyncio.gather(call(3), call(10), call(2), call(1))

    asyncio.run(scenario())
    assert max(seen) <= 4 and limit.in_flight == 0
    assert 4 in seen  # the large call held the whole capacity, alone


def test_the_limit_refuses_a_capacity_below_one() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        InFlightLimit(0)
