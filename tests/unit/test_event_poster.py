"""The background Event poster: nothing waits for an Event, none is lost in a burst, a full queue
drops the oldest, a failed post is logged and the rest go on."""

from __future__ import annotations

import asyncio
import datetime
from typing import Any

from eventsub.kube.errors import KubeError
from eventsub.kube.events import EventPoster, event_body
from eventsub.kube.objects import ObjectRef

REF = ObjectRef("EventTopic", "eventtopics", "team", "orders", "uid-1")


def test_the_event_names_its_object_and_is_cut_to_size() -> None:
    body = event_body(REF, "Warning", "TopicRecreated", "x" * 2000,
                      datetime.datetime(2026, 1, 2, 3, 4, 5, tzinfo=datetime.UTC))
    assert body["involvedObject"] == {"apiVersion": "eventsub.io/v1alpha1", "kind": "EventTopic",
                                      "name": "orders", "namespace": "team", "uid": "uid-1"}
    assert body["metadata"] == {"generateName": "orders.", "namespace": "team"}
    assert (body["type"], body["reason"], len(body["message"])) == ("Warning", "TopicRecreated", 1024)
    assert body["firstTimestamp"] == body["lastTimestamp"] == "2026-01-02T03:04:05Z"


def test_posting_never_waits_and_every_event_goes_out() -> None:
    sent: list[str] = []
    release = asyncio.Event()

    async def send(body: dict[str, Any]) -> None:
        await release.wait()  # an API server that answers only later
        sent.append(body["message"])

    async def scenario() -> int:
        poster = EventPoster(send, senders=2)
        for i in range(100):
            poster.post(REF, "Normal", "TopicCreated", f"m{i}")  # returns at once
        assert sent == []
        release.set()
        left = await poster.flush(timeout=5)
        await poster.stop()
        return left

    assert asyncio.run(scenario()) == 0
    assert sorted(sent) == sorted(f"m{i}" for i in range(100))


def test_a_full_queue_drops_the_oldest() -> None:
    sent: list[str] = []

    async def send(body: dict[str, Any]) -> None:
        sent.append(body["message"])

    async def scenario() -> None:
        poster = EventPoster(send, senders=1, max_pending=3)
        for i in range(5):  # the senders run only when this coroutine yields
            poster.post(REF, "Normal", "R", f"m{i}")
        await poster.flush(timeout=5)
        await poster.stop()

    asyncio.run(scenario())
    assert sent == ["m2", "m3", "m4"]


def test_a_refused_post_is_logged_and_the_others_still_go(caplog: Any) -> None:
    sent: list[str] = []

    async def send(body: dict[str, Any]) -> None:
        if body["message"] == "bad":
            raise KubeError("forbidden: events is forbidden")
        if body["message"] == "bug":
            raise TypeError("not serializable")
        sent.append(body["message"])

    async def scenario() -> None:
        poster = EventPoster(send, senders=1)
        for message in ("a", "bad", "bug", "b"):
            poster.post(REF, "Normal", "R", message)
        await poster.flush(timeout=5)
        await poster.stop()

    asyncio.run(scenario())
    assert sent == ["a", "b"]
    assert "could not post event R on team/orders: forbidden" in caplog.text
    assert "could not post event R" in caplog.text and "TypeError" in caplog.text


def test_events_wait_while_writes_wait_then_go() -> None:
    sent: list[str] = []
    writes = {"waiting": True}

    async def send(body: dict[str, Any]) -> None:
        sent.append(body["message"])

    async def scenario() -> None:
        poster = EventPoster(send, senders=2, busy=lambda: writes["waiting"], defer_seconds=60)
        poster.post(REF, "Normal", "TopicCreated", "m0")
        await asyncio.sleep(0.3)
        assert sent == []  # a status write is waiting for its answer: the Event waits
        writes["waiting"] = False
        assert await poster.flush(timeout=5) == 0
        await poster.stop()

    asyncio.run(scenario())
    assert sent == ["m0"]


def test_events_wait_while_the_reconcilers_have_work_at_hand() -> None:
    sent: list[str] = []
    working = {"now": True}

    async def send(body: dict[str, Any]) -> None:
        sent.append(body["message"])

    async def scenario() -> None:
        poster = EventPoster(send, senders=2, busy=lambda: False, defer_seconds=60)
        poster.defer_while(lambda: working["now"])
        poster.post(REF, "Normal", "TopicCreated", "m0")
        await asyncio.sleep(0.3)
        assert sent == []  # a burst is being made Ready: its Events follow it
        working["now"] = False
        assert await poster.flush(timeout=5) == 0
        await poster.stop()

    asyncio.run(scenario())
    assert sent == ["m0"]


def test_an_event_waits_for_writes_no_longer_than_the_deferral() -> None:
    sent: list[str] = []
    now = {"t": 100.0}

    async def send(body: dict[str, Any]) -> None:
        sent.append(body["message"])

    async def scenario() -> None:
        poster = EventPoster(send, senders=1, busy=lambda: True, defer_seconds=10,
                             clock=lambda: now["t"])
        poster.post(REF, "Normal", "TopicCreated", "m0")  # writes never stop: a busy operator
        await asyncio.sleep(0.2)
        assert sent == []
        now["t"] += 10  # the Event has waited the whole deferral
        assert await poster.flush(timeout=5) == 0
        await poster.stop()

    asyncio.run(scenario())
    assert sent == ["m0"]
