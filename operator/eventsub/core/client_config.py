"""librdkafka settings for one KafkaConnection, from its spec and the credentials it references."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass

from eventsub.api.connection import KafkaConnectionSpec

# The spec field behind each TLS setting: error messages name the field a user can fix.
TLS_FIELDS = {"ssl.ca.pem": "spec.tls.ca", "ssl.certificate.pem": "spec.tls.clientCertificate",
              "ssl.key.pem": "spec.tls.clientKey"}


@dataclass(frozen=True)
class Credentials:
    """Secret material read from the referenced Secrets. Never logged, never in messages."""

    sasl_username: str | None = None
    sasl_password: str | None = None
    ca_pem: str | None = None
    certificate_pem: str | None = None
    key_pem: str | None = None

    def secrets(self) -> tuple[str, ...]:
        return tuple(s for s in (self.sasl_password, self.key_pem) if s)

    def __repr__(self) -> str:  # keeps secrets out of tracebacks and debug logs
        return "Credentials(<redacted>)"


def client_config(spec: KafkaConnectionSpec, credentials: Credentials) -> dict[str, str]:
    config = dict(spec.client_config)
    config["bootstrap.servers"] = ",".join(spec.bootstrap_servers)
    config["security.protocol"] = spec.security_protocol
    if spec.sasl is not None:
        config["sasl.mechanism"] = spec.sasl.mechanism
        config["sasl.username"] = credentials.sasl_username or ""
        config["sasl.password"] = credentials.sasl_password or ""
    for key, value in (("ssl.ca.pem", credentials.ca_pem),
                       ("ssl.certificate.pem", credentials.certificate_pem),
                       ("ssl.key.pem", credentials.key_pem)):
        if value:
            config[key] = value
    return config


def fingerprint(config: Mapping[str, str]) -> str:
    """Changes whenever any setting or credential changes; reveals nothing about them."""
    return hashlib.sha256(json.dumps(dict(config), sort_keys=True).encode()).hexdigest()[:16]


def redact(text: str, secrets: tuple[str, ...]) -> str:
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text
