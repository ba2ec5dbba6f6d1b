"""The single combined-node KRaft Kafka broker: configuration, storage format, readiness."""

from __future__ import annotations

import base64
import os
import secrets
import subprocess
from pathlib import Path

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


def server_properties(data_dir: Path, port: int, sasl_port: int, controller_port: int,
                      sasl_user: str, sasl_password: str) -> str:
    plain = ("org.apache.kafka.common.security.plain.PlainLoginModule required "
             f'user_{sasl_user}="{sasl_password}";')
    scram = "org.apache.kafka.common.security.scram.ScramLoginModule required;"
    lines = [
        "process.roles=broker,controller",
        "node.id=1",
        f"controller.quorum.bootstrap.servers=127.0.0.1:{controller_port}",
        f"listeners=PLAINTEXT://127.0.0.1:{port},SASL_PLAINTEXT://127.0.0.1:{sasl_port},"
        f"CONTROLLER://127.0.0.1:{controller_port}",
        f"advertised.listeners=PLAINTEXT://127.0.0.1:{port},SASL_PLAINTEXT://127.0.0.1:{sasl_port},"
        f"CONTROLLER://127.0.0.1:{controller_port}",
        "controller.listener.names=CONTROLLER",
        "inter.broker.listener.name=PLAINTEXT",
        "listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT,"
        "SASL_PLAINTEXT:SASL_PLAINTEXT",
        f"listener.name.sasl_plaintext.sasl.enabled.mechanisms={','.join(SASL_MECHANISMS)}",
        f"listener.name.sasl_plaintext.plain.sasl.jaas.config={plain}",
        f"listener.name.sasl_plaintext.scram-sha-256.sasl.jaas.config={scram}",
        f"listener.name.sasl_plaintext.scram-sha-512.sasl.jaas.config={scram}",
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
    return base64.urlsafe_b64encode(secrets.token_bytes(16)).decode().rstrip("=")


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
