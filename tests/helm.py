"""Running the stack's helm on the chart, and clients that act as the chart's ServiceAccount."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

import yaml
from kubernetes import client, config

from localstack import StackInfo
from manifests import CHART, KUBE_VERSION

REPO = Path(__file__).resolve().parents[1]


def helm(info: StackInfo, *args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(Path(info.bin_dir) / "helm"), *args], capture_output=True, text=True,
                          timeout=timeout, cwd=REPO, env={**os.environ, "KUBECONFIG": info.kubeconfig})


def helm_ok(info: StackInfo, *args: str) -> str:
    result = helm(info, *args)
    assert result.returncode == 0, f"helm {' '.join(args)}:\n{result.stderr}"
    return result.stdout


def render(info: StackInfo, *values: str, namespace: str = "eventsub-system") -> list[dict[str, Any]]:
    """The chart's objects for these --set values, as helm template renders them."""
    args = ["template", "t", str(CHART), "--namespace", namespace, "--kube-version", KUBE_VERSION]
    for value in values:
        args += ["--set", value]
    return [doc for doc in yaml.safe_load_all(helm_ok(info, *args)) if doc]


def service_account_kubeconfig(info: StackInfo, kube_api: client.ApiClient, namespace: str,
                               service_account: str, path: Path) -> Path:
    """A kubeconfig that authenticates with a fresh token of the ServiceAccount: whatever uses it
    can do exactly what the ServiceAccount's RBAC allows."""
    request = client.AuthenticationV1TokenRequest(spec=client.V1TokenRequestSpec(
        audiences=[], expiration_seconds=3600))
    token = client.CoreV1Api(kube_api).create_namespaced_service_account_token(
        service_account, namespace, request).status.token
    admin = yaml.safe_load(Path(info.kubeconfig).read_text())
    cluster = admin["clusters"][0]
    user = f"system:serviceaccount:{namespace}:{service_account}"
    path.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "clusters": [cluster],
        "users": [{"name": user, "user": {"token": token}}],
        "contexts": [{"name": "sa", "context": {"cluster": cluster["name"], "user": user}}],
        "current-context": "sa"}))
    return path


def client_for(kubeconfig: Path) -> client.ApiClient:
    return config.new_client_from_config(config_file=str(kubeconfig))
