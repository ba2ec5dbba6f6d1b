"""Freed memory is handed back to the operating system every period, off the event loop."""

from __future__ import annotations

import asyncio
import threading

import pytest

from eventsub.runtime import heap
from eventsub.runtime.heap import release_periodically, trimmer


def test_this_platform_has_malloc_trim_and_it_runs() -> None:
    trim = trimmer()
    assert trim is not None  # the operator's image and the test machines use glibc
    assert trim() in (0, 1)  # 1: memory was released, 0: there was none to release


def test_it_trims_every_period_in_another_thread_until_cancelled() -> None:
    calls: list[str] = []

    def trim() -> int:
        calls.append(threading.current_thread().name)
        return 1

    async def run() -> None:
        task = asyncio.create_task(release_periodically(0.01, trim))
        while len(calls) < 3:
            await asyncio.sleep(0.01)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        assert task.cancelled()

    asyncio.run(run())
    assert threading.main_thread().name not in calls


def test_without_malloc_trim_it_returns_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(heap, "trimmer", lambda: None)  # e.g. musl
    asyncio.run(asyncio.wait_for(heap.release_periodically(0.01), 1))
