"""make soak: a counted chaos soak of eventsub (SOAK_MINUTES, 20 by default).

Three EventSubscriptions autoscale on lag (one with minReplicas 0, so it scales to zero and
wakes up) while producers write uniquely numbered messages into their topics at a steady rate
with bursts, and the local stack's consumer runner runs each subscription's pods as real
consumers that record what they process. Two operator replicas run with leader election; an
operator process that exits is restarted, as Kubernetes would. Meanwhile a chaos schedule,
spread over the run: consumer pods deleted, the broker stopped and restarted, a Rewind replay,
the leading operator SIGKILLed (and started again), the API server restarted, a Job replay.
Then the producers stop and the soak waits (bounded) until every message was processed.

It prints, per topic, messages produced / processed / missing / duplicated (each duplicate
put down to a cause), scale events per hour and flaps per subscription, PartitionStalled
Events and recommendation drops (desired <= 1 replica while lag > 1000) outside and inside the
chaos windows (an action until 60 s after it ended), the operators' RSS over time and the lag
cycles run. It exits 1 if a message was never processed.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import re
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from common import (
    GROUP,
    VERSION,
    custom_resource,
    delete_topics,
    kube_clients,
    local_stack,
    namespace_with_connection,
    rss_mib,
)
from kubernetes import client
from prometheus_client.parser import text_string_to_metric_families
from soak_load import Load, Position, ProcessedTail, TopicProducer
from soak_report import (
    Rewind,
    Sample,
    ScaleEvent,
    Window,
    drops,
    flaps,
    rss_figures,
    split_by_windows,
    topic_figures,
)

from localstack import LocalStack, StackInfo
from localstack.consumers import ConsumerRunner
from operator_process import OperatorProcess
from support import eventually

SETTLE_SECONDS = 60  # a chaos window lasts until this long after its action ended
BROKER_DOWN_SECONDS = 20
# The operator's own defaults, not the tests' short intervals: the soak measures it as deployed.
OPERATOR_SETTINGS = {"EVENTSUB_RESYNC_SECONDS": "60", "EVENTSUB_PROBE_SECONDS": "30",
                     "EVENTSUB_KAFKA_TIMEOUT_SECONDS": "10",
                     "EVENTSUB_TOPIC_DELETION_TIMEOUT_SECONDS": "300"}
# kwok runs no image: the consumer runner runs these pods; Job pods run until their process ends.
TEMPLATE = {"metadata": {"annotations": {"localstack.eventsub.io/run-until-exit": "true"}},
            "spec": {"containers": [{"name": "consumer", "image": "example/consumer:1"}]}}
REWIND, JOB = "rewind-audit", "job-orders"
Action = tuple[float, str, Callable[[], float], str | None]  # when, name, run it, scope


@dataclass(frozen=True)
class Subscription:
    name: str
    partitions: int
    scaling: dict[str, int]
    delay_ms: int  # processing time per message: 1000 / delay_ms messages/s per replica
    load: Load


SUBSCRIPTIONS = (
    Subscription("orders", 4, {"minReplicas": 1, "maxReplicas": 4, "lagThreshold": 200},
                 20, Load(rate=15, burst=2500, burst_every=200, first_burst=25)),
    Subscription("payments", 4, {"minReplicas": 0, "maxReplicas": 3, "lagThreshold": 300,
                                 "cooldownSeconds": 30},
                 20, Load(rate=0, burst=1500, burst_every=150, first_burst=45)),
    Subscription("audit", 3, {"minReplicas": 1, "maxReplicas": 3, "lagThreshold": 200},
                 10, Load(rate=10, burst=1500, burst_every=240, first_burst=65)),
)


class Soak:
    def __init__(self, info: StackInfo, minutes: float, out: Path) -> None:
        self.info, self.out = info, out
        self.core, self.apps, self.custom = kube_clients(info)
        self.run_id = uuid.uuid4().hex[:6]
        self.ns = f"soak-{self.run_id}"
        self.topics = {s.name: f"{self.ns}.{s.name}" for s in SUBSCRIPTIONS}
        self.produce_seconds = minutes * 60 * 0.85
        self.drain_seconds = max(180.0, minutes * 60 * 0.15)
        self.windows: list[Window] = []
        self.notes: list[str] = []  # what happened, with times, for the log
        self.samples: list[Sample] = []
        self.rss: dict[str, list[tuple[float, float]]] = {}  # "replica-pid" -> (time, MiB)
        self.lag_cycles: dict[int, float] = {}  # pid -> lag cycles it ran (its counter's last value)
        self.exits: list[tuple[float, str, int]] = []
        self.operators: list[OperatorProcess] = []
        self.producers: dict[str, TopicProducer] = {}
        self.runners: list[ConsumerRunner] = []
        self.started = time.time()

    # -- setup --------------------------------------------------------------------------------

    def setup(self) -> None:
        namespace_with_connection(self.info, self.ns)
        env = {**OPERATOR_SETTINGS, "EVENTSUB_NAMESPACES": self.ns}
        lease = f"soak-{self.run_id}"
        self.operators = [OperatorProcess(self.info, self.out / "operator-a.log", env, lease=lease),
                          OperatorProcess(self.info, self.out / "operator-b.log", env, lease=lease,
                                          expect_leader=False)]
        for s in SUBSCRIPTIONS:
            self._create("eventtopics", custom_resource("EventTopic", s.name, {
                "connectionRef": {"name": "local"}, "topicName": self.topics[s.name],
                "partitions": s.partitions}))
        for s in SUBSCRIPTIONS:
            self._wait_condition("eventtopics", s.name, "Ready")
            self._create("eventsubscriptions", custom_resource("EventSubscription", s.name, {
                "connectionRef": {"name": "local"}, "topics": [{"eventTopic": s.name}],
                "template": TEMPLATE, "scaling": s.scaling}))
        for s in SUBSCRIPTIONS:
            self._wait_condition("eventsubscriptions", s.name, "Ready")
            runner = ConsumerRunner(self.core, self.ns, s.name, self.out / "consumers" / s.name,
                                    delay_ms=s.delay_ms)
            self.runners.append(runner.__enter__())
        self.job_runner = ConsumerRunner(self.core, self.ns, "", self.out / "consumers" / JOB,
                                         delay_ms=5, selector=f"eventsub.io/replay={JOB}")
        self.runners.append(self.job_runner.__enter__())
        self.tail = ProcessedTail([self.out / "consumers" / s.name for s in SUBSCRIPTIONS])
        self.job_tail = ProcessedTail([self.out / "consumers" / JOB])
        eventually(lambda: all(self._deployment_replicas(s.name) >= s.scaling["minReplicas"]
                               for s in SUBSCRIPTIONS), what="consumer Deployments")
        time.sleep(5)  # the first consumers join their groups before anything is produced

    def _create(self, plural: str, body: dict[str, Any]) -> None:
        self.custom.create_namespaced_custom_object(GROUP, VERSION, self.ns, plural, body)

    def _get(self, plural: str, name: str) -> dict[str, Any]:
        body: dict[str, Any] = self.custom.get_namespaced_custom_object(GROUP, VERSION, self.ns,
                                                                        plural, name)
        return body

    def _condition(self, plural: str, name: str, type_: str) -> dict[str, Any] | None:
        conditions = (self._get(plural, name).get("status") or {}).get("conditions", [])
        return next((c for c in conditions if c["type"] == type_), None)

    def _wait_condition(self, plural: str, name: str, type_: str, timeout: float = 120) -> None:
        eventually(lambda: (self._condition(plural, name, type_) or {}).get("status") == "True",
                   timeout=timeout, what=f"{plural}/{name} {type_}")

    def _deployment_replicas(self, subscription: str) -> int:
        try:
            return int(self.apps.read_namespaced_deployment(
                f"{subscription}-consumer", self.ns).spec.replicas)
        except client.ApiException:
            return -1

    # -- the run ------------------------------------------------------------------------------

    def run(self) -> None:
        for s in SUBSCRIPTIONS:
            self.producers[s.name] = TopicProducer(self.info.kafka_bootstrap, self.topics[s.name],
                                                   s.partitions, s.load)
            self.producers[s.name].start()
        self.tail.start()
        self.job_tail.start()
        self.started = time.time()
        self.note(f"producing for {self.produce_seconds:.0f}s")
        schedule = self._schedule()
        deadline = self.started + self.produce_seconds
        next_sample = 0.0
        while time.time() < deadline:
            if time.time() >= next_sample:
                self.sample()
                next_sample = time.time() + 2
            self.supervise()
            if schedule and time.time() >= self.started + schedule[0][0]:
                _, name, action, scope = schedule.pop(0)
                self.chaos(name, action, scope)
            time.sleep(0.5)
        self.drain()

    def _schedule(self) -> list[Action]:
        """Chaos actions at fractions of the producing phase (each runs once the one before it
        has ended); an action returns when it ended (wall time). The last field: the one
        subscription the action disturbs, or None for all."""
        plan: list[Action] = [
            (0.08, "consumer pods of orders deleted", lambda: self.delete_pods("orders", 2), "orders"),
            # The two that end a leader's process come early: the replica that takes over then
            # lives through the rest of the run, so its memory is seen over most of it.
            (0.16, "API server restarted", self.restart_apiserver, None),
            (0.26, "leading operator SIGKILLed", self.kill_leader, None),
            (0.38, "broker stopped and restarted", self.restart_broker, None),
            (0.50, "Rewind replay of audit", self.rewind, "audit"),
            (0.62, "Job replay of orders", self.job_replay, "orders"),
            (0.74, "consumer pods of audit deleted", lambda: self.delete_pods("audit", 1), "audit"),
        ]
        return [(fraction * self.produce_seconds, *rest) for fraction, *rest in plan]

    def chaos(self, name: str, action: Callable[[], float], scope: str | None) -> None:
        start = time.time()
        self.note(f"chaos: {name}")
        end = action()
        self.windows.append(Window(name, start, end + SETTLE_SECONDS, scope))
        self.note(f"chaos: {name}: took {end - start:.1f}s")

    def note(self, text: str) -> None:
        line = f"[{time.time() - self.started:7.1f}s] {text}"
        self.notes.append(line)
        print(line, flush=True)

    # -- chaos actions ------------------------------------------------------------------------

    def delete_pods(self, subscription: str, count: int) -> float:
        pods = self.core.list_namespaced_pod(
            self.ns, label_selector=f"eventsub.io/subscription={subscription}").items
        for pod in [p for p in pods if p.metadata.deletion_timestamp is None][:count]:
            self.core.delete_namespaced_pod(pod.metadata.name, self.ns)
            self.note(f"deleted pod {pod.metadata.name}")
        return time.time()

    def restart_broker(self) -> float:
        stack = LocalStack(Path(self.info.run_dir))
        stack.stop_kafka(self.info)
        self._wait(BROKER_DOWN_SECONDS)
        stack.start_kafka(self.info)
        return time.time()

    def restart_apiserver(self) -> float:
        LocalStack(Path(self.info.run_dir)).restart_apiserver(self.info, lambda: time.sleep(3))
        return time.time()

    def kill_leader(self) -> float:
        leader = next((op for op in self.operators if _alive(op) and _leading(op)), None)
        if leader is None:
            self.note("no replica leads right now: nothing killed")
            return time.time()
        survivor = next(op for op in self.operators if op is not leader)
        leader.kill()
        killed = time.time()
        eventually(lambda: _leading(survivor), timeout=120, interval=0.2, what="the standby leads")
        self.note(f"the standby leads {time.time() - killed:.1f}s after the kill")
        leader.start(expect_leader=False)  # as Kubernetes would restart it: two replicas again
        return time.time()

    def rewind(self) -> float:
        self._create("eventreplays", custom_resource("EventReplay", REWIND, {
            "subscriptionRef": {"name": "audit"}, "from": {"secondsAgo": 60}}))
        return self._replay_done(REWIND)

    def job_replay(self) -> float:
        self._create("eventreplays", custom_resource("EventReplay", JOB, {
            "subscriptionRef": {"name": "orders"}, "mode": "Job", "from": {"secondsAgo": 60},
            "to": {"logEndAtStart": True}}))
        return self._replay_done(JOB)

    def _replay_done(self, name: str) -> float:
        """Waits for the replay to succeed or fail, keeping the soak's other duties meanwhile."""
        deadline = time.time() + 300
        while time.time() < deadline:
            if (self._get("eventreplays", name).get("status") or {}).get("step") in ("Done", "Failed"):
                condition = self._condition("eventreplays", name, "Succeeded") or {}
                self.note(f"replay {name}: {condition.get('reason')}: {condition.get('message')}")
                return time.time()
            self.sample()
            self.supervise()
            time.sleep(2)
        self.note(f"replay {name} did not finish within 300s")
        return time.time()

    def _wait(self, seconds: float) -> None:
        end = time.time() + seconds
        while time.time() < end:
            self.sample()
            time.sleep(min(2.0, max(0.0, end - time.time())))

    # -- watching -----------------------------------------------------------------------------

    def supervise(self) -> None:
        """An operator process that exited is started again (what the kubelet would do)."""
        for n, op in enumerate(self.operators):
            code = op.process.poll()
            if code is None:
                continue
            self.exits.append((time.time(), f"replica {'ab'[n]}", code))
            self.note(f"operator replica {'ab'[n]} exited with {code}: restarting it")
            try:
                op.start(expect_leader=False)
            except AssertionError as error:  # not ready yet (the API server away): next pass
                self.note(f"operator replica {'ab'[n]} did not start: {error}")

    def sample(self) -> None:
        now = time.time()
        for n, op in enumerate(self.operators):
            if _alive(op):
                with contextlib.suppress(OSError):
                    self.rss.setdefault(f"{'ab'[n]}-{op.process.pid}", []).append(
                        (now, rss_mib(op.process.pid)))
        leader = next((op for op in self.operators if _alive(op) and _leading(op)), None)
        if leader is None:
            return
        with contextlib.suppress(OSError, ValueError):
            self._read_metrics(leader, now)

    def _read_metrics(self, leader: OperatorProcess, now: float) -> None:
        values: dict[tuple[str, str], float] = {}
        for family in text_string_to_metric_families(leader.metrics()):
            for s in family.samples:
                if s.name == "eventsub_lag_cycle_duration_seconds_count":
                    self.lag_cycles[leader.process.pid] = s.value
                elif s.name in ("eventsub_subscription_lag", "eventsub_subscription_desired_replicas") \
                        and s.labels.get("namespace") == self.ns:
                    values[(s.labels["subscription"], s.name)] = s.value
        for s in SUBSCRIPTIONS:
            lag = values.get((s.name, "eventsub_subscription_lag"))
            desired = values.get((s.name, "eventsub_subscription_desired_replicas"))
            if lag is not None and desired is not None:
                self.samples.append(Sample(now, s.name, lag, desired))

    # -- the end ------------------------------------------------------------------------------

    def drain(self) -> None:
        undelivered = {name: p.stop() for name, p in self.producers.items()}
        self.note(f"producers stopped (undelivered after flush: {sum(undelivered.values())}); draining")
        delivered = set().union(*(p.ledger.delivered for p in self.producers.values()))
        deadline = time.time() + self.drain_seconds
        while time.time() < deadline and not delivered <= self.tail.processed():
            self.sample()
            self.supervise()
            time.sleep(2)
        missing = len(delivered - self.tail.processed())
        self.note(f"drain ended: {missing} message(s) not processed"
                  + ("" if missing else " (none)"))
        self.tail.stop()
        self.job_tail.stop()

    def report(self) -> int:
        ended = time.time()
        hours = (ended - self.started) / 3600
        scale = self._scale_events()
        print(f"\n== soak {self.ns}: {(ended - self.started) / 60:.1f} min, "
              f"{len(self.windows)} chaos actions; details in {self.out}")
        for w in self.windows:
            print(f"   chaos {w.start - self.started:6.0f}s..{w.end - self.started:6.0f}s  {w.name}")
        missing = self._print_messages(scale)
        self._print_job_replay()
        self._print_scaling(scale, hours)
        self._print_health()
        self._print_operator(hours)
        self._save(scale)
        print(f"\nresult: {'FAIL' if missing else 'PASS'}: {missing} message(s) never processed")
        return 1 if missing else 0

    def _print_messages(self, scale: list[ScaleEvent]) -> int:
        print(f"\n{'topic':<10} {'produced':>9} {'failed':>7} {'processed':>10} {'missing':>8} "
              f"{'duplicates':>11}  causes of the duplicates")
        rewind = self._rewind_moves()
        total_missing = 0
        self.repeats: dict[str, list[tuple[float, str]]] = {}
        for s in SUBSCRIPTIONS:
            ledger = self.producers[s.name].ledger
            records = {p: r for p, r in self.tail.records.items() if p[0] == self.topics[s.name]}
            figures = topic_figures(s.name, ledger.delivered, len(ledger.failed), records, self.windows,
                                    rewind, [e.time for e in scale if e.subscription == s.name])
            total_missing += figures.missing
            self.repeats[s.name] = [(t - self.started, cause) for t, cause in figures.repeats]
            causes = "; ".join(f"{n} {cause}" for cause, n in figures.duplicates.most_common()) or "-"
            print(f"{s.name:<10} {figures.produced:>9} {figures.failed:>7} {figures.processed:>10} "
                  f"{figures.missing:>8} {sum(figures.duplicates.values()):>11}  {causes}")
        if rewind is not None:
            print(f"   the Rewind replay's plan moved back over {rewind.size()} message(s) of audit, "
                  "each processed once more by design (and those consumed between its plan and "
                  "the pause)")
        print("   a duplicate is a processing of a message after its first; its cause is the Rewind "
              "if the rewind moved over it (its first repeat), else the chaos window it fell in "
              "(redelivery from the last committed offset after a hand-over), else a scale event "
              "of its subscription in the 30 s before it (rebalance), else unexplained")
        return total_missing

    def _rewind_moves(self) -> Rewind | None:
        window = next((w for w in self.windows if w.name.startswith("Rewind")), None)
        with contextlib.suppress(client.ApiException):
            status = self._get("eventreplays", REWIND).get("status") or {}
            if window is not None and status.get("step") == "Done":
                return Rewind(tuple((m["topic"], m["partition"], m["newOffset"], m["currentOffset"])
                                    for m in status.get("plan", []) if m.get("currentOffset") is not None),
                              window.start, window.end)
        return None

    def _print_job_replay(self) -> None:
        with contextlib.suppress(client.ApiException):
            status = self._get("eventreplays", JOB).get("status") or {}
            expected: set[Position] = {(m["topic"], m["partition"], o) for m in status.get("plan", [])
                                       for o in range(m["newOffset"], m.get("endOffset") or 0)}
            done = self.job_tail.records
            again = sum(len(r) - 1 for r in done.values())
            print(f"\nJob replay of orders ({status.get('step')}): range {len(expected)} message(s), "
                  f"processed {len(set(done) & expected)}, missing {len(expected - set(done))}, "
                  f"outside the range {len(set(done) - expected)}, processed more than once {again}")

    def _scale_events(self) -> list[ScaleEvent]:
        found = []
        for event in self.core.list_namespaced_event(self.ns).items:
            match = re.match(r"(\d+) -> (\d+) replicas: (.*)", event.message or "")
            if event.reason in ("ScaledUp", "ScaledDown") and match:
                found.append(ScaleEvent(_event_time(event), event.involved_object.name,
                                        int(match[1]), int(match[2]), match[3]))
        return sorted(found, key=lambda e: e.time)

    def _print_scaling(self, scale: list[ScaleEvent], hours: float) -> None:
        print(f"\n{'subscription':<13} {'scale events':>12} {'per hour':>9} {'to zero':>8} "
              f"{'from zero':>10} {'flaps':>6}")
        for s in SUBSCRIPTIONS:
            mine = [e for e in scale if e.subscription == s.name]
            flapped = flaps(mine, [t for t, _ in self.producers[s.name].ledger.bursts])
            print(f"{s.name:<13} {len(mine):>12} {len(mine) / hours:>9.0f} "
                  f"{sum(e.after == 0 for e in mine):>8} {sum(e.before == 0 for e in mine):>10} "
                  f"{len(flapped):>6}")
            for a, b in flapped:
                print(f"   flap: {a.before}->{a.after} at {a.time - self.started:.0f}s ({a.reason}), "
                      f"{b.before}->{b.after} at {b.time - self.started:.0f}s ({b.reason})")
        print("   a flap: two scale events of one subscription in opposite directions within "
              "60 s (a scale to zero after its cooldown, and a scale-up in the 30 s after a "
              "burst, excepted)")

    def _print_health(self) -> None:
        events = self.core.list_namespaced_event(self.ns).items
        print("\nsigns of trouble       outside chaos  inside chaos")
        for reason in ("PartitionStalled", "PartitionStopped"):
            found = [(_event_time(e), e.involved_object.name) for e in events if e.reason == reason]
            healthy, chaos = split_by_windows(found, self.windows)
            print(f"{reason + ' Events':<22} {healthy:>13} {chaos:>13}")
        counted = drops(self.samples, self.windows)
        print(f"{'recommendation drops':<22} {counted['healthy'][0]:>13} {counted['chaos'][0]:>13}"
              f"   (episodes; samples: {counted['healthy'][1]} / {counted['chaos'][1]} of "
              f"{len(self.samples)}, every 2 s from the leader's /metrics)")
        print("   a drop: the leader recommends <= 1 replica while the subscription's lag is "
              "above 1000")

    def _print_operator(self, hours: float) -> None:
        print(f"\n{'operator process':<18} {'lived':>7} {'RSS start':>10} {'peak':>7} {'end':>7} "
              f"{'slope':>11} {'last half':>11}")
        for key, samples in self.rss.items():
            if not samples:
                continue
            r = rss_figures(samples)
            slope, late = (f"{x:+.1f} MiB/h" if x is not None else "-"
                           for x in (r.slope_per_hour, r.late_slope_per_hour))
            print(f"{'replica ' + key:<18} {r.seconds / 60:>5.1f}m {r.start:>8.1f}Mi {r.peak:>5.1f}Mi "
                  f"{r.end:>5.1f}Mi {slope:>11} {late:>11}")
        print("   slope: least squares over a process's samples after its first minute, and over "
              "the last half of its life; '-' under 4 minutes")
        cycles = sum(self.lag_cycles.values())
        print(f"lag-read cycles: {cycles:.0f} by the leaders ({cycles / hours / 60:.0f} per minute); "
              f"operator exits restarted: {len(self.exits)}"
              + "".join(f"; {who} exited {code} at {t - self.started:.0f}s" for t, who, code in self.exits))

    def _save(self, scale: list[ScaleEvent]) -> None:
        (self.out / "soak.json").write_text(json.dumps({
            "namespace": self.ns, "started": self.started, "notes": self.notes,
            "windows": [asdict(w) for w in self.windows],
            "scale_events": [asdict(e) for e in scale],
            "samples": [asdict(s) for s in self.samples], "rss": self.rss,
            "duplicates": self.repeats, "lag_cycles": self.lag_cycles,
            "operator_exits": self.exits}, indent=1))

    def cleanup(self) -> None:
        for producer in self.producers.values():
            with contextlib.suppress(Exception):
                producer.stop(flush_seconds=5)
        for runner in self.runners:
            runner.__exit__(None, None, None)
        with contextlib.suppress(client.ApiException):
            self.core.delete_namespace(self.ns)
        for op in self.operators:
            op.stop()
        delete_topics(self.info.kafka_bootstrap, list(self.topics.values()))


def _alive(op: OperatorProcess) -> bool:
    return op.process.poll() is None


def _leading(op: OperatorProcess) -> bool:
    try:
        return op.leading()
    except Exception:  # not answering (starting, or stopping)
        return False


def _event_time(event: client.CoreV1Event) -> float:
    stamp = event.first_timestamp or event.event_time or event.metadata.creation_timestamp
    return float(stamp.timestamp())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=20.0)
    args = parser.parse_args()
    with local_stack() as info:
        out = Path(info.run_dir) / "soak" / time.strftime("%Y%m%d-%H%M%S")
        out.mkdir(parents=True)
        soak = Soak(info, args.minutes, out)
        try:
            soak.setup()
            soak.run()
            return soak.report()
        finally:
            soak.cleanup()


if __name__ == "__main__":
    raise SystemExit(main())
