"""The operator's HTTP endpoints: /metrics for Prometheus, /healthz and /readyz for the kubelet,
and whatever read-only routes the caller adds (the catalog).

Served from the operator's own event loop: a loop that hangs stops answering /healthz, which
is exactly what the liveness probe should notice.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence

import prometheus_client
from aiohttp import web

Check = Callable[[], str | None]  # None when fine, else what is wrong


class Endpoints:
    def __init__(self, host: str, port: int, alive: Check, ready: Check,
                 about: Callable[[], dict[str, object]],
                 routes: Sequence[web.RouteDef] = ()) -> None:
        self.port, self.host = port, host
        self._alive, self._ready, self._about = alive, ready, about
        self._routes = routes
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/metrics", self._metrics)
        app.router.add_get("/healthz", self._healthz)
        app.router.add_get("/readyz", self._readyz)
        app.router.add_routes(self._routes)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, self.host, self.port).start()

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _metrics(self, _: web.Request) -> web.Response:
        body = prometheus_client.generate_latest(prometheus_client.REGISTRY)
        return web.Response(body=body, headers={"Content-Type": prometheus_client.CONTENT_TYPE_LATEST})

    async def _healthz(self, _: web.Request) -> web.Response:
        return self._answer(self._alive())

    async def _readyz(self, _: web.Request) -> web.Response:
        return self._answer(self._ready())

    def _answer(self, problem: str | None) -> web.Response:
        body = {"status": "ok" if problem is None else "failing", **self._about()}
        if problem is not None:
            body["problem"] = problem
        return web.Response(status=200 if problem is None else 503, text=json.dumps(body),
                            content_type="application/json")
