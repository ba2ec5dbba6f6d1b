"""The local stack's consumer: what a team would deploy, built on eventsub.consumer.

Records every processed message as "topic partition offset" in CONSUMER_OUT. CONSUMER_DELAY_MS
sets the processing time per message; a message whose value starts with b"poison" blocks its
consumer until it is stopped (a stuck partition).
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from pathlib import Path

from confluent_kafka import Message

from eventsub.consumer import EventConsumer


def main() -> None:
    out = open(Path(os.environ["CONSUMER_OUT"]), "a", buffering=1)  # noqa: SIM115
    delay = int(os.environ.get("CONSUMER_DELAY_MS", "0")) / 1000
    consumer = EventConsumer.from_env()

    def handle(message: Message) -> None:
        if (message.value() or b"").startswith(b"poison"):
            while not consumer.stopping.is_set():
                time.sleep(0.1)
            raise SystemExit(0)  # stopped while stuck: never marked done
        if delay:
            time.sleep(delay)
        out.write(f"{message.topic()} {message.partition()} {message.offset()}\n")

    with contextlib.suppress(SystemExit):  # stopped while stuck on a poison message
        consumer.run(handle)  # closes the consumer (final commit) however it ends
    out.close()


if __name__ == "__main__":
    sys.exit(main())
