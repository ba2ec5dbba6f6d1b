"""Per-subscription and per-partition figures are exported at scrape time from rows, under the
names and labels the README documents; a deleted subscription's rows leave the output."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, generate_latest

from eventsub.metrics import FEEDBACK_LOOP, FEEDBACK_LOOPS, SUBSCRIPTIONS, KeyedGauges, PartitionLag


def scrape(partitions: PartitionLag | KeyedGauges) -> list[str]:
    registry = CollectorRegistry()
    registry.register(partitions)
    return [line for line in generate_latest(registry).decode().splitlines()
            if line and not line.startswith("#")]


def test_rows_are_rendered_with_their_labels_and_replaced_as_a_whole() -> None:
    partitions = PartitionLag()
    partitions.set("team", "readers", [("orders", 0, 5, 1.5), ("orders", 1, 0, 0.0)])
    partitions.set("team", "readers", [("orders", 0, 7, 2.0), ("orders", 1, 1, 0.25)])
    # The exposition format lists labels sorted by name.
    def labels(partition: int) -> str:
        return f'namespace="team",partition="{partition}",subscription="readers",topic="orders"'

    assert scrape(partitions) == [
        f"eventsub_partition_lag{{{labels(0)}}} 7.0",
        f"eventsub_partition_lag{{{labels(1)}}} 1.0",
        f"eventsub_partition_lag_seconds{{{labels(0)}}} 2.0",
        f"eventsub_partition_lag_seconds{{{labels(1)}}} 0.25",
    ]


def test_a_forgotten_subscription_leaves_the_output() -> None:
    partitions = PartitionLag()
    partitions.set("team", "readers", [("orders", 0, 5, 1.5)])
    partitions.set("team", "writers", [("clicks", 3, 2, 0.5)])
    partitions.forget("team", "readers")
    partitions.forget("team", "nobody")
    assert scrape(partitions) == [
        'eventsub_partition_lag{namespace="team",partition="3",subscription="writers",topic="clicks"} 2.0',
        'eventsub_partition_lag_seconds{namespace="team",partition="3",subscription="writers",'
        'topic="clicks"} 0.5',
    ]


def test_a_registry_refuses_a_second_exporter_of_the_same_names() -> None:
    registry = CollectorRegistry()
    registry.register(PartitionLag())
    try:
        registry.register(PartitionLag())
    except ValueError as error:
        assert "eventsub_partition_lag" in str(error)
    else:
        raise AssertionError("a duplicate exporter was accepted")


def _subscription_gauges() -> KeyedGauges:
    return KeyedGauges(SUBSCRIPTIONS.labels, SUBSCRIPTIONS.gauges)


def test_subscription_figures_keep_their_names_and_labels() -> None:
    gauges = _subscription_gauges()
    gauges.set(("team", "readers"), {"eventsub_subscription_replicas": 2,
                                     "eventsub_subscription_desired_replicas": 3})
    gauges.set(("team", "readers"), {"eventsub_subscription_lag": 40})  # the others stay
    gauges.set(("ops", "audit"), {"eventsub_subscription_replicas": 0,
                                  "eventsub_subscription_desired_replicas": 0})
    gauges.forget(("ops", "audit"))
    gauges.forget(("ops", "nobody"))
    assert scrape(gauges) == [
        'eventsub_subscription_replicas{namespace="team",subscription="readers"} 2.0',
        'eventsub_subscription_desired_replicas{namespace="team",subscription="readers"} 3.0',
        'eventsub_subscription_lag{namespace="team",subscription="readers"} 40.0',
    ]


def test_replacing_every_row_drops_the_label_sets_left_out() -> None:
    loops = KeyedGauges(FEEDBACK_LOOPS.labels, FEEDBACK_LOOPS.gauges)
    loops.replace({("team", "a"): {FEEDBACK_LOOP: 1}, ("team", "b"): {FEEDBACK_LOOP: 0}})
    loops.replace({("team", "a"): {FEEDBACK_LOOP: 0}})  # b was deleted
    assert scrape(loops) == ['eventsub_subscription_feedback_loop{namespace="team",subscription="a"} 0.0']


def test_the_operator_registers_each_family_once() -> None:
    """The process-wide exporters, as served at /metrics: every name once, with its help."""
    text = generate_latest().decode()
    for name in (*SUBSCRIPTIONS.gauges, FEEDBACK_LOOP, "eventsub_partition_lag"):
        assert text.count(f"# TYPE {name} gauge") == 1, name
