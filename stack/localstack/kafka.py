"""The single combined-node KRaft Kafka broker: configuration, storage format, readiness."""

from __future__ import annotations

import base64
import os
import secrets
import subprocess
from collections.abc import Mapping
from pathlib import Path

from localstack.certs import KafkaPki
from localstack.errors import StackError

LOG4J = """\
status = warn
appender.console.type = Console
appender.console.name = STDOUT
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.stdout.ref = STDOUT
logger.kafka.name = kafka
logger.kafka.level = WARN
logger.apache.name = org.apache.kafka
logger.apache.level = WARN
"""

SASL_MECHANISMS = ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512")

# (listener name, port name, security protocol). MTLS is an SSL listener that requires a
# client certificate; the others are named after their protocol.
LISTENERS = (
    ("PLAINTEXT", "kafka", "PLAINTEXT"),
    ("SASL_PLAINTEXT", "kafka_sasl", "SASL_PLAINTEXT"),
    ("SSL", "kafka_ssl", "SSL"),
    ("MTLS", "kafka_mtls", "SSL"),
    ("SASL_SSL", "kafka_sasl_ssl", "SASL_SSL"),
    ("CONTROLLER", "kafka_controller", "PLAINTEXT"),
)


def _listener_lines(ports: Mapping[str, int]) -> list[str]:
    addresses = ",".join(f"{name}://127.0.0.1:{ports[port]}" for name, port, _ in LISTENERS)
    return [
        f"listeners={addresses}",
        f"advertised.listeners={addresses}",
        "controller.listener.names=CONTROLLER",
        "inter.broker.listener.name=PLAINTEXT",
        "listener.security.protocol.map="
        + ",".join(f"{name}:{protocol}" for name, _, protocol in LISTENERS),
    ]


def _sasl_lines(user: str, password: str) -> list[str]:
    plain = ("org.apache.kafka.common.security.plain.PlainLoginModule required "
             f'user_{user}="{password}";')
    scram = "org.apache.kafka.common.security.scram.ScramLoginModule required;"
    lines = []
    for listener in ("sasl_plaintext", "sasl_ssl"):  # the same mechanisms and users on both
        prefix = f"listener.name.{listener}"
        lines += [
            f"{prefix}.sasl.enabled.mechanisms={','.join(SASL_MECHANISMS)}",
            f"{prefix}.plain.sasl.jaas.config={plain}",
            f"{prefix}.scram-sha-256.sasl.jaas.config={scram}",
            f"{prefix}.scram-sha-512.sasl.jaas.config={scram}",
        ]
    return lines


def _tls_lines(pki: KafkaPki) -> list[str]:
    # Kafka reads PEM files directly: no JKS or PKCS#12 conversion, no store passwords.
    return [
        "ssl.keystore.type=PEM",
        f"ssl.keystore.location={pki.broker}",
        "ssl.truststore.type=PEM",
        f"ssl.truststore.location={pki.ca}",
        "listener.name.mtls.ssl.client.auth=required",
    ]


def server_properties(data_dir: Path, ports: Mapping[str, int], pki: KafkaPki,
                      sasl_user: str, sasl_password: str) -> str:
    lines = [
        "process.roles=broker,controller",
        "node.id=1",
        f"controller.quorum.bootstrap.servers=127.0.0.1:{ports['kafka_controller']}",
        *_listener_lines(ports),
        *_sasl_lines(sasl_user, sasl_password),
        *_tls_lines(pki),
        f"log.dirs={data_dir}",
        "num.partitions=1",
        "offsets.topic.replication.factor=1",
        "offsets.topic.num.partitions=10",
        "transaction.state.log.replication.factor=1",
        "transaction.state.log.min.isr=1",
        "share.coordinator.state.topic.replication.factor=1",
        "share.coordinator.state.topic.min.isr=1",
        "group.initial.rebalance.delay.ms=0",
        "auto.create.topics.enable=false",
        # Tests create and delete many topics; keep segment housekeeping light.
        "log.segment.bytes=16777216",
        "log.retention.check.interval.ms=30000",
    ]
    return "\n".join(lines) + "\n"


def new_cluster_id() -> str:
    # Never with a leading '-', which the storage tool's argument parser takes for an option
    # (Kafka's own Uuid.randomUuid skips those too).
    while True:
        cluster_id = base64.urlsafe_b64encode(secrets.token_bytes(16)).decode().rstrip("=")
        if not cluster_id.startswith("-"):
            return cluster_id


def java_argv(java: Path, libs: Path, main_class: str, *args: str, heap: str = "768m") -> list[str]:
    return [str(java), f"-Xmx{heap}", "-XX:+UseG1GC", "-Djava.awt.headless=true",
            f"-Dlog4j2.configurationFile={libs.parent / 'log4j2.properties'}",
            "-cp", f"{libs}/*", main_class, *args]


def write_config(kafka_dir: Path, libs: Path, properties: str) -> Path:
    kafka_dir.mkdir(parents=True, exist_ok=True)
    (libs.parent / "log4j2.properties").write_text(LOG4J)
    config = kafka_dir / "server.properties"
    config.write_text(properties)
    config.chmod(0o600)
    return config


def format_storage(java: Path, libs: Path, config: Path, cluster_id: str,
                   sasl_user: str, sasl_password: str) -> None:
    scram = [arg for mech in ("SCRAM-SHA-256", "SCRAM-SHA-512")
             for arg in ("--add-scram", f"{mech}=[name={sasl_user},password={sasl_password}]")]
    argv = java_argv(java, libs, "kafka.tools.StorageTool", "format", "--standalone",
                     "--cluster-id", cluster_id, "--config", str(config), *scram, heap="256m")
    result = subprocess.run(argv, capture_output=True, text=True, env=dict(os.environ))
    if result.returncode != 0:
        last = (result.stderr or result.stdout).strip().splitlines()[-1:] or ["(no output)"]
        raise StackError(f"kafka storage format failed: {last[0]}")


def is_ready(bootstrap: str) -> bool:
    from confluent_kafka.admin import AdminClient

    admin = AdminClient({"bootstrap.servers": bootstrap, "socket.timeout.ms": 2000,
                         "log_level": 0})
    metadata = admin.list_topics(timeout=2)
    return len(metadata.brokers) > 0
