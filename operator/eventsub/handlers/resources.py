"""kopf wiring: watch events of our resources feed the runtime's queues."""

from __future__ import annotations

from typing import Any

import kopf

from eventsub.api.base import GROUP, VERSION
from eventsub.kafka.errors import KafkaRequestError
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


def _deletes_topic(spec: kopf.Spec, **_: Any) -> bool:
    return spec.get("deletionPolicy") == "Delete"


# Only Delete-policy topics carry a finalizer: deleting a Retain topic never waits on anything.
@kopf.on.delete(GROUP, VERSION, "eventtopics", when=_deletes_topic)
async def delete_topic(body: kopf.Body, memo: kopf.Memo, logger: kopf.Logger, **_: Any) -> None:
    try:
        outcome = await _runtime(memo).topics.delete(dict(body))
    except KafkaRequestError as error:
        raise kopf.TemporaryError(error.message, delay=10) from None
    logger.info(outcome)
