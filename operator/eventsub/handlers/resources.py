"""kopf wiring: watch events of our resources feed the runtime's cache and queues.

The handlers are coroutines, so kopf runs them on the event loop, where the cache and the
queues live (a plain function would run in a worker thread). Only watch-event handlers: kopf
itself never writes to our objects (no finalizers, no annotations), so a standby replica is
purely a reader and all writes belong to the leader.
"""

from __future__ import annotations

from typing import Any

import kopf

from eventsub.api.base import GROUP, VERSION
from eventsub.reconcilers.wiring import Runtime


def _runtime(memo: kopf.Memo) -> Runtime:
    runtime: Runtime = memo["runtime"]
    return runtime


@kopf.on.event(GROUP, VERSION, "kafkaconnections")
async def connection_event(event: kopf.RawEvent, memo: kopf.Memo, **_: Any) -> None:
    _runtime(memo).observe("kafkaconnections", event.get("type"), dict(event["object"]))


@kopf.on.event(GROUP, VERSION, "eventtopics")
async def topic_event(event: kopf.RawEvent, memo: kopf.Memo, **_: Any) -> None:
    _runtime(memo).observe("eventtopics", event.get("type"), dict(event["object"]))


@kopf.on.event(GROUP, VERSION, "eventsubscriptions")
async def subscription_event(event: kopf.RawEvent, memo: kopf.Memo, **_: Any) -> None:
    _runtime(memo).observe("eventsubscriptions", event.get("type"), dict(event["object"]))


@kopf.on.event(GROUP, VERSION, "eventreplays")
async def replay_event(event: kopf.RawEvent, memo: kopf.Memo, **_: Any) -> None:
    _runtime(memo).observe("eventreplays", event.get("type"), dict(event["object"]))
