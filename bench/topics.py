"""make bench-topics: N EventTopics applied at once -> time until all are Ready, operator RSS.

Runs on the local stack (reused if `make up` left one running). The peer figure is Strimzi's
published Topic Operator throughput (10,000 topic events in under 10 minutes, ~17 topics/s),
since Strimzi itself cannot run here; see the closing notes of the topic issue.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "stack"), str(REPO / "tests")]

from confluent_kafka.admin import AdminClient  # noqa: E402
from kubernetes import client, config  # noqa: E402

from kubectl import install_crds  # noqa: E402
from localstack import LocalStack  # noqa: E402

STRIMZI_TOPICS_PER_SECOND = 10_000 / 600  # published: 10,000 events in under 10 minutes
GROUP, VERSION = "eventsub.io", "v1alpha1"


def peak_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def ready_count(custom: client.CustomObjectsApi, namespace: str) -> int:
    items = custom.list_namespaced_custom_object(GROUP, VERSION, namespace, "eventtopics")["items"]
    return sum(1 for item in items for c in (item.get("status") or {}).get("conditions", [])
               if c["type"] == "Ready" and c["status"] == "True")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=int(os.environ.get("N", "1000")))
    parser.add_argument("--timeout", type=float, default=600)
    args = parser.parse_args()

    stack = LocalStack()
    info, started = stack.up()
    install_crds(info)
    api = config.new_client_from_config(config_file=info.kubeconfig)
    core, custom = client.CoreV1Api(api), client.CustomObjectsApi(api)
    run = uuid.uuid4().hex[:6]
    namespace = f"bench-topics-{run}"
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=namespace)))
    custom.create_namespaced_custom_object(GROUP, VERSION, namespace, "kafkaconnections", {
        "apiVersion": f"{GROUP}/{VERSION}", "kind": "KafkaConnection", "metadata": {"name": "local"},
        "spec": {"bootstrapServers": [info.kafka_bootstrap]}})
    log = Path(tempfile.mkdtemp()) / "operator.log"
    with open(log, "wb") as out:
        operator = subprocess.Popen([sys.executable, "-m", "eventsub"], cwd=REPO, stdout=out,
                                    stderr=subprocess.STDOUT, env={**os.environ,
                                                                   "KUBECONFIG": info.kubeconfig})
    names = [f"bench-{run}-{i}" for i in range(args.count)]
    try:
        time.sleep(3)  # operator start-up is not what is measured
        t0 = time.monotonic()

        def apply(name: str) -> None:
            custom.create_namespaced_custom_object(GROUP, VERSION, namespace, "eventtopics", {
                "apiVersion": f"{GROUP}/{VERSION}", "kind": "EventTopic",
                "metadata": {"name": name},
                "spec": {"connectionRef": {"name": "local"}, "partitions": 1,
                         "config": {"retention.ms": "3600000"}}})

        with ThreadPoolExecutor(16) as pool:
            list(pool.map(apply, names))
        applied = time.monotonic() - t0
        ready = 0
        while ready < args.count and time.monotonic() - t0 < args.timeout:
            time.sleep(0.5)
            ready = ready_count(custom, namespace)
        elapsed = time.monotonic() - t0
        rss = peak_rss_mib(operator.pid)
    finally:
        operator.send_signal(signal.SIGTERM)
        operator.wait(timeout=60)
        core.delete_namespace(namespace)
        admin = AdminClient({"bootstrap.servers": info.kafka_bootstrap})
        for future in admin.delete_topics(names, operation_timeout=60).values():
            try:
                future.result(60)
            except Exception:
                pass  # a topic the run never created
        if started:
            stack.down()

    rate = ready / elapsed
    print(f"\nbench-topics: {args.count} EventTopics applied at once (1 partition each)")
    print(f"  applied (API server create calls)  {applied:8.1f} s")
    print(f"  all Ready                          {elapsed:8.1f} s   ({ready}/{args.count} Ready)")
    print(f"  throughput                         {rate:8.1f} topics/s")
    print(f"  operator peak RSS                  {rss:8.1f} MiB")
    print(f"  vs Strimzi Topic Operator (published ~{STRIMZI_TOPICS_PER_SECOND:.0f}/s): "
          f"{rate / STRIMZI_TOPICS_PER_SECOND:.1f}x")
    print("  target: 1,000 Ready within 60 s -> " +
          ("met" if ready == args.count and elapsed <= 60 else "NOT met"))
    return 0 if ready == args.count else 1


if __name__ == "__main__":
    sys.exit(main())
