"""Registry errors as domain errors: a CamelCase reason and a message fit for a person.

Messages name the registry by its URL without any user information and never carry the
credentials (they are not part of anything a message is built from)."""

from __future__ import annotations


class RegistryError(Exception):
    """A request the registry refused or could not serve."""

    reason = "SchemaRegistryError"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class RegistryUnavailable(RegistryError):
    """The registry could not be reached, timed out or failed (5xx): worth retrying later."""

    reason = "SchemaRegistryUnavailable"


class RegistryUnauthorized(RegistryError):
    """The registry refused the credentials (401) or the operation (403)."""

    reason = "SchemaRegistryUnauthorized"


class InvalidSchema(RegistryError):
    """The registry could not parse the schema (or its references)."""

    reason = "InvalidSchema"


class IncompatibleSchema(RegistryError):
    """The registry refused a version that breaks the subject's compatibility level."""

    reason = "IncompatibleSchema"


class RegistryTlsFailed(RegistryUnavailable):
    """The registry's certificate could not be verified (or the CA is not PEM)."""

    reason = "SchemaRegistryTlsFailed"
