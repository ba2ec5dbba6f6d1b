"""Operator-wide kopf settings and the runtime's lifetime; importing this registers all handlers."""

from __future__ import annotations

import logging
from typing import Any

import kopf
import prometheus_client

from eventsub.config import OperatorConfig
from eventsub.handlers import resources as _resources  # noqa: F401  (registers handlers)
from eventsub.reconcilers.runtime import Runtime


@kopf.on.startup()
async def configure(settings: kopf.OperatorSettings, memo: kopf.Memo, **_: Any) -> None:
    # kopf's bookkeeping goes to annotations under eventsub.io: our status schema is strict and
    # would prune a status.kopf field.
    settings.persistence.progress_storage = kopf.AnnotationsProgressStorage(prefix="eventsub.io")
    settings.persistence.diffbase_storage = kopf.AnnotationsDiffBaseStorage(
        prefix="eventsub.io", key="last-handled-configuration")
    settings.persistence.finalizer = "eventsub.io/finalizer"
    # Only warnings and errors become Kubernetes Events; info-level chatter stays in the log.
    settings.posting.level = logging.WARNING
    settings.watching.server_timeout = 300
    settings.batching.worker_limit = 200
    config = OperatorConfig.from_env()
    if config.metrics_port:
        prometheus_client.start_http_server(config.metrics_port)
    runtime = Runtime(config)
    runtime.start()
    memo["runtime"] = runtime


@kopf.on.cleanup()
async def stop_runtime(memo: kopf.Memo, **_: Any) -> None:
    runtime: Runtime | None = memo.get("runtime")
    if runtime is not None:
        await runtime.stop()
