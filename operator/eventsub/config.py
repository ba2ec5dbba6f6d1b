"""The operator's own settings, read once from the environment at start."""

from __future__ import annotations

import os
from dataclasses import dataclass


def _seconds(env: dict[str, str], name: str, default: int) -> int:
    raw = env.get(name, "")
    if not raw:
        return default
    if not raw.isdigit() or int(raw) < 1:
        raise ValueError(f"{name} must be a positive whole number of seconds, not {raw!r}")
    return int(raw)


@dataclass(frozen=True)
class OperatorConfig:
    # Namespaces to watch; empty means all namespaces (cluster-wide).
    namespaces: tuple[str, ...]
    log_format: str  # "plain" or "json"
    verbose: bool
    resync_seconds: int = 60  # every resource is reconciled again this often (drift is reverted)
    probe_seconds: int = 30  # connections are probed (and their Secrets re-read) this often
    kafka_request_timeout_seconds: int = 10
    # How long deleting a Delete-policy EventTopic waits for an unreachable Kafka before it
    # keeps the topic and lets the resource go.
    topic_deletion_timeout_seconds: int = 300
    metrics_port: int = 0  # 0: no /metrics endpoint

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
            verbose=env.get("EVENTSUB_VERBOSE", "") in ("1", "true", "yes"),
            resync_seconds=_seconds(env, "EVENTSUB_RESYNC_SECONDS", 60),
            probe_seconds=_seconds(env, "EVENTSUB_PROBE_SECONDS", 30),
            kafka_request_timeout_seconds=_seconds(env, "EVENTSUB_KAFKA_TIMEOUT_SECONDS", 10),
            topic_deletion_timeout_seconds=_seconds(env, "EVENTSUB_TOPIC_DELETION_TIMEOUT_SECONDS",
                                                    300),
            metrics_port=int(env.get("EVENTSUB_METRICS_PORT") or 0),
        )
