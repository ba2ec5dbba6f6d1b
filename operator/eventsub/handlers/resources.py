"""kopf wiring: watch events of our resources feed the runtime's cache and queues.

The handlers are coroutines, so kopf runs them on the event loop, where the cache and the
queues live (a plain function would run in a worker thread). Only watch-event handlers: kopf
itself never writes to our objects (no finalizers, no annotations), so a standby replica is
purely a reader and all writes belong to the leader.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import kopf

from eventsub.api.base import GROUP, VERSION
from eventsub.api.resources import RESOURCES
from eventsub.reconcilers.wiring import Runtime


def _runtime(memo: kopf.Memo) -> Runtime:
    runtime: Runtime = memo["runtime"]
    return runtime


def _observer(plural: str) -> Callable[..., Awaitable[None]]:
    async def observe(event: kopf.RawEvent, memo: kopf.Memo, **_: Any) -> None:
        _runtime(memo).observe(plural, event.get("type"), dict(event["object"]))
    return observe


for _resource in RESOURCES:  # one watch handler per kind, each with its own id
    kopf.on.event(GROUP, VERSION, _resource.plural, id=f"{_resource.plural}-watch")(
        _observer(_resource.plural))
