"""The operator's own settings, read once from the environment at start."""

from __future__ import annotations

import os
from dataclasses import dataclass


@dataclass(frozen=True)
class OperatorConfig:
    # Namespaces to watch; empty means all namespaces (cluster-wide).
    namespaces: tuple[str, ...]
    log_format: str  # "plain" or "json"
    verbose: bool

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> OperatorConfig:
        env = dict(os.environ) if env is None else env
        namespaces = tuple(n.strip() for n in env.get("EVENTSUB_NAMESPACES", "").split(",")
                           if n.strip())
        log_format = env.get("EVENTSUB_LOG_FORMAT", "plain").lower()
        if log_format not in ("plain", "json"):
            raise ValueError(f"EVENTSUB_LOG_FORMAT must be 'plain' or 'json', not {log_format!r}")
        return cls(namespaces=namespaces, log_format=log_format,
                   verbose=env.get("EVENTSUB_VERBOSE", "") in ("1", "true", "yes"))
