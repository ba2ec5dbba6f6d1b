"""make bench-lag: one lag cycle for G groups x P partitions, eventsub vs its peers, same run.

1. eventsub's collector (one cycle for every subscription on the cluster);
2. Kafka's own `kafka-consumer-groups --describe --all-groups` (ConsumerGroupCommand);
3. a naive per-subscription client, as per-object scalers do (one client per subscription,
   metadata + log-end + log-start + committed offsets for each).
The lag values of eventsub must equal ConsumerGroupCommand's. Then the scale-reaction latency
(backlog produced -> Deployment replicas patched) over trials, and the operator's RSS with many
subscriptions.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

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
from confluent_kafka.admin import AdminClient, NewTopic, OffsetSpec

from eventsub.core.lag import partition_lag
from eventsub.kafka.admin import GROUP_REQUESTS_IN_FLIGHT, ClusterAdmin
from eventsub.kafka.lag import LogStarts, collect
from eventsub.kafka.offsets_log import OffsetsLogReader
from localstack import StackInfo
from localstack.kafka import java_argv
from localstack.paths import Binaries

KEDA_REACTION_SECONDS = 30 + 15  # KEDA defaults: 30 s polling + 15 s HPA sync
# One lag cycle's target by size (groups, partitions): ten times the scale of the first release.
CYCLE_TARGETS = {(500, 8): 0.35, (5000, 8): 3.0}
RSS_TARGET_MIB = 500  # with 10,000 subscriptions


def prepare(info: StackInfo, run: str, groups: int, partitions: int,
            groups_per_topic: int = 1) -> dict[str, str]:
    """Topics of P partitions with messages, and G groups with committed offsets, K groups per
    topic (as when several services read one event); returns group -> topic."""
    admin = AdminClient({"bootstrap.servers": info.kafka_bootstrap})
    topics = [f"lag-{run}-{t}" for t in range(-(-groups // groups_per_topic))]
    for start in range(0, len(topics), 200):
        futures = admin.create_topics([NewTopic(t, partitions, 1) for t in topics[start:start + 200]],
                                      operation_timeout=60)
        for future in futures.values():
            future.result(600)
    time.sleep(2)
    producer = Producer({"bootstrap.servers": info.kafka_bootstrap, "linger.ms": 20})
    for t, topic in enumerate(topics):
        for p in range(partitions):
            for i in range(10 + (t + p) % 7):
                producer.produce(topic, f"{i}".encode(), partition=p)
        producer.poll(0)
    producer.flush(120)
    mapping = {f"bench-{run}-{g}": topics[g // groups_per_topic] for g in range(groups)}
    commit_offsets(admin, mapping, partitions)
    return mapping


def commit_offsets(admin: AdminClient, mapping: dict[str, str], partitions: int) -> None:
    """Each group's committed offsets, (g + 3p) % 10. A commit can fail partition by partition
    inside a successful answer (a coordinator still loading on a fresh broker): such groups are
    committed again, or the comparison with ConsumerGroupCommand would miss them."""
    offsets = {group: [TopicPartition(topic, p, (g + 3 * p) % 10) for p in range(partitions)]
               for g, (group, topic) in enumerate(mapping.items())}
    pending = list(offsets)
    for _ in range(10):
        failed = []
        # In waves, as the operator sends group requests: thousands at once can abort librdkafka.
        for start in range(0, len(pending), 250):
            futures = {}  # one group a call: the client takes no more
            for group in pending[start:start + 250]:
                futures |= admin.alter_consumer_group_offsets(
                    [ConsumerGroupTopicPartitions(group, offsets[group])], request_timeout=60)
            failed += [group for group, future in futures.items()
                       if any(tp.error for tp in future.result(600).topic_partitions)]
        if not failed:
            return
        pending = failed
        time.sleep(1)
    raise SystemExit(f"{len(pending)} groups' offsets could not be committed")


async def eventsub_cycle(info: StackInfo, mapping: dict[str, str]
                         ) -> tuple[float, dict, int, float, float]:
    """The median of 5 cycles as the scaler runs them, with the __consumer_offsets reader caught
    up; also how long it took to catch up and one cycle without it (every group by request)."""
    admin = ClusterAdmin({"bootstrap.servers": info.kafka_bootstrap}, request_timeout=30)
    groups = {g: [t] for g, t in mapping.items()}
    t0 = time.perf_counter()
    reader = OffsetsLogReader({"bootstrap.servers": info.kafka_bootstrap}, "bench").start()
    try:
        reader.track(groups)
        while len(reader.views(groups)) < len(groups):
            if reader.failed or time.perf_counter() - t0 > 600:
                raise RuntimeError(f"the offsets reader did not catch up: {reader.failed}")
            await asyncio.sleep(0.05)
        caught_up = time.perf_counter() - t0
        # As the operator's scaler runs it: log-start offsets remembered between cycles (re-read
        # once a minute), connections established by a first cycle.
        log_starts = LogStarts()
        await collect(admin, groups, log_starts, reader)
        t1 = time.perf_counter()
        await collect(admin, groups, log_starts)
        requested = time.perf_counter() - t1
        admin.calls.clear()
        times = []
        for _ in range(5):
            t1 = time.perf_counter()
            reads = await collect(admin, groups, log_starts, reader)
            times.append(time.perf_counter() - t1)
    finally:
        reader.close()
    lags = {(g, o.topic, o.partition): partition_lag(o, "Earliest")
            for g, read in reads.items() for o in read.offsets}
    assert all(r.error is None for r in reads.values()), [r.error for r in reads.values() if r.error]
    return statistics.median(times), lags, sum(admin.calls.values()) // 5, caught_up, requested


def _cgc(info: StackInfo, *args: str) -> tuple[float, str]:
    binaries = Binaries.locate()
    argv = java_argv(binaries.java, binaries.kafka_libs,
                     "org.apache.kafka.tools.consumer.group.ConsumerGroupCommand",
                     "--bootstrap-server", info.kafka_bootstrap, *args, heap="512m")
    t0 = time.perf_counter()
    out = subprocess.run(argv, capture_output=True, text=True, timeout=600)
    return time.perf_counter() - t0, out.stdout


def jvm_start(info: StackInfo) -> float:
    """What ConsumerGroupCommand costs before it talks to Kafka (`--version`)."""
    return min(_cgc(info, "--version")[0] for _ in range(3))


def consumer_group_command(info: StackInfo) -> tuple[float, dict]:
    elapsed, stdout = _cgc(info, "--describe", "--all-groups")
    lags = {}
    for line in stdout.splitlines():
        cols = line.split()
        if len(cols) >= 6 and cols[0].startswith("bench-") and cols[2].isdigit():
            group, topic, partition, _current, end, lag = cols[:6]
            lags[(group, topic, int(partition))] = int(lag) if lag.isdigit() else int(end)
    return elapsed, lags


NAIVE_MAX_CLIENTS = 500  # each librdkafka client has its own threads and connections


async def naive_cycle(info: StackInfo, mapping: dict[str, str], partitions: int) -> tuple[float, int]:
    """One client per subscription, each reading its own lag, all concurrently (per-object
    scalers); clients are created before timing, as scalers cache them. Beyond
    NAIVE_MAX_CLIENTS subscriptions the machine runs out of threads first: the time is measured
    on that many and scaled by the count (the requests grow linearly)."""
    mapping = dict(list(mapping.items())[:NAIVE_MAX_CLIENTS])
    clients = {g: ClusterAdmin({"bootstrap.servers": info.kafka_bootstrap}, request_timeout=60)
               for g in mapping}

    async def one(group: str, topic: str) -> None:
        admin = clients[group]
        await admin.partition_counts([topic])
        tps = [(topic, p) for p in range(partitions)]
        await admin.log_offsets(tps, earliest=False)
        await admin.log_offsets(tps, earliest=True)
        await admin.committed_offsets(group, tps)

    await asyncio.gather(*(one(g, t) for g, t in list(mapping.items())[:5]))  # warm
    t0 = time.perf_counter()
    await asyncio.gather(*(one(g, t) for g, t in mapping.items()))
    return time.perf_counter() - t0, 4 * len(mapping)


def naive_scaled(measured: float, requests: int, groups: int) -> tuple[float, int, str]:
    sampled = requests // 4
    if sampled >= groups:
        return measured, requests, ""
    return measured * groups / sampled, 4 * groups, f", measured on {sampled} and scaled"


def reaction_latency(info: StackInfo, run: str, trials: int) -> list[float]:
    core, apps, custom = kube_clients(info)
    ns = f"bench-react-{run}"
    namespace(core, ns)
    topic = f"react-{run}"
    admin = AdminClient({"bootstrap.servers": info.kafka_bootstrap})  # kept: its futures need it
    admin.create_topics([NewTopic(topic, 8, 1)])[topic].result(30)
    custom.create_namespaced_custom_object(GROUP, VERSION, ns, "kafkaconnections", custom_resource(
        "KafkaConnection", "local", {"bootstrapServers": [info.kafka_bootstrap]}))
    custom.create_namespaced_custom_object(GROUP, VERSION, ns, "eventsubscriptions", custom_resource(
        "EventSubscription", "react", {
            "connectionRef": {"name": "local"}, "topics": [{"name": topic}],
            "startPosition": "Latest",
            "scaling": {"minReplicas": 1, "maxReplicas": 8, "lagThreshold": 10,
                        "scaleDownStabilizationSeconds": 0},  # default 5 s poll interval
            "template": {"spec": {"containers": [{"name": "c", "image": "example/c:1"}]}}}))
    producer = Producer({"bootstrap.servers": info.kafka_bootstrap})

    def replicas() -> int:
        try:
            return int(apps.read_namespaced_deployment_scale("react-consumer", ns).spec.replicas)
        except Exception:
            return -1

    results = []
    try:
        while replicas() != 1:
            time.sleep(0.2)
        for _ in range(trials):
            # Nobody consumes: commit the log end so lag is 0, wait for 1 replica.
            latest = admin.list_offsets({TopicPartition(topic, p): OffsetSpec.latest()
                                         for p in range(8)})
            ends = [TopicPartition(tp.topic, tp.partition, f.result(10).offset)
                    for tp, f in latest.items()]
            admin.alter_consumer_group_offsets(
                [ConsumerGroupTopicPartitions(f"{ns}.react", ends)])[f"{ns}.react"].result(30)
            deadline = time.monotonic() + 60
            while replicas() != 1 and time.monotonic() < deadline:
                time.sleep(0.1)
            time.sleep(1.0 + (len(results) % 5) * 0.9)  # trials start at different poll phases
            for i in range(400):
                producer.produce(topic, b"x", partition=i % 8)
            producer.flush(10)
            t0 = time.monotonic()
            while replicas() <= 1 and time.monotonic() - t0 < 60:
                time.sleep(0.05)
            results.append(time.monotonic() - t0)
    finally:
        core.delete_namespace(ns)
        delete_topics(info.kafka_bootstrap, [topic])
    return results


def _reports_lag_and_ready(subscription: dict) -> bool:
    status = subscription.get("status") or {}
    ready = [c for c in status.get("conditions", []) if c.get("type") == "Ready"]
    return status.get("totalLag") is not None and bool(ready) and ready[0].get("status") == "True"


def operator_rss(info: StackInfo, run: str, mapping: dict[str, str], count: int) -> tuple[float, float]:
    """The operator's RSS once `count` subscriptions (spread over the mapping's topics, no
    consumers: minReplicas 0) are all Ready (wired: Deployment applied) and report their lag,
    after a few more lag cycles."""
    core, _, custom = kube_clients(info)
    ns = f"bench-rss-{run}"
    namespace_with_connection(info, ns)
    topics = sorted(set(mapping.values()))

    def create(i: int) -> None:
        custom.create_namespaced_custom_object(GROUP, VERSION, ns, "eventsubscriptions",
            custom_resource("EventSubscription", f"s{i}", {
                "connectionRef": {"name": "local"}, "topics": [{"name": topics[i % len(topics)]}],
                "scaling": {"minReplicas": 0},
                "template": {"spec": {"containers": [{"name": "c", "image": "c:1"}]}}}))

    try:
        with operator_process(info) as operator:
            with ThreadPoolExecutor(16) as pool:
                list(pool.map(create, range(count)))
            deadline = time.monotonic() + 1800
            while time.monotonic() < deadline:
                if operator.poll() is not None:
                    raise RuntimeError(f"the operator exited ({operator.returncode}) before every "
                                       "subscription reported its lag: see its log")
                items = custom.list_namespaced_custom_object(GROUP, VERSION, ns,
                                                             "eventsubscriptions")["items"]
                if sum(1 for s in items if _reports_lag_and_ready(s)) == count:
                    break
                time.sleep(5)
            time.sleep(20)  # a few lag cycles with every subscription registered
            return rss_mib(operator.pid), rss_mib(operator.pid, peak=True)
    finally:
        core.delete_namespace(ns)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--groups", type=int, default=500)
    parser.add_argument("--partitions", type=int, default=8)
    parser.add_argument("--groups-per-topic", type=int, default=1,
                        help="groups reading each topic (a broker holds only so many partitions)")
    parser.add_argument("--trials", type=int, default=10)
    parser.add_argument("--subscriptions", type=int, default=1000)
    parser.add_argument("--cycle-only", action="store_true", help="skip reaction and RSS")
    parser.add_argument("--rss-only", action="store_true",
                        help="only the operator's RSS with --subscriptions subscriptions")
    args = parser.parse_args()
    run = uuid.uuid4().hex[:6]
    n = args.groups * args.partitions
    topics = -(-args.groups // args.groups_per_topic)
    print(f"bench-lag: {args.groups} groups x {args.partitions} partitions ({n} group-partitions, "
          f"{topics} topics)", flush=True)
    with local_stack() as info:
        mapping = prepare(info, run, args.groups, args.partitions, args.groups_per_topic)
        if args.rss_only:
            try:
                rss, peak = operator_rss(info, run, mapping, args.subscriptions)
            finally:
                delete_topics(info.kafka_bootstrap, sorted(set(mapping.values())))
            print(f"  operator RSS with {args.subscriptions} subscriptions: {rss:.0f} MiB "
                  f"(peak {peak:.0f} MiB); target < {RSS_TARGET_MIB} MiB at 10,000")
            return 0
        try:
            ours, our_lags, our_calls, caught_up, requested = asyncio.run(eventsub_cycle(info, mapping))
            cgc, cgc_lags = consumer_group_command(info)
            jvm = jvm_start(info)
            naive, naive_requests, scaled = naive_scaled(
                *asyncio.run(naive_cycle(info, mapping, args.partitions)), args.groups)
            equal = our_lags == cgc_lags
            print(f"  eventsub collector, one cycle      {ours:8.3f} s   {our_calls} admin calls "
                  f"(1 Metadata, 1 ListOffsets per leader; committed offsets and members from "
                  f"__consumer_offsets, read up to date in {caught_up:.2f} s; log-start offsets "
                  f"once a minute)")
            print(f"  ... the same cycle by requests     {requested:8.3f} s   (DescribeGroups in "
                  f"waves of {GROUP_REQUESTS_IN_FLIGHT}, {args.groups} OffsetFetch: before the "
                  f"reader has caught up, or when it cannot read the topic)", flush=True)
            print(f"  ConsumerGroupCommand --all-groups  {cgc:8.3f} s   ({cgc / ours:.1f}x eventsub;"
                  f" without its {jvm:.2f} s JVM start: {max(cgc - jvm, 0) / ours:.1f}x)")
            print(f"  naive per-subscription clients     {naive:8.3f} s   {naive_requests} requests "
                  f"({naive / ours:.1f}x eventsub{scaled})")
            differ = sorted(k for k in set(our_lags) | set(cgc_lags)
                            if our_lags.get(k) != cgc_lags.get(k))
            print(f"  lag values equal ConsumerGroupCommand's: {equal} ({len(our_lags)} partitions "
                  f"by eventsub, {len(cgc_lags)} by ConsumerGroupCommand, {len(differ)} differ"
                  + (f", e.g. {differ[0]}: {our_lags.get(differ[0])} vs {cgc_lags.get(differ[0])}"
                     if differ else "") + ")", flush=True)
            if args.cycle_only:
                return 0 if equal else 1
            with operator_process(info):
                latencies = reaction_latency(info, run, args.trials)
            print(f"  scale reaction (backlog -> replicas patched), {len(latencies)} trials, 5 s "
                  f"poll: median {statistics.median(latencies):.2f} s, max {max(latencies):.2f} s "
                  f"(KEDA defaults: up to {KEDA_REACTION_SECONDS} s)", flush=True)
            rss, peak = operator_rss(info, run, mapping, args.subscriptions)
            print(f"  operator RSS with {args.subscriptions} subscriptions: {rss:.0f} MiB "
                  f"(peak {peak:.0f} MiB); KEDA: ~35 GiB at 3,000 ScaledObjects")
        finally:
            delete_topics(info.kafka_bootstrap, sorted(set(mapping.values())))
    cycle_target = CYCLE_TARGETS.get((args.groups, args.partitions), 1.0)
    rss_target = RSS_TARGET_MIB if args.subscriptions >= 10_000 else 300
    targets = [ours <= cycle_target, cgc / ours >= 5, max(latencies) <= 6.0, peak < rss_target, equal]
    print(f"  targets (cycle <= {cycle_target} s, >= 5x CGC, reaction <= poll + 1 s, RSS < "
          f"{rss_target} MiB, equal lag): " + ("met" if all(targets) else f"NOT met {targets}"))
    return 0 if equal else 1


if __name__ == "__main__":
    sys.exit(main())
