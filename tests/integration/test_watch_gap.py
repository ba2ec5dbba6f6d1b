"""EventTopics deleted while the operator's watch is down leave no ghost in its cache.

How the test makes the operator really miss a DELETED. Stopping the process (SIGSTOP) is not
enough: the API server keeps writing the watch stream into the socket and kopf reads the
DELETED on SIGCONT; and a watch that merely reconnects resumes from its last resourceVersion,
so the API server replays the DELETED from its watch cache. kopf loses deletions only when it
cannot resume: the API server answers the resumed watch with 410 Gone ("too old resource
version", after compaction or an API server restart), and kopf lists again. That list has the
deleted objects missing, and kopf emits no DELETED for them.

So the operator talks to the API server through a small proxy of the test's (plain HTTP on
127.0.0.1, forwarding with the stack's admin credentials). On `interrupt`, the proxy cuts the
operator's EventTopic watch and holds its reconnection; the test deletes the older EventTopic
directly on the API server; on `expire`, the proxy answers the held watch exactly as the API
server answers an expired resourceVersion (HTTP 200, one ERROR event with code 410) and passes
everything after it through. The operator's watch never carried the DELETED: the stream was cut
before the deletion, the resumed watch got only the 410, and kopf's list (recorded by the proxy
from its User-Agent) was taken after the deletion. Nothing in the operator is changed for the
test. The second test is the control: without the periodic re-list (a period longer than the
test) the ghost stays, which shows the first test's gap is real.
"""

from __future__ import annotations

import asyncio
import base64
import collections
import json
import ssl
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import yaml
from aiohttp import web
from confluent_kafka.admin import AdminClient

from conftest import Kube, fresh_namespace
from localstack import StackInfo
from operator_process import OperatorProcess
from resources import CONSUMER_TEMPLATE, condition, create, delete, get, gone, resource, wait_condition
from support import eventually, unique

# Not forwarded: they describe one connection, not the request (and the proxy authenticates).
HOP_HEADERS = {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te",
               "trailer", "trailers", "transfer-encoding", "upgrade", "host", "content-length",
               "authorization"}
TOPICS = "eventtopics"


