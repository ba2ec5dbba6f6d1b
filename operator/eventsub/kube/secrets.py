"""Reading one key of a Secret (or of a ConfigMap). Values are returned, never logged or put in
messages."""

from __future__ import annotations

import base64

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
    try:
        secret = await call(core.read_namespaced_secret, name, namespace)
    except NotFound:
        raise SecretProblem("SecretNotFound", f"Secret {namespace}/{name} not found") from None
    except Forbidden:
        raise SecretProblem("SecretForbidden",
                            f"not allowed to read Secret {namespace}/{name}") from None
    except KubeError as error:
        raise SecretProblem("SecretUnreadable",
                            f"reading Secret {namespace}/{name}: {error.message}") from None
    data = secret.data or {}
    if key not in data:
        raise SecretProblem("SecretKeyNotFound", f"Secret {namespace}/{name} has no key {key!r}")
    return base64.b64decode(data[key]).decode()


async def read_config_map_key(namespace: str, name: str, key: str) -> str:
    """One key of a ConfigMap (a schema, a CA); problems raise SecretProblem with ConfigMap
    reasons."""
    core = client.CoreV1Api(api_client())
    try:
        config_map = await call(core.read_namespaced_config_map, name, namespace)
    except NotFound:
        raise SecretProblem("ConfigMapNotFound", f"ConfigMap {namespace}/{name} not found") from None
    except Forbidden:
        raise SecretProblem("ConfigMapForbidden",
                            f"not allowed to read ConfigMap {namespace}/{name}") from None
    except KubeError as error:
        raise SecretProblem("ConfigMapUnreadable",
                            f"reading ConfigMap {namespace}/{name}: {error.message}") from None
    data = config_map.data or {}
    if key not in data:
        raise SecretProblem("ConfigMapKeyNotFound",
                            f"ConfigMap {namespace}/{name} has no key {key!r}")
    return str(data[key])
