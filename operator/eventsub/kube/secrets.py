"""Reading one key of a Secret. Values are returned, never logged or put in messages."""

from __future__ import annotations

import base64

from kubernetes import client
from kubernetes.client.exceptions import ApiException

from eventsub.kube.client import api_client, call


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
    except ApiException as error:
        if error.status == 404:
            raise SecretProblem("SecretNotFound", f"Secret {namespace}/{name} not found") from None
        if error.status == 403:
            raise SecretProblem("SecretForbidden",
                                f"not allowed to read Secret {namespace}/{name}") from None
        raise SecretProblem("SecretUnreadable",
                            f"reading Secret {namespace}/{name}: HTTP {error.status}") from None
    data = secret.data or {}
    if key not in data:
        raise SecretProblem("SecretKeyNotFound", f"Secret {namespace}/{name} has no key {key!r}")
    return base64.b64decode(data[key]).decode()