class WatchGapProxy:
    """The API server behind a plain-HTTP proxy that can make a watch expire (see above)."""

    def __init__(self, kubeconfig: str, directory: Path) -> None:
        config = yaml.safe_load(Path(kubeconfig).read_text())
        cluster, user = config["clusters"][0]["cluster"], config["users"][0]["user"]
        self.upstream = cluster["server"].rstrip("/")
        for name, field in (("ca.crt", "certificate-authority-data"),
                            ("client.crt", "client-certificate-data"),
                            ("client.key", "client-key-data")):
            (directory / name).write_bytes(base64.b64decode(cluster.get(field) or user[field]))
        self._tls = ssl.create_default_context(cafile=str(directory / "ca.crt"))
        self._tls.load_cert_chain(str(directory / "client.crt"), str(directory / "client.key"))
        self.kubeconfig = directory / "kubeconfig"
        self._holding: set[str] = set()
        self._released: dict[str, asyncio.Event] = {}
        self._streams: dict[str, dict[asyncio.Task[Any], web.Request]] = collections.defaultdict(dict)
        self._expired_plurals: set[str] = set()
        self.held: collections.Counter[str] = collections.Counter()  # watches held back
        self.expired: collections.Counter[str] = collections.Counter()  # 410s answered
        self.kopf_lists: collections.Counter[str] = collections.Counter()  # kopf's lists after a 410
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        port = self._run(self._start())
        self.kubeconfig.write_text(json.dumps({
            "apiVersion": "v1", "kind": "Config",
            "clusters": [{"name": "proxy", "cluster": {"server": f"http://127.0.0.1:{port}"}}],
            "users": [{"name": "proxy", "user": {}}],
            "contexts": [{"name": "proxy", "context": {"cluster": "proxy", "user": "proxy"}}],
            "current-context": "proxy"}))

    def _run(self, coroutine: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout=30)

    async def _start(self) -> int:
        self._session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=self._tls),
                                              auto_decompress=False)
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._forward)
        # A client that hangs up cancels its handler, which closes the upstream watch too.
        self._runner = web.AppRunner(app, handler_cancellation=True, shutdown_timeout=5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port: int = self._runner.addresses[0][1]
        return port

    def interrupt(self, plural: str) -> None:
        """Cuts the watches of a kind and holds their reconnections until expire()."""
        async def cut() -> None:
            self._holding.add(plural)
            self._released[plural] = asyncio.Event()
            for task, request in list(self._streams[plural].items()):
                if request.transport is not None:
                    request.transport.close()
                task.cancel()
        self._run(cut())

    def expire(self, plural: str) -> None:
        """Answers the held watches with 410 Gone; later requests pass through."""
        async def release() -> None:
            self._holding.discard(plural)
            self._expired_plurals.add(plural)
            self._released[plural].set()
        self._run(release())

    def close(self) -> None:
        async def stop() -> None:
            for event in self._released.values():
                event.set()
            for streams in self._streams.values():
                for task in streams:
                    task.cancel()
            await self._runner.cleanup()
            await self._session.close()
        try:
            self._run(stop())
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=10)

    async def _forward(self, request: web.Request) -> web.StreamResponse:
        plural = request.path.rstrip("/").rsplit("/", 1)[-1]
        watching = request.query.get("watch") in ("true", "1")
        if watching and plural in self._holding:
            self.held[plural] += 1
            await self._released[plural].wait()
            if request.query.get("resourceVersion"):
                return await self._too_old(request, plural)
        if (not watching and request.method == "GET" and plural in self._expired_plurals
                and request.headers.get("User-Agent", "").startswith("kopf/")):
            self.kopf_lists[plural] += 1
        if watching:
            # Known before the first await: interrupt() cuts every watch that got past the hold,
            # even one still waiting for the API server's headers.
            task = asyncio.current_task()
            assert task is not None
            self._streams[plural][task] = request
        try:
            return await self._pass(request)
        finally:
            if watching:
                self._streams[plural].pop(task, None)

    async def _pass(self, request: web.Request) -> web.StreamResponse:
        headers = {k: v for k, v in request.headers.items() if k.lower() not in HOP_HEADERS}
        body = await request.read()
        async with self._session.request(
                request.method, self.upstream + request.path_qs, headers=headers,
                data=body or None, timeout=aiohttp.ClientTimeout(total=None, sock_connect=10)
        ) as upstream:
            response = web.StreamResponse(status=upstream.status, reason=upstream.reason, headers={
                k: v for k, v in upstream.headers.items() if k.lower() not in HOP_HEADERS})
            await response.prepare(request)
            async for chunk in upstream.content.iter_any():  # a watch: each event as it comes
                await response.write(chunk)
            await response.write_eof()
            return response

    async def _too_old(self, request: web.Request, plural: str) -> web.StreamResponse:
        """What the API server sends on a watch from a resourceVersion it no longer has."""
        version = request.query["resourceVersion"]
        status = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                  "message": f"too old resource version: {version}", "reason": "Expired",
                  "code": 410}
        response = web.StreamResponse(status=200, headers={"Content-Type": "application/json"})
        await response.prepare(request)
        await response.write(json.dumps({"type": "ERROR", "object": status}).encode() + b"\n")
        await response.write_eof()
        self.expired[plural] += 1
        return response


@pytest.fixture
def proxy(stack_info: StackInfo, tmp_path: Path) -> Iterator[WatchGapProxy]:
    directory = tmp_path / "proxy"
    directory.mkdir()
    gap_proxy = WatchGapProxy(stack_info.kubeconfig, directory)
    try:
        yield gap_proxy
    finally:
        gap_proxy.close()


@pytest.fixture
def own_namespace(kube: Kube) -> Iterator[str]:
    with fresh_namespace(kube, "gap") as name:  # not watched by the session's operator
        yield name


def _operator(crds: StackInfo, proxy: WatchGapProxy, namespace: str, tmp_path: Path,
              relist_seconds: int) -> OperatorProcess:
    return OperatorProcess(crds, tmp_path / "operator.log", {
        "KUBECONFIG": str(proxy.kubeconfig), "EVENTSUB_NAMESPACES": namespace,
        "EVENTSUB_RELIST_SECONDS": str(relist_seconds)})


def _setup(kube: Kube, namespace: str, bootstrap: str) -> str:
    """KafkaConnection "local"; EventTopic "first" owning a Kafka topic (2 partitions), "second"
    (created later) claiming it too (ResourceConflict); EventSubscription "reader" of "first".
    Returns the Kafka topic's name."""
    create(kube, namespace, resource("KafkaConnection", "local", {"bootstrapServers": [bootstrap]}))
    wait_condition(kube, namespace, "KafkaConnection", "local", reason="Connected")
    name = unique("contested")
    # Retain (the default): no finalizer, so deleting "first" removes it at once, and the
    # operator's only news of it would be the DELETED watch event.
    create(kube, namespace, resource("EventTopic", "first", {
        "connectionRef": {"name": "local"}, "topicName": name, "partitions": 2}))
    first = wait_condition(kube, namespace, "EventTopic", "first", reason="InSync")
    assert not first["metadata"].get("finalizers")
    # Names and creation times agree on who is older, whatever second they fall in.
    create(kube, namespace, resource("EventTopic", "second", {
        "connectionRef": {"name": "local"}, "topicName": name, "partitions": 6}))
    second = wait_condition(kube, namespace, "EventTopic", "second", status="False",
                            reason="ResourceConflict")
    assert f"{namespace}/first" in condition(second)["message"]  # type: ignore[index]
    create(kube, namespace, resource("EventSubscription", "reader", {
        "connectionRef": {"name": "local"}, "topics": [{"eventTopic": "first"}],
        "scaling": {"minReplicas": 0, "maxReplicas": 1}, "template": CONSUMER_TEMPLATE}))
    wait_condition(kube, namespace, "EventSubscription", "reader", reason="Running")
    return name


