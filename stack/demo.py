"""`make demo`: eventsub end to end in one terminal: topics, lag-driven scaling, a replay.

By default everything runs on the embedded local stack (Kafka and a Kubernetes control plane on
127.0.0.1, no cluster needed), which is stopped again at the end if the demo started it. With
KUBECONFIG and EVENTSUB_DEMO_KAFKA set (the bootstrap address the operator and the pods use;
EVENTSUB_DEMO_KAFKA_HERE if this machine reaches Kafka at another address), it runs against those
instead: the consumer pods run EVENTSUB_DEMO_IMAGE (default: the operator image, whose `python -m
eventsub.consumer` logs every message), and the operator runs here, or, with
EVENTSUB_DEMO_OPERATOR=installed, is the one already installed in the cluster (the chart).

When it is done it prints how to look around and, in a terminal, waits for Ctrl-C; Ctrl-C at any
point stops what it started and deletes what it created (its namespace and Kafka topics).
"""

from __future__ import annotations

import contextlib
import datetime
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

import yaml
from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient
from kubernetes import client, config

from localstack.consumers import ConsumerRunner
from localstack.crds import install_crds
from localstack.errors import StackError
from localstack.paths import REPO_ROOT
from localstack.processes import terminate
from localstack.stack import LocalStack

NAMESPACE = "eventsub-demo"
DEMO_LABEL = "eventsub.io/demo"  # marks the namespace as the demo's own
SAMPLES = REPO_ROOT / "manifests" / "samples"
RUN_DIR = REPO_ROOT / ".run" / "demo"
GROUP, VERSION = "eventsub.io", "v1alpha1"
PLURALS = {"KafkaConnection": "kafkaconnections", "EventTopic": "eventtopics",
           "EventSubscription": "eventsubscriptions", "EventReplay": "eventreplays"}
BURST = {"orders": 4000, "payments": 2000}  # events per topic
PROCESSING_MS = 20  # per message, so one consumer drains ~50/s and scaling is worth watching
PHASE_TIMEOUT = 240.0


class DemoFailed(Exception):
    pass


@dataclass
class Target:
    kubeconfig: str
    kafka: str  # as the KafkaConnection (the operator and the pods) uses it
    bin_dir: str | None  # the local stack's kubectl, or None: kubectl from PATH
    stack: LocalStack | None = None  # set when this demo started the local stack
    local_pods: bool = True  # kwok pods run nothing: run their consumers here
    kafka_here: str = ""  # as this machine reaches Kafka (the producer); "": same as kafka
    run_operator: bool = True  # False: the operator installed in the cluster serves the demo

    @property
    def producer_kafka(self) -> str:
        return self.kafka_here or self.kafka


class Screen:
    """Lines for what happened; one live status line (redrawn in a terminal, else printed
    whenever it changes, at most every few seconds)."""

    def __init__(self) -> None:
        self.tty = sys.stdout.isatty()
        self.t0 = time.monotonic()
        self._last_status, self._last_print = "", 0.0

    def stamp(self) -> str:
        return f"[{time.monotonic() - self.t0:6.1f}s]"

    def say(self, text: str) -> None:
        if self.tty:
            sys.stdout.write("\r\033[K")
        print(f"{self.stamp()} {text}", flush=True)
        if self.tty and self._last_status:
            sys.stdout.write(f"{self.stamp()} {self._last_status}")
            sys.stdout.flush()

    def status(self, text: str) -> None:
        if self.tty:
            sys.stdout.write(f"\r\033[K{self.stamp()} {text}")
            sys.stdout.flush()
        elif text != self._last_status and time.monotonic() - self._last_print >= 3:
            print(f"{self.stamp()} {text}", flush=True)
            self._last_print = time.monotonic()
        self._last_status = text

    def heading(self, text: str) -> None:
        self._last_status = ""
        if self.tty:
            sys.stdout.write("\r\033[K")
        print(f"\n==> {text}", flush=True)


