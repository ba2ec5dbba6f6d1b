"""make bench-topics: N EventTopics applied at once -> time until all are Ready, operator RSS.

Runs on the local stack (reused if `make up` left one running). The peer figure is Strimzi's
published Topic Operator throughput (10,000 topic events in under 10 minutes, ~17 topics/s),
since the local stack does not run Strimzi itself.
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from common import (
    GROUP,
    VERSION,
    cpu_seconds,
    custom_resource,
    delete_topics,
    kube_clients,
    local_stack,
    namespace,
    operator_process,
    rss_mib,
)
from kubernetes import client, watch
from kubernetes.client.exceptions import ApiException
from urllib3.exceptions import ProtocolError

from localstack import StackInfo

STRIMZI_TOPICS_PER_SECOND = 10_000 / 600  # published: 10,000 events in under 10 minutes
TARGET_SECONDS = 10  # for 1,000 topics: ten times the first release's 60 s
# After many files were deleted, ext4 without a journal (as on the machine these figures come
# from) skips each recently freed inode when it allocates a new one (fs/ext4/ialloc.c,
# recently_deleted: for 60 s, 360 s while the inode table is not written back): measured, a
# thousand topics then cost the broker 4-5 s of kernel CPU instead of under 1.
QUIET_SECONDS = 370  # the kernel's 360 s and a margin


def is_ready(item: dict[str, Any]) -> bool:
    return any(c["type"] == "Ready" and c["status"] == "True"
               for c in (item.get("status") or {}).get("conditions", []))


def ready_count(custom: client.CustomObjectsApi, namespace: str) -> int:
    items = custom.list_namespaced_custom_object(GROUP, VERSION, namespace, "eventtopics")["items"]
    return sum(1 for item in items if is_ready(item))


def connection_ready(custom: client.CustomObjectsApi, namespace: str, deadline: float) -> None:
    while not is_ready(custom.get_namespaced_custom_object(
            GROUP, VERSION, namespace, "kafkaconnections", "local")):
        if time.monotonic() > deadline:
            raise SystemExit("the operator did not report KafkaConnection local Ready")
        time.sleep(0.2)


class ReadyWatch:
    """When each EventTopic of a namespace was first seen Ready, from one watch started before
    the first create. Listing all N topics every 0.25 s instead cost the API server (and this
    process) as much CPU as a good part of the operator's own writes, on the same 2 cores.
    A watch event arrives after the write it reports: the times are never early."""

    def __init__(self, info: StackInfo, namespace: str) -> None:
        self.custom = kube_clients(info)[2]  # its own connection pool
        self.namespace = namespace
        self.ready: dict[str, float] = {}
        self._started = threading.Event()
        threading.Thread(target=self._run, daemon=True).start()
        self._started.wait(30)

    def _run(self) -> None:
        version = None
        while True:
            stream = watch.Watch()
            try:
                self._started.set()
                for event in stream.stream(self.custom.list_namespaced_custom_object, GROUP,
                                           VERSION, self.namespace, "eventtopics",
                                           resource_version=version, timeout_seconds=120):
                    item = event["object"]
                    version = item["metadata"]["resourceVersion"]
                    if event["type"] in ("ADDED", "MODIFIED") and is_ready(item):
                        self.ready.setdefault(item["metadata"]["name"], time.monotonic())
            except ApiException as error:
                if error.status != 410:
                    raise
                version = None  # expired: start over (ADDED for every object, times kept)
            except ProtocolError:
                pass  # the API server closed the stream mid-response: resume from `version`


def post(api: client.ApiClient, path: str, body: dict[str, Any]) -> None:
    """One create, its answer read but not decoded: the bench's own client work runs on the
    cores it measures, where a user's kubectl would run elsewhere."""
    method, url, headers, _, _ = api.param_serialize(
        "POST", path, header_params={"Content-Type": "application/json", "Accept": "application/json"},
        auth_settings=["BearerToken"])
    response = api.call_api(method, url, header_params=headers, body=body, _request_timeout=60)
    response.read()
    if not 200 <= response.status < 300:
        raise ApiException(http_resp=response)


def deletion_marker(info: StackInfo) -> Path:
    return Path(info.run_dir) / "bench-topics-deleted"


def last_deletion(info: StackInfo) -> float:
    """When a run last deleted its topics on this stack (epoch seconds; 0 if never)."""
    try:
        return float(deletion_marker(info).read_text())
    except (OSError, ValueError):
        return 0.0


def settle(core: client.CoreV1Api, info: StackInfo, timeout: float = 900) -> float:
    """Waits until an earlier run is over, and returns the seconds waited: its namespace, and
    any other being deleted, gone (the API server and the controller-manager delete its 1,000
    EventTopics and Events after the bench returns), its Kafka topics' files gone (the broker
    deletes them a minute after the topics), and QUIET_SECONDS more. Sooner, the broker's
    5,000 new files for the burst cost the kernel seconds of CPU (see QUIET_SECONDS) on the
    cores the run is measured on."""
    data = Path(info.run_dir) / "kafka" / "data"  # the local stack's broker (localstack.stack)
    started = time.monotonic()
    deleted = last_deletion(info)  # an earlier run's, though it finished before this one began
    while time.monotonic() - started < timeout:
        # Any namespace being deleted too: deleting another bench's 10,000 objects is minutes
        # of API-server work on the same cores.
        namespaces = [n.metadata.name for n in core.list_namespace().items
                      if (n.metadata.name or "").startswith("bench-topics-")
                      or (n.status and n.status.phase == "Terminating")]
        deleting = [d for d in data.iterdir() if d.name.endswith("-delete")] if data.is_dir() else []
        if namespaces or deleting:
            deleted = time.time()
        elif time.time() - deleted >= QUIET_SECONDS:
            return time.monotonic() - started
        time.sleep(1)
    raise SystemExit(f"an earlier run's cleanup did not finish in {timeout:.0f} s")


