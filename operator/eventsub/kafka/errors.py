"""Kafka errors as domain errors: a CamelCase reason and a message fit for a person."""

from __future__ import annotations

from confluent_kafka import KafkaError, KafkaException

# Errors meaning "the cluster is not reachable or not ready": retried with backoff.
_UNAVAILABLE = {
    KafkaError._TRANSPORT, KafkaError._TIMED_OUT, KafkaError._ALL_BROKERS_DOWN,
    KafkaError._RESOLVE, KafkaError.REQUEST_TIMED_OUT, KafkaError.NOT_CONTROLLER,
    KafkaError.BROKER_NOT_AVAILABLE, KafkaError.LEADER_NOT_AVAILABLE,
    KafkaError.NETWORK_EXCEPTION, KafkaError._WAIT_COORD, KafkaError.COORDINATOR_NOT_AVAILABLE,
}

_REASONS = {
    KafkaError.TOPIC_ALREADY_EXISTS: "TopicAlreadyExists",
    KafkaError.UNKNOWN_TOPIC_OR_PART: "TopicNotFound",
    KafkaError.INVALID_CONFIG: "InvalidConfig",
    KafkaError.INVALID_REQUEST: "InvalidConfig",
    KafkaError.INVALID_PARTITIONS: "InvalidPartitions",
    KafkaError.INVALID_REPLICATION_FACTOR: "InvalidReplicationFactor",
    KafkaError.TOPIC_EXCEPTION: "InvalidTopicName",
    KafkaError.POLICY_VIOLATION: "PolicyViolation",
    KafkaError.TOPIC_AUTHORIZATION_FAILED: "NotAuthorized",
    KafkaError.CLUSTER_AUTHORIZATION_FAILED: "NotAuthorized",
    KafkaError.GROUP_AUTHORIZATION_FAILED: "NotAuthorized",
    KafkaError.SASL_AUTHENTICATION_FAILED: "AuthenticationFailed",
    KafkaError._AUTHENTICATION: "AuthenticationFailed",
    KafkaError._SSL: "TlsFailed",
    KafkaError.TOPIC_DELETION_DISABLED: "TopicDeletionDisabled",
    KafkaError.GROUP_ID_NOT_FOUND: "GroupNotFound",
    KafkaError.NON_EMPTY_GROUP: "GroupNotEmpty",
    KafkaError.UNKNOWN_MEMBER_ID: "GroupNotEmpty",
}


class KafkaRequestError(Exception):
    """A request the cluster answered with an error."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


class KafkaUnavailable(KafkaRequestError):
    """The cluster could not be reached (or timed out); worth retrying later."""

    def __init__(self, message: str) -> None:
        super().__init__("KafkaUnavailable", message)


def from_exception(error: BaseException, what: str) -> KafkaRequestError:
    """Maps whatever a confluent-kafka future raised to a domain error."""
    if isinstance(error, KafkaRequestError):
        return error
    if isinstance(error, TimeoutError):
        return KafkaUnavailable(f"Kafka did not answer in time ({what})")
    kafka_error = error.args[0] if isinstance(error, KafkaException) and error.args else None
    if not isinstance(kafka_error, KafkaError):
        return KafkaRequestError("KafkaError", f"{what}: {type(error).__name__}: {error}")
    code = kafka_error.code()
    if code in _UNAVAILABLE:
        return KafkaUnavailable(f"Kafka unreachable or not answering ({what}: {kafka_error.str()})")
    reason = _REASONS.get(code, "KafkaError")
    return KafkaRequestError(reason, f"{what}: {kafka_error.str()}")
