"""A small asynchronous client of the Confluent Schema Registry API (which Apicurio Registry
serves under /apis/ccompat/v7): subject configuration, lookup, compatibility, registration.

Plain HTTP through aiohttp rather than confluent-kafka's SchemaRegistryClient: that client is
synchronous, returns only a boolean for a compatibility test (no reasons), and wants a CA as a
file; here the CA stays in memory and a refusal keeps the registry's own words.
"""

from __future__ import annotations

import ssl
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

import aiohttp

from eventsub.registry.errors import (
    IncompatibleSchema,
    InvalidSchema,
    RegistryError,
    RegistryTlsFailed,
    RegistryUnauthorized,
    RegistryUnavailable,
)

CONTENT_TYPE = "application/vnd.schemaregistry.v1+json"
# The API's names of the schema types (Avro is its default and may be left out).
SCHEMA_TYPES = {"Avro": "AVRO", "JsonSchema": "JSON", "Protobuf": "PROTOBUF"}
# Confluent error codes (the HTTP status followed by a detail number).
SUBJECT_NOT_FOUND, VERSION_NOT_FOUND, SCHEMA_NOT_FOUND, CONFIG_NOT_FOUND = 40401, 40402, 40403, 40408
INVALID_SCHEMA_CODES = {42201, 42202}


@dataclass(frozen=True)
class SchemaDocument:
    """What is registered: the text, its type, and the references it imports."""

    text: str
    type: str  # Avro, JsonSchema or Protobuf
    references: tuple[tuple[str, str, int], ...] = ()  # (name, subject, version)

    def payload(self) -> dict[str, Any]:
        body: dict[str, Any] = {"schema": self.text, "schemaType": SCHEMA_TYPES[self.type]}
        if self.references:
            body["references"] = [{"name": n, "subject": s, "version": v}
                                  for n, s, v in self.references]
        return body


@dataclass(frozen=True)
class Registered:
    subject: str
    version: int
    id: int


@dataclass(frozen=True)
class Compatibility:
    compatible: bool
    messages: tuple[str, ...] = ()  # the registry's reasons, when it gives them (verbose)


@dataclass(frozen=True)
class RegistrySettings:
    """How to reach one registry. Credentials are held here only, never formatted."""

    url: str
    username: str | None = None
    password: str | None = None
    ca_pem: str | None = None
    timeout_seconds: float = 10.0

    def __repr__(self) -> str:  # a stray log line or traceback must not print the password
        return f"RegistrySettings(url={display_url(self.url)!r})"


