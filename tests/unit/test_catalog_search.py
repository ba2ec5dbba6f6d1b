"""Searching the catalog by name, owner or schema field."""

from __future__ import annotations

from catalog_bodies import catalog, subscription, topic
from eventsub.catalog.search import Word, parse, search

CATALOG = catalog(
    [topic("shop", "orders", owner="checkout-team", fields=("orderId", "customerEmail")),
     topic("shop", "payments", owner="Payments", fields=("orderId", "amount")),
     topic("ops", "audit", owner=None, description=None)],
    [subscription("shop", "billing", ["orders"])])


def found(query: str) -> list[str]:
    return [m.entry.key for m in search(CATALOG.events, query)]


def test_an_empty_query_lists_every_event() -> None:
    assert found("") == found("   ") == [e.key for e in CATALOG.events]


def test_by_name_owner_or_field_case_insensitively() -> None:
    assert found("ORDERS") == ["shop/orders"]
    assert found("payments") == ["shop/payments"]  # its name and its owner
    assert found("checkout") == ["shop/orders"]
    assert found("customeremail") == ["shop/orders"]
    assert found("orderid") == ["shop/orders", "shop/payments"]
    assert found("nothing-like-this") == []


def test_every_word_must_match_and_each_match_says_why() -> None:
    assert found("orderid amount") == ["shop/payments"]
    (match,) = search(CATALOG.events, "checkout orderid")
    assert match.reasons == ("owner", "field orderId")
    (match,) = search(CATALOG.events, "audit")
    assert match.reasons == ("name",)


def test_a_word_limited_to_one_place() -> None:
    assert found("owner:payments") == ["shop/payments"]
    assert found("name:payments") == ["shop/payments"]
    assert found("owner:orders") == []  # "orders" is a name, not an owner
    assert found("field:amount") == ["shop/payments"]
    assert found("field:checkout") == []
    assert parse("other:x") == (Word("other:x"),)  # not a place: a plain word


def test_a_query_is_bounded() -> None:
    assert len(parse(" ".join(f"w{i}" for i in range(50)))) == 8
    assert parse("x" * 1000) == (Word("x" * 200),)
