"""The namespace graph: its nodes and edges from the catalog, a deterministic layered layout, and
feedback loops and orphans marked in the SVG."""

from __future__ import annotations

import re

from catalog_bodies import catalog, large, subscription, topic
from eventsub.catalog.graph_layout import back_edges, columns, layered
from eventsub.catalog.graph_model import DECLARED, EVENT, FOREIGN, SERVICE, namespace_graph
from eventsub.catalog.graph_svg import MAX_NODES, graph_layout, render


def loop_catalog():  # type: ignore[no-untyped-def]
    """web (declared) -> orders -> a -> refunds -> b -> orders: a loop between a and b; c reads
    audit nobody produces; unread is consumed by nobody; d (another namespace) reads refunds."""
    return catalog(
        [topic("shop", "orders", producers=["web"]), topic("shop", "refunds"),
         topic("shop", "audit"), topic("shop", "unread")],
        [subscription("shop", "a", ["orders"], ["refunds"]),
         subscription("shop", "b", ["refunds"], ["orders"]),
         subscription("shop", "c", ["audit"]),
         ("ops/d", {"metadata": {"namespace": "ops", "name": "d"},
                    "spec": {"connectionRef": {"name": "local"}, "topics": [{"name": "refunds"}]},
                    "status": {}})])


def test_the_graph_of_a_namespace() -> None:
    graph = namespace_graph(loop_catalog(), "shop")
    kinds = {n.label: n.kind for n in graph.nodes.values()}
    assert kinds == {"a": SERVICE, "b": SERVICE, "c": SERVICE, "ops/d": FOREIGN, "web": DECLARED,
                     "orders": EVENT, "refunds": EVENT, "audit": EVENT, "unread": EVENT}
    edges = {(graph.nodes[e.source].label, graph.nodes[e.target].label): e.loop
             for e in graph.edges}
    assert edges == {("web", "orders"): False, ("orders", "a"): True, ("a", "refunds"): True,
                     ("refunds", "b"): True, ("b", "orders"): True, ("refunds", "ops/d"): False,
                     ("audit", "c"): False}
    marks = {n.label: n.marks for n in graph.nodes.values()}
    assert "feedback loop" in marks["a"] and "feedback loop" in marks["orders"]
    assert "nobody produces" in marks["audit"] and "nobody consumes" in marks["unread"]
    assert marks["c"] == ()


def test_back_edges_and_longest_path_columns() -> None:
    # s feeds the cycle x -> a -> y -> b -> x twice; the walk from s reaches b first (by name),
    # so the edge back into b is the one set aside.
    edges = [("s", "x"), ("x", "a"), ("a", "y"), ("y", "b"), ("b", "x"), ("s", "b")]
    assert back_edges(["a", "b", "s", "x", "y"], edges) == {("y", "b")}
    assert columns(["a", "b", "s", "x", "y"], edges) == {"s": 0, "b": 1, "x": 2, "a": 3, "y": 4}
    assert back_edges(["a", "b"], [("a", "b")]) == set()
    assert columns(["p"], [("p", "p")]) == {"p": 0}  # a service producing what it reads


def test_the_layout_is_deterministic_and_boxes_never_overlap() -> None:
    graph = namespace_graph(loop_catalog(), "shop")
    first, again = graph_layout(graph), graph_layout(namespace_graph(loop_catalog(), "shop"))
    assert first == again
    boxes = list(first.boxes.values())
    assert len(boxes) == len(graph.nodes)
    for i, one in enumerate(boxes):
        for other in boxes[i + 1:]:
            apart = (one.x + one.width <= other.x or other.x + other.width <= one.x
                     or one.y + one.height <= other.y or other.y + other.height <= one.y)
            assert apart, (one, other)
        assert one.x + one.width <= first.width and one.y + one.height <= first.height
    forward = [e for e in graph.edges if not e.loop]
    for edge in forward:  # edges off the loop all point right
        assert first.boxes[edge.source].column < first.boxes[edge.target].column


def test_groups_with_a_loop_come_first_and_a_budget_leaves_groups_out() -> None:
    widths = {n: 50.0 for n in ["a", "b", "c", "d", "e", "l1", "l2"]}
    edges = [("a", "b"), ("b", "c"), ("d", "e"), ("l1", "l2"), ("l2", "l1")]
    layout = layered(widths, edges, cyclic=frozenset({"l1", "l2"}))
    order = sorted(widths, key=lambda n: (layout.boxes[n].y, layout.boxes[n].x))
    assert order[:2] == ["l1", "l2"] and order[2:5] == ["a", "b", "c"]
    cut = layered(widths, edges, max_nodes=5, cyclic=frozenset({"l1", "l2"}))
    assert set(cut.boxes) == {"l1", "l2", "a", "b", "c"}
    assert (cut.left_out, cut.left_out_groups) == (2, 1)


def test_loops_are_red_and_orphans_dashed_in_the_svg() -> None:
    graph = namespace_graph(loop_catalog(), "shop")
    svg = render(graph, graph_layout(graph))
    assert len(re.findall(r'<path class="edge loop"', svg)) == 4
    assert len(re.findall(r'<path class="edge"', svg)) == 3
    assert svg.count('marker-end="url(#arrow-loop)"') == 4
    assert re.search(r'<g class="service loop" data-id="service:shop/a">', svg)
    assert re.search(r'<g class="event orphan" data-id="event:shop/unread">', svg)
    assert re.search(r'<g class="event orphan" data-id="event:shop/audit">', svg)
    assert 'href="/catalog/events/shop/orders"' in svg and 'href="/catalog/graph/ops"' in svg


def test_a_thousand_events_still_render_summarised_or_whole() -> None:
    topics, subs = large(1000)
    c = catalog(topics, subs)
    graph = namespace_graph(c, "big")
    assert len(graph.nodes) == 2000
    summarised = graph_layout(graph)
    assert 0 < len(summarised.boxes) <= MAX_NODES
    assert summarised.left_out == 2000 - len(summarised.boxes)
    whole = graph_layout(graph, max_nodes=None)
    assert len(whole.boxes) == 2000 and whole.left_out == 0
    assert render(graph, whole).count("<rect") == 2000
