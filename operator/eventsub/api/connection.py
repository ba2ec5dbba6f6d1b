"""KafkaConnection: how to reach one Kafka cluster. Credentials only by Secret reference."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from eventsub.api.base import (
    ApiModel,
    CommonStatus,
    ConfigMapKeySelector,
    ObjectName,
    SecretKeySelector,
    cel,
    validations,
)

SecurityProtocol = Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"]
SaslMechanism = Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"]

# Client settings that carry secrets or are owned by the typed fields; refused in clientConfig.
RESERVED_CLIENT_SETTINGS = (
    "bootstrap.servers", "security.protocol", "sasl.mechanism", "sasl.mechanisms",
    "sasl.username", "sasl.password", "sasl.jaas.config", "ssl.key.password", "ssl.key.pem",
    "ssl.key.location", "ssl.keystore.password", "ssl.keystore.location", "ssl.truststore.password",
    "ssl.ca.pem", "ssl.certificate.pem",
)

BootstrapServer = Annotated[str, Field(
    min_length=3, max_length=260, pattern=r"^[A-Za-z0-9.\-\[\]:]+:[0-9]{1,5}$")]


class TlsSettings(ApiModel):
    """TLS towards the brokers. Without a CA the system trust store is used."""

    ca: SecretKeySelector | None = None
    """Secret key holding the PEM CA certificate(s) that signed the brokers' certificates."""
    client_certificate: SecretKeySelector | None = None
    """Secret key holding the PEM client certificate, for mutual TLS (with clientKey)."""
    client_key: SecretKeySelector | None = None
    """Secret key holding the PEM private key of the client certificate (with clientCertificate)."""


class SaslSettings(ApiModel):
    """SASL authentication. Username and password are read from one Secret."""

    mechanism: SaslMechanism
    """SASL mechanism: PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512."""
    secret_name: ObjectName
    """Name of the Secret, in the same namespace, that holds the username and password."""
    username_key: Annotated[str, Field(min_length=1, max_length=253)] = "username"
    """Key of the username in the Secret."""
    password_key: Annotated[str, Field(min_length=1, max_length=253)] = "password"
    """Key of the password in the Secret."""


class RegistryCa(ApiModel):
    """Where the PEM CA certificate(s) of the registry's TLS certificate are: a Secret or a
    ConfigMap key (a CA is not a secret)."""

    model_config = {"json_schema_extra": validations(
        cel("has(self.secretKeyRef) != has(self.configMapKeyRef)",
            "spec.schemaRegistry.ca needs exactly one of secretKeyRef or configMapKeyRef"),
    )}

    secret_key_ref: SecretKeySelector | None = None
    """Secret key holding the PEM CA certificate(s)."""
    config_map_key_ref: ConfigMapKeySelector | None = None
    """ConfigMap key holding the PEM CA certificate(s)."""


class RegistryBasicAuth(ApiModel):
    """HTTP basic authentication towards the registry; user and password read from one Secret."""

    secret_name: ObjectName
    """Name of the Secret, in the same namespace, that holds the user and password."""
    username_key: Annotated[str, Field(min_length=1, max_length=253)] = "username"
    """Key of the user name in the Secret."""
    password_key: Annotated[str, Field(min_length=1, max_length=253)] = "password"
    """Key of the password in the Secret."""


class SchemaRegistrySettings(ApiModel):
    """A schema registry speaking the Confluent Schema Registry API (Confluent, Apicurio's
    /apis/ccompat/v7, Redpanda, Karapace), where EventTopics register their schemas."""

    url: Annotated[str, Field(min_length=8, max_length=2048, pattern=r"^https?://[^\s@]+$")]
    """Base URL of the Confluent-compatible API, e.g. https://registry:8081 or
    http://apicurio:8080/apis/ccompat/v7. No credentials in it: use basicAuth."""
    basic_auth: RegistryBasicAuth | None = None
    """Basic authentication, credentials by Secret reference."""
    ca: RegistryCa | None = None
    """CA of an https registry; without it the system trust store is used."""


# Held by a KafkaConnection while Delete-policy EventTopics that use it still have a Kafka topic
# to delete: deleting a whole namespace must not take the connection away from them first.
TOPICS_FIRST_FINALIZER = "eventsub.io/delete-topics-first"


class KafkaConnectionSpec(ApiModel):
    """How to reach one Kafka cluster."""

    model_config = {"json_schema_extra": validations(
        cel("!self.securityProtocol.startsWith('SASL') || has(self.sasl)",
            "spec.sasl is required when spec.securityProtocol is SASL_PLAINTEXT or SASL_SSL",
            ".sasl"),
        cel("!has(self.sasl) || self.securityProtocol.startsWith('SASL')",
            "spec.sasl needs spec.securityProtocol SASL_PLAINTEXT or SASL_SSL", ".securityProtocol"),
        cel("!has(self.tls) || self.securityProtocol.endsWith('SSL')",
            "spec.tls needs spec.securityProtocol SSL or SASL_SSL", ".securityProtocol"),
    )}

    bootstrap_servers: Annotated[list[BootstrapServer], Field(min_length=1, max_length=64)]
    """Initial brokers to contact, as host:port."""
    security_protocol: SecurityProtocol = "PLAINTEXT"
    """Protocol towards the brokers: PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL."""
    tls: Annotated[TlsSettings | None, Field(json_schema_extra=validations(
        cel("has(self.clientCertificate) == has(self.clientKey)",
            "spec.tls.clientCertificate and spec.tls.clientKey go together"),
    ))] = None
    """TLS settings, for SSL and SASL_SSL."""
    sasl: SaslSettings | None = None
    """SASL settings, for SASL_PLAINTEXT and SASL_SSL."""
    client_config: Annotated[dict[str, Annotated[str, Field(max_length=4096)]], Field(
        max_length=64,
        json_schema_extra=validations(cel(
            "self.all(k, !(k in " + str(list(RESERVED_CLIENT_SETTINGS)).replace("'", '"') + "))",
            "spec.clientConfig must not set bootstrap, security or credential settings: use "
            "bootstrapServers, securityProtocol, tls and sasl (credentials only by Secret)")),
    )] = {}
    """Extra librdkafka client settings (e.g. client.id, socket.timeout.ms); no credentials."""
    schema_registry: Annotated[SchemaRegistrySettings | None, Field(json_schema_extra=validations(
        cel("!has(self.ca) || self.url.startsWith('https://')",
            "spec.schemaRegistry.ca needs an https:// url", ".url"),
    ))] = None
    """The schema registry of this cluster, where EventTopics with spec.schema register it."""


class KafkaConnectionStatus(CommonStatus):
    """Observed state of the connection."""

    cluster_id: str | None = None
    """Kafka cluster id reported by the brokers."""
    broker_count: Annotated[int, Field(ge=0)] | None = None
    """Number of brokers in the cluster metadata."""
    controller_id: int | None = None
    """Id of the active controller broker."""