@dataclass
class Demo:
    target: Target
    screen: Screen
    api: client.ApiClient
    operator: subprocess.Popen[bytes] | None = None
    metrics_port: int = 0
    runner: ConsumerRunner | None = None
    topics: dict[str, str] = field(default_factory=dict)  # EventTopic name -> Kafka topic
    seen_events: set[str] = field(default_factory=set)
    max_replicas: int = 0
    created_namespace: bool = False  # only a namespace this run created is deleted

    @property
    def custom(self) -> client.CustomObjectsApi:
        return client.CustomObjectsApi(self.api)

    @property
    def core(self) -> client.CoreV1Api:
        return client.CoreV1Api(self.api)

    # -- setting up ---------------------------------------------------------------------------

    def install_crds(self) -> None:
        self.screen.heading("Installing the CRDs: KafkaConnection, EventTopic, EventSubscription, "
                            "EventReplay")
        kubectl = str(Path(self.target.bin_dir) / "kubectl") if self.target.bin_dir else "kubectl"
        try:
            install_crds(kubectl, self.target.kubeconfig)
        except StackError as error:
            raise DemoFailed(str(error)) from None
        self.screen.say("CRDs established")

    def fresh_namespace(self) -> None:
        try:
            existing = self.core.read_namespace(NAMESPACE)
        except client.ApiException as error:
            if error.status != 404:
                raise
        else:
            if (existing.metadata.labels or {}).get(DEMO_LABEL) != "true":
                raise DemoFailed(f"namespace {NAMESPACE} exists and was not made by the demo: "
                                 "the demo will not touch it")
            self.screen.say(f"namespace {NAMESPACE} is left from an earlier run: deleting it first")
            self._release_topics()  # no operator runs yet to let its topics go
            with contextlib.suppress(client.ApiException):
                self.core.delete_namespace(NAMESPACE)
        self._until(lambda: _gone(lambda: self.core.read_namespace(NAMESPACE)), 120,
                    f"the old namespace {NAMESPACE} to go")
        self.core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(
            name=NAMESPACE, labels={DEMO_LABEL: "true"})))
        self.created_namespace = True

    def start_operator(self) -> None:
        self.screen.heading("Starting the operator (python -m eventsub), watching namespace " + NAMESPACE)
        RUN_DIR.mkdir(parents=True, exist_ok=True)
        self.metrics_port = _free_port()
        env = {**os.environ, "KUBECONFIG": self.target.kubeconfig, "EVENTSUB_NAMESPACES": NAMESPACE,
               "EVENTSUB_METRICS_HOST": "127.0.0.1", "EVENTSUB_METRICS_PORT": str(self.metrics_port),
               "EVENTSUB_LEASE_NAMESPACE": NAMESPACE, "EVENTSUB_RESYNC_SECONDS": "15"}
        log = open(RUN_DIR / "operator.log", "wb")  # noqa: SIM115  (the operator's lifetime)
        self.operator = subprocess.Popen([sys.executable, "-m", "eventsub"], env=env, stdout=log,
                                         stderr=subprocess.STDOUT, start_new_session=True)
        self._until(lambda: "became the leader" in self._operator_log(), 60, "the operator to lead")
        self.screen.say(f"operator running (pid {self.operator.pid}), log in "
                        f"{(RUN_DIR / 'operator.log').relative_to(REPO_ROOT)}")

    def apply_samples(self) -> None:
        self.screen.heading("Applying the samples from manifests/samples/")
        connection = _sample("kafkaconnection.yaml")
        connection["spec"]["bootstrapServers"] = [self.target.kafka]
        self._create(connection)
        for file in ("eventtopic-orders.yaml", "eventtopic-payments.yaml"):
            topic = _sample(file)
            name = topic["metadata"]["name"]
            # Prefixed, and deleted with the demo: never touches a topic of yours.
            self.topics[name] = topic["spec"]["topicName"] = f"{NAMESPACE}.{name}"
            topic["spec"]["deletionPolicy"] = "Delete"
            self._create(topic)
        subscription = _sample("eventsubscription.yaml")
        subscription["spec"]["deadLetterTopic"] = f"{NAMESPACE}.order-emails.dlq"
        # Shorter than the sample's windows, so the scale-down shows within the demo.
        subscription["spec"]["scaling"].update({"pollIntervalSeconds": 2, "cooldownSeconds": 20,
                                                "scaleDownStabilizationSeconds": 20})
        if not self.target.local_pods:
            container = subscription["spec"]["template"]["spec"]["containers"][0]
            container["image"] = os.environ.get("EVENTSUB_DEMO_IMAGE", "eventsub-operator:0.1.0")
            container["command"] = ["python", "-m", "eventsub.consumer"]
        self._create(subscription)
        self._until(self._all_ready, 90, "the topics and the subscription to be Ready", show=self._show_ready)
        for kind, name in (("EventTopic", "orders"), ("EventTopic", "payments")):
            status = self._get(kind, name).get("status") or {}
            self.screen.say(f"EventTopic {name}: Kafka topic {status.get('topicName')} with "
                            f"{status.get('partitions')} partitions is Ready")
        self.screen.say("EventSubscription order-emails is Ready: Deployment order-emails-consumer, "
                        "0..6 replicas on lag (100 per replica)")

    # -- the show -------------------------------------------------------------------------------

    def burst(self) -> str:
        total = sum(BURST.values())
        self.screen.heading(f"Producing a burst of {total} events; watch lag and replicas")
        since = datetime.datetime.now(datetime.UTC).replace(microsecond=0) - datetime.timedelta(seconds=1)
        producer = Producer({"bootstrap.servers": self.target.producer_kafka, "linger.ms": 20})
        for name, count in BURST.items():
            for i in range(count):
                # Keyed by id, as real events are: spread over the partitions by the key's hash.
                producer.produce(self.topics[name], key=f"{name}-{i}".encode(),
                                 value=f'{{"{name[:-1]}Id": "{i}", "state": "created"}}'.encode())
        if producer.flush(60) != 0:
            raise DemoFailed("Kafka did not take the burst within 60 s")
        self.screen.say(f"produced {BURST['orders']} orders and {BURST['payments']} payments")
        return since.strftime("%Y-%m-%dT%H:%M:%SZ")

    def scale_out_and_back(self) -> None:
        self._until(lambda: self.max_replicas > 0 and self._lag() == 0, PHASE_TIMEOUT,
                    "the backlog to drain", show=self._show_scaling)
        self.screen.say(f"drained with up to {self.max_replicas} replicas; now idle: the "
                        "scale-down waits out the window and the cooldown (20 s each here)")
        self._until(lambda: self._replicas() == 0, PHASE_TIMEOUT, "scale-down to zero",
                    show=self._show_scaling)
        self.screen.say("scaled to zero: no consumer runs while there is nothing to do")

    def replay(self, since: str) -> None:
        self.screen.heading(f"Replaying everything since {since} (EventReplay, Rewind mode)")
        replay = _sample("eventreplay.yaml")
        replay["spec"]["from"] = {"timestamp": since}
        self._create(replay)
        name = replay["metadata"]["name"]
        # Succeeded turns True once the consumers run again (reason Replaying) and the replay is
        # done when they caught up with where the group was (step Done, reason CaughtUp).
        self._until(lambda: self._replay_done(name), PHASE_TIMEOUT, "the replay to catch up",
                    show=lambda: self._show_replay(name))
        status = self._get("EventReplay", name).get("status") or {}
        self.screen.say(f"replay done: {status.get('messagesToReplay')} messages processed again")

    def look_around(self) -> str:
        kubectl = f"PATH={self.target.bin_dir}:$PATH " if self.target.bin_dir else ""
        return "\n".join([
            "Look around while it runs:",
            f"  export KUBECONFIG={self.target.kubeconfig} {kubectl}",
            f"  kubectl -n {NAMESPACE} get eventsub",
            f"  kubectl -n {NAMESPACE} describe eventsubscription order-emails",
            f"  kubectl -n {NAMESPACE} get events --sort-by=.lastTimestamp",
            "  kubectl explain eventsubscription.spec.scaling",
            *([f"  curl -s 127.0.0.1:{self.metrics_port}/metrics | grep '^eventsub_subscription'",
               f"  operator log: {(RUN_DIR / 'operator.log').relative_to(REPO_ROOT)}"]
              if self.target.run_operator else []),
        ])

    # -- what the screen shows ------------------------------------------------------------------

    def _show_ready(self) -> str:
        ready = [f"{kind} {name}: {'Ready' if self._ready(kind, name) else 'waiting'}"
                 for kind, name in (("EventTopic", "orders"), ("EventTopic", "payments"),
                                    ("EventSubscription", "order-emails"))]
        return "; ".join(ready)

    def _show_scaling(self) -> str:
        status = self._get("EventSubscription", "order-emails").get("status") or {}
        replicas = self._replicas()
        self.max_replicas = max(self.max_replicas, replicas)
        processed = f"  processed {len(self.runner.processed())}" if self.runner else ""
        lag_seconds = status.get("maxLagSeconds")
        behind = f" ({lag_seconds}s behind)" if lag_seconds else ""
        return (f"lag {status.get('totalLag', '?'):>5}{behind}  replicas {replicas} "
                f"(desired {status.get('desiredReplicas', '?')}){processed}")

    def _show_replay(self, name: str) -> str:
        status = self._get("EventReplay", name).get("status") or {}
        return f"replay step {status.get('step', 'pending')}  |  {self._show_scaling()}"

    def follow_events(self) -> None:
        """Prints the operator's Events as they appear (what `kubectl get events` shows)."""
        events = self.core.list_namespaced_event(NAMESPACE).items
        for event in sorted(events, key=lambda e: e.metadata.creation_timestamp):
            if event.metadata.uid in self.seen_events:
                continue
            self.seen_events.add(event.metadata.uid)
            if event.source and event.source.component == "eventsub":
                involved = event.involved_object
                self.screen.say(f"event {involved.kind} {involved.name}: {event.reason}: {event.message}")

    # -- helpers --------------------------------------------------------------------------------

    def _until(self, done: Callable[[], bool], timeout: float, what: str,
               show: Callable[[], str] | None = None) -> None:
        deadline = time.monotonic() + timeout
        while True:
            if self.operator is not None and self.operator.poll() is not None:
                raise DemoFailed(f"the operator exited ({self.operator.returncode}); its log:\n"
                                 + self._operator_log()[-2000:])
            with contextlib.suppress(client.ApiException):
                self.follow_events()
                if show is not None:
                    self.screen.status(show())
                if done():
                    return
            if time.monotonic() > deadline:
                raise DemoFailed(f"gave up waiting for {what} after {timeout:.0f}s")
            time.sleep(0.5)

    def _create(self, doc: dict[str, Any]) -> None:
        self.custom.create_namespaced_custom_object(GROUP, VERSION, NAMESPACE, PLURALS[doc["kind"]], doc)
        self.screen.say(f"created {doc['kind']} {doc['metadata']['name']}")

    def _get(self, kind: str, name: str) -> dict[str, Any]:
        body: dict[str, Any] = self.custom.get_namespaced_custom_object(
            GROUP, VERSION, NAMESPACE, PLURALS[kind], name)
        return body

    def _ready(self, kind: str, name: str) -> bool:
        try:
            conditions = (self._get(kind, name).get("status") or {}).get("conditions", [])
        except client.ApiException:
            return False
        return any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)

    def _all_ready(self) -> bool:
        return all(self._ready(kind, name) for kind, name in (
            ("EventTopic", "orders"), ("EventTopic", "payments"), ("EventSubscription", "order-emails")))

    def _replay_done(self, name: str) -> bool:
        status = self._get("EventReplay", name).get("status") or {}
        for c in status.get("conditions", []):
            if c["type"] == "Succeeded" and c["status"] == "False":
                raise DemoFailed(f"the replay failed: {c['reason']}: {c['message']}")
        return status.get("step") == "Done"

    def _lag(self) -> int | None:
        status = self._get("EventSubscription", "order-emails").get("status") or {}
        lag = status.get("totalLag")
        return int(lag) if lag is not None else None

    def _replicas(self) -> int:
        deployment = client.AppsV1Api(self.api).read_namespaced_deployment("order-emails-consumer", NAMESPACE)
        return int(deployment.spec.replicas or 0)

    def operator_alive(self) -> bool:
        if not self.target.run_operator:
            return True
        return self.operator is not None and self.operator.poll() is None

    def _operator_log(self) -> str:
        path = RUN_DIR / "operator.log"
        return path.read_text(errors="replace") if path.exists() else ""

    # -- cleaning up ----------------------------------------------------------------------------

    def clean_up(self) -> None:
        """Stops and deletes what this run started and created, step by step: a step that
        fails does not keep the next ones from running."""
        self.screen.heading("Cleaning up")
        try:
            if self.runner is not None:
                self._step("stopping the consumers", lambda: self.runner.__exit__(None, None, None))
            if self.created_namespace:
                self._step("deleting the topics", self._delete_topics)
                self._step("deleting the namespace", self._delete_namespace)
        finally:
            self._step("stopping the operator", self._stop_operator)

    def _step(self, what: str, action: Callable[[], object]) -> None:
        try:
            action()
        except Exception as error:
            self.screen.say(f"{what} failed: {error}")

    def _delete_topics(self) -> None:
        if self.operator_alive():
            # Delete-policy EventTopics: the operator deletes their Kafka topics as they go.
            self.custom.delete_collection_namespaced_custom_object(GROUP, VERSION, NAMESPACE,
                                                                   "eventtopics")
            with contextlib.suppress(DemoFailed):
                self._until(lambda: not self.custom.list_namespaced_custom_object(
                    GROUP, VERSION, NAMESPACE, "eventtopics")["items"], 60, "the EventTopics to go")
        self._release_topics()  # whatever the operator did not get to
        names = [*self.topics.values(), f"{NAMESPACE}.order-emails.dlq"]
        futures = AdminClient({"bootstrap.servers": self.target.producer_kafka}).delete_topics(
            names, operation_timeout=10)
        for future in futures.values():
            with contextlib.suppress(Exception):  # already deleted by the operator
                future.result(15)
        self.screen.say(f"deleted Kafka topics {', '.join(names)}")

    def _release_topics(self) -> None:
        """Removes the demo's finalizers from its EventTopics, so nothing waits on an operator."""
        for topic in self.custom.list_namespaced_custom_object(GROUP, VERSION, NAMESPACE,
                                                               "eventtopics")["items"]:
            with contextlib.suppress(client.ApiException):
                self.custom.patch_namespaced_custom_object(
                    GROUP, VERSION, NAMESPACE, "eventtopics", topic["metadata"]["name"],
                    {"metadata": {"finalizers": None}})

    def _delete_namespace(self) -> None:
        self.core.delete_namespace(NAMESPACE)
        self.screen.say(f"deleted namespace {NAMESPACE}")

    def _stop_operator(self) -> None:
        if self.operator is None or self.operator.poll() is not None:
            return
        terminate(self.operator)
        self.screen.say("operator stopped")


