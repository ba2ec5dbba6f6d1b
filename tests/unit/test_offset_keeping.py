"""The retention guard's timing rule (core.offset_keeping), without I/O."""

from __future__ import annotations

import itertools

import pytest

from eventsub.core.offset_keeping import (
    KeeperMemory,
    next_renewal,
    renewal_due,
    renewed,
    with_known_renewal,
)

RETENTION = 600.0  # ten minutes: renewals fall due 300 s after the clock last restarted


def test_first_sight_of_an_empty_group_with_offsets_renews_at_once() -> None:
    due, memory = renewal_due("Empty", True, KeeperMemory(), now=1000.0, retention_seconds=RETENTION)
    assert due
    assert memory == KeeperMemory()


def test_an_empty_group_without_offsets_has_nothing_to_keep() -> None:
    due, _ = renewal_due("Empty", False, KeeperMemory(), now=1000.0, retention_seconds=RETENTION)
    assert not due


@pytest.mark.parametrize("state", ["Stable", "PreparingRebalance", "CompletingRebalance"])
def test_a_group_with_members_is_never_renewed_and_is_remembered_active(state: str) -> None:
    due, memory = renewal_due(state, True, KeeperMemory(renewed=5.0), now=1e9, retention_seconds=RETENTION)
    assert not due
    assert memory == KeeperMemory(seen_active=True, renewed=5.0)


@pytest.mark.parametrize("state", ["Dead", "Unknown"])
def test_a_group_that_does_not_exist_is_not_active(state: str) -> None:
    due, memory = renewal_due(state, False, KeeperMemory(), now=10.0, retention_seconds=RETENTION)
    assert not due
    assert not memory.seen_active


def test_seeing_a_group_go_empty_starts_the_clock_there() -> None:
    _, active = renewal_due("Stable", True, KeeperMemory(), now=100.0, retention_seconds=RETENTION)
    due, memory = renewal_due("Empty", True, active, now=110.0, retention_seconds=RETENTION)
    assert not due
    assert memory.empty_since == 110.0
    assert not renewal_due("Empty", True, memory, now=409.0, retention_seconds=RETENTION)[0]
    assert renewal_due("Empty", True, memory, now=410.0, retention_seconds=RETENTION)[0]


def test_the_clock_keeps_its_start_while_the_group_stays_empty() -> None:
    memory = KeeperMemory(empty_since=110.0)
    _, after = renewal_due("Empty", True, memory, now=200.0, retention_seconds=RETENTION)
    assert after.empty_since == 110.0


def test_a_renewal_restarts_the_clock() -> None:
    memory = renewed(KeeperMemory(empty_since=110.0), now=410.0)
    assert next_renewal(memory, RETENTION) == 710.0
    assert not renewal_due("Empty", True, memory, now=709.0, retention_seconds=RETENTION)[0]
    assert renewal_due("Empty", True, memory, now=710.0, retention_seconds=RETENTION)[0]


def test_the_latest_known_start_counts() -> None:
    assert next_renewal(KeeperMemory(empty_since=500.0, renewed=100.0), RETENTION) == 800.0
    assert next_renewal(KeeperMemory(empty_since=100.0, renewed=500.0), RETENTION) == 800.0
    assert next_renewal(KeeperMemory(), RETENTION) == float("-inf")


def test_a_renewal_known_from_status_counts_after_a_restart() -> None:
    memory = with_known_renewal(KeeperMemory(), 1000.0)
    assert not renewal_due("Empty", True, memory, now=1200.0, retention_seconds=RETENTION)[0]
    assert renewal_due("Empty", True, memory, now=1300.0, retention_seconds=RETENTION)[0]


def test_an_older_stamp_from_status_never_replaces_a_newer_renewal() -> None:
    memory = KeeperMemory(renewed=2000.0)
    assert with_known_renewal(memory, 1000.0) == memory
    assert with_known_renewal(memory, None) == memory
    assert with_known_renewal(memory, 3000.0).renewed == 3000.0


def test_a_long_quiet_period_is_renewed_every_half_retention() -> None:
    memory, now, renewals = KeeperMemory(), 0.0, []
    while now < 10 * RETENTION:
        due, memory = renewal_due("Empty", True, memory, now, RETENTION)
        if due:
            memory = renewed(memory, now)
            renewals.append(now)
        now += 7.0  # the poll interval
    gaps = [b - a for a, b in itertools.pairwise(renewals)]
    assert renewals[0] == 0.0
    assert all(RETENTION / 2 <= gap < RETENTION / 2 + 7.0 for gap in gaps)