def _delete_during_a_watch_gap(kube: Kube, namespace: str, proxy: WatchGapProxy) -> None:
    """Deletes EventTopic "first" while the operator's EventTopic watch is down, and lets kopf
    re-list after it."""
    proxy.interrupt(TOPICS)
    # kopf noticed the cut and is trying to resume: its reconnection is held.
    eventually(lambda: proxy.held[TOPICS] >= 1, timeout=30, what="the watch reconnecting")
    delete(kube, namespace, "EventTopic", "first")
    eventually(lambda: gone(kube, namespace, "EventTopic", "first"), what="EventTopic first gone")
    proxy.expire(TOPICS)
    eventually(lambda: proxy.expired[TOPICS] >= 1 and proxy.kopf_lists[TOPICS] >= 1, timeout=30,
               what="kopf re-listing EventTopics after 410 Gone")


def _reason(kube: Kube, namespace: str, kind: str, name: str) -> str | None:
    ready = condition(get(kube, namespace, kind, name))
    return None if ready is None else str(ready["reason"])


def _partitions(admin: AdminClient, name: str) -> int:
    return len(admin.list_topics(name, timeout=10).topics[name].partitions)


def test_topics_deleted_while_the_watch_is_down_leave_no_ghost(
        kube: Kube, crds: StackInfo, kafka_admin: AdminClient, proxy: WatchGapProxy,
        own_namespace: str, tmp_path: Path) -> None:
    namespace = own_namespace
    operator = _operator(crds, proxy, namespace, tmp_path, relist_seconds=2)
    try:
        topic = _setup(kube, namespace, crds.kafka_bootstrap)
        _delete_during_a_watch_gap(kube, namespace, proxy)
        # The re-list (every 2 s; before or after kopf's, whichever came first) forgot "first":
        # "second" owns the Kafka topic now and applies its spec; "reader" sees its topic gone.
        wait_condition(kube, namespace, "EventTopic", "second", reason="InSync", timeout=60)
        eventually(lambda: _partitions(kafka_admin, topic) == 6, timeout=30,
                   what="the new owner's partitions")
        wait_condition(kube, namespace, "EventSubscription", "reader", status="False",
                       reason="TopicNotFound", timeout=60)
        assert f"eventtopics {namespace}/first was deleted while the watch was not looking" \
            in operator.log()
        # And it stays that way: no ghost comes back over later re-lists and resyncs.
        time.sleep(5)
        assert _reason(kube, namespace, "EventTopic", "second") == "InSync"
        assert _reason(kube, namespace, "EventSubscription", "reader") == "TopicNotFound"
    finally:
        assert operator.stop() == 0, operator.log()[-3000:]
    assert "Traceback" not in operator.log(), operator.log()[-3000:]


def test_control_without_the_relist_the_missed_deletion_leaves_a_ghost(
        kube: Kube, crds: StackInfo, proxy: WatchGapProxy, own_namespace: str,
        tmp_path: Path) -> None:
    """The gap the first test makes is real: kopf alone keeps "first" after it is deleted."""
    namespace = own_namespace
    operator = _operator(crds, proxy, namespace, tmp_path, relist_seconds=3600)
    try:
        _setup(kube, namespace, crds.kafka_bootstrap)
        _delete_during_a_watch_gap(kube, namespace, proxy)
        # Several resyncs (3 s in tests) later, "second" still yields to the deleted "first",
        # and "reader" still runs on it: both read the ghost from the cache.
        deadline = time.monotonic() + 12
        while time.monotonic() < deadline:
            second = condition(get(kube, namespace, "EventTopic", "second"))
            assert second is not None and second["reason"] == "ResourceConflict", second
            assert f"{namespace}/first" in second["message"]
            reader = condition(get(kube, namespace, "EventSubscription", "reader"))
            assert reader is not None and reader["reason"] == "Running", reader
            time.sleep(1)
        assert "was deleted while the watch was not looking" not in operator.log()
    finally:
        assert operator.stop() == 0, operator.log()[-3000:]
    assert "Traceback" not in operator.log(), operator.log()[-3000:]
