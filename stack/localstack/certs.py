"""Throw-away PKIs: one for the control plane, one for Kafka's TLS listeners.

The two CAs are separate on purpose: the Kubernetes API server accepts any client certificate
its CA signed as a user, so a Kafka client certificate from that CA would also be a Kubernetes
credential. Keeping them apart also gives tests a real CA that did not sign the broker (the
control plane's), for the "wrong CA" case.
"""

from __future__ import annotations

import datetime
import ipaddress
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

_VALIDITY = datetime.timedelta(days=3650)
# The real node's name: the kubelet takes a hostname override that is an IP as its address, so
# the Node's InternalIP is 127.0.0.1 (an explicit --node-ip may not be a loopback address).
NODE_NAME = "127.0.0.1"
_LOCALHOST = [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]


def _key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _key_pem(key: rsa.RSAPrivateKey, pkcs8: bool = False) -> bytes:
    # Kafka's PEM key stores read PKCS#8 only; the control plane takes the traditional form.
    form = serialization.PrivateFormat.PKCS8 if pkcs8 else serialization.PrivateFormat.TraditionalOpenSSL
    return key.private_bytes(serialization.Encoding.PEM, form, serialization.NoEncryption())


def _cert_pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def _write_secret(path: Path, data: bytes) -> None:
    path.write_bytes(data)
    path.chmod(0o600)


def _name(cn: str, org: str | None = None) -> x509.Name:
    attrs = [x509.NameAttribute(NameOID.COMMON_NAME, cn)]
    if org:
        attrs.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, org))
    return x509.Name(attrs)


def _builder(subject: x509.Name, issuer: x509.Name, key: rsa.RSAPrivateKey) -> x509.CertificateBuilder:
    now = datetime.datetime.now(datetime.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(subject).issuer_name(issuer).public_key(key.public_key())
        .serial_number(x509.random_serial_number())  # positive: Go rejects negative serials
        .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + _VALIDITY)
    )


@dataclass(frozen=True)
class _Ca:
    name: x509.Name
    key: rsa.RSAPrivateKey
    cert: x509.Certificate

    @classmethod
    def create(cls, common_name: str) -> _Ca:
        key, name = _key(), _name(common_name)
        cert = (
            _builder(name, name, key)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(
                digital_signature=True, key_cert_sign=True, crl_sign=True, content_commitment=False,
                key_encipherment=False, data_encipherment=False, key_agreement=False,
                encipher_only=False, decipher_only=False), critical=True)
            .sign(key, hashes.SHA256())
        )
        return cls(name, key, cert)

    def issue(self, subject: x509.Name, usage: x509.ObjectIdentifier | list[x509.ObjectIdentifier],
              sans: list[x509.GeneralName] | None = None) -> tuple[rsa.RSAPrivateKey, x509.Certificate]:
        key = _key()
        usages = usage if isinstance(usage, list) else [usage]
        builder = _builder(subject, self.name, key).add_extension(
            x509.ExtendedKeyUsage(usages), critical=False)
        if sans:
            builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
        return key, builder.sign(self.key, hashes.SHA256())


