"""Which EventTopic owns a Kafka topic: the one managing it keeps it; ties are deterministic."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from eventsub.core.ownership import Claim, conflict_message, owner

T0, T1 = "2026-12-02T10:00:00Z", "2026-12-02T10:00:01Z"


@pytest.mark.parametrize(("claims", "expected"), [
    ([], None),
    ([Claim(T0, "a", "x")], "a/x"),
    ([Claim(T1, "a", "x"), Claim(T0, "b", "y")], "b/y"),  # the older wins
    ([Claim(T0, "b", "y"), Claim(T0, "a", "z")], "a/z"),  # same second: by namespace
    ([Claim(T0, "a", "z"), Claim(T0, "a", "y")], "a/y"),  # then by name
    # The one that manages the topic keeps it against an older or same-second rival.
    ([Claim(T0, "a", "b"), Claim(T0, "a", "c", manages=True)], "a/c"),
    ([Claim(T0, "a", "b"), Claim(T1, "z", "z", manages=True)], "z/z"),
    # Two that both claim to manage (left over from earlier versions): the older.
    ([Claim(T1, "a", "a", manages=True), Claim(T0, "b", "b", manages=True)], "b/b"),
])
def test_owner(claims: list[Claim], expected: str | None) -> None:
    found = owner(claims)
    assert (found.key if found else None) == expected


@given(st.lists(st.tuples(st.sampled_from([T0, T1]), st.sampled_from("ab"), st.sampled_from("xyz"),
                          st.booleans()), min_size=1, max_size=6, unique_by=lambda t: (t[1], t[2])))
def test_owner_does_not_depend_on_order_and_never_leaves_a_manager(raw: list[tuple[str, str, str, bool]]
                                                                   ) -> None:
    claims = [Claim(*fields) for fields in raw]
    chosen = {owner(p) for p in itertools.islice(itertools.permutations(claims), 24)}
    assert len(chosen) == 1
    winner = chosen.pop()
    assert winner is not None
    assert winner.manages or not any(c.manages for c in claims)


@pytest.mark.parametrize(("holder", "claimant", "phrase"), [
    (Claim(T1, "a", "x", manages=True), Claim(T0, "a", "y"), "which already manages it"),
    (Claim(T0, "a", "x"), Claim(T1, "a", "y"), "which is older"),
    (Claim(T0, "a", "x"), Claim(T0, "a", "y"), "created in the same second"),
])
def test_conflict_message_tells_why(holder: Claim, claimant: Claim, phrase: str) -> None:
    message = conflict_message("orders", holder, claimant)
    assert phrase in message
    assert message.startswith(f"Kafka topic orders is managed by EventTopic {holder.key}")
