"""The catalog graph's findings (core.catalog_graph): feedback loops and loose ends."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from eventsub.core.catalog_graph import (
    Service,
    TopicFacts,
    analyse,
    describe_cycle,
    feedback_loops,
)


def ev(topic: str, cluster: str = "c1") -> tuple[str, str]:
    return (cluster, topic)


def test_two_services_feeding_each_other_are_both_in_the_loop() -> None:
    a = Service("ns/a", consumes=(ev("y"),), produces=(ev("x"),))
    b = Service("ns/b", consumes=(ev("x"),), produces=(ev("y"),))
    loops = feedback_loops([a, b])
    assert describe_cycle(loops["ns/a"]) == "ns/a -> x -> ns/b -> y -> ns/a"
    assert describe_cycle(loops["ns/b"]) == "ns/b -> y -> ns/a -> x -> ns/b"
    assert analyse([], [a, b]).cycles == (("ns/a", "x", "ns/b", "y", "ns/a"),)


def test_a_chain_is_not_a_loop() -> None:
    a = Service("ns/a", consumes=(ev("in"),), produces=(ev("x"),))
    b = Service("ns/b", consumes=(ev("x"),), produces=(ev("y"),))
    c = Service("ns/c", consumes=(ev("y"),))
    assert feedback_loops([a, b, c]) == {}


def test_a_service_producing_what_it_consumes_loops_on_itself() -> None:
    a = Service("ns/a", consumes=(ev("x"),), produces=(ev("x"),))
    assert feedback_loops([a]) == {"ns/a": ("ns/a", "x", "ns/a")}


def test_the_same_topic_name_on_another_cluster_is_another_event() -> None:
    a = Service("ns/a", consumes=(ev("y"),), produces=(ev("x"),))
    b = Service("ns/b", consumes=(ev("x", "c2"),), produces=(ev("y"),))
    assert feedback_loops([a, b]) == {}


def test_only_the_services_on_the_cycle_are_named() -> None:
    a = Service("ns/a", consumes=(ev("z"),), produces=(ev("x"),))
    b = Service("ns/b", consumes=(ev("x"),), produces=(ev("y"),))
    c = Service("ns/c", consumes=(ev("y"),), produces=(ev("z"),))
    reader = Service("ns/reader", consumes=(ev("x"),))  # reads from the loop, not on it
    loops = feedback_loops([a, b, c, reader])
    assert set(loops) == {"ns/a", "ns/b", "ns/c"}
    assert describe_cycle(loops["ns/c"]) == "ns/c -> z -> ns/a -> x -> ns/b -> y -> ns/c"


def test_the_shortest_cycle_through_a_service_is_the_one_named() -> None:
    a = Service("ns/a", consumes=(ev("back"), ev("short")), produces=(ev("x"),))
    b = Service("ns/b", consumes=(ev("x"),), produces=(ev("y"), ev("short")))
    c = Service("ns/c", consumes=(ev("y"),), produces=(ev("back"),))
    assert feedback_loops([a, b, c])["ns/a"] == ("ns/a", "x", "ns/b", "short", "ns/a")


def test_loose_ends() -> None:
    documented = TopicFacts("ns/orders", ev("orders"), owner="team-a", description="orders")
    no_owner = TopicFacts("ns/audit", ev("audit"), description="audit trail")
    pushed = TopicFacts("ns/clicks", ev("clicks"), owner="web", description="clicks",
                        producers=("web-frontend",))
    reader = Service("ns/reader", consumes=(ev("orders"), ev("clicks")), produces=(ev("audit"),))
    findings = analyse([documented, no_owner, pushed], [reader])
    assert findings.undocumented == ("ns/audit",)
    assert findings.unproduced == (("ns/reader", ev("orders")),)  # clicks has a declared producer
    assert findings.unconsumed == ("ns/audit",)
    assert findings.loops == {}


names = st.sampled_from(["a", "b", "c", "d", "e"])
topics = st.sampled_from(["t1", "t2", "t3", "t4"])
graphs = st.lists(st.tuples(names, st.lists(topics, min_size=1, max_size=3),
                            st.lists(topics, max_size=3)), max_size=6, unique_by=lambda s: s[0])


@given(graphs)
def test_every_named_cycle_is_real_and_closes_on_its_service(spec: list) -> None:
    services = [Service(f"ns/{n}", tuple(ev(t) for t in c), tuple(ev(t) for t in p))
                for n, c, p in spec]
    by_key = {s.key: s for s in services}
    for key, cycle in feedback_loops(services).items():
        assert cycle[0] == cycle[-1] == key
        for i in range(0, len(cycle) - 2, 2):
            producer, topic, consumer = cycle[i], cycle[i + 1], cycle[i + 2]
            assert ev(topic) in by_key[producer].produces
            assert ev(topic) in by_key[consumer].consumes


@given(graphs)
def test_a_service_is_on_a_loop_exactly_when_it_can_reach_itself(spec: list) -> None:
    services = [Service(f"ns/{n}", tuple(ev(t) for t in c), tuple(ev(t) for t in p))
                for n, c, p in spec]

    def reaches(start: str) -> set[str]:
        seen: set[str] = set()
        frontier = [start]
        while frontier:
            key = frontier.pop()
            current = next(s for s in services if s.key == key)
            for s in services:
                if set(current.produces) & set(s.consumes) and s.key not in seen:
                    seen.add(s.key)
                    frontier.append(s.key)
        return seen

    assert set(feedback_loops(services)) == {s.key for s in services if s.key in reaches(s.key)}


@given(graphs)
def test_each_named_cycle_is_a_shortest_one(spec: list) -> None:
    services = [Service(f"ns/{n}", tuple(ev(t) for t in c), tuple(ev(t) for t in p))
                for n, c, p in spec]

    def hops_back(start: str) -> int | None:
        """Fewest services from start back to it, searching the whole graph."""
        frontier, seen, hops = {start}, set(), 0
        while frontier:
            hops += 1
            fed = {s.key for f in frontier for s in services
                   if set(next(x for x in services if x.key == f).produces) & set(s.consumes)}
            if start in fed:
                return hops
            seen |= frontier
            frontier = fed - seen
        return None

    for key, cycle in feedback_loops(services).items():
        assert (len(cycle) - 1) // 2 == hops_back(key)


def test_a_long_chain_and_a_ring_in_it() -> None:
    chain = [Service(f"ns/s{i:04d}", consumes=(ev(f"t{i}"),), produces=(ev(f"t{i + 1}"),))
             for i in range(2000)]
    assert feedback_loops(chain) == {}
    ring = [*chain[:10], Service("ns/back", consumes=(ev("t10"),), produces=(ev("t5"),)),
            *chain[10:]]
    loops = feedback_loops(ring)
    assert set(loops) == {"ns/s0005", "ns/s0006", "ns/s0007", "ns/s0008", "ns/s0009", "ns/back"}
