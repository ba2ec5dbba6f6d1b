"""make bench-keda: eventsub against the real KEDA, the same scenarios in one run.

Every scenario runs at once for three systems, each on its own topic with the same load:
an EventSubscription ("eventsub", its defaults), and a ScaledObject with KEDA's Kafka trigger on
a Deployment of the same consumer ("keda", its defaults: pollingInterval 30 s; "keda-5s",
pollingInterval 5 s, eventsub's poll interval). Both sides get the same lagThreshold, min and max
replicas; everything else is left at its default. The consumer runner runs every pod of either
Deployment as the same real consumer process.

Scenarios (phase 1 together, then phase 2, which stops the broker for everyone):
- step: one burst at once;
- ramp: a rate that climbs to more than the maximum replicas can take, then stops;
- silence: a burst, silence long enough for both to scale to zero (KEDA's cooldown is 300 s),
  a second burst (with minReplicas 0);
- poison: a steady rate with a message on one partition that blocks its consumer;
- outage (phase 2): a burst, and the broker stopped for a while in the middle of the drain.
"""

from __future__ import annotations

import argparse
import contextlib
import shutil
import sys
import threading
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from common import (
    GROUP,
    VERSION,
    custom_resource,
    delete_topics,
    kube_clients,
    local_stack,
    namespace,
    namespace_with_connection,
    operator_process,
    rss_mib,
)
from confluent_kafka import ConsumerGroupTopicPartitions, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic
from keda_figures import (
    Point,
    drained_after,
    first_scale_out,
    first_time_at,
    flaps,
    ratio,
    replica_seconds,
    scale_events,
    wake_up,
)
from kubernetes import client
from prometheus_client.parser import text_string_to_metric_families

from localstack import LocalStack, StackInfo
from localstack import keda as keda_stack
from localstack.consumers import ConsumerRunner

SYSTEMS = ("eventsub", "keda", "keda-5s")
KEDA_POLLING = {"keda": None, "keda-5s": 5}  # None: KEDA's default (30 s)
EVENTSUB_POLL_SECONDS = 5
HPA_SYNC_SECONDS = 15  # the controller-manager's default, the same for both KEDA settings
# One lag read of KEDA's Kafka scaler: metadata (DescribeTopics), OffsetFetch, and ListOffsets
# per partition leader (one broker here). eventsub's cycle: metadata, ListOffsets twice per
# leader, DescribeGroups per coordinator, and one OffsetFetch per group, for every subscription.
KEDA_REQUESTS_PER_READ = 3
EVENTSUB_FIXED_REQUESTS = 4


@dataclass(frozen=True)
class Burst:
    at: float  # seconds after the scenario starts
    count: int
    poison_partition: int | None = None  # one poison message there, after the burst


@dataclass
class Scenario:
    name: str
    min_replicas: int
    window: float
    bursts: list[Burst]
    outage: tuple[float, float] | None = None  # broker stopped at, for seconds

    @property
    def backlog(self) -> float:
        return self.bursts[0].at

    @property
    def last_produced(self) -> float:
        return self.bursts[-1].at