def write_pki(directory: Path) -> None:
    """Writes ca.{crt,key}, serving.{crt,key}, admin.{crt,key}, node.{crt,key} (the real node's
    kubelet), sa.{key,pub} and the front proxy's front-proxy-ca.crt and
    front-proxy-client.{crt,key} into directory."""
    directory.mkdir(parents=True, exist_ok=True)
    ca = _Ca.create("eventsub-localstack-ca")
    _write_secret(directory / "ca.key", _key_pem(ca.key))
    (directory / "ca.crt").write_bytes(_cert_pem(ca.cert))

    def leaf(stem: str, subject: x509.Name, usage: x509.ObjectIdentifier,
             sans: list[x509.GeneralName] | None = None) -> None:
        key, cert = ca.issue(subject, usage, sans)
        _write_secret(directory / f"{stem}.key", _key_pem(key))
        (directory / f"{stem}.crt").write_bytes(_cert_pem(cert))

    leaf("serving", _name("kube-apiserver"), ExtendedKeyUsageOID.SERVER_AUTH, _LOCALHOST)
    # O=system:masters bypasses RBAC: the admin identity of tests and the stack itself.
    leaf("admin", _name("eventsub-admin", "system:masters"), ExtendedKeyUsageOID.CLIENT_AUTH)
    # The real node's kubelet: the identity the API server's Node conventions expect.
    leaf("node", _name(f"system:node:{NODE_NAME}", "system:nodes"), ExtendedKeyUsageOID.CLIENT_AUTH)

    sa_key = _key()
    _write_secret(directory / "sa.key", _key_pem(sa_key))
    (directory / "sa.pub").write_bytes(sa_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    _write_front_proxy(directory)


def _write_front_proxy(directory: Path) -> None:
    """The aggregation layer's identity: the API server presents front-proxy-client when it
    proxies to an extension API server (a metrics adapter), which trusts it through
    front-proxy-ca. A CA of its own, as the request headers it vouches for name any user."""
    ca = _Ca.create("eventsub-localstack-front-proxy-ca")
    (directory / "front-proxy-ca.crt").write_bytes(_cert_pem(ca.cert))
    key, cert = ca.issue(_name("front-proxy-client"), ExtendedKeyUsageOID.CLIENT_AUTH)
    _write_secret(directory / "front-proxy-client.key", _key_pem(key))
    (directory / "front-proxy-client.crt").write_bytes(_cert_pem(cert))


def write_keda_pki(directory: Path, names: list[str], addresses: list[str]) -> None:
    """KEDA's ca.crt, tls.crt and tls.key: one certificate for both ends of its metrics service
    (gRPC with client certificates both ways) and for the adapter's serving port, which the
    API server checks against the APIService's caBundle."""
    directory.mkdir(parents=True, exist_ok=True)
    ca = _Ca.create("eventsub-localstack-keda-ca")
    (directory / "ca.crt").write_bytes(_cert_pem(ca.cert))
    sans: list[x509.GeneralName] = [*_LOCALHOST, *(x509.DNSName(n) for n in names),
                                    *(x509.IPAddress(ipaddress.ip_address(a)) for a in addresses)]
    key, cert = ca.issue(_name("keda"), [ExtendedKeyUsageOID.SERVER_AUTH,
                                         ExtendedKeyUsageOID.CLIENT_AUTH], sans)
    _write_secret(directory / "tls.key", _key_pem(key))
    (directory / "tls.crt").write_bytes(_cert_pem(cert))


@dataclass(frozen=True)
class KafkaPki:
    """The files of Kafka's PKI: what the broker loads and what a client needs."""

    ca: Path  # the CA certificate: the broker's trust store, and the clients' CA
    broker: Path  # the broker's PEM key store: its PKCS#8 key, then its certificate
    client_certificate: Path
    client_key: Path

    @classmethod
    def at(cls, directory: Path) -> KafkaPki:
        return cls(directory / "ca.crt", directory / "broker.pem", directory / "client.crt",
                   directory / "client.key")


def write_kafka_pki(directory: Path) -> KafkaPki:
    """A CA of its own, the broker's certificate (SANs 127.0.0.1 and localhost) and one client
    certificate for the listener that requires them. The CA's key is not kept: nothing else
    is ever signed with it."""
    directory.mkdir(parents=True, exist_ok=True)
    pki = KafkaPki.at(directory)
    ca = _Ca.create("eventsub-localstack-kafka-ca")
    pki.ca.write_bytes(_cert_pem(ca.cert))
    key, cert = ca.issue(_name("localhost"), ExtendedKeyUsageOID.SERVER_AUTH, _LOCALHOST)
    _write_secret(pki.broker, _key_pem(key, pkcs8=True) + _cert_pem(cert))
    key, cert = ca.issue(_name("eventsub-kafka-client"), ExtendedKeyUsageOID.CLIENT_AUTH)
    _write_secret(pki.client_key, _key_pem(key, pkcs8=True))
    pki.client_certificate.write_bytes(_cert_pem(cert))
    return pki


def unrelated_ca_pem() -> bytes:
    """The certificate of a fresh CA that signed nothing: a wrong CA, for tests."""
    return _cert_pem(_Ca.create("eventsub-unrelated-ca").cert)


def unrelated_client_pem() -> tuple[bytes, bytes]:
    """A client certificate and its key from a fresh CA that nothing trusts, for tests."""
    key, cert = _Ca.create("eventsub-unrelated-ca").issue(
        _name("eventsub-untrusted-client"), ExtendedKeyUsageOID.CLIENT_AUTH)
    return _cert_pem(cert), _key_pem(key, pkcs8=True)
