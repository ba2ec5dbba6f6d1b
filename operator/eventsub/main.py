"""Operator entry point: configures kopf, registers the handlers, runs until SIGTERM/SIGINT."""

from __future__ import annotations

import faulthandler
import logging
import sys
import threading
from typing import Any, cast

import kopf

from eventsub import __version__
from eventsub.config import OperatorConfig

# Importing the handlers package registers every handler on kopf's default registry.
from eventsub.handlers import registry as _handlers  # noqa: F401

logger = logging.getLogger("eventsub")
# Each line with its time, logger and level (kopf's full layout) in plain text: a line without
# its time cannot be put beside the Events and metrics of the same moment.
LOG_FORMATS = {"plain": kopf.LogFormat.FULL, "json": kopf.LogFormat.JSON}


def _announce_when_ready(ready: threading.Event, stop: threading.Event) -> None:
    while not stop.is_set():
        if ready.wait(timeout=0.5):
            logger.info("eventsub operator %s ready", __version__)
            return


def main() -> None:
    faulthandler.enable()  # a crash in a native library still leaves the Python stacks in the log
    try:
        config = OperatorConfig.from_env()
    except ValueError as error:  # a bad setting: one line naming it, not a traceback
        print(f"eventsub: {error}", file=sys.stderr)
        raise SystemExit(2) from None
    kopf.configure(
        verbose=config.verbose,
        log_format=LOG_FORMATS[config.log_format],
    )
    if not config.verbose:
        # kopf reports every handled watch event at INFO; ours says what changed instead.
        logging.getLogger("kopf.objects").setLevel(logging.WARNING)
    ready, stopped = threading.Event(), threading.Event()
    announcer = threading.Thread(target=_announce_when_ready, args=(ready, stopped), daemon=True)
    announcer.start()
    scope = ", ".join(config.namespaces) if config.namespaces else "all namespaces"
    logger.info("eventsub operator %s starting; watching %s", __version__, scope)
    try:
        # kopf installs its own SIGTERM/SIGINT handlers and returns after a graceful stop.
        kopf.run(
            standalone=True,
            # Ours, not kopf's guess: kopf would ask the passwd database for the user's name,
            # which has no entry for the image's numeric UID (or an arbitrary one) and fails.
            identity=cast(Any, config.identity),  # kopf's Identity (a NewType) is not exported
            clusterwide=not config.namespaces,
            namespaces=config.namespaces,
            ready_flag=ready,
            memo=kopf.Memo(ready_flag=ready),
        )
    finally:
        stopped.set()
    logger.info("eventsub operator stopped")