def _sample(file: str) -> dict[str, Any]:
    doc: dict[str, Any] = yaml.safe_load((SAMPLES / file).read_text())
    doc["metadata"]["namespace"] = NAMESPACE
    return doc


def _gone(read: Callable[[], object]) -> bool:
    try:
        read()
    except client.ApiException as error:
        return error.status == 404
    return False


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _target(screen: Screen) -> Target:
    kafka = os.environ.get("EVENTSUB_DEMO_KAFKA")
    kubeconfig = os.environ.get("KUBECONFIG")
    if kafka and kubeconfig:
        screen.heading(f"Using your cluster (KUBECONFIG) and Kafka at {kafka}")
        return Target(kubeconfig, kafka, bin_dir=None, local_pods=False,
                      kafka_here=os.environ.get("EVENTSUB_DEMO_KAFKA_HERE", ""),
                      run_operator=os.environ.get("EVENTSUB_DEMO_OPERATOR") != "installed")
    if kafka:
        raise DemoFailed("EVENTSUB_DEMO_KAFKA is set but KUBECONFIG is not: set both to use your cluster")
    screen.heading("Starting the local stack: Kafka (KRaft) and a Kubernetes control plane on 127.0.0.1")
    stack = LocalStack()
    info, started = stack.up()
    screen.say(f"{'started' if started else 'reused the running'} local stack")
    return Target(info.kubeconfig, info.kafka_bootstrap, info.bin_dir, stack if started else None)


