"""The consumer Deployment of a subscription, rendered from its pod template. Pure.

The user's template is kept as written; the operator adds its labels and, to every container,
the wiring environment the consumer helper reads. Credentials are only ever secretKeyRefs.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from eventsub.api.base import API_VERSION
from eventsub.api.connection import KafkaConnectionSpec
from eventsub.api.subscription import EventSubscriptionSpec
from eventsub.core.start_offsets import OFFSET_RESET_AFTER_START

SUBSCRIPTION_LABEL = "eventsub.io/subscription"
ENV_PREFIX = "EVENTSUB_"


@dataclass(frozen=True)
class SubscriptionRef:
    namespace: str
    name: str
    uid: str


def deployment_name(subscription: str) -> str:
    return f"{subscription}-consumer"


def default_group(namespace: str, name: str) -> str:
    return f"{namespace}.{name}"


def selector_labels(subscription: str) -> dict[str, str]:
    return {SUBSCRIPTION_LABEL: subscription}


def _secret_env(name: str, secret: str, key: str) -> dict[str, Any]:
    return {"name": name, "valueFrom": {"secretKeyRef": {"name": secret, "key": key}}}


# Per Kafka topic, per message part (value, key): the registry subject and the schema type.
TopicSchemaWiring = Mapping[str, Mapping[str, Mapping[str, str]]]


def wiring_env(spec: EventSubscriptionSpec, connection: KafkaConnectionSpec, topics: Sequence[str],
               group: str, subscription: SubscriptionRef,
               schemas: TopicSchemaWiring | None = None) -> list[dict[str, Any]]:
    """The environment every consumer container gets (see eventsub.consumer)."""
    env: list[dict[str, Any]] = [
        {"name": "EVENTSUB_SUBSCRIPTION", "value": f"{subscription.namespace}/{subscription.name}"},
        {"name": "EVENTSUB_BOOTSTRAP_SERVERS", "value": ",".join(connection.bootstrap_servers)},
        {"name": "EVENTSUB_TOPICS", "value": ",".join(topics)},
        {"name": "EVENTSUB_GROUP_ID", "value": group},
        {"name": "EVENTSUB_START_POSITION", "value": spec.start_position.lower()},
        # The operator committed the start offsets: a partition without one is new.
        {"name": "EVENTSUB_OFFSET_RESET", "value": OFFSET_RESET_AFTER_START},
        {"name": "EVENTSUB_SECURITY_PROTOCOL", "value": connection.security_protocol},
        # Static membership: a restarted pod keeps its identity and its partitions.
        {"name": "EVENTSUB_POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
    ]
    if spec.dead_letter_topic:
        env.append({"name": "EVENTSUB_DEAD_LETTER_TOPIC", "value": spec.dead_letter_topic})
    if connection.client_config:
        env.append({"name": "EVENTSUB_CLIENT_CONFIG",
                    "value": json.dumps(dict(connection.client_config), sort_keys=True)})
    if connection.sasl is not None:
        sasl = connection.sasl
        env += [{"name": "EVENTSUB_SASL_MECHANISM", "value": sasl.mechanism},
                _secret_env("EVENTSUB_SASL_USERNAME", sasl.secret_name, sasl.username_key),
                _secret_env("EVENTSUB_SASL_PASSWORD", sasl.secret_name, sasl.password_key)]
    if connection.tls is not None:
        for name, ref in (("EVENTSUB_SSL_CA_PEM", connection.tls.ca),
                          ("EVENTSUB_SSL_CERTIFICATE_PEM", connection.tls.client_certificate),
                          ("EVENTSUB_SSL_KEY_PEM", connection.tls.client_key)):
            if ref is not None:
                env.append(_secret_env(name, ref.name, ref.key))
    return env + registry_env(connection, schemas or {})


def registry_env(connection: KafkaConnectionSpec, schemas: TopicSchemaWiring) -> list[dict[str, Any]]:
    """Where the consumer finds the schemas of the topics it reads (EVENTSUB_SCHEMAS) to decode
    their messages; credentials only as secretKeyRefs."""
    registry = connection.schema_registry
    if registry is None:
        return []
    env: list[dict[str, Any]] = [{"name": "EVENTSUB_SCHEMA_REGISTRY_URL", "value": registry.url}]
    if registry.basic_auth is not None:
        auth = registry.basic_auth
        env += [_secret_env("EVENTSUB_SCHEMA_REGISTRY_USERNAME", auth.secret_name, auth.username_key),
                _secret_env("EVENTSUB_SCHEMA_REGISTRY_PASSWORD", auth.secret_name, auth.password_key)]
    if registry.ca is not None and registry.ca.secret_key_ref is not None:
        ref = registry.ca.secret_key_ref
        env.append(_secret_env("EVENTSUB_SCHEMA_REGISTRY_CA_PEM", ref.name, ref.key))
    elif registry.ca is not None and registry.ca.config_map_key_ref is not None:
        cm = registry.ca.config_map_key_ref
        env.append({"name": "EVENTSUB_SCHEMA_REGISTRY_CA_PEM",
                    "valueFrom": {"configMapKeyRef": {"name": cm.name, "key": cm.key}}})
    if schemas:
        env.append({"name": "EVENTSUB_SCHEMAS", "value": json.dumps(
            {t: {p: dict(w) for p, w in parts.items()} for t, parts in schemas.items()},
            sort_keys=True)})
    return env


def template_problem(template: Mapping[str, Any]) -> str | None:
    """What in the pod template (kept as written, unchecked by the CRD) is not shaped like a
    PodTemplateSpec where the operator adds to it, naming the field; None if it can be rendered.
    The API server checks the rest when the Deployment or Job is applied."""
    where = "spec.template"
    for part in ("metadata", "spec"):
        if not isinstance(template.get(part, {}), dict):
            return f"{where}.{part} must be an object"
    if not isinstance((template.get("metadata") or {}).get("labels") or {}, dict):
        return f"{where}.metadata.labels must be an object"
    containers = (template.get("spec") or {}).get("containers") or []
    if not isinstance(containers, list):
        return f"{where}.spec.containers must be a list of containers"
    for i, container in enumerate(containers):
        if not isinstance(container, dict):
            return f"{where}.spec.containers[{i}] must be a container (an object)"
        env = container.get("env") or []
        if not isinstance(env, list) or not all(isinstance(e, dict) for e in env):
            return f"{where}.spec.containers[{i}].env must be a list of name/value objects"
    return None


def render_deployment(subscription: SubscriptionRef, spec: EventSubscriptionSpec,
                      connection: KafkaConnectionSpec, topics: Sequence[str], group: str,
                      replicas: int | None,
                      schemas: TopicSchemaWiring | None = None) -> dict[str, Any]:
    """The Deployment to apply; replicas None leaves them to whoever owns them (manual mode)."""
    labels = {"app.kubernetes.io/name": "eventsub-consumer",
              "app.kubernetes.io/instance": subscription.name,
              "app.kubernetes.io/managed-by": "eventsub", **selector_labels(subscription.name)}
    template = copy.deepcopy(spec.template)
    metadata = template.setdefault("metadata", {})
    metadata["labels"] = {**(metadata.get("labels") or {}), **labels}
    pod_spec = template.setdefault("spec", {})
    wiring = wiring_env(spec, connection, topics, group, subscription, schemas)
    ours = {e["name"] for e in wiring}
    for container in pod_spec.get("containers") or []:
        kept = [e for e in container.get("env") or [] if e.get("name") not in ours]
        container["env"] = wiring + kept
    deployment_spec: dict[str, Any] = {
        "selector": {"matchLabels": selector_labels(subscription.name)},
        "template": template,
    }
    if replicas is not None:
        deployment_spec["replicas"] = replicas
    return {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {
            "name": deployment_name(subscription.name), "namespace": subscription.namespace,
            "labels": labels,
            "ownerReferences": [{"apiVersion": API_VERSION, "kind": "EventSubscription",
                                 "name": subscription.name, "uid": subscription.uid,
                                 "controller": True, "blockOwnerDeletion": True}],
        },
        "spec": deployment_spec,
    }
