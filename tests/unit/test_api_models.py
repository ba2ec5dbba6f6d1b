"""The models read the samples, keep them intact, and default what the docs say."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import BaseModel, ValidationError

from eventsub.api import (
    RESOURCES,
    EventReplaySpec,
    EventSubscriptionSpec,
    EventTopicSpec,
    KafkaConnectionSpec,
)

SAMPLES = Path(__file__).resolve().parents[2] / "manifests" / "samples"
SPEC_BY_KIND: dict[str, type[BaseModel]] = {r.kind: r.spec for r in RESOURCES}


def _sample_documents() -> list[tuple[str, dict[str, Any]]]:
    documents = []
    for path in sorted(SAMPLES.glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            if doc and doc["kind"] in SPEC_BY_KIND:
                documents.append((f"{path.name}:{doc['metadata']['name']}", doc))
    return documents


def _is_subset(small: Any, big: Any) -> bool:
    if isinstance(small, dict):
        return isinstance(big, dict) and all(k in big and _is_subset(v, big[k])
                                             for k, v in small.items())
    return bool(small == big)


def test_samples_cover_every_kind() -> None:
    assert {doc["kind"] for _, doc in _sample_documents()} == set(SPEC_BY_KIND)


@pytest.mark.parametrize(("label", "doc"), _sample_documents(), ids=lambda v: v if isinstance(v, str) else "")
def test_sample_round_trips(label: str, doc: dict[str, Any]) -> None:
    model = SPEC_BY_KIND[doc["kind"]]
    spec = model.model_validate(doc["spec"])
    written = spec.to_api()  # type: ignore[attr-defined]
    assert _is_subset(doc["spec"], written), label
    assert model.model_validate(written) == spec


def test_connection_defaults() -> None:
    spec = KafkaConnectionSpec.model_validate({"bootstrapServers": ["k:9092"]})
    assert spec.security_protocol == "PLAINTEXT"
    assert spec.tls is None and spec.sasl is None and spec.client_config == {}


def test_sasl_secret_keys_default_to_username_and_password() -> None:
    spec = KafkaConnectionSpec.model_validate({
        "bootstrapServers": ["k:9092"], "securityProtocol": "SASL_PLAINTEXT",
        "sasl": {"mechanism": "SCRAM-SHA-512", "secretName": "creds"}})
    assert spec.sasl is not None
    assert (spec.sasl.username_key, spec.sasl.password_key) == ("username", "password")


def test_topic_defaults() -> None:
    spec = EventTopicSpec.model_validate({"connectionRef": {"name": "local"}})
    assert spec.partitions == 1
    assert spec.deletion_policy == "Retain"
    assert spec.topic_name is None and spec.replication_factor is None and spec.config == {}


def test_subscription_scaling_defaults_follow_keda_where_keda_is_right() -> None:
    spec = EventSubscriptionSpec.model_validate({
        "connectionRef": {"name": "local"}, "topics": [{"name": "t"}], "template": {}})
    s = spec.scaling
    assert (s.mode, s.min_replicas, s.max_replicas, s.lag_threshold) == ("Auto", 1, 10, 10)
    assert (s.activation_lag_threshold, s.poll_interval_seconds, s.cooldown_seconds) == (0, 5, 300)
    assert (s.scale_up_stabilization_seconds, s.scale_down_stabilization_seconds) == (0, 120)
    assert not s.allow_idle_consumers and not s.limit_to_partitions_with_lag
    assert s.target_drain_seconds is None and s.max_lag_seconds is None
    assert spec.start_position == "Latest" and spec.consumer_group is None


def test_replay_defaults() -> None:
    spec = EventReplaySpec.model_validate({"subscriptionRef": {"name": "s"},
                                           "from": {"earliest": True}})
    assert (spec.mode, spec.dry_run, spec.empty_group_timeout_seconds) == ("Rewind", False, 120)
    assert spec.to is None and spec.keep_job_group is None


@pytest.mark.parametrize(("model", "body", "field"), [
    (EventTopicSpec, {"connectionRef": {"name": "x"}, "partitions": 0}, "partitions"),
    (EventTopicSpec, {"connectionRef": {"name": "x"}, "topicName": "has space"}, "topicName"),
    (EventTopicSpec, {"connectionRef": {"name": "x"}, "partitons": 3}, "partitons"),
    (KafkaConnectionSpec, {"bootstrapServers": []}, "bootstrapServers"),
    (KafkaConnectionSpec, {"bootstrapServers": ["no-port"]}, "bootstrapServers"),
    (EventSubscriptionSpec, {"connectionRef": {"name": "x"}, "topics": [{"name": "t"}],
                             "template": {}, "scaling": {"lagThreshold": -1}}, "lagThreshold"),
    (EventReplaySpec, {"subscriptionRef": {"name": "s"}, "from": {"secondsAgo": "soon"}},
     "secondsAgo"),
])
def test_invalid_values_are_refused_naming_the_field(
        model: type[BaseModel], body: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as raised:
        model.model_validate(body)
    assert field in str(raised.value)
