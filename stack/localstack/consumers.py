"""The local stack's kubelet stand-in for consumers: one real process per Running pod.

kwok makes pods Running without running anything; this runner starts `consumer_app.py` with the
pod's own environment (fieldRefs and secretKeyRefs resolved as a kubelet would) for every
Running pod, and SIGTERMs it when the pod goes, so lag really drains when the operator scales.
The tests and `make demo` use it; on a real cluster the pods run their own image instead.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

from kubernetes import client

from localstack.processes import terminate

APP = Path(__file__).resolve().parent / "consumer_app.py"
REPO = APP.parents[2]


class ConsumerRunner:
    def __init__(self, core: client.CoreV1Api, namespace: str, subscription: str, out_dir: Path,
                 delay_ms: int = 0, selector: str | None = None) -> None:
        self.core, self.namespace = core, namespace
        self.selector = selector or f"eventsub.io/subscription={subscription}"
        self.out_dir, self.delay_ms = out_dir, delay_ms
        self.out_dir.mkdir(parents=True, exist_ok=True)
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        self.exited: dict[str, int] = {}  # pods whose process ended by itself (Job pods)
        self.started_total = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def __enter__(self) -> ConsumerRunner:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)
        for name in list(self.processes):
            self._terminate(name)

    def processed(self) -> list[tuple[str, int, int]]:
        records = []
        for path in self.out_dir.glob("*.out"):
            for line in path.read_text().splitlines():
                topic, partition, offset = line.split()
                records.append((topic, int(partition), int(offset)))
        return records

    def decoded(self) -> list[dict[str, Any]]:
        """The decoded values the consumers recorded (topics that declare a schema)."""
        return [json.loads(line) for path in self.out_dir.glob("*.out.decoded")
                for line in path.read_text().splitlines()]

    def _loop(self) -> None:
        while not self._stop.wait(0.3):
            try:
                pods = self.core.list_namespaced_pod(self.namespace, label_selector=self.selector)
            except Exception:
                continue
            self._reap()
            running = {p.metadata.name: p for p in pods.items
                       if p.status.phase == "Running" and p.metadata.deletion_timestamp is None}
            for name in list(self.processes):
                if name not in running:
                    self._terminate(name)
            for name, pod in running.items():
                if name not in self.processes and name not in self.exited:
                    self._start(pod)

    def _reap(self) -> None:
        """A process that ended by itself: tell kwok (the pod then completes, and its Job)."""
        for name, process in list(self.processes.items()):
            code = process.poll()
            if code is None:
                continue
            del self.processes[name]
            self.exited[name] = code
            with contextlib.suppress(Exception):
                self.core.patch_namespaced_pod(name, self.namespace, {"metadata": {
                    "annotations": {"localstack.eventsub.io/exit-code": str(code)}}})

    def _start(self, pod: client.V1Pod) -> None:
        env = {**os.environ, **self._pod_env(pod), "PYTHONPATH": str(REPO / "operator"),
               "CONSUMER_OUT": str(self.out_dir / f"{pod.metadata.name}.out"),
               "CONSUMER_DELAY_MS": str(self.delay_ms)}
        log = open(self.out_dir / f"{pod.metadata.name}.log", "ab")  # noqa: SIM115
        self.processes[pod.metadata.name] = subprocess.Popen(
            [sys.executable, str(APP)], env=env, stdout=log, stderr=subprocess.STDOUT)
        self.started_total += 1

    def _terminate(self, name: str) -> None:
        terminate(self.processes.pop(name), grace_seconds=20)

    def _pod_env(self, pod: client.V1Pod) -> dict[str, str]:
        env: dict[str, str] = {}
        for var in pod.spec.containers[0].env or []:
            if var.value is not None:
                env[var.name] = var.value
            elif var.value_from and var.value_from.field_ref:
                env[var.name] = _field(pod, var.value_from.field_ref.field_path)
            elif var.value_from and var.value_from.config_map_key_ref:
                ref = var.value_from.config_map_key_ref
                env[var.name] = self.core.read_namespaced_config_map(ref.name, self.namespace).data[ref.key]
            elif var.value_from and var.value_from.secret_key_ref:
                ref = var.value_from.secret_key_ref
                secret = self.core.read_namespaced_secret(ref.name, self.namespace)
                env[var.name] = base64.b64decode(secret.data[ref.key]).decode()
        return env


def _field(pod: client.V1Pod, path: str) -> str:
    value: Any = {"metadata.name": pod.metadata.name, "metadata.namespace": pod.metadata.namespace,
                  "spec.nodeName": pod.spec.node_name}.get(path, "")
    return str(value)
