"""The soak's load and its ledger: producers of uniquely numbered messages, and a tail of what
the consumers record as processed.

A producer writes message number n (its value, counting from 0 per topic) at a steady rate with
periodic bursts; its delivery reports give each number's (partition, offset), which is how a
processed record ("topic partition offset", written by the local stack's consumer app) is
matched back to a message. The producer is idempotent, so a retry across a broker restart never
writes a number twice.
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from confluent_kafka import Producer

Position = tuple[str, int, int]  # topic, partition, offset


@dataclass(frozen=True)
class Load:
    """What one topic receives: `rate` messages/s, plus `burst` messages every `burst_every`
    seconds (the first after `first_burst` seconds)."""

    rate: float
    burst: int
    burst_every: float
    first_burst: float


@dataclass
class Ledger:
    """Every message a producer wrote: number -> where it landed, and the numbers it failed."""

    delivered: dict[Position, int] = field(default_factory=dict)
    failed: list[tuple[int, str]] = field(default_factory=list)
    sent: int = 0
    bursts: list[tuple[float, int]] = field(default_factory=list)  # (wall time, messages)


class TopicProducer:
    """One thread producing into one topic, partitions in turn, until stop()."""

    def __init__(self, bootstrap: str, topic: str, partitions: int, load: Load) -> None:
        self.topic, self.partitions, self.load = topic, partitions, load
        self.ledger = Ledger()
        self._producer = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True,
                                   "acks": "all", "linger.ms": 5,
                                   "log_level": 2})  # its retries while the broker is away are expected
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"produce-{topic}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, flush_seconds: float = 120) -> int:
        """Stops producing; returns how many messages were still undelivered after the flush."""
        self._stop.set()
        self._thread.join()
        return int(self._producer.flush(flush_seconds))

    def _run(self) -> None:
        started = last = time.monotonic()
        next_burst = started + self.load.first_burst
        owed = 0.0
        while not self._stop.wait(0.1):
            now = time.monotonic()
            owed += self.load.rate * (now - last)
            last = now
            while owed >= 1:
                self._send()
                owed -= 1
            if self.load.burst and now >= next_burst:
                self.ledger.bursts.append((time.time(), self.load.burst))
                for _ in range(self.load.burst):
                    self._send()
                next_burst += self.load.burst_every
            self._producer.poll(0)

    def _send(self) -> None:
        number = self.ledger.sent

        def delivered(error: Any, message: Any) -> None:
            if error is not None:
                self.ledger.failed.append((number, str(error)))
            else:
                self.ledger.delivered[(message.topic(), message.partition(), message.offset())] = number
        while True:
            try:
                # Round robin: a burst spreads over every partition, so that it is work for as
                # many consumers (a sticky partitioner would put a whole burst in one).
                self._producer.produce(self.topic, str(number).encode(),
                                       partition=number % self.partitions, on_delivery=delivered)
                break
            except BufferError:  # the local queue is full (the broker is away): wait for room
                self._producer.poll(0.5)
        self.ledger.sent += 1


@dataclass(frozen=True)
class Processing:
    """One processed record, as seen by the tail: when it appeared and which pod wrote it."""

    seen: float  # wall time of the tail pass that found it (within a second of the processing)
    pod: str


class ProcessedTail:
    """Follows the consumers' record files (one per pod) under some directories, every second."""

    def __init__(self, directories: list[Path]) -> None:
        self.directories = directories
        self.records: dict[Position, list[Processing]] = defaultdict(list)
        self._offsets: dict[Path, int] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="processed-tail", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()
        self.scan()

    def processed(self) -> set[Position]:
        with self._lock:
            return set(self.records)

    def _run(self) -> None:
        while not self._stop.wait(1.0):
            self.scan()

    def scan(self) -> None:
        now = time.time()
        for directory in self.directories:
            for path in sorted(directory.glob("*.out")):
                self._read(path, now)

    def _read(self, path: Path, now: float) -> None:
        with open(path, "rb") as f:
            f.seek(self._offsets.get(path, 0))
            chunk = f.read()
        complete = chunk[:chunk.rfind(b"\n") + 1]  # a line being written is read next time
        self._offsets[path] = self._offsets.get(path, 0) + len(complete)
        with self._lock:
            for line in complete.decode().splitlines():
                topic, partition, offset = line.split()
                self.records[(topic, int(partition), int(offset))].append(Processing(now, path.stem))
