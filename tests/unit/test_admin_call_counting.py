"""The Kafka admin client counts calls per unit of work (a topic pass), apart from other work
running on the same client at the same time."""

from __future__ import annotations

import asyncio
import collections

from eventsub.kafka.admin import _count, counting_calls


def test_admin_calls_are_counted_per_unit_of_work() -> None:
    shared: collections.Counter[str] = collections.Counter()

    async def describe() -> None:
        await asyncio.sleep(0)
        _count(shared, "describe topics")

    async def work(n: int) -> collections.Counter[str]:
        with counting_calls() as mine:
            for _ in range(n):
                _count(shared, "create topics")
                await asyncio.sleep(0)  # interleaved with the other unit of work
            await asyncio.gather(describe(), describe())  # tasks it starts count for it
            return mine

    async def both() -> list[collections.Counter[str]]:
        return await asyncio.gather(work(3), work(5))

    first, second = asyncio.run(both())
    assert first == {"create topics": 3, "describe topics": 2}
    assert second == {"create topics": 5, "describe topics": 2}
    assert shared == {"create topics": 8, "describe topics": 4}
