"""librdkafka's TLS failures (its 2.x wording, as seen against the local broker and a server
that does not speak TLS) become TlsFailed with a message that names the spec field to fix;
other errors are left alone."""

from __future__ import annotations

import pytest

from eventsub.kafka.admin import ClusterAdmin
from eventsub.kafka.errors import KafkaRequestError
from eventsub.kafka.tls_errors import tls_failure

WRONG_CA = (
    "ssl://127.0.0.1:56139/bootstrap: SSL handshake failed: error:0A000086:SSL routines::"
    "certificate verify failed: broker certificate could not be verified, verify that "
    "ssl.ca.location is correctly configured or root CA certificates are installed (install "
    "ca-certificates package) (after 5ms in state SSL_HANDSHAKE)")
CLIENT_CERTIFICATE_REFUSED = (
    "ssl://127.0.0.1:34873/bootstrap: Receive failed: error:0A000412:SSL routines::ssl/tls alert "
    "bad certificate: SSL alert number 42 (after 0ms in state APIVERSION_QUERY)")
PLAINTEXT_LISTENER = (
    "ssl://127.0.0.1:33923/bootstrap: SSL handshake failed: Disconnected: SSL connection closed "
    "by peer: connecting to a PLAINTEXT broker listener? (after 1ms in state SSL_HANDSHAKE)")


@pytest.mark.parametrize(("text", "client_certificate", "message"), [
    (WRONG_CA, False, "TLS: the certificate of the broker at 127.0.0.1:56139 is not trusted: it "
                      "is not signed by the CA in spec.tls.ca"),
    (CLIENT_CERTIFICATE_REFUSED, False,
     "TLS: the broker at 127.0.0.1:34873 requires a client certificate (mutual TLS; TLS alert: "
     "bad certificate): set spec.tls.clientCertificate and spec.tls.clientKey"),
    (CLIENT_CERTIFICATE_REFUSED, True,
     "TLS: the broker at 127.0.0.1:34873 refused the client certificate of "
     "spec.tls.clientCertificate (TLS alert: bad certificate): it is not signed by a CA"),
    (PLAINTEXT_LISTENER, False, "TLS: the broker at 127.0.0.1:33923 does not speak TLS"),
    ("failed to read certificate #0 from ssl.ca.pem: not in PEM format?: error:0480006C:PEM "
     "routines::no start line: Expecting: CERTIFICATE", False,
     "TLS: spec.tls.ca does not hold a PEM certificate"),
    ("ssl.certificate.pem failed: error reading certificate: error:0480006C:PEM routines::no "
     "start line: Expecting: CERTIFICATE", True,
     "TLS: spec.tls.clientCertificate does not hold a PEM certificate"),
    ("ssl.key.pem failed: not in PEM format?: error:1E08010C:DECODER routines::unsupported: No "
     "supported data to decode. Input type: PEM", True,
     "TLS: spec.tls.clientKey does not hold an unencrypted PEM private key"),
    ("ssl.key.pem failed: error:05800074:x509 certificate routines::key values mismatch", True,
     "TLS: spec.tls.clientKey is not the private key of the certificate in "
     "spec.tls.clientCertificate"),
    ("ssl://127.0.0.1:1/bootstrap: SSL handshake failed: error:0A00010B:SSL routines::wrong "
     "version number (after 0ms in state SSL_HANDSHAKE)", False,
     "TLS: the TLS handshake with the broker at 127.0.0.1:1 failed: error:0A00010B:SSL routines::"
     "wrong version number"),
])
def test_tls_failures_name_the_field_to_fix(text: str, client_certificate: bool,
                                            message: str) -> None:
    error = tls_failure(text, client_certificate)
    assert error is not None and error.reason == "TlsFailed"
    assert error.message.startswith(message), error.message
    assert "ssl.ca.location" not in error.message and "(after " not in error.message


@pytest.mark.parametrize("text", [
    "1/1 brokers are down",
    "sasl_plaintext://127.0.0.1:1/bootstrap: SASL authentication error: Authentication failed "
    "during authentication due to invalid credentials with SASL mechanism SCRAM-SHA-512",
    "127.0.0.1:9092/bootstrap: Connect to ipv4#127.0.0.1:9092 failed: Connection refused",
])
def test_other_errors_are_not_tls_failures(text: str) -> None:
    assert tls_failure(text, client_certificate=False) is None


def test_tls_material_the_client_cannot_load_is_refused_when_the_client_is_made() -> None:
    # librdkafka checks the PEM before it connects anywhere.
    with pytest.raises(KafkaRequestError) as refused:
        ClusterAdmin({"bootstrap.servers": "127.0.0.1:9", "security.protocol": "SSL",
                      "ssl.ca.pem": "not a certificate"})
    assert (refused.value.reason, refused.value.message) == (
        "TlsFailed", "TLS: spec.tls.ca does not hold a PEM certificate")


def test_an_unknown_client_setting_is_invalid_client_config() -> None:
    with pytest.raises(KafkaRequestError) as refused:
        ClusterAdmin({"bootstrap.servers": "127.0.0.1:9", "no.such.setting": "1"})
    assert refused.value.reason == "InvalidClientConfig"
    assert refused.value.message == ('the Kafka client refused the settings: No such '
                                     'configuration property: "no.such.setting"')
