"""Operator-wide kopf settings and the runtime's lifetime; importing this registers all handlers."""

from __future__ import annotations

import asyncio
import logging
import os
import threading
from typing import Any

import kopf
from aiohttp import web

from eventsub import __version__, fence
from eventsub.catalog.routes import catalog_routes
from eventsub.config import OperatorConfig
from eventsub.core.leadership import Timing
from eventsub.endpoints import Endpoints
from eventsub.handlers import resources as _resources  # noqa: F401  (registers handlers)
from eventsub.kube.client import REQUEST_TIMEOUT, drain_writes, whoami
from eventsub.kube.events import POSTER
from eventsub.kube.leases import LeaseStore
from eventsub.reconcilers.wiring import Runtime
from eventsub.runtime import heap
from eventsub.runtime.leadership import Campaign, LeaderElector
from eventsub.runtime.relist import Relister

logger = logging.getLogger("eventsub")


class WatchOnlyDiffBase(kopf.DiffBaseStorage):
    """kopf compares an object with its last handled state only for change handlers; ours only
    watch. Its default still deep-copies every object on every watch event to build that state
    (about a tenth of the operator's CPU in a burst of a thousand new topics): here it is empty,
    and nothing is ever stored."""

    def build(self, *, body: kopf.Body, extra_fields: Any = None) -> kopf.BodyEssence:
        return kopf.BodyEssence()

    def fetch(self, *, body: kopf.Body) -> kopf.BodyEssence | None:
        return None

    def store(self, *, body: kopf.Body, patch: kopf.Patch, essence: kopf.BodyEssence) -> None:
        return None


@kopf.on.startup()
async def configure(settings: kopf.OperatorSettings, memo: kopf.Memo, **_: Any) -> None:
    # Our status schema is strict and would prune a status.kopf field; kopf's bookkeeping (if it
    # ever needs any: the handlers are watch-only) goes to annotations under eventsub.io.
    settings.persistence.progress_storage = kopf.AnnotationsProgressStorage(prefix="eventsub.io")
    settings.persistence.diffbase_storage = WatchOnlyDiffBase()
    # Only warnings and errors become Kubernetes Events; info-level chatter stays in the log.
    settings.posting.level = logging.WARNING
    settings.watching.server_timeout = 300
    settings.queueing.worker_limit = 200
    # Our handlers only feed the cache and the queues, so a per-object worker is done at once;
    # kopf keeps an idle one 5 s by default, which with 200 workers lets ~40 objects/s in: a
    # namespace of 2,000 objects took ~50 s to reach the cache (and the catalog) after a start.
    settings.queueing.idle_timeout = 0.2
    config = OperatorConfig.from_env()
    # Exact namespaces need no cluster-scoped permission: kopf then neither lists namespaces nor
    # watches resource definitions (the CRDs must exist at start, as Helm installs them first).
    # Patterns (`team-*`) still need both.
    settings.scanning.disabled = bool(config.namespaces) and not any(
        mark in name for name in config.namespaces for mark in "*?!")
    logger.info("authenticated to the Kubernetes API as %s", await whoami())
    runtime = Runtime(config)
    memo["runtime"] = runtime
    # On every replica, leading or not: each keeps a warm cache, and kopf's re-list after a
    # watch gap reports nothing of what was deleted during it.
    relister = Relister(runtime.cache, runtime.observe, config.namespaces, config.relist_seconds)
    await relister.prime()
    memo["relist"] = asyncio.create_task(relister.run())
    memo["heap"] = asyncio.create_task(heap.release_periodically())
    elector = None
    if config.leader_election:
        elector = LeaderElector(LeaseStore(config.lease_namespace, config.lease_name),
                                config.identity, Timing.for_lease(config.lease_duration_seconds))
        memo["elector"] = elector
        fence.install(elector.current)
        memo["campaign"] = Campaign(elector, runtime.start, _step_down(runtime))
    else:
        runtime.start()
    if config.metrics_port:
        endpoints = Endpoints(config.metrics_host, config.metrics_port, alive=lambda: _alive(memo),
                              ready=lambda: _ready(memo), about=lambda: _about(config, elector),
                              routes=_catalog(config, runtime))
        await endpoints.start()
        memo["endpoints"] = endpoints


def _catalog(config: OperatorConfig, runtime: Runtime) -> list[web.RouteDef]:
    # Every replica serves the catalog from its own cache; the activity figures come from the
    # lag reads, which only the leader makes.
    return catalog_routes(runtime.catalog.snapshot) if config.catalog else []


def _step_down(runtime: Runtime) -> Any:
    async def step_down() -> None:
        # Stop every writer first; then leave at once, so nothing this process started can
        # still act once another replica takes the lease. Kubernetes restarts the container,
        # which comes back as a standby.
        await runtime.stop()
        logger.error("lost leadership: exiting so that a fresh process stands by")
        for handler in logging.getLogger().handlers:
            handler.flush()
        os._exit(1)
    return step_down


def _alive(memo: kopf.Memo) -> str | None:
    campaign: Campaign | None = memo.get("campaign")
    if campaign is not None and campaign.done():
        return "the leader election loop has stopped"
    return None


def _ready(memo: kopf.Memo) -> str | None:
    # kopf sets the flag when its startup is complete and the watches begin; a standby is
    # ready too: it serves metrics and takes over from its warm cache.
    flag: threading.Event | None = memo.get("ready_flag")
    if flag is not None and not flag.is_set():
        return "starting"
    elector: LeaderElector | None = memo.get("elector")
    if elector is not None and elector.problem is not None:
        return elector.problem
    return _alive(memo)


def _about(config: OperatorConfig, elector: LeaderElector | None) -> dict[str, object]:
    return {"version": __version__, "identity": config.identity,
            "leader": elector.leading if elector is not None else True}


@kopf.on.cleanup()
async def stop_runtime(memo: kopf.Memo, **_: Any) -> None:
    for name in ("relist", "heap"):
        task: asyncio.Task[None] | None = memo.get(name)
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
    runtime: Runtime | None = memo.get("runtime")
    campaign: Campaign | None = memo.get("campaign")
    if campaign is not None:
        campaign.cancel()
    if runtime is not None:
        await runtime.stop()
    if await POSTER.flush(timeout=5):
        logger.warning("stopping with Events not yet posted; they are dropped")
    await POSTER.stop()
    elector: LeaderElector | None = memo.get("elector")
    if elector is not None:
        # Writes already on their way finish first: handing over before they land would let
        # them arrive after the next leader began.
        still_sending = await drain_writes(timeout=REQUEST_TIMEOUT[1] + 5)
        if still_sending:
            logger.warning("%d write(s) still in flight: not releasing the Lease, it expires by "
                           "itself", still_sending)
        else:
            if campaign is None or await campaign.stopped(timeout=5):
                await elector.release()  # no renewal of its own can race the release now
    endpoints: Endpoints | None = memo.get("endpoints")
    if endpoints is not None:
        await endpoints.stop()
