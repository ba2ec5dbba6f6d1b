"""The two writers of an EventSubscription's status (its reconciler and the autoscaler) racing
on the real API server, each from a stale copy: no condition is lost or comes back."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Iterator
from typing import Any

import pytest

from conftest import Kube, fresh_namespace
from eventsub.api.base import Condition
from eventsub.api.subscription import SubscriptionLagStatus, SubscriptionWiringStatus
from eventsub.core.conditions import condition
from eventsub.core.status import SCALER, SUBSCRIPTION
from eventsub.kube.api import KubeApi
from eventsub.kube.objects import ObjectRef
from eventsub.reconcilers.status import write_part
from localstack import StackInfo
from resources import CONSUMER_TEMPLATE, create, get, resource

ROUNDS = 60
KUBE = KubeApi()


@pytest.fixture
def own_namespace(kube: Kube) -> Iterator[str]:
    with fresh_namespace(kube, "sw") as name:  # no operator watches it: the test is the writers
        yield name


def _condition(type_: str, reason: str) -> Condition:
    return condition(None, type_=type_, ok=True, reason=reason, message=reason, generation=1,
                     now="2026-12-02T10:00:00Z")


def _reasons(body: dict[str, Any]) -> dict[str, str]:
    return {c["type"]: c["reason"] for c in (body.get("status") or {}).get("conditions", [])}


def test_interleaved_writers_never_lose_or_resurrect_a_condition(
        kube: Kube, crds: StackInfo, own_namespace: str) -> None:
    namespace = own_namespace
    body = create(kube, namespace, resource("EventSubscription", "raced", {
        "connectionRef": {"name": "local"}, "topics": [{"name": "t"}],
        "template": CONSUMER_TEMPLATE}))
    ref = ObjectRef.of(body, "eventsubscriptions")
    stale = {**body, "status": {}}  # each writer compares against this old copy: it always sends
    seen: list[dict[str, str]] = []

    async def reconciler() -> None:
        for i in range(ROUNDS):
            await write_part(KUBE, SUBSCRIPTION, ref, stale, SubscriptionWiringStatus(
                consumer_group=f"g{i}", conditions=[_condition("Ready", f"Ready{i}")]))

    async def scaler() -> None:
        for i in range(ROUNDS):
            await write_part(KUBE, SCALER, ref, stale, SubscriptionLagStatus(
                replicas=i, conditions=[_condition("LagAvailable", f"Lag{i}"),
                                        _condition("Healthy", f"Healthy{i}")]))

    async def observer(done: asyncio.Event) -> None:
        while not done.is_set():
            seen.append(_reasons(await asyncio.to_thread(get, kube, namespace, "EventSubscription",
                                                         "raced")))

    async def race() -> None:
        done = asyncio.Event()
        watching = asyncio.create_task(observer(done))
        await asyncio.gather(reconciler(), scaler())
        done.set()
        await watching

    asyncio.run(race())
    final = get(kube, namespace, "EventSubscription", "raced")
    last = ROUNDS - 1
    assert _reasons(final) == {"Ready": f"Ready{last}", "LagAvailable": f"Lag{last}",
                               "Healthy": f"Healthy{last}"}
    assert final["status"]["consumerGroup"] == f"g{last}" and final["status"]["replicas"] == last
    # Never lost once written, never older than already seen (no resurrection), per writer.
    for type_ in ("Ready", "LagAvailable", "Healthy"):
        numbers = [int("".join(itertools.dropwhile(str.isalpha, s[type_]))) if type_ in s else None
                   for s in seen]
        first = next((i for i, n in enumerate(numbers) if n is not None), len(numbers))
        assert all(n is not None for n in numbers[first:]), f"{type_} disappeared"
        present = [n for n in numbers[first:] if n is not None]
        assert present == sorted(present), f"{type_} went back: {present}"
    assert len(seen) > 10
