"""What the reconcilers see of each other: small interfaces, so that no reconciler imports
another (a layer rule `make lint` checks). The composition root (runtime) hands each reconciler
the real objects."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from eventsub.api.subscription import ScalingPolicy
from eventsub.core.observation import History
from eventsub.core.offset_keeping import KeeperMemory
from eventsub.core.scaling import ScalerMemory
from eventsub.kafka.errors import KafkaRequestError
from eventsub.kafka.registry import ConnectionRegistry, Entry
from eventsub.kube.objects import ObjectRef


class ConnectionProblem(Exception):
    """Why a KafkaConnection cannot be used now: a CamelCase reason and a message."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason, self.message = reason, message


class Connections(Protocol):
    """The state of the KafkaConnections, as the connection reconciler keeps it."""

    registry: ConnectionRegistry

    def available(self, key: str) -> Entry | None:
        """The client of a connection whose last probe succeeded."""

    def probing(self, key: str) -> bool:
        """True while an existing connection awaits its first probe."""

    def problem(self, key: str) -> ConnectionProblem:
        """Why a connection is not available."""

    def mark_unavailable(self, key: str, error: KafkaRequestError) -> None:
        """A resource saw the cluster fail: no more work for it until a probe succeeds."""


@dataclass
class Target:
    """One subscription the autoscaler serves, with what it learned so far."""

    key: str
    ref: ObjectRef
    deployment: str
    group: str
    topics: tuple[str, ...]
    policy: ScalingPolicy
    start_position: str
    connection: str
    replicas: int | None = None  # spec.replicas as last set or read; None: read it
    # When that value was asked for (time.monotonic()): a reconcile's read that was sent before
    # the scaler's last write answers with what that write may have changed.
    replicas_asked_at: float = 0.0
    history: History = field(default_factory=History)
    memory: ScalerMemory = field(default_factory=ScalerMemory)
    next_due: float = 0.0
    last_status_time: float = -1e9
    last_scale_time: str | None = None
    last_scale_reason: str | None = None
    desired: int | None = None
    keeper: KeeperMemory = field(default_factory=KeeperMemory)  # the retention guard's memory
    offsets_renewed_time: str | None = None


class Autoscaler(Protocol):
    """The autoscaler, as the subscription and replay reconcilers use it."""

    def register(self, target: Target) -> None:
        """Adds or updates a subscription to scale."""

    def unregister(self, key: str) -> None:
        """The subscription is gone."""

    def replicas_of(self, key: str) -> int | None:
        """The Deployment's replicas as the autoscaler last set or read them."""

    def set_replicas(self, key: str, replicas: int) -> None:
        """Someone else (a replay) set the Deployment's replicas."""
