"""Installing eventsub's CRDs with kubectl, as a user would: for the tests, benchmarks and demo."""

from __future__ import annotations

import os
import subprocess

from localstack.errors import StackError
from localstack.paths import REPO_ROOT

CRDS = REPO_ROOT / "crds"


def install_crds(kubectl: str, kubeconfig: str) -> None:
    """Server-side applies crds/ and waits until every CRD is Established."""
    env = {**os.environ, "KUBECONFIG": kubeconfig}
    for args in (["apply", "--server-side", "--force-conflicts", "-f", str(CRDS)],
                 ["wait", "--for=condition=Established", "--timeout=60s", "-f", str(CRDS)]):
        done = subprocess.run([kubectl, *args], env=env, capture_output=True, text=True, timeout=120)
        if done.returncode != 0:
            raise StackError(f"kubectl {args[0]} of the CRDs failed: {done.stderr.strip()}")
