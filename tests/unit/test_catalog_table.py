"""The kubectl plugin's table (catalog.table) and its command line (catalog.plugin)."""

from __future__ import annotations

import json

import pytest
import yaml

from catalog_resources import AUDIT, BILLING, ORDERS, PAYMENTS, shop_catalog
from eventsub.catalog import plugin, table
from eventsub.core.catalog_snapshot import build


def _rows(text: str) -> list[list[str]]:
    return [line.split() for line in text.splitlines()]


def test_one_row_per_event_with_owner_producers_consumers_lag_and_lifecycle() -> None:
    text = table.render(shop_catalog().in_namespace("shop"), namespace="shop")
    lines = text.splitlines()
    assert lines[0].split() == ["EVENT", "OWNER", "PRODUCERS", "CONSUMERS", "LAG", "LIFECYCLE"]
    orders = next(line for line in lines if line.startswith("shop.orders "))
    # Its own namespace's subscriptions by name, others with their namespace; declared services.
    assert orders.split("   ")[0:1] == ["shop.orders"]
    assert "team-orders" in orders and "web frontend" in orders
    assert "ops/audit,billing" in orders
    assert " 40 " in orders  # billing's lag on this topic, not its total (45)
    assert orders.endswith("Deprecated (use shop.orders.v2)")
    invoices = next(line for line in lines if line.startswith("invoices "))
    assert invoices.split() == ["invoices", "<none>", "billing", "<none>", "-", "Active"]
    # Columns line up: every cell of a column starts at the same offset.
    starts = [lines[0].index(h) for h in ("OWNER", "PRODUCERS", "CONSUMERS", "LAG", "LIFECYCLE")]
    for line in lines[1:]:
        assert all(line[s - 3:s] == "   " for s in starts), line


def test_all_namespaces_adds_the_namespace_and_writes_every_subscription_in_full() -> None:
    lines = table.render(shop_catalog()).splitlines()
    assert lines[0].split()[:2] == ["NAMESPACE", "EVENT"]
    orders = next(line for line in lines if " shop.orders " in line)
    assert orders.startswith("shop ") and "ops/audit,shop/billing" in orders
    undescribed = next(line for line in lines if " invoices " in line)
    assert undescribed.startswith("<none> ")


def test_many_names_are_counted_and_an_empty_catalog_says_so() -> None:
    subs = [(f"ns/s{i}", {"metadata": {"namespace": "ns", "name": f"s{i}"},
                          "spec": {"connectionRef": {"name": "k"}, "topics": [{"name": "t"}]}})
            for i in range(5)]
    text = table.render(build([], subs, lambda k: "c"), namespace="ns")
    assert "s0,s1,s2,+2" in text
    assert table.render(build([], [], lambda k: "c"), "ns") == "No events found in namespace ns.\n"


def test_the_plugin_renders_the_same_document_the_operator_serves() -> None:
    catalog = shop_catalog()
    as_json = json.loads(plugin.render(catalog, "shop", "asyncapi-json"))
    assert as_json["info"]["title"] == "eventsub catalog: namespace shop"
    assert yaml.safe_load(plugin.render(catalog, "shop", "asyncapi-yaml")) == as_json
    assert plugin.render(catalog, None, "table") == table.render(catalog)


@pytest.mark.parametrize(("argv", "expected"), [
    (["catalog"], {"namespace": None, "all_namespaces": False, "output": "table"}),
    (["catalog", "-n", "shop", "-o", "asyncapi-yaml"], {"namespace": "shop",
                                                        "output": "asyncapi-yaml"}),
    (["catalog", "-A", "--context", "prod", "--kubeconfig", "/k"],
     {"all_namespaces": True, "context": "prod", "kubeconfig": "/k"}),
])
def test_command_line(argv: list[str], expected: dict[str, object]) -> None:
    args = vars(plugin.parser().parse_args(argv))
    assert {k: args[k] for k in expected} == expected


@pytest.mark.parametrize("argv", [["catalog", "-n", "a", "-A"], ["catalog", "-o", "xml"], []])
def test_bad_command_lines_are_refused(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        plugin.parser().parse_args(argv)
    assert exit_.value.code == 2
    assert "usage: kubectl eventsub" in capsys.readouterr().err


def test_resources_of_the_shop_are_what_the_table_shows() -> None:
    assert {ORDERS[0], PAYMENTS[0], BILLING[0], AUDIT[0]} == {
        "shop/orders", "shop/payments", "shop/billing", "ops/audit"}
