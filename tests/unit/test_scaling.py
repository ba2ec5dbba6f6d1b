"""The scaling decision: tables for the named cases, properties for the guarantees."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from eventsub.api.subscription import ScalingPolicy
from eventsub.core.scaling import (
    Decision,
    LagSnapshot,
    ScalerMemory,
    decide,
    next_poll,
    resumed_memory,
)


def policy(**overrides: Any) -> ScalingPolicy:
    return ScalingPolicy.model_validate(overrides)


def lag(total: int, partitions: int = 10, **extra: Any) -> LagSnapshot:
    fields: dict[str, Any] = {"ok": True, "total_lag": total, "scaling_lag": total,
                              "partitions": partitions,
                              "partitions_with_lag": min(partitions, total), **extra}
    return LagSnapshot(**fields)


def once(p: ScalingPolicy, current: int, snapshot: LagSnapshot, now: float = 1000.0,
         memory: ScalerMemory | None = None) -> Decision:
    return decide(p, current, snapshot, memory or ScalerMemory(), now)


@pytest.mark.parametrize(("case", "p", "current", "snapshot", "expected"), [
    ("cap on the ceiling: 10 partitions, threshold 10, lag 109", policy(maxReplicas=50), 1,
     lag(109, 10), 10),
    ("ceil(lag / threshold)", policy(maxReplicas=50), 1, lag(101, 20), 11),
    ("exact multiple", policy(maxReplicas=50), 1, lag(100, 20), 10),
    ("clamped to max", policy(maxReplicas=4), 1, lag(1000, 20), 4),
    ("clamped to min", policy(minReplicas=3), 3, lag(0, 20), 3),
    ("idle consumers allowed", policy(maxReplicas=50, allowIdleConsumers=True), 1,
     lag(109, 10), 11),
    ("limit to partitions with lag", policy(maxReplicas=50, limitToPartitionsWithLag=True), 1,
     lag(500, 10, partitions_with_lag=3), 3),
    ("activation: lag below threshold stays at zero", policy(minReplicas=0,
     activationLagThreshold=50), 0, lag(50, 10), 0),
    ("activation: lag above threshold wakes one replica", policy(minReplicas=0,
     activationLagThreshold=50, lagThreshold=100), 0, lag(51, 10), 1),
    ("wake from zero on any lag", policy(minReplicas=0), 0, lag(1, 10), 1),
    ("stalled partitions do not scale out", policy(maxReplicas=50), 1,
     lag(1000, 10, scaling_lag=5, stalled_partitions=1), 1),
    ("manual mode leaves replicas alone", policy(mode="Manual"), 7, lag(10_000, 10), 7),
    ("failed read holds", policy(), 5, LagSnapshot(ok=False, error="timeout"), 5),
    ("failed read holds even at min 0", policy(minReplicas=0), 5, LagSnapshot(ok=False), 5),
    ("time lag above target adds a replica", policy(maxLagSeconds=60, lagThreshold=1000), 2,
     lag(100, 10, max_lag_seconds=300.0), 3),
    ("drain-time mode", policy(targetDrainSeconds=100, maxReplicas=50), 1,
     lag(10_000, 20, arrival_rate=50.0, per_replica_rate=25.0), 6),  # (50 + 100) / 25
    ("drain-time mode without a learned rate uses the threshold", policy(targetDrainSeconds=100),
     1, lag(35, 20, arrival_rate=50.0), 4),
    ("new policy max applies at once", policy(maxReplicas=3), 8, lag(1000, 20), 3),
])
def test_decision_table(case: str, p: ScalingPolicy, current: int, snapshot: LagSnapshot,
                        expected: int) -> None:
    assert once(p, current, snapshot).replicas == expected, case


def test_failed_read_is_marked_held_and_keeps_memory() -> None:
    memory = ScalerMemory(recommendations=((990.0, 4),), last_active=990.0)
    decision = once(policy(), 4, LagSnapshot(ok=False, error="KafkaUnavailable"), memory=memory)
    assert decision.held and decision.memory == memory and "KafkaUnavailable" in decision.reason


def test_scale_down_waits_for_the_window_then_follows() -> None:
    p = policy(scaleDownStabilizationSeconds=120)
    first = once(p, 1, lag(80), now=0)
    assert first.replicas == 8
    held = decide(p, 8, lag(10), first.memory, now=60)
    assert held.replicas == 8 and "stabilization" in held.reason
    later = decide(p, 8, lag(10), held.memory, now=130)
    assert later.replicas == 1


def test_scale_up_window_needs_a_sustained_recommendation() -> None:
    p = policy(scaleUpStabilizationSeconds=30)
    calm = once(p, 1, lag(10), now=0)
    spike = decide(p, 1, lag(80), calm.memory, now=5)
    assert spike.replicas == 1  # the window still holds the calm recommendation
    sustained = decide(p, 1, lag(80), spike.memory, now=40)
    assert sustained.replicas == 8


def test_default_scale_up_is_immediate() -> None:
    assert once(policy(), 1, lag(80)).replicas == 8

def test_cooldown_before_scaling_to_zero() -> None:
    p = policy(minReplicas=0, cooldownSeconds=300, scaleDownStabilizationSeconds=0)
    busy = once(p, 0, lag(5), now=0)
    assert busy.replicas == 1
    cooling = decide(p, 1, lag(0), busy.memory, now=200)
    assert cooling.replicas == 1 and "cooling down" in cooling.reason
    idle = decide(p, 1, lag(0), cooling.memory, now=301)
    assert idle.replicas == 0 and "scaled to zero" in idle.reason


def test_zero_lag_with_min_zero_and_no_history_stays_at_zero() -> None:
    assert once(policy(minReplicas=0), 0, lag(0)).replicas == 0


# -- properties ---------------------------------------------------------------------------------

policies = st.builds(
    lambda lo, extra, threshold, idle, limit, up, down: policy(
        minReplicas=lo, maxReplicas=max(1, lo + extra), lagThreshold=threshold,
        allowIdleConsumers=idle, limitToPartitionsWithLag=limit,
        scaleUpStabilizationSeconds=up, scaleDownStabilizationSeconds=down),
    st.integers(0, 5), st.integers(0, 40), st.integers(1, 500), st.booleans(), st.booleans(),
    st.integers(0, 60), st.integers(0, 300))
snapshots = st.builds(
    lambda total, partitions, with_lag: lag(total, partitions,
                                             partitions_with_lag=min(with_lag, partitions)),
    st.integers(0, 100_000), st.integers(1, 64), st.integers(0, 64))


@settings(max_examples=400)
@given(policies, st.integers(0, 60), snapshots, st.floats(0, 10_000))
def test_never_above_max_nor_partitions_unless_allowed(
        p: ScalingPolicy, current: int, snapshot: LagSnapshot, now: float) -> None:
    replicas = once(p, current, snapshot, now=now).replicas
    assert replicas <= p.max_replicas
    if not p.allow_idle_consumers:
        assert replicas <= max(snapshot.partitions, p.min_replicas)


@settings(max_examples=400)
@given(policies, st.integers(0, 60), snapshots, st.floats(0, 10_000))
def test_never_below_min(p: ScalingPolicy, current: int, snapshot: LagSnapshot, now: float) -> None:
    assert once(p, current, snapshot, now=now).replicas >= p.min_replicas


@settings(max_examples=400)
@given(policies, st.integers(0, 60), st.integers(0, 50_000), st.integers(0, 50_000),
       st.integers(1, 64))
def test_monotone_in_lag(p: ScalingPolicy, current: int, a: int, b: int, partitions: int) -> None:
    low, high = sorted((a, b))
    assert once(p, current, lag(low, partitions)).replicas <= once(p, current, lag(high, partitions)).replicas


@settings(max_examples=300)
@given(policies, st.integers(0, 60), st.text(max_size=20))
def test_a_failed_read_never_changes_replicas(p: ScalingPolicy, current: int, error: str) -> None:
    assert once(p, current, LagSnapshot(ok=False, error=error)).replicas == current


@settings(max_examples=200)
@given(st.integers(10, 1000), st.lists(st.integers(-50, 50), min_size=5, max_size=23))
def test_noisy_lag_does_not_flap_within_the_window(base: int, noise: list[int]) -> None:
    """Lag jittering around a level every 5 s: after the first scale-up, never down within 120 s."""
    p = policy(maxReplicas=100, lagThreshold=10, scaleDownStabilizationSeconds=120)
    replicas, memory, history = 1, ScalerMemory(), []
    for i, delta in enumerate(noise):  # at most 23 polls = 115 s < the window
        decision = decide(p, replicas, lag(max(0, base + delta), 64), memory, now=5.0 * i)
        replicas, memory = decision.replicas, decision.memory
        history.append(replicas)
    assert history == sorted(history), history


@settings(max_examples=200)
@given(st.integers(1, 64), st.integers(1, 1000), st.integers(0, 100_000))
def test_partition_cap_uses_the_ceiling(partitions: int, threshold: int, total: int) -> None:
    p = policy(maxReplicas=1000, lagThreshold=threshold)
    expected = min(-(-total // threshold), partitions)
    assert once(p, max(1, expected), lag(total, partitions)).desired == max(1, expected)


def test_a_resumed_group_keeps_its_replicas_through_the_window_and_the_cooldown() -> None:
    # A new leader (or a restarted operator) first sees 4 replicas and no lag: without memory it
    # would scale to zero at once; resumed, it waits as the previous process would have.
    p = policy(minReplicas=0, cooldownSeconds=300, scaleDownStabilizationSeconds=120)
    memory = resumed_memory(4, now=1000.0)
    first = decide(p, 4, lag(0), memory, now=1001.0)
    assert first.replicas == 4 and "stabilization window" in first.reason
    after_window = decide(p, 4, lag(0), first.memory, now=1122.0)
    assert after_window.replicas == 1 and "cooling down" in after_window.reason
    after_cooldown = decide(p, 1, lag(0), after_window.memory, now=1301.0)
    assert after_cooldown.replicas == 0


def test_a_resumed_group_still_scales_up_at_once() -> None:
    assert decide(policy(maxReplicas=50), 2, lag(80), resumed_memory(2, 1000.0), 1001.0).replicas == 8


def test_resuming_does_not_stretch_an_up_window() -> None:
    # With an up window the lowest recommendation of the window wins; the replicas found at
    # start are not a recommendation, so they do not hold a scale-up back.
    p = policy(maxReplicas=50, scaleUpStabilizationSeconds=30)
    assert decide(p, 2, lag(80), resumed_memory(2, 1000.0), 1001.0).replicas == 8


def test_a_group_resumed_at_zero_starts_with_an_empty_memory() -> None:
    assert resumed_memory(0, 1000.0) == ScalerMemory()
    assert decide(policy(minReplicas=0), 0, lag(0), resumed_memory(0, 1000.0), 1001.0).replicas == 0


@given(st.floats(min_value=0, max_value=1e7, allow_nan=False),
       st.floats(min_value=0, max_value=1e7, allow_nan=False),
       st.integers(min_value=1, max_value=3600))
def test_polls_of_one_interval_fall_on_one_grid(first: float, second: float, interval: int) -> None:
    one, other = next_poll(first, interval), next_poll(second, interval)
    assert first < one <= first + interval and second < other <= second + interval
    assert (one - other) / interval == pytest.approx(round((one - other) / interval), abs=1e-6)
