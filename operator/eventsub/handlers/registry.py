"""Operator-wide kopf settings, applied at start-up before any resource is watched."""

from __future__ import annotations

import logging
from typing import Any

import kopf


@kopf.on.startup()
def configure(settings: kopf.OperatorSettings, **_: Any) -> None:
    # kopf's bookkeeping goes to annotations under eventsub.io: our status schema is strict and
    # would prune a status.kopf field.
    settings.persistence.progress_storage = kopf.AnnotationsProgressStorage(prefix="eventsub.io")
    settings.persistence.diffbase_storage = kopf.AnnotationsDiffBaseStorage(
        prefix="eventsub.io", key="last-handled-configuration")
    # Only warnings and errors become Kubernetes Events; info-level chatter stays in the log.
    settings.posting.level = logging.WARNING
    settings.watching.server_timeout = 300
