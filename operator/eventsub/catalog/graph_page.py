"""/catalog/graph and /catalog/graph/{namespace}: the namespaces, and a namespace's services and
events as a drawing where feedback loops and orphans stand out."""

from __future__ import annotations

from eventsub.catalog.graph_model import EVENT, namespace_graph, namespaces
from eventsub.catalog.graph_svg import MAX_NODES, graph_layout, render
from eventsub.catalog.html_base import document, esc
from eventsub.catalog.links import graph_href, list_href
from eventsub.core.catalog_graph import describe_cycle
from eventsub.core.catalog_snapshot import Catalog

LEGEND = ('<div class="legend"><span><i class="l-service"></i>subscription</span>'
          '<span><i class="l-event"></i>event</span>'
          '<span><i class="l-declared"></i>declared producer / other namespace</span>'
          '<span><i class="l-loop"></i>feedback loop ⟳</span>'
          '<span><i class="l-orphan"></i>nobody produces or consumes it</span></div>')


def index_page(catalog: Catalog) -> str:
    items = "".join(
        f'<li><a href="{esc(graph_href(ns))}">{esc(ns)}</a> <span class="muted">'
        f"{len(view.events):,} events, {len(view.consumers):,} subscriptions</span></li>"
        for ns in namespaces(catalog) for view in [catalog.in_namespace(ns)])
    return document("Graphs", f"<h1>Graphs</h1><ul>{items or '<li>no namespace yet</li>'}</ul>")


def graph_page(catalog: Catalog, namespace: str, draw_all: bool = False) -> str:
    graph = namespace_graph(catalog, namespace)
    layout = graph_layout(graph, None if draw_all else MAX_NODES)
    events = sum(1 for n in graph.nodes.values() if n.kind == EVENT)
    cycles = [c for c in catalog.findings.cycles
              if any(s.startswith(f"{namespace}/") for s in c[::2])]
    loops = "".join(f"<li><code>{esc(describe_cycle(c))}</code></li>" for c in cycles[:20])
    summary = (f'<p class="muted">{events:,} events and {len(graph.nodes) - events:,} services; '
               f'<a href="{esc(list_href(namespace=namespace))}">as a list</a></p>')
    if layout.left_out:
        summary += (f'<div class="findings">Drawn: {len(layout.boxes):,} nodes (groups with a '
                    f"feedback loop first, then the largest). Not drawn: {layout.left_out_groups:,}"
                    f" smaller groups of {layout.left_out:,} nodes; they are in the "
                    f'<a href="{esc(list_href(namespace=namespace))}">list</a>, or '
                    f'<a href="{esc(graph_href(namespace))}?all=1">draw everything</a>.</div>')
    if loops:
        summary += f'<div class="findings loops"><b>Feedback loops</b><ul>{loops}</ul></div>'
    drawing = render(graph, layout) if layout.boxes else '<p class="muted">Nothing here.</p>'
    return document(f"Graph of {namespace}",
                    f"<h1>Graph of {esc(namespace)}</h1>{summary}{LEGEND}"
                    f'<div class="graph">{drawing}</div>', wide=True)
