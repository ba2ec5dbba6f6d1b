"""A correctly configured Kafka consumer for code that runs in an eventsub subscription.

The operator wires every consumer container with EVENTSUB_* environment variables; this helper
turns them into a confluent-kafka consumer that behaves well while eventsub scales it:

- static membership (group.instance.id = the pod name): a restarted container keeps its
  partitions instead of triggering a rebalance (not in a bounded replay's Job, which leaves
  its group when it is done);
- cooperative-sticky assignment: scaling adds or removes partitions incrementally, the other
  consumers keep working during a rebalance;
- at-least-once: an offset is committed only after the handler returned for its message;
- graceful drain on SIGTERM: the current message finishes, offsets are committed, the consumer
  closes; a short session timeout hands a departed pod's partitions on within seconds;
- a dead-letter topic (EVENTSUB_DEAD_LETTER_TOPIC) for messages the handler keeps failing on.

    from eventsub.consumer import EventConsumer

    def handle(message):
        ...  # raise to retry; after max_attempts it goes to the dead-letter topic

    EventConsumer.from_env().run(handle)

Or without writing the loop: `python -m eventsub.consumer mypackage.handlers:handle` in the
container's command (with no argument it logs every message, to try a subscription out).

Topics whose EventTopic declares a schema (spec.schema) come with the registry's address
(EVENTSUB_SCHEMA_REGISTRY_*) and their subjects (EVENTSUB_SCHEMAS): `run_decoded` hands the
handler each value (and key) decoded with the schema it was written with, found by the schema
id the message carries (Avro and JSON Schema; Protobuf values are left as bytes, decoding them
needs the generated classes). A message that cannot be decoded goes to the dead-letter topic
at once, with the reason in its `eventsub.reason` header:

    def handle(event):  # an eventsub.consumer.Decoded
        print(event.value["id"], event.message.offset())

    EventConsumer.from_env().run_decoded(handle)

Bounded replays (EventReplay in Job mode) set EVENTSUB_END_OFFSETS; the consumer stops once it
reached them on every partition and `run` returns, so the Job completes.
"""

from __future__ import annotations

import importlib
import json
import logging
import os
import signal
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from types import FrameType
from typing import Any, TypeVar

from confluent_kafka import Consumer, KafkaError, Message, Producer, TopicPartition
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroDeserializer
from confluent_kafka.schema_registry.json_schema import JSONDeserializer
from confluent_kafka.serialization import MessageField, SerializationContext

logger = logging.getLogger("eventsub.consumer")

REQUIRED = ("EVENTSUB_BOOTSTRAP_SERVERS", "EVENTSUB_TOPICS", "EVENTSUB_GROUP_ID")


def client_settings(env: Mapping[str, str]) -> dict[str, Any]:
    """Connection settings (shared by the consumer and the dead-letter producer)."""
    missing = [name for name in REQUIRED if not env.get(name)]
    if missing:
        raise ValueError(f"not wired by eventsub: {', '.join(missing)} missing from the environment")
    settings: dict[str, Any] = json.loads(env.get("EVENTSUB_CLIENT_CONFIG") or "{}")
    settings["bootstrap.servers"] = env["EVENTSUB_BOOTSTRAP_SERVERS"]
    settings["security.protocol"] = env.get("EVENTSUB_SECURITY_PROTOCOL", "PLAINTEXT")
    for variable, key in (("EVENTSUB_SASL_MECHANISM", "sasl.mechanism"),
                          ("EVENTSUB_SASL_USERNAME", "sasl.username"),
                          ("EVENTSUB_SASL_PASSWORD", "sasl.password"),
                          ("EVENTSUB_SSL_CA_PEM", "ssl.ca.pem"),
                          ("EVENTSUB_SSL_CERTIFICATE_PEM", "ssl.certificate.pem"),
                          ("EVENTSUB_SSL_KEY_PEM", "ssl.key.pem")):
        if env.get(variable):
            settings[key] = env[variable]
    return settings


def consumer_settings(env: Mapping[str, str]) -> dict[str, Any]:
    settings = client_settings(env)
    settings.update({
        "group.id": env["EVENTSUB_GROUP_ID"],
        # The operator commits the group's start offsets: a partition without one was added
        # later, and is read from its beginning (EVENTSUB_OFFSET_RESET, earliest).
        "auto.offset.reset": env.get("EVENTSUB_OFFSET_RESET")
        or env.get("EVENTSUB_START_POSITION", "latest"),
        "partition.assignment.strategy": "cooperative-sticky",
        "enable.auto.commit": True,
        "enable.auto.offset.store": False,  # stored by done(): at-least-once
        "auto.commit.interval.ms": 1000,
        "session.timeout.ms": int(env.get("EVENTSUB_SESSION_TIMEOUT_MS", "10000")),
        # Partitions added to a topic are seen within this (librdkafka's default is 5 minutes).
        "topic.metadata.refresh.interval.ms": 10000,
    })
    # Not in a bounded replay's Job: a static member does not leave the group when it closes,
    # so the Job's group would stay in use, and undeletable, until its session timed out.
    if env.get("EVENTSUB_POD_NAME") and not env.get("EVENTSUB_END_OFFSETS"):
        settings["group.instance.id"] = env["EVENTSUB_POD_NAME"]
    return settings


