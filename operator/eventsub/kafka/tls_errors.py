"""librdkafka's TLS failures, explained: what went wrong, and which field of the spec fixes it.

librdkafka reports them as OpenSSL text, some as transport errors (a broker that refuses the
client's certificate closes the connection after the handshake, with a TLS alert). Recognised
here by that text (librdkafka 2.x wording); anything else is left to the general mapping.
"""

from __future__ import annotations

import re

from eventsub.core.client_config import TLS_FIELDS
from eventsub.kafka.errors import KafkaRequestError

TLS_FAILED = "TlsFailed"

_BROKER = re.compile(r"^[a-z_]+://([^/\s]+)/")
# Alerts a broker sends when it requires a client certificate and got none, or distrusts it.
_CLIENT_CERTIFICATE_ALERT = re.compile(
    r"alert (bad certificate|certificate required|unknown ca|certificate unknown"
    r"|unsupported certificate|certificate expired|certificate revoked)")
_KEY_MISMATCH = "key values mismatch"
_HANDSHAKE = re.compile(r"SSL handshake failed: (.*?)(?: \(after \d+ms in state \w+\))?$")


def tls_failure(text: str, client_certificate: bool) -> KafkaRequestError | None:
    """A TlsFailed error for librdkafka's error text, or None if it is not about TLS.

    client_certificate: whether the client presented one (spec.tls.clientCertificate)."""
    broker = _broker(text)
    alert = _CLIENT_CERTIFICATE_ALERT.search(text)
    if "certificate verify failed" in text:
        return _failed(
            f"the certificate of {broker} is not trusted: it is not signed by the CA in "
            "spec.tls.ca (without spec.tls.ca: by a CA the system trusts), or it does not name "
            "the host in spec.bootstrapServers")
    if alert and not client_certificate:
        return _failed(
            f"{broker} requires a client certificate (mutual TLS; TLS alert: {alert.group(1)}): "
            "set spec.tls.clientCertificate and spec.tls.clientKey")
    if alert:
        return _failed(
            f"{broker} refused the client certificate of spec.tls.clientCertificate (TLS alert: "
            f"{alert.group(1)}): it is not signed by a CA the brokers trust, or it has expired")
    if "connecting to a PLAINTEXT broker listener" in text:
        return _failed(
            f"{broker} does not speak TLS on that port (a PLAINTEXT or SASL_PLAINTEXT listener?): "
            "check spec.securityProtocol and the ports in spec.bootstrapServers")
    setting = _invalid_setting(text)
    if setting is not None:
        return _failed(setting)
    handshake = _HANDSHAKE.search(text)
    if handshake:
        return _failed(f"the TLS handshake with {broker} failed: {handshake.group(1)}")
    return None


def _invalid_setting(text: str) -> str | None:
    """Material the client could not load: a Secret's key that holds the wrong thing."""
    if _KEY_MISMATCH in text:
        return ("spec.tls.clientKey is not the private key of the certificate in "
                "spec.tls.clientCertificate")
    what = {"ssl.ca.pem": "a PEM certificate", "ssl.certificate.pem": "a PEM certificate",
            "ssl.key.pem": "an unencrypted PEM private key"}
    for setting, field in TLS_FIELDS.items():
        if f"{setting} failed" in text or f"from {setting}" in text:
            # OpenSSL's detail says where parsing stopped, never what it read.
            return f"{field} does not hold {what[setting]}"
    return None


def _broker(text: str) -> str:
    found = _BROKER.match(text)
    return f"the broker at {found.group(1)}" if found else "the broker"


def _failed(message: str) -> KafkaRequestError:
    return KafkaRequestError(TLS_FAILED, f"TLS: {message}")
