"""The operator's own settings, read once from the environment at start."""

from __future__ import annotations

import os
import socket
import uuid
from dataclasses import dataclass
from pathlib import Path

# Where a pod finds its own namespace; outside a cluster the lease goes to "default".
SERVICE_ACCOUNT_NAMESPACE = Path("/var/run/secrets/kubernetes.io/serviceaccount/namespace")


def _seconds(env: dict[str, str], name: str, default: int, minimum: int = 1) -> int:
    raw = env.get(name, "")
    if not raw:
        return default
    if not raw.isdigit() or int(raw) < minimum:
        least = f" (at least {minimum})" if minimum > 1 else ""
        raise ValueError(f"{name} must be a positive whole number of seconds{least}, not {raw!r}")
    return int(raw)


@dataclass(frozen=True)
class OperatorConfig:
    # Namespaces to watch; empty means all namespaces (cluster-wide).
    namespaces: tuple[str, ...]
    log_format: str  # "plain" or "json"
    verbose: bool
    resync_seconds: int = 60  # every resource is reconciled again this often (drift is reverted)
    # The cache is checked against a fresh list this often: deletions the watch missed (kopf
    # reports none for objects deleted while its watch was down) are applied.
    relist_seconds: int = 60
    probe_seconds: int = 30  # connections are probed (and their Secrets re-read) this often
    kafka_request_timeout_seconds: int = 10
    # How long deleting a Delete-policy EventTopic waits for an unreachable Kafka before it
    # keeps the topic and lets the resource go.
    topic_deletion_timeout_seconds: int = 300
    metrics_port: int = 0  # 0: no HTTP endpoints (/metrics, /healthz, /readyz)
    metrics_host: str = "0.0.0.0"  # all interfaces: the kubelet probes the pod's IP
    catalog: bool = True  # serve the catalog (AsyncAPI document, web page) on the metrics port
    # Read groups' committed offsets and members from __consumer_offsets instead of asking per
    # group (kafka/offsets_log.py); false goes back to DescribeGroups and OffsetFetch per group.
    offsets_log: bool = True
    leader_election: bool = True
    lease_name: str = "eventsub-operator"
    lease_namespace: str = "default"
    lease_duration_seconds: int = 12
    identity: str = "eventsub"  # this process's name in the Lease: unique per process

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> OperatorConfig:
        env = dict(os.environ) if env is None else env
        namespaces = tuple(n.strip() for n in env.get("EVENTSUB_NAMESPACES", "").split(",")
                           if n.strip())
        log_format = env.get("EVENTSUB_LOG_FORMAT", "plain").lower()
        if log_format not in ("plain", "json"):
            raise ValueError(f"EVENTSUB_LOG_FORMAT must be 'plain' or 'json', not {log_format!r}")
        return cls(
            namespaces=namespaces, log_format=log_format,
            verbose=_flag(env, "EVENTSUB_VERBOSE", False),
            resync_seconds=_seconds(env, "EVENTSUB_RESYNC_SECONDS", 60),
            relist_seconds=_seconds(env, "EVENTSUB_RELIST_SECONDS", 60),
            probe_seconds=_seconds(env, "EVENTSUB_PROBE_SECONDS", 30),
            kafka_request_timeout_seconds=_seconds(env, "EVENTSUB_KAFKA_TIMEOUT_SECONDS", 10),
            topic_deletion_timeout_seconds=_seconds(env, "EVENTSUB_TOPIC_DELETION_TIMEOUT_SECONDS",
                                                    300),
            metrics_port=_port(env.get("EVENTSUB_METRICS_PORT", "")),
            metrics_host=env.get("EVENTSUB_METRICS_HOST") or "0.0.0.0",
            catalog=_flag(env, "EVENTSUB_CATALOG", True),
            offsets_log=_flag(env, "EVENTSUB_OFFSETS_LOG", True),
            leader_election=_flag(env, "EVENTSUB_LEADER_ELECTION", True),
            lease_name=env.get("EVENTSUB_LEASE_NAME") or "eventsub-operator",
            lease_namespace=env.get("EVENTSUB_LEASE_NAMESPACE") or _own_namespace(),
            lease_duration_seconds=_seconds(env, "EVENTSUB_LEASE_DURATION_SECONDS", 12,
                                            minimum=4),  # a shorter lease leaves no retry room
            # The pod name says which replica leads; the suffix keeps a restarted process from
            # mistaking its predecessor's lease for its own.
            identity=f"{env.get('EVENTSUB_POD_NAME') or socket.gethostname()}_{uuid.uuid4().hex[:8]}",
        )


def _flag(env: dict[str, str], name: str, default: bool) -> bool:
    raw = env.get(name, "").lower()
    if not raw:
        return default
    if raw not in ("1", "true", "yes", "0", "false", "no"):
        raise ValueError(f"{name} must be true or false, not {raw!r}")
    return raw in ("1", "true", "yes")


def _port(raw: str) -> int:
    if not raw:
        return 0
    if not raw.isdigit() or int(raw) > 65535:
        raise ValueError(f"EVENTSUB_METRICS_PORT must be a port number (0 for none), not {raw!r}")
    return int(raw)


def _own_namespace() -> str:
    try:
        return SERVICE_ACCOUNT_NAMESPACE.read_text().strip() or "default"
    except OSError:
        return "default"
