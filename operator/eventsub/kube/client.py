"""A shared Kubernetes API client: the kubeconfig in KUBECONFIG, or the in-cluster service account."""

from __future__ import annotations

import asyncio
import functools
import json
import os
import threading
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from kubernetes import client, config

from eventsub import fence
from eventsub.kube.errors import NotFound, from_exception

T = TypeVar("T")

# The sync client blocks; run its calls here so the event loop never waits on HTTP.
_POOL = ThreadPoolExecutor(max_workers=16, thread_name_prefix="kube")
# The Lease has its own threads and client: a renewal never queues behind reconciler calls,
# and it is never retried by urllib3 behind our back (its deadline is the renew deadline).
_LEASE_POOL = ThreadPoolExecutor(max_workers=2, thread_name_prefix="lease")
_writes = 0  # writes being sent now; a clean stop waits for them before it hands over
_writes_waiting = 0  # writes asked for and not answered yet (in the pool's queue or being sent)
_writes_lock = threading.Lock()


def _configuration() -> client.Configuration:
    if os.environ.get("KUBERNETES_SERVICE_HOST") and not os.environ.get("KUBECONFIG"):
        config.load_incluster_config()
        return client.Configuration.get_default_copy()
    configuration = client.Configuration()
    # KUBECONFIG as it is now: the library reads its default when it is imported.
    config.load_kube_config(config_file=os.environ.get("KUBECONFIG"),
                            client_configuration=configuration)
    return configuration


@functools.cache
def api_client() -> client.ApiClient:
    configuration = _configuration()
    configuration.connection_pool_maxsize = 32
    return client.ApiClient(configuration)


@functools.cache
def lease_client() -> client.ApiClient:
    configuration = _configuration()
    configuration.retries = False
    return client.ApiClient(configuration)


REQUEST_TIMEOUT = (5, 30)  # seconds to connect, to read: a stalled API server never hangs a loop


async def _mapped(request: Awaitable[T], what: str) -> T:
    """Awaits a request; the client library's errors come out as kube.errors domain errors."""
    try:
        return await request
    except Exception as error:
        mapped = from_exception(error, what)
        if mapped is None:
            raise
        raise mapped from None


def _what(fn: Callable[..., Any]) -> str:
    return getattr(fn, "__name__", "request").replace("_", " ")


async def call(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Runs one API call of the sync client in the pool, with a request timeout."""
    loop = asyncio.get_running_loop()
    kwargs.setdefault("_request_timeout", REQUEST_TIMEOUT)
    return await _mapped(loop.run_in_executor(_POOL, functools.partial(fn, *args, **kwargs)),
                         _what(fn))


async def write(what: str, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Like call, for a change: the write fence is checked in the worker thread, right before
    the request goes out, so a write that waited in the pool is not sent after the lease lapsed."""
    loop = asyncio.get_running_loop()
    kwargs.setdefault("_request_timeout", REQUEST_TIMEOUT)

    def fenced() -> T:
        global _writes
        fence.check(what)
        with _writes_lock:
            _writes += 1
        try:
            return fn(*args, **kwargs)
        finally:
            with _writes_lock:
                _writes -= 1
    global _writes_waiting
    _writes_waiting += 1  # on the event loop's thread only
    try:
        return await _mapped(loop.run_in_executor(_POOL, fenced), what)
    finally:
        _writes_waiting -= 1


def writes_waiting() -> bool:
    """Is a reconciler's write (a status, a Deployment, a finalizer) waiting for its answer?"""
    return _writes_waiting > 0


async def call_lease(fn: Callable[..., T], *args: Any, timeout: tuple[float, float],
                     **kwargs: Any) -> T:
    """A Lease call: its own threads, no retries, a short timeout."""
    loop = asyncio.get_running_loop()
    return await _mapped(loop.run_in_executor(
        _LEASE_POOL, functools.partial(fn, *args, _request_timeout=timeout, **kwargs)), _what(fn))


async def drain_writes(timeout: float) -> int:
    """Waits until no write is being sent (at most timeout seconds); returns how many still are."""
    deadline = time.monotonic() + timeout
    while _writes and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    return _writes


APPLY = "application/apply-patch+yaml"


def server_side_apply(path: str, body: dict[str, Any], manager: str,
                      _request_timeout: Any = REQUEST_TIMEOUT) -> dict[str, Any]:
    """PATCH `path` with server-side apply, as field manager `manager` (forced); the object as
    the API server returns it."""
    data = _send_json("PATCH", path, body, APPLY, [("fieldManager", manager), ("force", "true")],
                      _request_timeout)
    applied: dict[str, Any] = json.loads(data or b"{}")
    return applied


def post_json(path: str, body: dict[str, Any], _request_timeout: Any = REQUEST_TIMEOUT) -> None:
    """POST `body` to `path` (a create), not reading the object the API server returns."""
    _send_json("POST", path, body, "application/json", [], _request_timeout)


def _send_json(method: str, path: str, body: dict[str, Any], content_type: str,
               query: list[tuple[str, str]], request_timeout: Any) -> bytes:
    """One request with a JSON body. An apply patch is serialized here: the client library
    escapes characters beyond the Basic Multilingual Plane (an emoji in a user's text) as JSON
    surrogate pairs, which the API server's YAML decoder refuses; plain UTF-8 is valid YAML.
    A JSON request body is left to the library (it serializes whatever its content type names
    JSON, and the API server's JSON decoder takes surrogate pairs)."""
    api = api_client()
    payload: Any = body if "json" in content_type else json.dumps(body, ensure_ascii=False).encode()
    method, url, headers, _, _ = api.param_serialize(
        method, path, query_params=query,
        header_params={"Content-Type": content_type, "Accept": "application/json"},
        auth_settings=["BearerToken"])
    response = api.call_api(method, url, header_params=headers, body=payload,
                            _request_timeout=request_timeout)
    data: bytes = response.read()
    if not 200 <= response.status < 300:
        raise client.ApiException(http_resp=response)
    return data


class Gone:
    """The object a call named does not exist (HTTP 404)."""


GONE = Gone()


async def unless_gone(request: Awaitable[T]) -> T | Gone:
    """The result of a call or write, or GONE when the object it named does not exist."""
    try:
        return await request
    except NotFound:
        return GONE


async def whoami() -> str:
    """The user the API server sees, e.g. system:serviceaccount:ns:name (for the startup log:
    which credentials and so which RBAC the operator runs with). Best effort."""
    review = client.V1SelfSubjectReview(api_version="authentication.k8s.io/v1", kind="SelfSubjectReview")
    try:
        answer = await call(client.AuthenticationV1Api(api_client()).create_self_subject_review, review)
    except Exception as error:  # any transport error too: this is only for the log
        return f"an unknown user ({getattr(error, 'status', None) or type(error).__name__})"
    info = answer.status.user_info if answer.status is not None else None
    return str(info.username) if info is not None and info.username else "an unknown user"
