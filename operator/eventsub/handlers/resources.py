"""kopf wiring: watch events of our resources feed the runtime's cache and queues.

Only watch-event handlers: kopf itself never writes to our objects (no finalizers, no
annotations), so a standby replica is purely a reader and all writes belong to the leader.
"""

from __future__ import annotations

from typing import Any

import kopf

from eventsub.api.base import GROUP, VERSION
from eventsub.reconcilers.runtime import Runtime


def _runtime(memo: kopf.Memo) -> Runtime:
    runtime: Runtime = memo["runtime"]
    return runtime


@kopf.on.event(GROUP, VERSION, "kafkaconnections")
def connection_event(event: kopf.RawEvent, memo: kopf.Memo, **_: Any) -> None:
    _runtime(memo).observe("kafkaconnections", event.get("type"), dict(event["object"]))


@kopf.on.event(GROUP, VERSION, "eventtopics")
def topic_event(event: kopf.RawEvent, memo: kopf.Memo, **_: Any) -> None:
    _runtime(memo).observe("eventtopics", event.get("type"), dict(event["object"]))


@kopf.on.event(GROUP, VERSION, "eventsubscriptions")
def subscription_event(event: kopf.RawEvent, memo: kopf.Memo, **_: Any) -> None:
    _runtime(memo).observe("eventsubscriptions", event.get("type"), dict(event["object"]))


@kopf.on.event(GROUP, VERSION, "eventreplays")
def replay_event(event: kopf.RawEvent, memo: kopf.Memo, **_: Any) -> None:
    _runtime(memo).observe("eventreplays", event.get("type"), dict(event["object"]))
