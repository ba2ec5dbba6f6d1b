"""manifests/install.yaml: the Helm chart rendered once, for `kubectl apply -f` users.

    python stack/manifests.py           # write it
    python stack/manifests.py --check   # fail if it differs from a fresh render (CI drift check)
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

from localstack.paths import REPO_ROOT, Binaries, read_versions

CHART = REPO_ROOT / "helm" / "eventsub-operator"
INSTALL = REPO_ROOT / "manifests" / "install.yaml"
RELEASE, NAMESPACE = "eventsub", "eventsub-system"
# helm template has no cluster to ask: it would assume an old one and refuse the chart.
KUBE_VERSION = read_versions()["K8S_VERSION"].lstrip("v")

HEADER = f"""\
# eventsub operator: everything to run it in namespace {NAMESPACE}, watching all namespaces.
# Rendered from the Helm chart helm/eventsub-operator with its default values by
# `make manifests`; do not edit (a test fails when it differs from the chart).
#
#   kubectl apply --server-side -f manifests/install.yaml
#
# For other settings (a list of watched namespaces, two replicas, JSON logs) install the chart.
---
apiVersion: v1
kind: Namespace
metadata:
  name: {NAMESPACE}
  labels:
    pod-security.kubernetes.io/enforce: restricted
"""


def render(helm: Path) -> str:
    out = subprocess.run(
        [str(helm), "template", RELEASE, str(CHART), "--namespace", NAMESPACE, "--include-crds",
         "--kube-version", KUBE_VERSION],
        check=True, capture_output=True, text=True).stdout
    return HEADER + out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only compare, do not write")
    args = parser.parse_args()
    fresh = render(Binaries.locate().helm)
    if args.check:
        if not INSTALL.is_file() or INSTALL.read_text() != fresh:
            print(f"{INSTALL.relative_to(REPO_ROOT)} differs from the chart: run `make manifests`")
            return 1
        return 0
    INSTALL.write_text(fresh)
    print(f"wrote {INSTALL.relative_to(REPO_ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
