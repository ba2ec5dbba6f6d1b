"""Per-partition lag is exported at scrape time from one row per partition, under the names and
labels the README documents; a deleted subscription's partitions leave the output."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, generate_latest

from eventsub.metrics import PartitionLag


def scrape(partitions: PartitionLag) -> list[str]:
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
