"""The local stack's consumer: what a team would deploy, built on eventsub.consumer.

Records every processed message as "topic partition offset" in CONSUMER_OUT, and when its topics
declare schemas (EVENTSUB_SCHEMAS), the decoded value as a JSON line in CONSUMER_OUT.decoded.
CONSUMER_DELAY_MS
sets the processing time per message; a message whose value starts with b"poison" blocks its
consumer until it is stopped (a stuck partition).
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import time
from pathlib import Path

from confluent_kafka import Message

from eventsub.consumer import Decoded, EventConsumer


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

    if os.environ.get("EVENTSUB_SCHEMAS"):
        decoded = open(Path(os.environ["CONSUMER_OUT"] + ".decoded"), "a", buffering=1)  # noqa: SIM115

        def handle_decoded(event: Decoded) -> None:
            message = event.message
            decoded.write(json.dumps({"topic": message.topic(), "offset": message.offset(),
                                      "value": event.value}, default=repr) + "\n")
            handle(message)

        consumer.run_decoded(handle_decoded)
        decoded.close()
    else:
        with contextlib.suppress(SystemExit):  # stopped while stuck on a poison message
            consumer.run(handle)  # closes the consumer (final commit) however it ends
    out.close()


if __name__ == "__main__":
    sys.exit(main())
