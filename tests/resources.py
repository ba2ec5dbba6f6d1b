"""Small helpers to apply and inspect eventsub resources through the real API server."""

from __future__ import annotations

import base64
from typing import Any

from kubernetes import client

from conftest import Kube
from operator_process import OperatorProcess
from support import eventually, unique

GROUP, VERSION = "eventsub.io", "v1alpha1"
PLURALS = {"KafkaConnection": "kafkaconnections", "EventTopic": "eventtopics",
           "EventSubscription": "eventsubscriptions", "EventReplay": "eventreplays"}
# kwok runs no image: the local stack's consumer runner runs the consumers of such pods.
CONSUMER_TEMPLATE = {"spec": {"containers": [{"name": "consumer", "image": "example/consumer:1"}]}}


def resource(kind: str, name: str, spec: dict[str, Any]) -> dict[str, Any]:
    return {"apiVersion": f"{GROUP}/{VERSION}", "kind": kind, "metadata": {"name": name},
            "spec": spec}


def create(kube: Kube, namespace: str, doc: dict[str, Any]) -> dict[str, Any]:
    created: dict[str, Any] = kube.custom.create_namespaced_custom_object(
        GROUP, VERSION, namespace, PLURALS[doc["kind"]], doc)
    return created


def get(kube: Kube, namespace: str, kind: str, name: str) -> dict[str, Any]:
    found: dict[str, Any] = kube.custom.get_namespaced_custom_object(
        GROUP, VERSION, namespace, PLURALS[kind], name)
    return found


def patch_spec(kube: Kube, namespace: str, kind: str, name: str, spec: dict[str, Any]) -> None:
    kube.custom.patch_namespaced_custom_object(GROUP, VERSION, namespace, PLURALS[kind], name,
                                               {"spec": spec})


def delete(kube: Kube, namespace: str, kind: str, name: str) -> None:
    kube.custom.delete_namespaced_custom_object(GROUP, VERSION, namespace, PLURALS[kind], name)


def gone(kube: Kube, namespace: str, kind: str, name: str) -> bool:
    try:
        get(kube, namespace, kind, name)
    except client.ApiException as error:
        return error.status == 404
    return False


def condition(body: dict[str, Any], type_: str = "Ready") -> dict[str, Any] | None:
    for c in (body.get("status") or {}).get("conditions", []):
        if c["type"] == type_:
            return dict(c)
    return None


def wait_condition(kube: Kube, namespace: str, kind: str, name: str, *, status: str = "True",
                   reason: str | None = None, timeout: float = 60,
                   type_: str = "Ready") -> dict[str, Any]:
    """Waits until the condition has this status (and reason) for the current generation."""
    def reached() -> dict[str, Any] | None:
        body = get(kube, namespace, kind, name)
        c = condition(body, type_)
        if c is None or c["status"] != status or (reason is not None and c["reason"] != reason):
            return None
        if c.get("observedGeneration") != body["metadata"]["generation"]:
            return None
        return body
    found: dict[str, Any] = eventually(
        reached, timeout=timeout, what=f"{kind} {name} {type_}={status} {reason or ''}")
    return found


def event_reasons(kube: Kube, namespace: str, name: str) -> list[str]:
    events = kube.core.list_namespaced_event(namespace, field_selector=f"involvedObject.name={name}")
    return [e.reason for e in sorted(events.items, key=lambda e: e.metadata.creation_timestamp)]


def event_posted(kube: Kube, namespace: str, name: str, reason: str,
                 timeout: float = 30.0) -> list[str]:
    """The object's Event reasons once `reason` is among them: the operator posts Events in the
    background, so one may land after the status that followed it (up to 20 s while the
    operator works through a burst: eventsub.kube.events.DEFER_SECONDS)."""
    def posted() -> list[str] | None:
        reasons = event_reasons(kube, namespace, name)
        return reasons if reason in reasons else None
    found: list[str] = eventually(posted, timeout=timeout, what=f"{reason} Event on {name}")
    return found


def events(kube: Kube, namespace: str) -> list[client.CoreV1Event]:
    return list(kube.core.list_namespaced_event(namespace).items)


def consumed_topic(kube: Kube, namespace: str, bootstrap: str, scaling: dict[str, Any], *,
                   partitions: int = 4, template: dict[str, Any] | None = None,
                   dead_letter_topic: bool = False) -> str:
    """KafkaConnection "local", EventTopic "work" (InSync) and EventSubscription "workers"
    reading it from Earliest with this scaling (Running), with dead-letter topic
    "<topic>.dlq" if asked; returns the Kafka topic's name."""
    create(kube, namespace, resource("KafkaConnection", "local", {"bootstrapServers": [bootstrap]}))
    topic = unique("work")
    create(kube, namespace, resource("EventTopic", "work", {
        "connectionRef": {"name": "local"}, "topicName": topic, "partitions": partitions}))
    wait_condition(kube, namespace, "EventTopic", "work", reason="InSync")
    create(kube, namespace, resource("EventSubscription", "workers", {
        "connectionRef": {"name": "local"}, "topics": [{"eventTopic": "work"}],
        "startPosition": "Earliest", "scaling": scaling, "template": template or CONSUMER_TEMPLATE,
        **({"deadLetterTopic": f"{topic}.dlq"} if dead_letter_topic else {})}))
    wait_condition(kube, namespace, "EventSubscription", "workers", reason="Running")
    return topic


def put_secret(kube: Kube, namespace: str, name: str, data: dict[str, str],
               type_: str = "Opaque") -> None:
    body = client.V1Secret(metadata=client.V1ObjectMeta(name=name), type=type_, data={
        key: base64.b64encode(value.encode()).decode() for key, value in data.items()})
    try:
        kube.core.create_namespaced_secret(namespace, body)
    except client.ApiException as error:
        if error.status != 409:
            raise
        kube.core.replace_namespaced_secret(name, namespace, body)


def assert_never_shown(kube: Kube, namespace: str, operator: OperatorProcess,
                       *secrets: str) -> None:
    """Neither the secrets nor any line of them appears in the operator's log, the namespace's
    Events or the status of its resources."""
    texts = [operator.log()]
    texts += [f"{e.reason} {e.message}" for e in events(kube, namespace)]
    for plural in ("kafkaconnections", "eventtopics", "eventsubscriptions"):
        listed = kube.custom.list_namespaced_custom_object("eventsub.io", "v1alpha1", namespace,
                                                           plural)
        texts += [str(item.get("status")) for item in listed["items"]]
    pieces = [s for secret in secrets for s in (secret, *pem_body_lines(secret))]
    leaked = [p[:12] + "..." for p in pieces if any(p in text for text in texts)]
    assert not leaked, f"secret material shown: {leaked}"


def pem_body_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line and not line.startswith("-----")]
