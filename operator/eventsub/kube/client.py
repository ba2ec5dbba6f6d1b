"""A shared Kubernetes API client: the kubeconfig in KUBECONFIG, or the in-cluster service account."""

from __future__ import annotations

import asyncio
import functools
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from kubernetes import client, config
from kubernetes.client.exceptions import ApiException

T = TypeVar("T")

# The sync client blocks; run its calls here so the event loop never waits on HTTP.
_POOL = ThreadPoolExecutor(max_workers=16, thread_name_prefix="kube")


@functools.cache
def api_client() -> client.ApiClient:
    if os.environ.get("KUBERNETES_SERVICE_HOST") and not os.environ.get("KUBECONFIG"):
        config.load_incluster_config()
        configuration = client.Configuration.get_default_copy()
    else:
        configuration = client.Configuration()
        config.load_kube_config(client_configuration=configuration)
    configuration.connection_pool_maxsize = 32
    return client.ApiClient(configuration)


REQUEST_TIMEOUT = (5, 30)  # seconds to connect, to read: a stalled API server never hangs a loop


async def call(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Runs one API call of the sync client in the pool, with a request timeout."""
    loop = asyncio.get_running_loop()
    kwargs.setdefault("_request_timeout", REQUEST_TIMEOUT)
    return await loop.run_in_executor(_POOL, functools.partial(fn, *args, **kwargs))


class Gone:
    """The object a call named does not exist (HTTP 404)."""


GONE = Gone()


async def call_unless_gone(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T | Gone:
    """Like call, but an object that does not exist is GONE instead of an error."""
    try:
        return await call(fn, *args, **kwargs)
    except ApiException as error:
        if error.status == 404:
            return GONE
        raise


async def whoami() -> str:
    """The user the API server sees, e.g. system:serviceaccount:ns:name (for the startup log:
    which credentials and so which RBAC the operator runs with). Best effort."""
    review = client.V1SelfSubjectReview(api_version="authentication.k8s.io/v1", kind="SelfSubjectReview")
    try:
        answer = await call(client.AuthenticationV1Api(api_client()).create_self_subject_review, review)
    except (ApiException, OSError) as error:
        return f"an unknown user ({getattr(error, 'status', None) or error})"
    info = answer.status.user_info if answer.status is not None else None
    return str(info.username) if info is not None and info.username else "an unknown user"