def end_offsets(env: Mapping[str, str]) -> dict[tuple[str, int], int] | None:
    """EVENTSUB_END_OFFSETS: {"topic": {"partition": offset}}: stop before these offsets."""
    raw = env.get("EVENTSUB_END_OFFSETS")
    if not raw:
        return None
    return {(topic, int(p)): int(o) for topic, parts in json.loads(raw).items()
            for p, o in parts.items()}


T = TypeVar("T")


class Undecodable(Exception):
    """A message whose value or key does not decode with its topic's schema."""


@dataclass(frozen=True)
class Decoded:
    """A message with its value and key decoded (as they are when the topic has no schema)."""

    message: Message
    value: Any
    key: Any


class SchemaDecoder:
    """Decodes values and keys of the topics that declare a schema, with the writer's schema
    (the id in each message's first bytes, looked up in the registry and cached)."""

    def __init__(self, env: Mapping[str, str]) -> None:
        self.schemas: dict[str, dict[str, dict[str, str]]] = json.loads(
            env.get("EVENTSUB_SCHEMAS") or "{}")
        self._env = env
        self._deserializers: dict[str, Callable[[bytes, SerializationContext], Any]] = {}

    def decode(self, message: Message) -> Decoded:
        topic = str(message.topic())
        parts = self.schemas.get(topic, {})
        return Decoded(message, self._part(topic, parts.get("value"), message.value(), "value"),
                       self._part(topic, parts.get("key"), message.key(), "key"))

    def _part(self, topic: str, declared: Mapping[str, str] | None, data: bytes | None,
              part: str) -> Any:
        if declared is None or data is None or declared.get("type") == "Protobuf":
            return data
        field = MessageField.VALUE if part == "value" else MessageField.KEY
        try:
            return self._deserializer(declared["type"])(data, SerializationContext(topic, field))
        except Exception as error:
            raise Undecodable(f"the {part} does not decode with the {declared['type']} schema of "
                              f"subject {declared.get('subject')}: {error}") from None

    def _deserializer(self, type_: str) -> Callable[[bytes, SerializationContext], Any]:
        if type_ not in self._deserializers:
            client = registry_client(self._env)
            self._deserializers[type_] = (AvroDeserializer(client) if type_ == "Avro"
                                          else JSONDeserializer(None, schema_registry_client=client))
        return self._deserializers[type_]


REGISTRY_REQUEST_TIMEOUT_SECONDS = 10


def registry_client(env: Mapping[str, str]) -> SchemaRegistryClient:
    if not env.get("EVENTSUB_SCHEMA_REGISTRY_URL"):
        raise Undecodable("no schema registry in the wiring (EVENTSUB_SCHEMA_REGISTRY_URL)")
    # A request the registry never answers must not block the consumer for good: each try
    # times out and the client retries on a fresh connection (max.retries, its default 3).
    conf: dict[str, Any] = {"url": env["EVENTSUB_SCHEMA_REGISTRY_URL"],
                            "timeout": REGISTRY_REQUEST_TIMEOUT_SECONDS}
    if env.get("EVENTSUB_SCHEMA_REGISTRY_USERNAME"):
        conf["basic.auth.user.info"] = (f"{env['EVENTSUB_SCHEMA_REGISTRY_USERNAME']}:"
                                        f"{env.get('EVENTSUB_SCHEMA_REGISTRY_PASSWORD', '')}")
    if env.get("EVENTSUB_SCHEMA_REGISTRY_CA_PEM"):
        # The client reads a CA from a file only.
        with tempfile.NamedTemporaryFile("w", suffix=".pem", delete=False) as ca:
            ca.write(env["EVENTSUB_SCHEMA_REGISTRY_CA_PEM"])
        conf["ssl.ca.location"] = ca.name
    return SchemaRegistryClient(conf)