def display_url(url: str) -> str:
    """The URL without user information, for messages."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


class RegistryClient:
    """One registry; use as `async with RegistryClient(settings) as registry:`."""

    def __init__(self, settings: RegistrySettings) -> None:
        self.settings = settings
        self.where = display_url(settings.url)
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> RegistryClient:
        auth = None
        if self.settings.username is not None:
            auth = aiohttp.BasicAuth(self.settings.username, self.settings.password or "")
        connector = aiohttp.TCPConnector(ssl=self._ssl_context())
        self._session = aiohttp.ClientSession(
            base_url=None, auth=auth, connector=connector, headers={"Accept": CONTENT_TYPE},
            timeout=aiohttp.ClientTimeout(total=self.settings.timeout_seconds))
        return self

    async def __aexit__(self, *_: object) -> None:
        if self._session is not None:
            await self._session.close()

    def _ssl_context(self) -> ssl.SSLContext | bool:
        if not self.settings.url.startswith("https://"):
            return False
        context = ssl.create_default_context()
        if self.settings.ca_pem:
            try:
                context.load_verify_locations(cadata=self.settings.ca_pem)
            except (ssl.SSLError, ValueError):
                raise RegistryTlsFailed(
                    f"the CA for schema registry {self.where} is not PEM certificates") from None
        return context

    # -- the API ------------------------------------------------------------------------------

    async def compatibility_level(self, subject: str) -> str | None:
        """The level set on the subject itself; None when it has none of its own."""
        found = await self._call("GET", f"/config/{_s(subject)}",
                                 missing=(SUBJECT_NOT_FOUND, CONFIG_NOT_FOUND))
        if found is None:
            return None
        level = found.get("compatibilityLevel") or found.get("compatibility")
        return str(level) if level else None

    async def set_compatibility_level(self, subject: str, level: str) -> None:
        await self._call("PUT", f"/config/{_s(subject)}", {"compatibility": level})

    async def lookup(self, subject: str, schema: SchemaDocument) -> Registered | None:
        """The version of the subject that holds exactly this schema, if any."""
        found = await self._call("POST", f"/subjects/{_s(subject)}", schema.payload(),
                                 missing=(SUBJECT_NOT_FOUND, SCHEMA_NOT_FOUND))
        return None if found is None else _registered(subject, found)

    async def latest(self, subject: str) -> Registered | None:
        found = await self._call("GET", f"/subjects/{_s(subject)}/versions/latest",
                                 missing=(SUBJECT_NOT_FOUND, VERSION_NOT_FOUND))
        return None if found is None else _registered(subject, found)

    async def versions(self, subject: str) -> list[int]:
        found = await self._call("GET", f"/subjects/{_s(subject)}/versions",
                                 missing=(SUBJECT_NOT_FOUND,))
        return [int(v) for v in found] if isinstance(found, list) else []

    async def check(self, subject: str, schema: SchemaDocument) -> Compatibility:
        """Would registering `schema` keep the subject's compatibility level? Checked against
        every version the level covers (the transitive levels need all of them, not only the
        latest); a subject without versions accepts anything."""
        found = await self._call("POST", f"/compatibility/subjects/{_s(subject)}/versions",
                                 schema.payload(), params={"verbose": "true"},
                                 missing=(SUBJECT_NOT_FOUND,))
        if found is None:
            return Compatibility(True)
        messages = tuple(str(m) for m in found.get("messages") or ())
        return Compatibility(bool(found.get("is_compatible")), messages)

    async def register(self, subject: str, schema: SchemaDocument) -> int:
        """Registers the schema as the subject's next version; returns its id."""
        found = await self._call("POST", f"/subjects/{_s(subject)}/versions", schema.payload())
        return int(found["id"])

    async def delete_version(self, subject: str, version: int) -> None:
        await self._call("DELETE", f"/subjects/{_s(subject)}/versions/{version}",
                         missing=(SUBJECT_NOT_FOUND, VERSION_NOT_FOUND))

    # -- one request --------------------------------------------------------------------------

    async def _call(self, method: str, path: str, body: Mapping[str, Any] | None = None,
                    params: Mapping[str, str] | None = None,
                    missing: Sequence[int] = ()) -> Any:
        """The decoded answer; None for an answer whose error code is in `missing`."""
        assert self._session is not None, "use the client as an async context manager"
        url = self.settings.url.rstrip("/") + path
        headers = {"Content-Type": CONTENT_TYPE} if body is not None else {}
        try:
            async with self._session.request(method, url, json=body, params=params,
                                             headers=headers) as response:
                payload = await _payload(response)
                status = response.status
        except aiohttp.ClientConnectorCertificateError:
            raise RegistryTlsFailed(
                f"the certificate of schema registry {self.where} could not be verified") from None
        except (TimeoutError, aiohttp.ClientError, OSError) as error:
            raise RegistryUnavailable(
                f"schema registry {self.where} is unreachable ({type(error).__name__})") from None
        if status < 300:
            return payload
        code = int(payload.get("error_code") or status) if isinstance(payload, dict) else status
        if code in missing:
            return None
        raise self._error(method, path, status, code, payload)

    def _error(self, method: str, path: str, status: int, code: int, payload: Any) -> RegistryError:
        said = payload.get("message") if isinstance(payload, dict) else None
        said = str(said or f"HTTP {status}")
        if status in (401, 403):
            return RegistryUnauthorized(
                f"schema registry {self.where} refused the credentials or the operation "
                f"(HTTP {status}: {said})")
        if status == 409:
            return IncompatibleSchema(said)
        if status == 422 or code in INVALID_SCHEMA_CODES:
            return InvalidSchema(said)
        if status >= 500 or status in (404, 408, 429):  # 404 here: not a registry at that URL
            return RegistryUnavailable(
                f"schema registry {self.where} answered {method} {path} with HTTP {status}: {said}")
        return RegistryError(f"schema registry {self.where}: {method} {path}: {said}")


async def _payload(response: aiohttp.ClientResponse) -> Any:
    try:
        return await response.json(content_type=None)
    except ValueError:
        return {"message": (await response.text())[:500]}


def _registered(subject: str, found: Mapping[str, Any]) -> Registered:
    return Registered(subject=str(found.get("subject") or subject), version=int(found["version"]),
                      id=int(found["id"]))


def _s(subject: str) -> str:
    return quote(subject, safe="")
