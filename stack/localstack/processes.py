"""Starting and stopping the stack's processes, always by pid (each in its own session)."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from localstack.errors import StackError


def start(name: str, argv: Sequence[str], log_dir: Path, cwd: Path,
          env: dict[str, str] | None = None) -> int:
    log_dir.mkdir(parents=True, exist_ok=True)
    with open(log_dir / f"{name}.log", "ab") as log:
        proc = subprocess.Popen(
            list(argv), stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            cwd=cwd, env={**os.environ, **(env or {})},
            start_new_session=True,  # survives the starting shell; its group id is its pid
        )
    return proc.pid


def terminate(process: subprocess.Popen[Any], grace_seconds: float = 30.0) -> int:
    """Stops a child started with Popen: SIGTERM, then SIGKILL if it outlives the grace period.
    Returns its exit code."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=grace_seconds)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    return int(process.returncode)


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie child of ours counts as gone.
    try:
        waited, _ = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return _not_zombie(pid)
    return waited == 0


def _not_zombie(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def stop(pid: int, grace_seconds: float = 15.0) -> None:
    """SIGTERM the process group led by pid, then SIGKILL it if it outlives the grace period."""
    for sig, wait in ((signal.SIGTERM, grace_seconds), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(pid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            if not alive(pid):
                return
            time.sleep(0.1)


def wait_until(what: str, check: Callable[[], bool], timeout: float, pid: int | None = None,
               log: Path | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pid is not None and not alive(pid):
            raise StackError(f"{what}: process exited during start; see {log}")
        try:
            if check():
                return
        except Exception:
            pass
        time.sleep(0.25)
    raise StackError(f"{what}: not ready after {timeout:.0f}s; see {log}")
