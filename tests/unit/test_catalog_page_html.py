"""The catalog page's HTML: every value escaped, nothing loaded from elsewhere, the stylesheet
allowed by its hash and nothing else; findings, lifecycle and consumers shown."""

from __future__ import annotations

import base64
import hashlib
import re

from catalog_bodies import catalog, subscription, topic
from eventsub.catalog.event_page import event_page
from eventsub.catalog.graph_page import graph_page, index_page
from eventsub.catalog.html_base import HEADERS, STYLE, ago
from eventsub.catalog.list_page import PAGE_SIZE, catalog_page
from eventsub.core.catalog_snapshot import Activity, Catalog, EventEntry

EVIL = '<script>alert("x")</script>'
NOW = 1_800_000_000.0


def hostile() -> Catalog:
    """Every name and fact a user controls carries markup."""
    return catalog(
        [topic("shop", "orders", owner=EVIL, description=f"desc {EVIL}", fields=(f"f{EVIL}",),
               producers=[f"web{EVIL}"], lifecycle="Deprecated", replacedBy="orders-v2"),
         topic("shop", "orders-v2", owner="team", description="the new one")],
        [subscription("shop", "billing", ["orders"], ["orders-v2"], lag=7)])


def pages(c: Catalog) -> list[str]:
    entry = c.events[0]
    return [catalog_page(c), catalog_page(c, query=EVIL, namespace=EVIL),
            catalog_page(c, query="orders"), event_page(c, entry, NOW),
            graph_page(c, "shop"), graph_page(c, EVIL), index_page(c)]


def test_every_value_is_escaped() -> None:
    for page in pages(hostile()):
        assert "<script" not in page
    listing = catalog_page(hostile())
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in listing


def test_no_script_no_external_resource_and_only_the_hashed_stylesheet() -> None:
    policy = HEADERS["Content-Security-Policy"]
    digest = base64.b64encode(hashlib.sha256(STYLE.encode()).digest()).decode()
    assert f"style-src 'sha256-{digest}'" in policy
    assert "default-src 'none'" in policy and "script" not in policy
    for page in pages(hostile()):
        assert page.count("<style>") == 1 and f"<style>{STYLE}</style>" in page
        assert " style=" not in page  # an inline style attribute would be refused
        links = re.findall(r'(?:href|src|action)="([^"]*)"', page)
        assert links and all(link.startswith(("/catalog", "#", "data:,")) for link in links), links


def test_the_list_highlights_findings_and_lifecycle() -> None:
    c = catalog(
        [topic("shop", "orders", owner="checkout"), topic("shop", "refunds", owner="checkout"),
         topic("shop", "undocumented", owner=None, description=None),
         topic("shop", "old", lifecycle="Deprecated", replacedBy="orders")],
        [subscription("shop", "a", ["orders"], ["refunds"]),
         subscription("shop", "b", ["refunds"], ["orders"]),
         subscription("shop", "c", ["undocumented"])])
    page = catalog_page(c)
    assert "shop/a -&gt; refunds -&gt; shop/b -&gt; orders -&gt; shop/a" in page
    row = re.search(r'<tr class="loop">.*?</tr>', page)
    assert row and "orders" in row.group(0) and "feedback loop" in row.group(0)
    flagged = re.findall(r'<tr class="flagged">(.*?)</tr>', page)
    assert any("undocumented" in r and "no owner or description" in r and "nobody produces" in r
               for r in flagged)
    assert any("old" in r and "nobody consumes" in r and "Deprecated" in r and "→ orders" in r
               for r in flagged)
    only = catalog_page(c, flagged=True)
    assert "shop/old" in only and "shop/orders" in only and ">refunds<" in only  # loops are findings
    assert catalog_page(c, namespace="elsewhere").count('<tr class=') == 0


def test_the_list_filters_by_namespace_and_search() -> None:
    c = catalog([topic("shop", "orders", owner="checkout"), topic("ops", "audit", owner="sre")],
                [subscription("shop", "billing", ["orders"])])
    assert "ops/audit" not in catalog_page(c, namespace="shop")
    assert "shop/orders" in catalog_page(c, namespace="shop")
    page = catalog_page(c, query="owner:sre")
    assert "ops/audit" in page and "shop/orders" not in page and "matched: owner" in page


def test_the_event_page_shows_facts_producers_consumers_and_lag() -> None:
    c = hostile()
    entry = c.events[0]
    page = event_page(c, entry, NOW)
    assert "desc &lt;script&gt;" in page and "Deprecated" in page
    assert 'href="/catalog/events/shop/orders-v2"' in page  # replaced by, linked
    producers = page.split('class="col producers"')[1].split('class="col consumers"')[0]
    consumers = page.split('class="col consumers"')[1]
    assert "web&lt;script&gt;" in producers and "declared on the topic" in producers
    assert "shop/billing" in consumers and "group shop.billing" in consumers
    row = re.search(r'<tr class="consumer">.*?</tr>', page)
    assert row and "<code>shop.billing</code>" in row.group(0)
    assert '<td class="lag">7</td>' in row.group(0) and "1 / 1" in row.group(0)
    assert "Running" in row.group(0) and "OK" in row.group(0)
    assert "<code>f&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;</code>" in page  # a field


def test_the_event_page_says_whether_the_event_is_alive() -> None:
    c = hostile()
    alive = EventEntry(**{**c.events[1].__dict__, "activity": Activity(2.5, NOW - 90)})
    page = event_page(c, alive, NOW)
    assert "2.5" in page and "(1 min ago)" in page
    assert "not seen" in event_page(c, c.events[1], NOW)
    assert [ago(s) for s in (5, 61, 7200, 90000)] == ["5 s ago", "1 min ago", "2 h ago", "1 d ago"]


def test_a_long_list_comes_in_pages() -> None:
    c = catalog([topic("big", f"event-{i:04d}") for i in range(PAGE_SIZE * 2 + 10)], [])
    first = catalog_page(c, namespace="big")
    assert first.count("<tr class=") == PAGE_SIZE and "event-0000" in first
    assert f"rows 1 to {PAGE_SIZE} of {PAGE_SIZE * 2 + 10:,}" in first
    assert 'href="/catalog?ns=big&amp;page=2">next 250<' in first and "previous" not in first
    last = catalog_page(c, page=3)
    assert last.count("<tr class=") == 10 and "event-0509" in last and "/catalog?page=2" in last
    assert catalog_page(c, page=99) == last  # past the end: the last page


def test_the_event_page_shows_where_the_registry_holds_the_schema() -> None:
    c = hostile()
    registered = EventEntry(**{**c.events[1].__dict__,
                               "schema": {"format": "Avro", "ref": "registry subject o-value"},
                               "registered": {"value": {"subject": f"o{EVIL}", "version": 4,
                                                        "id": 31, "compatibility": "FULL"}}})
    page = event_page(c, registered, NOW)
    row = re.search(r'<table class="registered">.*?</table>', page)
    assert row and "<td>value</td><td><code>o&lt;script&gt;" in row.group(0)
    assert "<td>4</td><td>31</td><td>FULL</td>" in row.group(0)
    assert 'class="registered"' not in event_page(c, c.events[1], NOW)
