"""The scaling decision: how many consumer replicas a subscription should run now. Pure.

KEDA's semantics where they are right (replicas = ceil(lag / threshold), activation threshold,
cooldown to zero, HPA-style stabilization windows, a partition cap), and fixes for what its
users suffer from: the cap applies to the ceiling (10 partitions, threshold 10, lag 109 -> 10,
not 11); a stalled partition does not drive scale-out; a failed or partial lag read holds the
current replicas instead of counting as zero lag; time lag and drain time are first-class.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from eventsub.api.subscription import ScalingPolicy


def next_poll(now: float, interval: float) -> float:
    """The next poll after `now`, on the grid of `interval` seconds: subscriptions with the same
    interval are read together in one lag cycle, not each on a phase of its own (a cycle's
    fixed requests are then paid once per interval, not once per phase)."""
    return (math.floor(now / interval) + 1) * interval


@dataclass(frozen=True)
class LagSnapshot:
    """One lag read of a subscription's group, summarized for the decision."""

    ok: bool  # False when the read failed or missed partitions: never treated as zero lag
    total_lag: int = 0
    scaling_lag: int = 0  # lag of the partitions whose consumers make progress (or none exist)
    # Lag of partitions whose consumer has not shown progress yet (a fresh backlog, or a poison
    # message not yet judged): each counts for one replica at most, since one partition is read
    # by one consumer: a fresh backlog scales out at once, a stuck partition never to the max.
    unproven_lags: tuple[int, ...] = ()
    partitions: int = 0
    partitions_with_lag: int = 0  # counted for scaling, lag > 0
    stalled_partitions: int = 0  # with lag but not counted: their consumer makes no progress
    max_lag_seconds: float | None = None
    arrival_rate: float | None = None  # messages/s produced into the subscribed partitions
    per_replica_rate: float | None = None  # messages/s one replica consumes, learned
    error: str = ""


@dataclass(frozen=True)
class ScalerMemory:
    """What the decision remembers between polls (kept by the caller, in memory)."""

    recommendations: tuple[tuple[float, int], ...] = ()  # (time, desired) within the windows
    last_active: float | None = None  # last time lag exceeded the activation threshold
    # (time, replicas) when this process began serving a group that was already running: held
    # through the down window like a recommendation, never a reason to delay scaling up.
    resumed: tuple[float, int] | None = None


def resumed_memory(current: int, now: float) -> ScalerMemory:
    """The memory for a group first served with `current` replicas already running (after an
    operator restart, or by a new leader): as if `current` had just been recommended and the
    group had just been active. The down window and the cooldown then run their whole length
    before replicas go, as they would have in the previous process; scaling up is not delayed."""
    if current <= 0:
        return ScalerMemory()
    return ScalerMemory(last_active=now, resumed=(now, current))


@dataclass(frozen=True)
class Decision:
    replicas: int  # what the Deployment should have now
    desired: int  # this poll's recommendation, before the stabilization windows
    reason: str
    memory: ScalerMemory
    held: bool = False  # True when the lag read failed and replicas were held


def decide(policy: ScalingPolicy, current: int, lag: LagSnapshot, memory: ScalerMemory,
           now: float) -> Decision:
    if policy.mode == "Manual":
        return Decision(current, current, "manual mode: replicas are left to the user", memory)
    if not lag.ok:
        return Decision(current, current, f"lag unavailable, holding {current} replicas: {lag.error}",
                        memory, held=True)
    active = lag.total_lag > policy.activation_lag_threshold
    last_active = now if active else memory.last_active
    raw, why = _by_load(policy, current, lag)
    raw, why = _capped(policy, lag, raw, why)
    floor, floor_why = _floor(policy, active, last_active, now)
    desired = max(floor, min(raw, policy.max_replicas))
    if current == 0 and not active:
        desired, why = 0, f"lag {lag.total_lag} not above activation threshold " \
                          f"{policy.activation_lag_threshold}: staying at zero"
    if desired == floor and (floor > raw or raw == 0):
        why = floor_why
    elif desired == policy.max_replicas and raw > policy.max_replicas:
        why += f", capped at maxReplicas {policy.max_replicas}"
    horizon = max(policy.scale_up_stabilization_seconds, policy.scale_down_stabilization_seconds)
    history = (*tuple((t, r) for t, r in memory.recommendations if t > now - horizon), (now, desired))
    replicas = _stabilized(policy, current, desired, history, now, memory.resumed)
    if replicas != desired and replicas == current:
        why += f"; held at {current} by the stabilization window"
    upper = policy.max_replicas if policy.allow_idle_consumers else \
        min(policy.max_replicas, max(lag.partitions, policy.min_replicas))
    replicas = max(policy.min_replicas, min(replicas, upper))  # a policy change applies at once
    return Decision(replicas, desired, why, replace(memory, recommendations=history,
                                                    last_active=last_active))


