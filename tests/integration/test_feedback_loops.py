"""Catalog governance on the real stack: services wired A -> X -> B -> Y -> A (a third service
feeding X from outside) get the FeedbackLoop condition naming the cycle, with an Event; breaking
the loop clears it. A warning only: the subscriptions stay Ready."""

from __future__ import annotations

from typing import Any

import pytest

from conftest import Kube
from localstack import StackInfo
from resources import (
    CONSUMER_TEMPLATE,
    condition,
    create,
    event_posted,
    get,
    patch_spec,
    resource,
    wait_condition,
)
from support import eventually, unique

pytestmark = pytest.mark.usefixtures("operator")


def _subscription(name: str, consumes: str, produces: list[str]) -> dict[str, Any]:
    return resource("EventSubscription", name, {
        "connectionRef": {"name": "local"}, "topics": [{"eventTopic": consumes}],
        "produces": produces, "template": CONSUMER_TEMPLATE,
        "scaling": {"minReplicas": 0, "maxReplicas": 1}})


def _loop_message(kube: Kube, namespace: str, name: str) -> str | None:
    found = condition(get(kube, namespace, "EventSubscription", name), "FeedbackLoop")
    return found["message"] if found and found["status"] == "True" else None


def test_a_feedback_loop_is_named_on_each_subscription_and_cleared_when_broken(
        kube: Kube, namespace: str, stack_info: StackInfo) -> None:
    create(kube, namespace, resource("KafkaConnection", "local",
                                     {"bootstrapServers": [stack_info.kafka_bootstrap]}))
    x, y = unique("x"), unique("y")
    for name, topic in (("x", x), ("y", y)):
        create(kube, namespace, resource("EventTopic", name, {
            "connectionRef": {"name": "local"}, "topicName": topic,
            "catalog": {"owner": "team", "description": f"events {name}",
                        "producers": ["web-frontend"] if name == "x" else []}}))
    create(kube, namespace, _subscription("a", consumes="y", produces=[x]))
    create(kube, namespace, _subscription("b", consumes="x", produces=[y]))
    for name in ("a", "b"):
        wait_condition(kube, namespace, "EventSubscription", name, reason="Running")

    cycle = f"{namespace}/a -> {x} -> {namespace}/b -> {y} -> {namespace}/a"
    eventually(lambda: cycle in (_loop_message(kube, namespace, "a") or ""), timeout=30,
               what="the loop named on a")
    other_way = f"{namespace}/b -> {y} -> {namespace}/a -> {x} -> {namespace}/b"
    eventually(lambda: other_way in (_loop_message(kube, namespace, "b") or ""), timeout=30,
               what="the loop named on b")
    event_posted(kube, namespace, "a", "FeedbackLoop")
    assert condition(get(kube, namespace, "EventSubscription", "a"))["status"] == "True"  # Ready

    patch_spec(kube, namespace, "EventSubscription", "b", {"produces": []})  # the loop is broken
    for name in ("a", "b"):
        eventually(lambda n=name: _loop_message(kube, namespace, n) is None, timeout=30,
                   what=f"the loop cleared on {name}")
        assert condition(get(kube, namespace, "EventSubscription", name), "FeedbackLoop") is None
    event_posted(kube, namespace, "b", "FeedbackLoopResolved")
    assert event_posted(kube, namespace, "a", "FeedbackLoop").count("FeedbackLoop") == 1  # announced once
