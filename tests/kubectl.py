"""Running the stack's own kubectl (the version of the API server) the way a user would."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from localstack import StackInfo, crds

REPO = Path(__file__).resolve().parents[1]


def kubectl(info: StackInfo, *args: str, stdin: str | None = None,
            timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(Path(info.bin_dir) / "kubectl"), *args], input=stdin,
                          capture_output=True, text=True, timeout=timeout, cwd=REPO,
                          env={**os.environ, "KUBECONFIG": info.kubeconfig})


def kubectl_ok(info: StackInfo, *args: str, stdin: str | None = None) -> str:
    result = kubectl(info, *args, stdin=stdin)
    assert result.returncode == 0, f"kubectl {' '.join(args)}: {result.stderr}"
    return result.stdout


def install_crds(info: StackInfo) -> None:
    crds.install_crds(str(Path(info.bin_dir) / "kubectl"), info.kubeconfig)
