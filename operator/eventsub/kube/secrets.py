"""Reading one key of a Secret (or of a ConfigMap). Values are returned, never logged or put in
messages."""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

from kubernetes import client

from eventsub.kube.client import api_client, call
from eventsub.kube.errors import Forbidden, KubeError, NotFound


class SecretProblem(Exception):
    """A referenced Secret or key is missing; the message names them, never their values."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


async def read_secret_key(namespace: str, name: str, key: str) -> str:
    core = client.CoreV1Api(api_client())
    data = await _read_data("Secret", core.read_namespaced_secret, namespace, name, key)
    return base64.b64decode(data).decode()


async def read_config_map_key(namespace: str, name: str, key: str) -> str:
    """One key of a ConfigMap (a schema, a CA); problems raise SecretProblem with ConfigMap
    reasons."""
    core = client.CoreV1Api(api_client())
    return await _read_data("ConfigMap", core.read_namespaced_config_map, namespace, name, key)


async def _read_data(kind: str, read: Callable[..., Any], namespace: str, name: str,
                     key: str) -> str:
    """The raw value of one key of the object's data; problems as SecretProblem with reasons
    named after the kind (SecretNotFound, ConfigMapKeyNotFound, ...)."""
    try:
        found = await call(read, name, namespace)
    except NotFound:
        raise SecretProblem(f"{kind}NotFound", f"{kind} {namespace}/{name} not found") from None
    except Forbidden:
        raise SecretProblem(f"{kind}Forbidden",
                            f"not allowed to read {kind} {namespace}/{name}") from None
    except KubeError as error:
        raise SecretProblem(f"{kind}Unreadable",
                            f"reading {kind} {namespace}/{name}: {error.message}") from None
    data = found.data or {}
    if key not in data:
        raise SecretProblem(f"{kind}KeyNotFound", f"{kind} {namespace}/{name} has no key {key!r}")
    return str(data[key])
