"""A second, throw-away broker with settings of its own (e.g. a short offset retention), for
tests that must not change the shared one. Same build and configuration as the stack's broker,
plus the given overrides; stopped by pid, its directory left to the caller."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from localstack import kafka, processes
from localstack.certs import write_kafka_pki
from localstack.paths import Binaries
from localstack.ports import choose_ports


@contextmanager
def extra_broker(directory: Path, overrides: Mapping[str, str]) -> Iterator[str]:
    """Runs a single-node broker in directory; yields its PLAINTEXT bootstrap address."""
    binaries = Binaries.locate()
    ports = choose_ports()
    properties = kafka.server_properties(directory / "data", ports, write_kafka_pki(directory / "pki"),
                                         "extra", "extra-password")
    properties += "".join(f"{key}={value}\n" for key, value in overrides.items())
    config = kafka.write_config(directory, binaries.kafka_libs, properties)
    kafka.format_storage(binaries.java, binaries.kafka_libs, config, kafka.new_cluster_id(),
                         "extra", "extra-password")
    argv = kafka.java_argv(binaries.java, binaries.kafka_libs, "kafka.Kafka", str(config),
                           heap="384m")
    pid = processes.start("kafka", argv, directory / "logs", directory)
    bootstrap = f"127.0.0.1:{ports['kafka']}"
    try:
        processes.wait_until("extra kafka", lambda: kafka.is_ready(bootstrap), 90, pid,
                             directory / "logs" / "kafka.log")
        yield bootstrap
    finally:
        processes.stop(pid)