class CpuMeter:
    """CPU seconds each process of the run used between start() and stop(): where a burst's
    time goes when the stack's processes share two cores."""

    def __init__(self, processes: dict[str, int]) -> None:
        self.processes = processes
        self.used: dict[str, tuple[float, float]] = {}

    def start(self) -> None:
        self._before = {name: cpu_seconds(pid) for name, pid in self.processes.items()}

    def stop(self) -> None:
        for name, pid in self.processes.items():
            user, kernel = cpu_seconds(pid)
            self.used[name] = (user - self._before[name][0], kernel - self._before[name][1])

    def report(self) -> str:
        def total(name: str) -> float:
            return sum(self.used[name])
        parts = [f"{name} {total(name):.1f}" for name in self.used if name != "Kafka broker"]
        user, kernel = self.used["Kafka broker"]
        parts.insert(1, f"Kafka broker {user + kernel:.1f} (kernel {kernel:.1f})")
        return ", ".join(parts) + f"; {sum(map(total, self.used)):.1f} in all"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=int(os.environ.get("N", "1000")))
    parser.add_argument("--timeout", type=float, default=600)
    args = parser.parse_args()
    with local_stack() as info:
        core, _, custom = kube_clients(info)
        waited = settle(core, info)
        if waited >= 1:
            print(f"  waited {waited:.0f} s for an earlier run's cleanup to finish", flush=True)
        run = uuid.uuid4().hex[:6]
        ns = f"bench-topics-{run}"
        namespace(core, ns)
        custom.create_namespaced_custom_object(GROUP, VERSION, ns, "kafkaconnections", custom_resource(
            "KafkaConnection", "local", {"bootstrapServers": [info.kafka_bootstrap]}))
        names = [f"bench-{run}-{i}" for i in range(args.count)]

        def apply(name: str) -> None:
            post(custom.api_client, f"/apis/{GROUP}/{VERSION}/namespaces/{ns}/eventtopics",
                 custom_resource("EventTopic", name, {"connectionRef": {"name": "local"},
                                                      "partitions": 1,
                                                      "config": {"retention.ms": "3600000"}}))

        try:
            with operator_process(info) as operator:
                # Operator start-up is not what is measured: the burst begins once it leads
                # and has probed the connection (its import alone takes 10-20 s on a busy
                # machine, so a fixed pause let start-up leak into the figure).
                connection_ready(custom, ns, deadline=time.monotonic() + 180)
                watched = ReadyWatch(info, ns)
                meter = CpuMeter({"API server": info.pids["apiserver"], "Kafka broker": info.pids["kafka"],
                                  "operator": operator.pid, "etcd": info.pids["etcd"],
                                  "controller-manager": info.pids["controller_manager"],
                                  "this bench": os.getpid()})
                meter.start()
                t0 = time.monotonic()
                with ThreadPoolExecutor(16) as pool:
                    list(pool.map(apply, names))
                applied = time.monotonic() - t0
                while len(watched.ready) < args.count and time.monotonic() - t0 < args.timeout:
                    time.sleep(0.05)
                meter.stop()
                times = sorted(watched.ready.values())
                elapsed = (times[-1] if len(times) == args.count else time.monotonic()) - t0
                half = times[(args.count - 1) // 2] - t0 if len(times) > args.count // 2 else None
                rss = rss_mib(operator.pid, peak=True)
                ready = ready_count(custom, ns)  # the API server agrees: one list at the end
        finally:
            core.delete_namespace(ns)
            delete_topics(info.kafka_bootstrap, names)
            # The broker deletes the files a minute later (file.delete.delay.ms).
            deletion_marker(info).write_text(str(time.time() + 60))

    rate = ready / elapsed
    print(f"\nbench-topics: {args.count} EventTopics applied at once (1 partition each)")
    print(f"  applied (API server create calls)  {applied:8.1f} s")
    print(f"  half Ready                         {half or float('nan'):8.1f} s")
    print(f"  all Ready                          {elapsed:8.1f} s   ({ready}/{args.count} Ready; "
          f"{elapsed - applied:.1f} s after the last create)")
    print(f"  throughput                         {rate:8.1f} topics/s")
    print(f"  CPU seconds over the burst         {meter.report()}")
    print(f"  operator peak RSS                  {rss:8.1f} MiB")
    print(f"  vs Strimzi Topic Operator (published ~{STRIMZI_TOPICS_PER_SECOND:.0f}/s): "
          f"{rate / STRIMZI_TOPICS_PER_SECOND:.1f}x")
    print(f"  target: {args.count} Ready within {TARGET_SECONDS} s -> " +
          ("met" if ready == args.count and elapsed <= TARGET_SECONDS else "NOT met"))
    return 0 if ready == args.count else 1


if __name__ == "__main__":
    sys.exit(main())
