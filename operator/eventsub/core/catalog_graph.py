"""The catalog's graph of who produces and who consumes every event, and what it reveals.

Nodes are services (EventSubscriptions) and events (Kafka topics, on one cluster). A service
consumes the topics it subscribes to and produces those in its `produces`; an EventTopic may name
services that only produce (`catalog.producers`). Two anti-patterns are found here:
- a feedback loop: services that, through the events they produce and consume, trigger
  themselves again (A consumes X and produces Y, B consumes Y and produces X; or one service
  producing what it consumes). Each service on a cycle is told the shortest cycle through it;
- loose ends: an event without owner or description, a subscription to a topic nobody produces,
  a topic nobody consumes.
"""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

Event = tuple[str, str]  # (cluster, Kafka topic name)


@dataclass(frozen=True)
class TopicFacts:
    """One EventTopic as the catalog sees it."""

    key: str  # namespace/name
    event: Event
    owner: str | None = None
    description: str | None = None
    producers: tuple[str, ...] = ()  # services that only produce, as declared on the topic


@dataclass(frozen=True)
class Service:
    """One EventSubscription: the events it consumes and those it produces."""

    key: str  # namespace/name
    consumes: tuple[Event, ...]
    produces: tuple[Event, ...] = ()


@dataclass(frozen=True)
class Findings:
    loops: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # service -> its cycle
    cycles: tuple[tuple[str, ...], ...] = ()  # every distinct cycle, once
    undocumented: tuple[str, ...] = ()  # EventTopic keys without owner or description
    unproduced: tuple[tuple[str, Event], ...] = ()  # (service, event nobody produces)
    unconsumed: tuple[str, ...] = ()  # EventTopic keys nobody consumes


def analyse(topics: Sequence[TopicFacts], services: Sequence[Service]) -> Findings:
    loops = feedback_loops(services)
    cycles = sorted({_canonical(c) for c in loops.values()})
    produced = {e for s in services for e in s.produces} | {t.event for t in topics if t.producers}
    consumed = {e for s in services for e in s.consumes}
    return Findings(
        loops=loops,
        cycles=tuple(cycles),
        undocumented=tuple(sorted(t.key for t in topics if not (t.owner and t.description))),
        unproduced=tuple(sorted({(s.key, e) for s in services for e in s.consumes
                                 if e not in produced})),
        unconsumed=tuple(sorted(t.key for t in topics if t.event not in consumed)),
    )


def feedback_loops(services: Sequence[Service]) -> dict[str, tuple[str, ...]]:
    """Every service on a cycle, with the shortest cycle through it: service, topic, service,
    ..., back to the first service (topics as Kafka names, services as namespace/name)."""
    consumers: dict[Event, list[str]] = defaultdict(list)
    for service in sorted(services, key=lambda s: s.key):
        for event in dict.fromkeys(service.consumes):
            consumers[event].append(service.key)
    feeds = {s.key: sorted({(e, c) for e in s.produces for c in consumers.get(e, ())})
             for s in services}
    # A cycle through a service stays within its strongly connected component: searching only
    # there keeps a long chain of services linear instead of quadratic, and finds the same cycle
    # (no service outside the component lies on a path from the start back to it).
    component = _components(feeds)
    return {key: cycle for key in sorted(feeds)
            if (cycle := _shortest_cycle(key, feeds, component))}


def _shortest_cycle(start: str, feeds: Mapping[str, Sequence[tuple[Event, str]]],
                    component: Mapping[str, int]) -> tuple[str, ...] | None:
    """Breadth-first from start back to start: the fewest hops, ties broken by name."""
    came_from: dict[str, tuple[str, Event]] = {}
    queue = deque([start])
    while queue:
        service = queue.popleft()
        for event, consumer in feeds.get(service, ()):
            if consumer == start:
                return _path(start, service, event, came_from)
            if consumer not in came_from and component.get(consumer) == component[start]:
                came_from[consumer] = (service, event)
                queue.append(consumer)
    return None


def _components(feeds: Mapping[str, Sequence[tuple[Event, str]]]) -> dict[str, int]:
    """Each service's strongly connected component (Tarjan's algorithm, without recursion)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    component: dict[str, int] = {}
    stack: list[str] = []
    for root in sorted(feeds):
        if root in index:
            continue
        work = [(root, iter(feeds.get(root, ())))]
        index[root] = low[root] = len(index)
        stack.append(root)
        while work:
            node, edges = work[-1]
            step = next(edges, None)
            if step is not None:
                nxt = step[1]
                if nxt not in index:
                    index[nxt] = low[nxt] = len(index)
                    stack.append(nxt)
                    work.append((nxt, iter(feeds.get(nxt, ()))))
                elif nxt not in component:
                    low[node] = min(low[node], index[nxt])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                while True:
                    member = stack.pop()
                    component[member] = index[node]
                    if member == node:
                        break
    return component


def _path(start: str, last: str, closing: Event, came_from: Mapping[str, tuple[str, Event]]
          ) -> tuple[str, ...]:
    hops: list[str] = [closing[1], start]
    service = last
    while service != start:
        previous, event = came_from[service]
        hops[:0] = [event[1], service]
        service = previous
    return (start, *hops)


def _canonical(cycle: tuple[str, ...]) -> tuple[str, ...]:
    """The same cycle seen from each of its services, written from its smallest service."""
    ring = cycle[:-1]  # the last entry repeats the first
    starts = [i for i in range(0, len(ring), 2)]
    best = min(starts, key=lambda i: ring[i])
    rotated = ring[best:] + ring[:best]
    return (*rotated, rotated[0])


def describe_cycle(cycle: Iterable[str]) -> str:
    return " -> ".join(cycle)
