"""Prometheus metrics of the operator, served at /metrics on EVENTSUB_METRICS_PORT when set."""

from __future__ import annotations

import contextlib

from prometheus_client import Counter, Gauge, Histogram, Info

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
SUBSCRIPTION_REPLICAS = Gauge("eventsub_subscription_replicas",
                              "Replicas of the subscription's consumer Deployment",
                              ["namespace", "subscription"])
SUBSCRIPTION_DESIRED = Gauge("eventsub_subscription_desired_replicas",
                             "Replicas the scaling decision recommends",
                             ["namespace", "subscription"])
SUBSCRIPTION_LAG = Gauge("eventsub_subscription_lag", "Total lag of the subscription's group",
                         ["namespace", "subscription"])
SCALE_EVENTS = Counter("eventsub_scale_events_total", "Replica changes by direction",
                       ["namespace", "subscription", "direction"])
PARTITION_LAG = Gauge("eventsub_partition_lag", "Messages behind, per partition",
                      ["namespace", "subscription", "topic", "partition"])
PARTITION_LAG_SECONDS = Gauge("eventsub_partition_lag_seconds",
                              "Estimated seconds behind, per partition",
                              ["namespace", "subscription", "topic", "partition"])
LAG_CYCLE_SECONDS = Histogram("eventsub_lag_cycle_duration_seconds",
                              "Duration of one lag collection cycle per connection", ["connection"])


def forget_subscription(namespace: str, subscription: str) -> None:
    for gauge in (SUBSCRIPTION_REPLICAS, SUBSCRIPTION_DESIRED, SUBSCRIPTION_LAG):
        with contextlib.suppress(KeyError):
            gauge.remove(namespace, subscription)

CATALOG_FEEDBACK_LOOPS = Gauge("eventsub_catalog_feedback_loops",
                               "Distinct produce/consume cycles between subscriptions")
SUBSCRIPTION_FEEDBACK_LOOP = Gauge("eventsub_subscription_feedback_loop",
                                   "1 while the subscription is on a produce/consume cycle",
                                   ["namespace", "subscription"])
CATALOG_FINDINGS = Gauge("eventsub_catalog_findings",
                         "Loose ends in the catalog: undocumented_events (no owner or "
                         "description), unproduced_subscriptions (a subscribed topic nobody "
                         "produces), unconsumed_events (an EventTopic nobody consumes)",
                         ["finding"])
