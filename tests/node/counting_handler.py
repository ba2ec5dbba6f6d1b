"""A consumer's handler for the real node's tests, loaded by `python -m eventsub.consumer
counting_handler:handle` from a ConfigMap volume: for every message it handles, it produces
"topic partition offset" to COUNTED_TOPIC, keyed by the pod's name. The container's root is
read-only and a pod's files go with it, so what was processed is counted in Kafka.
HANDLING_SECONDS is how long handling a message takes."""

from __future__ import annotations

import os
import time

from confluent_kafka import Message, Producer

from eventsub.consumer import client_settings

_producer = Producer(client_settings(os.environ))
_handling_seconds = float(os.environ.get("HANDLING_SECONDS", "0"))


def handle(message: Message) -> None:
    time.sleep(_handling_seconds)
    _producer.produce(os.environ["COUNTED_TOPIC"], key=os.environ["EVENTSUB_POD_NAME"],
                      value=f"{message.topic()} {message.partition()} {message.offset()}")
    # Delivered before the helper stores the offset: a message is counted if it is committed.
    if _producer.flush(10):
        raise RuntimeError("the count was not delivered")
