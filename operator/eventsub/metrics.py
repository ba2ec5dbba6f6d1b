"""Prometheus metrics of the operator, served at /metrics on EVENTSUB_METRICS_PORT when set."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterable, Iterator, Mapping

from prometheus_client import REGISTRY, Counter, Gauge, Histogram, Info
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric

from eventsub import __version__

BUILD_INFO = Info("eventsub_build", "The running operator's version")
BUILD_INFO.info({"version": __version__})
LEADER = Gauge("eventsub_leader", "1 while this replica holds the leader Lease and acts")
RECONCILES = Counter("eventsub_reconcile_total",
                     "Objects reconciled per kind and outcome (error: an API error or a bug; "
                     "retried with backoff)", ["kind", "outcome"])
RECONCILE_SECONDS = Histogram("eventsub_reconcile_duration_seconds",
                              "Duration of one reconcile call per kind (topics: one batched pass)",
                              ["kind"], buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30))
STATUS_WRITES = Counter("eventsub_status_writes_total",
                        "Status writes per kind and writer (a status that did not change is not sent)",
                        ["kind", "writer"])


class KeyedGauges:
    """Gauges rendered at scrape time from the latest values kept here, one row per label set.
    A prometheus_client child per label set costs about 1 KiB (its own attribute dict, value and
    lock): 40 MiB for the four per-subscription gauges at 10,000 subscriptions."""

    def __init__(self, labels: tuple[str, ...], gauges: Mapping[str, str]) -> None:
        self.labels, self.gauges = labels, dict(gauges)  # name -> help
        self._lock = threading.Lock()
        self._rows: dict[tuple[str, ...], dict[str, float]] = {}

    def set(self, key: tuple[str, ...], values: Mapping[str, float]) -> None:
        """Sets gauges (by name) for one label set; its others keep their values."""
        with self._lock:
            self._rows.setdefault(key, {}).update(values)

    def replace(self, rows: Mapping[tuple[str, ...], Mapping[str, float]]) -> None:
        """Every row at once: label sets not in `rows` are gone."""
        fresh = {key: dict(values) for key, values in rows.items()}
        with self._lock:
            self._rows = fresh

    def forget(self, key: tuple[str, ...]) -> None:
        with self._lock:
            self._rows.pop(key, None)

    def describe(self) -> Iterator[Metric]:
        yield from self._families().values()

    def collect(self) -> Iterator[Metric]:
        families = self._families()
        with self._lock:
            rows = [(key, list(values.items())) for key, values in self._rows.items()]
        for key, values in rows:
            for name, value in values:
                families[name].add_metric(list(key), value)
        yield from families.values()

    def _families(self) -> dict[str, GaugeMetricFamily]:
        return {name: GaugeMetricFamily(name, text, labels=self.labels)
                for name, text in self.gauges.items()}


REPLICAS, DESIRED, LAG = ("eventsub_subscription_replicas", "eventsub_subscription_desired_replicas",
                          "eventsub_subscription_lag")
LAG_READ_TIME = "eventsub_subscription_lag_read_timestamp_seconds"
SUBSCRIPTIONS = KeyedGauges(("namespace", "subscription"), {
    REPLICAS: "Replicas of the subscription's consumer Deployment",
    DESIRED: "Replicas the scaling decision recommends",
    LAG: "Total lag of the subscription's group, as of its last successful read",
    LAG_READ_TIME: "When the lag was last read successfully (Unix time): after a failed read "
                   "the lag stays as it was, and the recommendation holds the replicas"})
REGISTRY.register(SUBSCRIPTIONS)
SCALE_EVENTS = Counter("eventsub_scale_events_total", "Replica changes by direction",
                       ["namespace", "subscription", "direction"])


class PartitionLag:
    """eventsub_partition_lag and eventsub_partition_lag_seconds, rendered at scrape time from
    the latest rows kept here, one per partition. One gauge object per partition and metric
    costs about 1.2 KiB: 190 MiB at 10,000 subscriptions of 8 partitions, for figures the scaler
    already holds."""

    LABELS = ("namespace", "subscription", "topic", "partition")

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rows: dict[tuple[str, str], tuple[tuple[str, int, int, float], ...]] = {}

    def set(self, namespace: str, subscription: str,
            rows: Iterable[tuple[str, int, int, float]]) -> None:
        """The subscription's partitions now: (topic, partition, lag, lag seconds) each."""
        frozen = tuple(rows)
        with self._lock:
            self._rows[(namespace, subscription)] = frozen

    def forget(self, namespace: str, subscription: str) -> None:
        with self._lock:
            self._rows.pop((namespace, subscription), None)

    def describe(self) -> Iterator[Metric]:
        yield from self._families()

    def collect(self) -> Iterator[Metric]:
        lag, seconds = self._families()
        with self._lock:
            rows = list(self._rows.items())
        for (namespace, subscription), partitions in rows:
            for topic, partition, messages, behind in partitions:
                labels = [namespace, subscription, topic, str(partition)]
                lag.add_metric(labels, messages)
                seconds.add_metric(labels, behind)
        yield lag
        yield seconds

    def _families(self) -> tuple[GaugeMetricFamily, GaugeMetricFamily]:
        return (GaugeMetricFamily("eventsub_partition_lag", "Messages behind, per partition",
                                  labels=self.LABELS),
                GaugeMetricFamily("eventsub_partition_lag_seconds",
                                  "Estimated seconds behind, per partition", labels=self.LABELS))


PARTITIONS = PartitionLag()
REGISTRY.register(PARTITIONS)
LAG_CYCLE_SECONDS = Histogram("eventsub_lag_cycle_duration_seconds",
                              "Duration of one lag collection cycle per connection", ["connection"])
OFFSETS_LOG_CAUGHT_UP = Gauge("eventsub_offsets_log_caught_up",
                              "Per connection with a __consumer_offsets reader: 1 once it has read "
                              "the topic to where it ended when it started (lag reads then come from "
                              "it), 0 before; absent while it has none (e.g. Kafka unreachable)",
                              ["connection"])


def forget_offsets_log(connection: str) -> None:
    with contextlib.suppress(KeyError):
        OFFSETS_LOG_CAUGHT_UP.remove(connection)


def forget_subscription(namespace: str, subscription: str) -> None:
    SUBSCRIPTIONS.forget((namespace, subscription))
    PARTITIONS.forget(namespace, subscription)

CATALOG_FEEDBACK_LOOPS = Gauge("eventsub_catalog_feedback_loops",
                               "Distinct produce/consume cycles between subscriptions")
FEEDBACK_LOOP = "eventsub_subscription_feedback_loop"
FEEDBACK_LOOPS = KeyedGauges(("namespace", "subscription"), {
    FEEDBACK_LOOP: "1 while the subscription is on a produce/consume cycle"})
REGISTRY.register(FEEDBACK_LOOPS)
CATALOG_FINDINGS = Gauge("eventsub_catalog_findings",
                         "Loose ends in the catalog: undocumented_events (no owner or "
                         "description), unproduced_subscriptions (a subscribed topic nobody "
                         "produces), unconsumed_events (an EventTopic nobody consumes)",
                         ["finding"])