@contextlib.contextmanager
def _interrupts_as_keyboard_interrupt() -> Iterator[None]:
    def interrupt(_signum: int, _frame: FrameType | None) -> None:
        raise KeyboardInterrupt
    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def main() -> int:
    screen = Screen()
    demo: Demo | None = None
    target: Target | None = None
    outcome = 0
    with _interrupts_as_keyboard_interrupt():
        try:
            target = _target(screen)
            demo = Demo(target, screen, config.new_client_from_config(config_file=target.kubeconfig))
            demo.install_crds()
            demo.fresh_namespace()
            if target.run_operator:
                demo.start_operator()
            print(demo.look_around())
            demo.apply_samples()
            if target.local_pods:
                shutil.rmtree(RUN_DIR / "consumers", ignore_errors=True)
                demo.runner = ConsumerRunner(demo.core, NAMESPACE, "order-emails", RUN_DIR / "consumers",
                                             delay_ms=PROCESSING_MS)
                demo.runner.__enter__()
            since = demo.burst()
            demo.scale_out_and_back()
            demo.replay(since)
            screen.heading("Done: topics created, scaled out on lag and back to zero, replayed")
            print(demo.look_around())
            if sys.stdin.isatty() and not os.environ.get("EVENTSUB_DEMO_EXIT"):
                print("\nPress Ctrl-C to stop the demo and clean up.")
                while True:
                    time.sleep(3600)
        except KeyboardInterrupt:
            print("\ninterrupted", flush=True)
            outcome = 130
        except DemoFailed as failure:
            print(f"\ndemo failed: {failure}", file=sys.stderr, flush=True)
            outcome = 1
        finally:
            try:
                if demo is not None:
                    demo.clean_up()
                if target is not None and target.stack is not None:
                    target.stack.down()
                    screen.say("local stack stopped")
            except KeyboardInterrupt:
                print("interrupted again: some processes may still run (`make down` stops the stack)")
    return outcome


if __name__ == "__main__":
    sys.exit(main())
