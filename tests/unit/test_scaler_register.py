"""The scaler's record of a subscription's replicas against the reconciler's re-registrations:
a scale the scaler is writing while the reconciler registers the subscription again is never
lost, and the reconciler's figure wins only when it was asked for after the scaler's own."""

from __future__ import annotations

import asyncio
import time

from eventsub.api.subscription import ScalingPolicy
from eventsub.core.scaling import Decision, ScalerMemory
from eventsub.kube.fake import FakeKube
from eventsub.kube.objects import ObjectRef
from eventsub.reconcilers.contracts import Target
from eventsub.reconcilers.scaler import Scaler
from eventsub.runtime.cache import ObjectCache

KEY = "team/workers"


class SlowScaleKube(FakeKube):
    """Answers a scale only when released: the scale is in flight meanwhile."""

    def __init__(self) -> None:
        super().__init__()
        self.release = asyncio.Event()

    async def scale_deployment(self, namespace: str, name: str, replicas: int,
                               manager: str = "eventsub-scaler") -> bool:
        await self.release.wait()
        return await super().scale_deployment(namespace, name, replicas, manager)


def target(replicas: int, asked_at: float) -> Target:
    return Target(key=KEY, ref=ObjectRef("EventSubscription", "eventsubscriptions", "team",
                                         "workers", "uid-1"),
                  deployment="workers-consumer", group="team.workers", topics=("orders",),
                  policy=ScalingPolicy.model_validate({"minReplicas": 0, "maxReplicas": 4}),
                  start_position="Latest", connection="team/kafka", replicas=replicas,
                  replicas_asked_at=asked_at)


def scaler_with(kube: FakeKube, replicas: int) -> Scaler:
    kube.deployments[("team", "workers-consumer")] = {"spec": {"replicas": replicas}}
    scaler = Scaler(kube, ObjectCache(), connections=None)  # type: ignore[arg-type]
    scaler.register(target(replicas, time.monotonic()))
    return scaler


def test_a_scale_in_flight_is_kept_when_the_reconciler_registers_meanwhile() -> None:
    async def scenario() -> None:
        kube = SlowScaleKube()
        scaler = scaler_with(kube, 2)
        running = scaler.targets[KEY]  # what a lag cycle holds while it scales
        asked = time.monotonic()  # the reconciler's apply goes out: replicas are still 2
        scaling = asyncio.create_task(scaler._scale(running, Decision(0, 0, "no lag", ScalerMemory())))
        await asyncio.sleep(0)
        scaler.register(target(2, asked))  # its answer arrives while the scale is in flight
        kube.release.set()
        await scaling
        assert kube.deployments[("team", "workers-consumer")]["spec"]["replicas"] == 0
        assert scaler.targets[KEY].replicas == 0  # so the next backlog wakes it from zero

    asyncio.run(scenario())


def test_the_reconcilers_older_answer_does_not_undo_the_scalers_write() -> None:
    async def scenario() -> None:
        kube = FakeKube()
        scaler = scaler_with(kube, 4)
        asked = time.monotonic()  # the reconciler asks; the scaler then scales to 0
        await scaler._scale(scaler.targets[KEY], Decision(0, 0, "no lag", ScalerMemory()))
        scaler.register(target(4, asked))  # the answer it got before the scale
        assert scaler.targets[KEY].replicas == 0

    asyncio.run(scenario())


def test_a_newer_answer_from_the_reconciler_is_taken() -> None:
    async def scenario() -> None:
        kube = FakeKube()
        scaler = scaler_with(kube, 4)
        await scaler._scale(scaler.targets[KEY], Decision(1, 1, "less lag", ScalerMemory()))
        scaler.register(target(3, time.monotonic()))  # someone scaled it to 3 since
        assert scaler.targets[KEY].replicas == 3

    asyncio.run(scenario())
