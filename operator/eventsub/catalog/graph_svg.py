"""A namespace graph drawn as SVG: services and events as boxes placed by graph_layout, edges
as curves with arrowheads, feedback loops in red, orphans dashed. Every name is escaped."""

from __future__ import annotations

from eventsub.catalog.flags import LOOP, UNCONSUMED, UNPRODUCED
from eventsub.catalog.graph_layout import Box, Layout, layered
from eventsub.catalog.graph_model import EVENT, Graph, Node
from eventsub.catalog.html_base import esc

CHAR_WIDTH = 7.0  # of the 12 px sans-serif labels, roughly; boxes are sized from it
MAX_LABEL = 34  # longer names are cut (the full name is in the box's tooltip)
PADDING = 22.0
MAX_NODES = 400  # drawn per namespace, by default; whole groups past it are left out
ORPHAN = (UNCONSUMED, UNPRODUCED)
REACH, DROP, CORNER = 36.0, 22.0, 10.0  # a back edge: how far right, how far below the group
LANES, LANE = 3, 7.0  # back edges of a group take turns in this many lanes, this far apart


def label(node: Node) -> str:
    text = node.label if len(node.label) <= MAX_LABEL else node.label[:MAX_LABEL - 1] + "…"
    mark = _mark(node)
    return f"{text} {mark}" if mark else text


def _mark(node: Node) -> str:
    if LOOP in node.marks:
        return "⟳"
    if node.kind == EVENT and UNCONSUMED in node.marks:
        return "· no consumer"
    if node.kind == EVENT and UNPRODUCED in node.marks:
        return "· no producer"
    if "deprecated" in node.marks:
        return "· deprecated"
    return ""


def box_width(node: Node) -> float:
    return len(label(node)) * CHAR_WIDTH + PADDING


def graph_layout(graph: Graph, max_nodes: int | None = MAX_NODES) -> Layout:
    widths = {node_id: box_width(node) for node_id, node in graph.nodes.items()}
    cyclic = frozenset(n for e in graph.edges if e.loop for n in (e.source, e.target))
    return layered(widths, [(e.source, e.target) for e in graph.edges], max_nodes, cyclic)


def render(graph: Graph, layout: Layout) -> str:
    drawn = [e for e in graph.edges if e.source in layout.boxes and e.target in layout.boxes]
    backs = [e for e in drawn
             if layout.boxes[e.target].column <= layout.boxes[e.source].column]
    lanes = {(e.source, e.target): i % LANES for i, e in enumerate(backs)}  # apart, not on top
    # Loop edges last, so the red is drawn over the grey.
    edges = "".join(_edge(layout.boxes[e.source], layout.boxes[e.target], e.loop,
                          lanes.get((e.source, e.target), 0))
                    for e in sorted(drawn, key=lambda e: e.loop))
    nodes = "".join(_node(graph.nodes[node_id], box)
                    for node_id, box in sorted(layout.boxes.items()))
    width = round(max([layout.width, *(layout.boxes[e.source].x + layout.boxes[e.source].width
                                       + REACH + LANES * LANE + 10 for e in backs)]))
    height = round(max([layout.height, *(layout.boxes[e.source].floor + DROP + LANES * LANE + 10
                                         for e in backs)]))
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
            f'viewBox="0 0 {width} {height}" role="img" aria-label="services and events">'
            f"<defs>{_marker('arrow', '#90a4ae')}{_marker('arrow-loop', '#c62828')}</defs>"
            f"<g class=\"edges\">{edges}</g><g class=\"nodes\">{nodes}</g></svg>")


def _marker(name: str, colour: str) -> str:
    return (f'<marker id="{name}" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="9" '
            'markerHeight="9" markerUnits="userSpaceOnUse" orient="auto-start-reverse">'
            f'<path d="M0,0L10,5L0,10z" fill="{colour}"/></marker>')


def _node(node: Node, box: Box) -> str:
    classes = " ".join([node.kind, *(["loop"] if LOOP in node.marks else []),
                        *(["orphan"] if set(ORPHAN) & set(node.marks) else []),
                        *(["deprecated"] if "deprecated" in node.marks else [])])
    radius = box.height / 2 if node.kind == EVENT else 5
    text = esc(label(node))
    mark = _mark(node)
    if mark:  # the mark in its own colour
        name = esc(label(node)[:-len(mark) - 1])
        text = f'{name} <tspan class="mark">{esc(mark)}</tspan>'
    shape = (f'<g class="{classes}" data-id="{esc(node.id)}"><title>{esc(node.title)}</title>'
             f'<rect x="{box.x:.1f}" y="{box.y:.1f}" width="{box.width:.1f}" '
             f'height="{box.height:.1f}" rx="{radius:.1f}"/>'
             f'<text x="{box.x + box.width / 2:.1f}" y="{box.y + box.height / 2 + 4:.1f}" '
             f'text-anchor="middle">{text}</text></g>')
    return f'<a href="{esc(node.href)}">{shape}</a>' if node.href else shape


def _edge(source: Box, target: Box, loop: bool, lane: int = 0) -> str:
    marker = "arrow-loop" if loop else "arrow"
    sx, sy = source.x + source.width, source.y + source.height / 2
    tx, ty = target.x, target.y + target.height / 2
    if target.column > source.column:
        bend = (tx - sx) / 2
        path = f"M{sx:.1f},{sy:.1f} C{sx + bend:.1f},{sy:.1f} {tx - bend:.1f},{ty:.1f} {tx:.1f},{ty:.1f}"
    else:  # back to an earlier column: out right, below the group, back in from the left
        path = _around(sx, sy, tx, ty, source.floor + DROP, lane * LANE)
    css = "edge loop" if loop else "edge"
    return f'<path class="{css}" d="{path}" marker-end="url(#{marker})"/>'


def _around(sx: float, sy: float, tx: float, ty: float, below: float, shift: float) -> str:
    """Right of the source, down, left under the group, up left of the target, into it; through
    the gaps between columns, so it crosses no box. Corners rounded."""
    right, left, below, r = sx + REACH + shift, tx - REACH - shift, below + shift, CORNER
    return (f"M{sx:.1f},{sy:.1f} H{right - r:.1f} Q{right:.1f},{sy:.1f} {right:.1f},{sy + r:.1f} "
            f"V{below - r:.1f} Q{right:.1f},{below:.1f} {right - r:.1f},{below:.1f} "
            f"H{left + r:.1f} Q{left:.1f},{below:.1f} {left:.1f},{below - r:.1f} "
            f"V{ty + r:.1f} Q{left:.1f},{ty:.1f} {left + r:.1f},{ty:.1f} H{tx:.1f}")
