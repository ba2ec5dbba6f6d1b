"""The figures of `make bench-keda` (bench/keda_figures.py), and how the local stack chooses the
address of its network namespace (localstack/netns.py)."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import pytest
from keda_figures import (
    Point,
    ScaleEvent,
    drained_after,
    first_scale_out,
    first_time_at,
    flaps,
    ratio,
    replica_seconds,
    scale_events,
    value_at,
    wake_up,
)

from localstack.errors import StackError
from localstack.netns import BENCHMARK_NET, Link, choose_subnet

REPLICAS = [Point(0.5, 1), Point(12.0, 4), Point(80.0, 2), Point(90.0, 3), Point(200.0, 1)]


def test_first_scale_out_counts_from_the_backlog_to_more_replicas_than_then() -> None:
    assert first_scale_out(REPLICAS, backlog=5.0) == 7.0
    # Already scaled out before the backlog: the next increase counts, not the earlier one.
    assert first_scale_out(REPLICAS, backlog=85.0) == 5.0
    assert first_scale_out(REPLICAS, backlog=95.0) is None
    assert first_scale_out([Point(0, 0), Point(40, 1)], backlog=5.0) == 35.0


def test_drain_is_from_the_last_message_produced_to_all_processed() -> None:
    processed = [Point(10, 100), Point(20, 900), Point(31, 1000), Point(40, 1000)]
    assert drained_after(processed, last_produced=5, expected=1000) == 26
    assert drained_after(processed, last_produced=5, expected=1001) is None
    assert drained_after(processed, last_produced=35, expected=1000) == 0.0


def test_replica_seconds_integrate_a_step_function_up_to_the_window() -> None:
    steps = [Point(0, 1), Point(10, 3), Point(20, 0)]
    assert replica_seconds(steps, end=30) == 1 * 10 + 3 * 10
    assert replica_seconds(steps, end=15) == 1 * 10 + 3 * 5
    assert replica_seconds([], end=30) == 0


def test_scale_events_and_flaps() -> None:
    events = scale_events(REPLICAS)
    assert events == [ScaleEvent(12.0, 1, 4), ScaleEvent(80.0, 4, 2), ScaleEvent(90.0, 2, 3),
                      ScaleEvent(200.0, 3, 1)]
    # 4 -> 2 at 80 s then 2 -> 3 at 90 s: opposite within 60 s. 1 -> 4 then 4 -> 2 are 68 s apart.
    assert flaps(events) == 1
    # A scale to zero comes after its cooldown: never a flap.
    assert flaps([ScaleEvent(0, 0, 1), ScaleEvent(10, 1, 0)]) == 0


def test_times_to_zero_and_to_wake() -> None:
    steps = [Point(0, 0), Point(10, 1), Point(300, 0), Point(500, 2)]
    assert value_at(steps, 299) == 1 and value_at(steps, 300) == 0 and value_at([], 5) is None
    assert first_time_at(steps, after=20, value=0) == 280
    assert first_time_at(steps, after=400, value=0) == 0.0  # already at zero
    assert wake_up(steps, after=450) == 50
    # Not at zero when the load came back: there was nothing to wake.
    assert wake_up(steps, after=100) is None
    assert wake_up(steps, after=501) is None


def test_ratio_is_theirs_over_ours() -> None:
    assert ratio(2.0, 9.0) == "4.5x"
    assert ratio(None, 9.0) == ratio(0.0, 9.0) == ratio(2.0, None) == "-"


def test_the_subnet_is_a_slash_30_of_the_benchmark_range_clear_of_routed_networks() -> None:
    run_dir = Path("/nonexistent/a")
    first = choose_subnet(run_dir, [])
    assert first.prefixlen == 30 and first.subnet_of(BENCHMARK_NET)
    assert choose_subnet(run_dir, []) == first  # stable for one run directory
    taken = [ipaddress.IPv4Network("0.0.0.0/1"), first]
    other = choose_subnet(run_dir, taken)
    assert other != first and not other.overlaps(first)
    with pytest.raises(StackError):
        choose_subnet(run_dir, [BENCHMARK_NET])


def test_the_link_names_fit_interface_limits_and_listen_on_the_first_host() -> None:
    subnet = ipaddress.IPv4Network("198.18.4.8/30")
    link = Link.for_run_dir(Path("/nonexistent/b"), subnet)
    assert link.host_address == "198.18.4.9"
    assert len(link.host_interface) + 1 <= 15  # and its peer, with one more letter
    assert link.namespace.startswith("eventsub-")