class EventConsumer:
    def __init__(self, env: Mapping[str, str], poll_seconds: float = 0.5) -> None:
        self.env = dict(env)
        self.topics = [t for t in env["EVENTSUB_TOPICS"].split(",") if t] if env.get(
            "EVENTSUB_TOPICS") else []
        self.poll_seconds = poll_seconds
        self.stopping = threading.Event()
        self._consumer = Consumer(consumer_settings(env))
        self._dead_letter_topic = env.get("EVENTSUB_DEAD_LETTER_TOPIC") or None
        self._producer: Producer | None = None
        self._ends = end_offsets(env)
        self._finished: set[tuple[str, int]] = set()

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> EventConsumer:
        return cls(os.environ if env is None else env)

    def stop_on_signals(self) -> None:
        def stop(signum: int, _frame: FrameType | None) -> None:
            logger.info("signal %d: draining and leaving the group", signum)
            self.stopping.set()
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, stop)

    def messages(self) -> Iterator[Message]:
        """Messages until SIGTERM (or the end offsets of a bounded replay)."""
        self._consumer.subscribe(self.topics)
        while not self.stopping.is_set() and not self._reached_end():
            message = self._consumer.poll(self.poll_seconds)
            if message is None:
                continue
            error = message.error()
            if error is not None:
                if error.code() != KafkaError._PARTITION_EOF:
                    logger.warning("consumer error: %s", error.str())
                continue
            if self._beyond_end(message):
                continue
            yield message

    def done(self, message: Message) -> None:
        """Marks the message processed: its offset is committed with the next commit."""
        self._consumer.store_offsets(message=message)
        key = _position(message)
        if self._ends is not None and _offset(message) + 1 >= self._ends.get(key, 0):
            self._finished.add(key)

    def dead_letter(self, message: Message, reason: str) -> None:
        if self._dead_letter_topic is None:
            raise RuntimeError(f"no dead-letter topic configured; cannot park message: {reason}")
        if self._producer is None:
            self._producer = Producer(client_settings(self.env))
        headers: list[tuple[str, str | bytes | None]] = [("eventsub.reason", reason.encode()[:1000]),
                   ("eventsub.topic", _position(message)[0].encode()),
                   ("eventsub.partition", str(message.partition()).encode()),
                   ("eventsub.offset", str(message.offset()).encode())]
        self._producer.produce(self._dead_letter_topic, message.value(), message.key(),
                               headers=headers)
        self._producer.flush(10)

    def run(self, handler: Callable[[Message], object], max_attempts: int = 3) -> None:
        """Calls handler for each message; parks it in the dead-letter topic after max_attempts
        failures. Returns after SIGTERM (drained and committed) or at the end offsets."""
        self._run(lambda message: message, handler, max_attempts)

    def run_decoded(self, handler: Callable[[Decoded], object], max_attempts: int = 3) -> None:
        """As run, with each message's value and key decoded with its topic's schema; one that
        does not decode goes to the dead-letter topic at once (retrying cannot help)."""
        self._run(SchemaDecoder(self.env).decode, handler, max_attempts)

    def _run(self, prepare: Callable[[Message], T], handler: Callable[[T], object],
             max_attempts: int) -> None:
        self.stop_on_signals()
        try:
            for message in self.messages():
                try:
                    prepared = prepare(message)
                except Undecodable as error:
                    self.dead_letter(message, f"Undecodable: {error}")
                    self.done(message)
                    continue
                for attempt in range(1, max_attempts + 1):
                    try:
                        handler(prepared)
                        break
                    except Exception as error:
                        if attempt == max_attempts:
                            self.dead_letter(message, f"{type(error).__name__}: {error}")
                self.done(message)
        finally:
            self.close()

    def close(self) -> None:
        try:
            self._consumer.commit(asynchronous=False)
        except Exception as error:  # nothing stored to commit is not a failure
            if not (hasattr(error, "args") and error.args and isinstance(error.args[0], KafkaError)
                    and error.args[0].code() == KafkaError._NO_OFFSET):
                logger.warning("final commit failed: %s", error)
        self._consumer.close()

    def _beyond_end(self, message: Message) -> bool:
        if self._ends is None:
            return False
        key = _position(message)
        if _offset(message) >= self._ends.get(key, 0):
            self._finished.add(key)
            return True
        return False

    def _reached_end(self) -> bool:
        if self._ends is None:
            return False
        # A partition whose range is empty (end 0) is done from the start.
        return {k for k, end in self._ends.items() if end > 0} <= self._finished

    def assignment(self) -> list[TopicPartition]:
        return list(self._consumer.assignment())


def _position(message: Message) -> tuple[str, int]:
    return str(message.topic()), int(message.partition() or 0)


def _offset(message: Message) -> int:
    return int(message.offset() or 0)


def load_handler(spec: str) -> Callable[[Message], object]:
    """"package.module:function" -> the function."""
    module_name, _, attribute = spec.partition(":")
    if not module_name or not attribute:
        raise SystemExit(f"handler must look like package.module:function, not {spec!r}")
    handler: Callable[[Message], object] = getattr(importlib.import_module(module_name), attribute)
    return handler


def log_message(message: Message) -> None:
    """The default handler: one log line per message (to try a subscription out)."""
    value = (message.value() or b"")[:200].decode(errors="replace")
    logger.info("%s[%s]@%s: %s", message.topic(), message.partition(), message.offset(), value)


def main(argv: list[str] | None = None) -> None:
    """`python -m eventsub.consumer [package.module:function]`: consumes as the subscription's
    wiring says, calling the function for every message (default: log it)."""
    args = sys.argv[1:] if argv is None else argv
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    handler = load_handler(args[0]) if args else log_message
    EventConsumer.from_env().run(handler)


if __name__ == "__main__":
    main()
