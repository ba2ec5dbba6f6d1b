"""`python -m eventsub` starts against the kubeconfig, says it is ready, and stops cleanly on SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

from localstack import StackInfo
from support import eventually

REPO = Path(__file__).resolve().parents[2]


def test_operator_starts_ready_and_stops_on_sigterm(stack_info: StackInfo) -> None:
    env = {**os.environ, "KUBECONFIG": stack_info.kubeconfig}
    proc = subprocess.Popen([sys.executable, "-m", "eventsub"], cwd=REPO, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(iter(proc.stdout.readline, "")),
                              daemon=True)
    reader.start()
    try:
        eventually(lambda: any("operator" in line and "ready" in line for line in lines),
                   timeout=60, what="ready log line")
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    reader.join(timeout=5)
    output = "".join(lines)
    assert "eventsub operator stopped" in output
    assert "Traceback" not in output
