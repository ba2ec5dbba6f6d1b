"""A deterministic layered drawing of a directed graph, left to right, for the catalog's
namespace graph: the same graph always gets the same picture.

Each connected group of nodes is laid out on its own and the groups are stacked top to bottom,
those with a cycle first, then the largest. Within a group, edges that close a cycle are set
aside, every node goes one column right of its furthest predecessor (longest path), and the order
within each column is improved by a few barycentre sweeps (each node moves towards the mean
position of its neighbours in the column before, then after), ties broken by name. Past a node
budget whole groups are left out, so a namespace of thousands still draws what matters first.
"""

from __future__ import annotations

import heapq
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

NODE_HEIGHT = 28.0
ROW_GAP = 14.0
COLUMN_GAP = 70.0
GROUP_GAP = 36.0
BACK_EDGE_ROOM = 50.0  # below a group whose edges loop back
MARGIN = 16.0
SWEEPS = 4


@dataclass(frozen=True)
class Box:
    x: float
    y: float
    width: float
    height: float
    column: int
    floor: float  # the bottom of its group's lowest box: edges back to an earlier column pass below


@dataclass(frozen=True)
class Layout:
    boxes: Mapping[str, Box]  # the nodes drawn
    width: float
    height: float
    left_out: int = 0  # nodes not drawn (whole groups past the budget)
    left_out_groups: int = 0


def layered(widths: Mapping[str, float], edges: Sequence[tuple[str, str]],
            max_nodes: int | None = None, cyclic: frozenset[str] = frozenset()) -> Layout:
    """widths: every node and its box width; cyclic: nodes on a cycle (their groups go first)."""
    groups = sorted(_groups(widths, edges), key=lambda g: (not (g & cyclic), -len(g), min(g)))
    group_of = {node: index for index, group in enumerate(groups) for node in group}
    group_edges: dict[int, list[tuple[str, str]]] = defaultdict(list)
    for edge in edges:
        group_edges[group_of[edge[0]]].append(edge)
    boxes: dict[str, Box] = {}
    top, width, drawn = MARGIN, 0.0, 0
    for index, group in enumerate(groups):
        if max_nodes is not None and drawn and drawn + len(group) > max_nodes:
            break
        placed, loops_back = _group_layout(group, widths, group_edges[index], top)
        boxes.update(placed)
        drawn += len(group)
        top = max(b.y + b.height for b in placed.values()) + GROUP_GAP
        top += BACK_EDGE_ROOM if loops_back else 0
        width = max(width, max(b.x + b.width for b in placed.values()))
    left_out = [g for g in groups if not g & boxes.keys()]
    return Layout(boxes=boxes, width=width + MARGIN, height=top - GROUP_GAP + MARGIN,
                  left_out=sum(len(g) for g in left_out), left_out_groups=len(left_out))


def _groups(nodes: Mapping[str, float], edges: Sequence[tuple[str, str]]) -> list[frozenset[str]]:
    parent = {node: node for node in nodes}

    def root(node: str) -> str:
        while parent[node] != node:
            parent[node] = parent[parent[node]]
            node = parent[node]
        return node

    for source, target in edges:
        a, b = root(source), root(target)
        if a != b:
            parent[max(a, b)] = min(a, b)
    members: dict[str, set[str]] = defaultdict(set)
    for node in nodes:
        members[root(node)].add(node)
    return [frozenset(m) for m in members.values()]


def back_edges(nodes: Sequence[str], edges: Sequence[tuple[str, str]]) -> set[tuple[str, str]]:
    """Edges that close a cycle, found by a depth-first walk from the sources, in name order."""
    successors: dict[str, list[str]] = defaultdict(list)
    has_predecessor = set()
    for source, target in sorted(set(edges)):
        successors[source].append(target)
        has_predecessor.add(target)
    starts = [n for n in sorted(nodes) if n not in has_predecessor] + sorted(nodes)
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    back: set[tuple[str, str]] = set()
    for start in starts:
        if start in state:
            continue
        state[start] = 1
        stack = [(start, iter(successors[start]))]
        while stack:
            node, pending = stack[-1]
            following = next(pending, None)
            if following is None:
                state[node] = 2
                stack.pop()
            elif state.get(following) == 1:
                back.add((node, following))
            elif following not in state:
                state[following] = 1
                stack.append((following, iter(successors[following])))
    return back