def scenarios(a: argparse.Namespace) -> list[list[Scenario]]:
    rate_at = [int(10 + (a.ramp_peak - 10) * i / a.ramp) for i in range(int(a.ramp))]
    steady = max(a.partitions * 10, 1)
    return [[
        Scenario("step", 1, a.window, [Burst(5, a.burst)]),
        Scenario("ramp", 1, a.window, [Burst(5 + i, r) for i, r in enumerate(rate_at)]),
        Scenario("silence", 0, 5 + a.silence + a.window,
                 [Burst(5, a.burst // 2), Burst(5 + a.silence, a.burst // 2)]),
        Scenario("poison", 1, a.window,
                 [Burst(5, steady), Burst(6, steady, poison_partition=0),
                  *(Burst(7 + i, steady) for i in range(int(a.window * 0.6)))]),
    ], [
        Scenario("outage", 1, a.window, [Burst(5, a.burst * 2)], outage=(20, a.outage)),
    ]]


@dataclass
class Run:
    """One scenario for one system: its topic, group, Deployment, consumers and samples."""

    scenario: Scenario
    system: str
    ns: str
    topic: str
    group: str
    deployment: str
    runner: ConsumerRunner
    produced: list[int]  # per partition
    poison_offset: int | None = None
    replicas: list[Point] = field(default_factory=list)
    processed: list[Point] = field(default_factory=list)

    def processable(self) -> int:
        if self.poison_offset is None:
            return sum(self.produced)
        return sum(self.produced[1:]) + self.poison_offset

    def processed_unique(self) -> tuple[int, int]:
        seen = [(p, o) for t, p, o in self.runner.processed() if t == self.topic]
        return len(set(seen)), len(seen) - len(set(seen))


class Bench:
    def __init__(self, info: StackInfo, kinfo: keda_stack.KedaInfo, args: argparse.Namespace,
                 out: Path) -> None:
        self.info, self.kinfo, self.args, self.out = info, kinfo, args, out
        self.core, self.apps, self.custom = kube_clients(info)
        self.admin = AdminClient({"bootstrap.servers": info.kafka_bootstrap, "log_level": 0})
        # One producer for the whole run, shared by the scenarios' drivers: librdkafka can abort
        # the process when a client is destroyed while the broker is down (the outage).
        # log_level 0: that outage is on purpose, its connection errors are not news.
        self.producer = Producer({"bootstrap.servers": info.kafka_bootstrap, "linger.ms": 5,
                                  "log_level": 0})
        self.id = uuid.uuid4().hex[:5]
        self.ns = {s: f"bk-{self.id}-{s}" for s in SYSTEMS}
        self.topics: list[str] = []
        self.operator_pid = 0

    # -- setup -----------------------------------------------------------------------------------

    def namespaces(self) -> None:
        namespace_with_connection(self.info, self.ns["eventsub"])
        for system in SYSTEMS[1:]:
            namespace(self.core, self.ns[system])

    def prepare(self, scenario: Scenario) -> list[Run]:
        runs = []
        for system in SYSTEMS:
            topic = f"bk-{self.id}-{scenario.name}-{system}"
            self.admin.create_topics([NewTopic(topic, self.args.partitions, 1)])[topic].result(30)
            self.topics.append(topic)
            ns = self.ns[system]
            if system == "eventsub":
                group, selector = f"{ns}.{scenario.name}", f"eventsub.io/subscription={scenario.name}"
                self._subscription(ns, scenario, topic)
            else:
                group, selector = f"{ns}.{scenario.name}", f"bench-keda/scenario={scenario.name}"
                self._keda_target(ns, scenario, topic, group, KEDA_POLLING[system])
            runner = ConsumerRunner(self.core, ns, scenario.name,
                                    self.out / system / scenario.name, self.args.delay_ms,
                                    selector=selector)
            runs.append(Run(scenario, system, ns, topic, group, f"{scenario.name}-consumer", runner,
                            [0] * self.args.partitions))
        return runs

    def _scaling(self, scenario: Scenario) -> dict[str, int]:
        return {"minReplicas": scenario.min_replicas, "maxReplicas": self.args.max_replicas,
                "lagThreshold": self.args.lag_threshold}

    def _subscription(self, ns: str, scenario: Scenario, topic: str) -> None:
        self.custom.create_namespaced_custom_object(GROUP, VERSION, ns, "eventsubscriptions",
            custom_resource("EventSubscription", scenario.name, {
                "connectionRef": {"name": "local"}, "topics": [{"name": topic}],
                "scaling": self._scaling(scenario),
                "template": {"spec": {"containers": [{"name": "c", "image": "example/c:1"}]}}}))

    def _keda_target(self, ns: str, scenario: Scenario, topic: str, group: str,
                     polling: int | None) -> None:
        """The Deployment a KEDA user writes (the same wiring eventsub gives its consumers), its
        group's offsets committed at the topic's start (as eventsub commits them for its own),
        and the ScaledObject."""
        labels = {"bench-keda/scenario": scenario.name}
        env = [{"name": "EVENTSUB_BOOTSTRAP_SERVERS", "value": self.info.kafka_bootstrap},
               {"name": "EVENTSUB_TOPICS", "value": topic},
               {"name": "EVENTSUB_GROUP_ID", "value": group},
               {"name": "EVENTSUB_OFFSET_RESET", "value": "earliest"},
               {"name": "EVENTSUB_POD_NAME",
                "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}]
        self.apps.create_namespaced_deployment(ns, {
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": f"{scenario.name}-consumer", "labels": labels},
            "spec": {"replicas": scenario.min_replicas, "selector": {"matchLabels": labels},
                     "template": {"metadata": {"labels": labels}, "spec": {"containers": [
                         {"name": "c", "image": "example/c:1", "env": env}]}}}})
        offsets = [TopicPartition(topic, p, 0) for p in range(self.args.partitions)]
        for attempt in range(20):  # a topic just created may not have its leaders yet
            try:
                self.admin.alter_consumer_group_offsets(
                    [ConsumerGroupTopicPartitions(group, offsets)])[group].result(30)
                break
            except Exception:
                if attempt == 19:
                    raise
                time.sleep(0.5)
        trigger = {"bootstrapServers": self.info.kafka_bootstrap, "consumerGroup": group,
                   "topic": topic, "lagThreshold": str(self.args.lag_threshold),
                   "offsetResetPolicy": "earliest"}
        spec: dict[str, Any] = {
            "scaleTargetRef": {"name": f"{scenario.name}-consumer"},
            "minReplicaCount": scenario.min_replicas, "maxReplicaCount": self.args.max_replicas,
            "triggers": [{"type": "kafka", "metadata": trigger}]}
        if polling is not None:
            spec["pollingInterval"] = polling
        self.custom.create_namespaced_custom_object("keda.sh", "v1alpha1", ns, "scaledobjects", {
            "apiVersion": "keda.sh/v1alpha1", "kind": "ScaledObject",
            "metadata": {"name": scenario.name}, "spec": spec})

    def _replicas(self) -> dict[tuple[str, str], int]:
        found = {}
        for system in SYSTEMS:
            for d in self.apps.list_namespaced_deployment(self.ns[system]).items:
                found[(system, d.metadata.name)] = int(d.spec.replicas or 0)
        return found

    def wait_settled(self, runs: list[Run], timeout: float = 240) -> None:
        """Until every Deployment has its minimum replicas and their consumers run."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with contextlib.suppress(Exception):
                now = self._replicas()
                if all(now.get((r.system, r.deployment)) == r.scenario.min_replicas
                       and len(r.runner.processes) == r.scenario.min_replicas for r in runs):
                    return
            time.sleep(1)
        raise SystemExit("bench-keda: the Deployments did not settle at their minimum replicas; "
                         "see the KEDA and operator logs")

    # -- running a phase -------------------------------------------------------------------------

    def phase(self, phase: list[Scenario]) -> tuple[list[Run], dict[str, float]]:
        runs = [run for s in phase for run in self.prepare(s)]
        with contextlib.ExitStack() as stack:
            for run in runs:
                stack.enter_context(run.runner)
            self.wait_settled(runs)
            cycles0, grpc0 = self._eventsub_cycles(), self._keda_grpc_calls()
            start = time.monotonic()
            stop = threading.Event()
            rss: dict[str, float] = {"eventsub": 0.0, "keda": 0.0}
            sampler = threading.Thread(target=self._sample, args=(runs, start, stop, rss), daemon=True)
            sampler.start()
            drivers = [threading.Thread(target=self._drive, args=(s, [r for r in runs
                                                                     if r.scenario is s], start))
                       for s in phase]
            for d in drivers:
                d.start()
            for d in drivers:
                d.join()
            time.sleep(max(0.0, start + max(s.window for s in phase) - time.monotonic()))
            minutes = (time.monotonic() - start) / 60
            rss["eventsub_cycles_per_min"] = (self._eventsub_cycles() - cycles0) / minutes
            rss["keda_grpc_per_min"] = (self._keda_grpc_calls() - grpc0) / minutes
            self._wait_processed(runs)
            stop.set()
            sampler.join()
        self._retire(phase)
        return runs, rss

    def _wait_processed(self, runs: list[Run]) -> None:
        """After the window (the figures are taken over it), until every message that can be
        processed was, bounded: what is still missing then was lost. A poison message's
        scenario is left out: its consumer stays stuck, as designed."""
        deadline = time.monotonic() + self.args.drain_timeout
        waiting = [r for r in runs if r.scenario.name != "poison"]
        while waiting and time.monotonic() < deadline:
            waiting = [r for r in waiting if r.processed_unique()[0] < r.processable()]
            time.sleep(2)

    def _retire(self, phase: list[Scenario]) -> None:
        """The phase's objects go, so the next phase's lag reads count only its own."""
        for scenario in phase:
            with contextlib.suppress(client.ApiException):
                self.custom.delete_namespaced_custom_object(
                    GROUP, VERSION, self.ns["eventsub"], "eventsubscriptions", scenario.name)
            for system in SYSTEMS[1:]:
                with contextlib.suppress(client.ApiException):
                    self.custom.delete_namespaced_custom_object(
                        "keda.sh", "v1alpha1", self.ns[system], "scaledobjects", scenario.name)
                with contextlib.suppress(client.ApiException):
                    self.apps.delete_namespaced_deployment(f"{scenario.name}-consumer",
                                                           self.ns[system])

    def _drive(self, scenario: Scenario, runs: list[Run], start: float) -> None:
        producer = self.producer
        events: list[tuple[float, Callable[[], None]]] = [
            (b.at, lambda b=b: self._produce(producer, runs, b)) for b in scenario.bursts]
        if scenario.outage:
            at, seconds = scenario.outage
            events.append((at, lambda: self._outage(seconds)))
        for at, action in sorted(events, key=lambda e: e[0]):
            time.sleep(max(0.0, start + at - time.monotonic()))
            action()
        producer.flush(120)

    def _produce(self, producer: Producer, runs: list[Run], burst: Burst) -> None:
        partitions = self.args.partitions
        for run in runs:
            for i in range(burst.count):
                p = (i + sum(run.produced)) % partitions
                producer.produce(run.topic, b"m", partition=p)
                run.produced[p] += 1
                if i % 1000 == 0:
                    producer.poll(0)
            if burst.poison_partition is not None:
                run.poison_offset = run.produced[burst.poison_partition]
                producer.produce(run.topic, b"poison", partition=burst.poison_partition)
                run.produced[burst.poison_partition] += 1
        producer.flush(60)

    def _outage(self, seconds: float) -> None:
        stack = LocalStack(Path(self.info.run_dir))
        stack.stop_kafka(self.info)
        time.sleep(seconds)
        stack.start_kafka(self.info)

    def _sample(self, runs: list[Run], start: float, stop: threading.Event,
                rss: dict[str, float]) -> None:
        tick = 0
        while not stop.wait(0.5):
            now = time.monotonic() - start
            with contextlib.suppress(Exception):
                replicas = self._replicas()
                for run in runs:
                    value = replicas.get((run.system, run.deployment))
                    if value is not None and (not run.replicas or run.replicas[-1].value != value):
                        run.replicas.append(Point(now, value))
            tick += 1
            if tick % 2 == 0:
                for run in runs:
                    run.processed.append(Point(now, run.processed_unique()[0]))
                with contextlib.suppress(OSError):
                    rss["eventsub"] = max(rss["eventsub"], rss_mib(self.operator_pid))
                    rss["keda"] = max(rss["keda"], sum(rss_mib(pid)
                                                       for pid in self.kinfo.pids.values()))

    # -- counters --------------------------------------------------------------------------------

    def _metric_sum(self, url: str, name: str) -> float:
        try:
            text = urllib.request.urlopen(url, timeout=5).read().decode()
        except OSError:
            return 0.0
        return sum(s.value for family in text_string_to_metric_families(text)
                   for s in family.samples if s.name == name)

    def _eventsub_cycles(self) -> float:
        return self._metric_sum(f"http://127.0.0.1:{self.args.metrics_port}/metrics",
                                "eventsub_lag_cycle_duration_seconds_count")

    def _keda_grpc_calls(self) -> float:
        return self._metric_sum(self.kinfo.adapter_metrics,
                                "keda_internal_metricsservice_grpc_client_handled_total")

    # -- cleanup ---------------------------------------------------------------------------------

    def cleanup(self) -> None:
        """ScaledObjects first, while KEDA runs to remove its finalizers; then the rest."""
        for system in SYSTEMS[1:]:
            with contextlib.suppress(Exception):
                self.custom.delete_collection_namespaced_custom_object(
                    "keda.sh", "v1alpha1", self.ns[system], "scaledobjects")
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and any(
                self.custom.list_namespaced_custom_object("keda.sh", "v1alpha1", self.ns[s],
                                                          "scaledobjects")["items"]
                for s in SYSTEMS[1:]):
            time.sleep(1)
        for system in SYSTEMS:
            with contextlib.suppress(client.ApiException):
                self.core.delete_namespace(self.ns[system])
        delete_topics(self.info.kafka_bootstrap, self.topics)


# -- the report ------------------------------------------------------------------------------------

def _fmt(value: float | None, unit: str = "s") -> str:
    return "-" if value is None else f"{value:.0f}{unit}" if value >= 10 else f"{value:.1f}{unit}"


def figures(run: Run) -> dict[str, float | None]:
    s = run.scenario
    events = scale_events(run.replicas)
    processed, duplicates = run.processed_unique()
    found: dict[str, float | None] = {
        "first scale-out": first_scale_out(run.replicas, s.backlog),
        "drain after last message": drained_after(run.processed, s.last_produced, run.processable()),
        "replica-seconds": replica_seconds(run.replicas, s.window),
        "scale events": float(len(events)),
        "flaps": float(flaps(events)),
        "peak replicas": float(max((p.value for p in run.replicas), default=0)),
        "processed": float(processed),
        # Behind a poison message a stuck consumer holds its other partitions too until the
        # group rebalances without it: not processed there is by design, anywhere else lost.
        ("not processed" if s.name == "poison" else "lost"): float(run.processable() - processed),
        "duplicates": float(duplicates),
    }
    if s.name == "silence":
        second = s.bursts[1].at
        drained = drained_after(run.processed, s.backlog, run.processable() // 2)
        found["to zero after drain"] = (first_time_at(run.replicas, s.backlog + drained, 0)
                                        if drained is not None else None)
        found["wake-up (0 -> 1)"] = wake_up(run.replicas, second)
    return found


UNITS = {"first scale-out": "s", "drain after last message": "s", "to zero after drain": "s",
         "wake-up (0 -> 1)": "s", "replica-seconds": ""}


def table(runs: list[Run]) -> list[str]:
    lines = [f"  {'scenario / figure':<34}" + "".join(f"{s:>12}" for s in SYSTEMS)
             + f"{'keda/es':>10}{'keda-5s/es':>12}"]
    for name in dict.fromkeys(r.scenario.name for r in runs):
        by_system = {r.system: figures(r) for r in runs if r.scenario.name == name}
        lines.append(f"  {name}")
        for key in by_system["eventsub"]:
            values = [by_system[s].get(key) for s in SYSTEMS]
            unit = UNITS.get(key, "")
            lines.append(f"    {key:<32}" + "".join(f"{_fmt(v, unit):>12}" for v in values)
                         + f"{ratio(values[0], values[1]):>10}{ratio(values[0], values[2]):>12}")
    return lines


def lag_reads(counters: dict[str, float], scenarios_in_phase: int) -> str:
    """Kafka requests per minute per scaled object, from the counted lag cycles (eventsub) and
    the counted metric requests plus the polling loop (KEDA)."""
    per_so_hpa = counters["keda_grpc_per_min"] / (2 * scenarios_in_phase)
    keda_default = (60 / 30 + per_so_hpa) * KEDA_REQUESTS_PER_READ
    keda_5s = (60 / 5 + per_so_hpa) * KEDA_REQUESTS_PER_READ
    # A cycle reads the subscriptions that are due, each every poll interval: per minute,
    # the fixed part per cycle plus one OffsetFetch per subscription per poll.
    subs = scenarios_in_phase
    cycles = counters["eventsub_cycles_per_min"]
    ours = (cycles * EVENTSUB_FIXED_REQUESTS + subs * 60 / EVENTSUB_POLL_SECONDS) / subs
    return (f"Kafka lag-read requests per minute per subscription: eventsub {ours:.0f} "
            f"({cycles:.1f} cycles/min for {subs} subscriptions, each {EVENTSUB_FIXED_REQUESTS} "
            f"+ 1 per subscription due); keda {keda_default:.0f}, keda-5s {keda_5s:.0f} (polling "
            f"loop + {per_so_hpa:.1f} HPA metric reads/min, {KEDA_REQUESTS_PER_READ} requests each)")


@contextlib.contextmanager
def keda_running(info: StackInfo) -> Iterator[keda_stack.KedaInfo]:
    with keda_stack.running(Path(info.run_dir), info.kubeconfig, info.bin_dir) as kinfo:
        yield kinfo


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--partitions", type=int, default=4)
    parser.add_argument("--max-replicas", type=int, default=4)
    parser.add_argument("--lag-threshold", type=int, default=50)
    parser.add_argument("--delay-ms", type=int, default=20, help="processing time per message")
    parser.add_argument("--burst", type=int, default=2000, help="messages in a step burst")
    parser.add_argument("--ramp", type=float, default=60, help="seconds the ramp climbs")
    parser.add_argument("--ramp-peak", type=int, default=250, help="messages/s at its top")
    parser.add_argument("--window", type=float, default=150, help="seconds each scenario is watched")
    parser.add_argument("--silence", type=float, default=400,
                        help="seconds between the two bursts of 'silence' (KEDA's cooldown is 300)")
    parser.add_argument("--outage", type=float, default=20, help="seconds the broker is down")
    parser.add_argument("--drain-timeout", type=float, default=180,
                        help="seconds to wait after a phase for every message to be processed")
    parser.add_argument("--metrics-port", type=int, default=0)
    args = parser.parse_args()
    if not args.metrics_port:
        from localstack.ports import free_port
        args.metrics_port = free_port()
    phases = scenarios(args)
    print(f"bench-keda: {args.partitions} partitions, lagThreshold {args.lag_threshold}, "
          f"replicas 1..{args.max_replicas} (0.. for silence), {args.delay_ms} ms per message; "
          f"phases: {[[s.name for s in p] for p in phases]}", flush=True)
    out = Path(LocalStack().dir) / "bench-keda"  # the consumers' records and logs, per run
    shutil.rmtree(out, ignore_errors=True)
    all_runs: list[Run] = []
    with local_stack() as info, keda_running(info) as kinfo, operator_process(
            info, EVENTSUB_METRICS_PORT=str(args.metrics_port),
            EVENTSUB_METRICS_HOST="127.0.0.1") as operator:
        bench = Bench(info, kinfo, args, out)
        bench.operator_pid = operator.pid
        bench.namespaces()
        try:
            for phase in phases:
                t0 = time.monotonic()
                runs, counters = bench.phase(phase)
                all_runs += runs
                print(f"\nphase {[s.name for s in phase]} ({time.monotonic() - t0:.0f} s):")
                print("\n".join(table(runs)))
                print(f"  peak RSS: eventsub operator {counters['eventsub']:.0f} MiB; KEDA operator "
                      f"+ adapter {counters['keda']:.0f} MiB "
                      f"({ratio(counters['eventsub'], counters['keda'])})")
                print("  " + lag_reads(counters, len(phase)), flush=True)
        finally:
            bench.cleanup()
    lost = sum(figures(r).get("lost") or 0 for r in all_runs)
    print(f"\nmessages lost over the run: {lost:.0f}")
    return 0 if lost == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
