"""The leader-election rules (core.leadership): who may take the lease, and when to step down."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from eventsub.core.leadership import Claim, LeaseRecord, Sighting, Timing, claim, must_step_down, sight

OTHER = LeaseRecord(holder="other", duration_seconds=12, transitions=3, version="100")


def test_no_lease_is_created() -> None:
    assert claim(None, None, "me", now=0.0) is Claim.CREATE


def test_our_lease_is_renewed() -> None:
    ours = LeaseRecord("me", 12, 1, "7")
    assert claim(ours, Sighting("7", 0.0), "me", now=100.0) is Claim.RENEW


@pytest.mark.parametrize("holder", [None, ""])
def test_a_released_lease_is_taken_at_once(holder: str | None) -> None:
    released = LeaseRecord(holder, 1, 3, "101")
    assert claim(released, Sighting("101", 50.0), "me", now=50.0) is Claim.TAKE_OVER


def test_a_live_lease_is_respected_until_it_stopped_changing_for_its_duration() -> None:
    seen = Sighting("100", 10.0)
    assert claim(OTHER, seen, "me", now=21.9) is Claim.WAIT
    assert claim(OTHER, seen, "me", now=22.0) is Claim.TAKE_OVER


def test_expiry_counts_from_when_this_candidate_saw_the_version_not_from_its_timestamps() -> None:
    # A candidate that only now sees the lease waits a full duration, whatever the clocks say.
    assert claim(OTHER, None, "me", now=1000.0) is Claim.WAIT
    assert claim(OTHER, Sighting("99", 0.0), "me", now=1000.0) is Claim.WAIT


def test_a_renewal_restarts_the_candidates_wait() -> None:
    first = sight(None, OTHER, now=0.0)
    assert first == Sighting("100", 0.0)
    assert sight(first, OTHER, now=5.0) == first  # unchanged: the wait keeps running
    renewed = LeaseRecord("other", 12, 3, "104")
    again = sight(first, renewed, now=6.0)
    assert again == Sighting("104", 6.0)
    assert claim(renewed, again, "me", now=17.0) is Claim.WAIT
    assert claim(renewed, again, "me", now=18.0) is Claim.TAKE_OVER


def test_a_lease_that_disappears_is_forgotten() -> None:
    assert sight(Sighting("100", 0.0), None, now=3.0) is None


def test_client_go_proportions() -> None:
    assert Timing.for_lease(15) == Timing(15, 10.0, 2.0)
    assert Timing.for_lease(12) == Timing(12, 8.0, 1.0)
    with pytest.raises(ValueError, match="at least 4 seconds"):
        Timing.for_lease(3)


def test_the_leader_steps_down_at_the_renew_deadline() -> None:
    timing = Timing.for_lease(12)
    assert not must_step_down(last_renewed=100.0, now=107.9, timing=timing)
    assert must_step_down(last_renewed=100.0, now=108.0, timing=timing)


@given(st.integers(min_value=4, max_value=3600))
def test_a_leader_always_stops_before_a_standby_may_take_over(lease: int) -> None:
    # The standby's wait starts no earlier than the leader's last successful renewal; the leader
    # must give up strictly before that wait ends, with at least one retry period to spare.
    timing = Timing.for_lease(lease)
    assert timing.renew_deadline_seconds + timing.retry_seconds <= timing.lease_seconds
    assert timing.retry_seconds < timing.renew_deadline_seconds


@given(st.floats(min_value=0, max_value=1e6), st.floats(min_value=0, max_value=1e6))
def test_a_live_foreign_lease_is_never_taken_early(seen_at: float, elapsed: float) -> None:
    outcome = claim(OTHER, Sighting("100", seen_at), "me", now=seen_at + elapsed)
    assert (outcome is Claim.TAKE_OVER) == (elapsed >= OTHER.duration_seconds)