def columns(nodes: Sequence[str], edges: Sequence[tuple[str, str]]) -> dict[str, int]:
    """Longest-path columns on the graph without its back edges."""
    back = back_edges(nodes, edges)
    forward = sorted({e for e in edges if e not in back and e[0] != e[1]})
    predecessors: dict[str, list[str]] = defaultdict(list)
    waiting = {node: 0 for node in nodes}
    successors: dict[str, list[str]] = defaultdict(list)
    for source, target in forward:
        predecessors[target].append(source)
        successors[source].append(target)
        waiting[target] += 1
    column: dict[str, int] = {}
    ready = sorted(n for n, count in waiting.items() if count == 0)
    heapq.heapify(ready)
    while ready:
        node = heapq.heappop(ready)
        column[node] = max((column[p] + 1 for p in predecessors[node]), default=0)
        for following in successors[node]:
            waiting[following] -= 1
            if waiting[following] == 0:
                heapq.heappush(ready, following)
    return column


def _group_layout(group: frozenset[str], widths: Mapping[str, float],
                  edges: Sequence[tuple[str, str]], top: float) -> tuple[dict[str, Box], bool]:
    """The group's boxes, and whether an edge goes back to an earlier (or its own) column."""
    column = columns(sorted(group), edges)
    order = _ordered(column, edges)
    lefts, x = [], MARGIN
    for nodes in order:
        lefts.append(x)
        x += max(widths[n] for n in nodes) + COLUMN_GAP
    tallest = max(len(nodes) for nodes in order)
    floor = top + tallest * (NODE_HEIGHT + ROW_GAP) - ROW_GAP
    boxes = {}
    for index, nodes in enumerate(order):
        offset = (tallest - len(nodes)) * (NODE_HEIGHT + ROW_GAP) / 2  # centre short columns
        for row, node in enumerate(nodes):
            boxes[node] = Box(x=lefts[index], y=top + offset + row * (NODE_HEIGHT + ROW_GAP),
                              width=widths[node], height=NODE_HEIGHT, column=index, floor=floor)
    return boxes, any(column[t] <= column[s] for s, t in edges)


def _ordered(column: Mapping[str, int], edges: Sequence[tuple[str, str]]) -> list[list[str]]:
    order: list[list[str]] = [[] for _ in range(max(column.values()) + 1)]
    for node in sorted(column):
        order[column[node]].append(node)
    neighbours: dict[str, set[str]] = defaultdict(set)
    for source, target in edges:
        if source != target:
            neighbours[source].add(target)
            neighbours[target].add(source)
    for sweep in range(SWEEPS):
        downwards = sweep % 2 == 0
        indices = range(1, len(order)) if downwards else range(len(order) - 2, -1, -1)
        for index in indices:
            fixed = order[index - 1] if downwards else order[index + 1]
            order[index] = _by_barycentre(order[index], fixed, neighbours)
    return order


def _by_barycentre(nodes: list[str], fixed: list[str], neighbours: Mapping[str, set[str]]
                   ) -> list[str]:
    """Nodes without a neighbour in the fixed column keep their place relative to the rest."""
    position = {node: i / max(len(fixed) - 1, 1) for i, node in enumerate(fixed)}

    def key(item: tuple[int, str]) -> tuple[float, str]:
        index, node = item
        near = [position[n] for n in neighbours[node] if n in position]
        return (sum(near) / len(near) if near else index / max(len(nodes) - 1, 1), node)

    return [node for _, node in sorted(enumerate(nodes), key=key)]
