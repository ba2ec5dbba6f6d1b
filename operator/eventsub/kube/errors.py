"""Kubernetes API errors as domain errors, mapped where the client library is called.

Callers outside kube/ never see the client library's exceptions: they catch what they can act
on (a missing object, a conflicting write, a refusal with the API server's own words).
"""

from __future__ import annotations

import json

from kubernetes.client.exceptions import ApiException
from urllib3.exceptions import HTTPError


class KubeError(Exception):
    """A Kubernetes API request failed; message says why, in the API server's words if it gave any."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


class NotFound(KubeError):
    """The object (or its namespace) does not exist: HTTP 404."""


class Conflict(KubeError):
    """The object changed since it was read, or already exists: HTTP 409."""


class Forbidden(KubeError):
    """RBAC does not allow the request: HTTP 403."""


class Invalid(KubeError):
    """The API server refused the content (schema, admission, immutable field): HTTP 400/422."""


class Unavailable(KubeError):
    """The API server could not be reached, timed out or failed (5xx, 429): worth retrying."""


_BY_STATUS: dict[int, type[KubeError]] = {404: NotFound, 409: Conflict, 403: Forbidden,
                                          400: Invalid, 422: Invalid}


def from_exception(error: Exception, what: str) -> KubeError | None:
    """The domain error for what the client library raised while doing `what`; None for
    anything else (a bug, which must surface as itself)."""
    if isinstance(error, KubeError):
        return error
    if isinstance(error, ApiException):
        status = int(error.status or 0)
        kind = _BY_STATUS.get(status, Unavailable if status >= 500 or status in (0, 429)
                              else KubeError)
        return kind(f"{what}: {_server_message(error)}", status)
    if isinstance(error, HTTPError | OSError | TimeoutError):
        return Unavailable(f"{what}: the API server did not answer ({type(error).__name__})")
    return None


def _server_message(error: ApiException) -> str:
    """The API server's Status message when the body carries one, else the HTTP status line."""
    try:
        message = json.loads(error.body or "{}").get("message")
    except (ValueError, AttributeError):
        message = None
    return str(message) if message else f"HTTP {error.status} {error.reason}"