def _by_load(policy: ScalingPolicy, current: int, lag: LagSnapshot) -> tuple[int, str]:
    counted = lag.scaling_lag + sum(min(unproven, policy.lag_threshold)
                                    for unproven in lag.unproven_lags)
    if policy.target_drain_seconds and lag.per_replica_rate:
        needed = (lag.arrival_rate or 0.0) + counted / policy.target_drain_seconds
        raw = math.ceil(needed / lag.per_replica_rate)
        why = (f"drain {counted} messages in {policy.target_drain_seconds}s at "
               f"{lag.per_replica_rate:.1f}/s per replica plus {lag.arrival_rate or 0:.1f}/s arriving")
    else:
        raw = math.ceil(counted / policy.lag_threshold)
        why = f"lag {counted} at {policy.lag_threshold} per replica"
    if any(lag.unproven_lags):
        why += (f" ({sum(1 for u in lag.unproven_lags if u)} partition(s) not consuming yet "
                "counted for one replica each at most)")
    if lag.stalled_partitions:
        why += f" ({lag.stalled_partitions} partition(s) without progress not counted)"
    if policy.max_lag_seconds and lag.max_lag_seconds is not None and counted > 0 \
            and lag.max_lag_seconds > policy.max_lag_seconds and raw <= current:
        raw = current + 1
        why = f"time lag {lag.max_lag_seconds:.0f}s above maxLagSeconds {policy.max_lag_seconds}"
    return raw, why


def _capped(policy: ScalingPolicy, lag: LagSnapshot, raw: int, why: str) -> tuple[int, str]:
    cap, cap_why = raw, ""
    if not policy.allow_idle_consumers and lag.partitions < cap:
        cap, cap_why = lag.partitions, f"capped at {lag.partitions} partitions"
    if policy.limit_to_partitions_with_lag and lag.partitions_with_lag < cap:
        cap, cap_why = lag.partitions_with_lag, f"capped at {lag.partitions_with_lag} partitions with lag"
    return (cap, f"{why}, {cap_why}") if cap < raw else (raw, why)


def _floor(policy: ScalingPolicy, active: bool, last_active: float | None,
           now: float) -> tuple[int, str]:
    if policy.min_replicas > 0:
        return policy.min_replicas, f"minReplicas {policy.min_replicas}"
    if active:
        return 1, f"lag above activation threshold {policy.activation_lag_threshold}"
    if last_active is None:
        return 0, "no lag: no replicas needed"
    if now - last_active < policy.cooldown_seconds:
        return 1, f"no lag, cooling down for {policy.cooldown_seconds}s before scaling to zero"
    return 0, f"no lag for {policy.cooldown_seconds}s: scaled to zero"


def _stabilized(policy: ScalingPolicy, current: int, desired: int,
                history: tuple[tuple[float, int], ...], now: float,
                resumed: tuple[float, int] | None = None) -> int:
    """HPA's rule: scale up to the lowest, down to the highest recommendation of the window."""
    if desired > current:
        window = [r for t, r in history if t >= now - policy.scale_up_stabilization_seconds]
        return max(current, min(window))
    if desired < current:
        if desired == 0:
            return 0  # only reached after the cooldown, which is the stabilization for zero
        since = now - policy.scale_down_stabilization_seconds
        window = [r for t, r in (*history, *((resumed,) if resumed else ())) if t >= since]
        return min(current, max(window))
    return current
