"""The Kubernetes control plane: argv of each component, kubeconfig, readiness, the kwok Node."""

from __future__ import annotations

import base64
import http.client
import json
import ssl
from pathlib import Path

NODE_NAME = "kwok-node-0"


def etcd_argv(etcd: Path, data: Path, port: int, peer_port: int) -> list[str]:
    client, peer = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{peer_port}"
    return [str(etcd), "--name=default", f"--data-dir={data}",
            f"--listen-client-urls={client}", f"--advertise-client-urls={client}",
            f"--listen-peer-urls={peer}", f"--initial-advertise-peer-urls={peer}",
            f"--initial-cluster=default={peer}", "--unsafe-no-fsync",
            "--log-level=warn", "--quota-backend-bytes=4294967296"]


def apiserver_argv(binary: Path, pki: Path, etcd_port: int, port: int) -> list[str]:
    return [str(binary),
            f"--etcd-servers=http://127.0.0.1:{etcd_port}",
            "--bind-address=127.0.0.1", "--advertise-address=127.0.0.1", f"--secure-port={port}",
            f"--tls-cert-file={pki / 'serving.crt'}", f"--tls-private-key-file={pki / 'serving.key'}",
            f"--client-ca-file={pki / 'ca.crt'}",
            f"--service-account-issuer=https://127.0.0.1:{port}",
            f"--service-account-key-file={pki / 'sa.pub'}",
            f"--service-account-signing-key-file={pki / 'sa.key'}",
            "--service-cluster-ip-range=10.0.0.0/24", "--authorization-mode=RBAC",
            "--allow-privileged=true", f"--cert-dir={pki / 'apiserver'}", "--profiling=false",
            # How it authenticates to the real node's kubelet (logs, exec).
            f"--kubelet-client-certificate={pki / 'admin.crt'}",
            f"--kubelet-client-key={pki / 'admin.key'}",
            *_aggregation(pki), "--v=0"]


def _aggregation(pki: Path) -> list[str]:
    """The aggregation layer, for extension API servers such as a metrics adapter: the identity
    the API server proxies with, the headers it vouches for, and routing to an APIService's
    endpoint address directly (there is no kube-proxy to route a Service's cluster IP)."""
    return [f"--requestheader-client-ca-file={pki / 'front-proxy-ca.crt'}",
            "--requestheader-allowed-names=front-proxy-client",
            "--requestheader-username-headers=X-Remote-User",
            "--requestheader-group-headers=X-Remote-Group",
            "--requestheader-extra-headers-prefix=X-Remote-Extra-",
            f"--proxy-client-cert-file={pki / 'front-proxy-client.crt'}",
            f"--proxy-client-key-file={pki / 'front-proxy-client.key'}",
            "--enable-aggregator-routing=true"]


def controller_manager_argv(binary: Path, kubeconfig: Path, pki: Path, port: int) -> list[str]:
    return [str(binary), *_component_auth(kubeconfig), "--leader-elect=false",
            "--use-service-account-credentials=false", "--bind-address=127.0.0.1",
            f"--secure-port={port}", f"--service-account-private-key-file={pki / 'sa.key'}",
            f"--root-ca-file={pki / 'ca.crt'}", "--profiling=false",
            # Garbage collection and namespace deletion without waiting for the defaults.
            "--concurrent-gc-syncs=10", "--v=0"]


def scheduler_argv(binary: Path, kubeconfig: Path, port: int) -> list[str]:
    return [str(binary), *_component_auth(kubeconfig), "--leader-elect=false",
            "--bind-address=127.0.0.1", f"--secure-port={port}", "--profiling=false", "--v=0"]


def kwok_argv(binary: Path, stages: Path, kubeconfig: Path, port: int) -> list[str]:
    # Its own Node only: the real node's pods are the kubelet's (kwok would mark them Running
    # before their containers start, and delete them at once, ignoring their grace period).
    return [str(binary), f"--kubeconfig={kubeconfig}", f"--config={stages}",
            f"--manage-single-node={NODE_NAME}", "--node-lease-duration-seconds=40",
            f"--server-address=127.0.0.1:{port}"]


def _component_auth(kubeconfig: Path) -> list[str]:
    return [f"--kubeconfig={kubeconfig}", f"--authentication-kubeconfig={kubeconfig}",
            f"--authorization-kubeconfig={kubeconfig}"]


def _b64(path: Path) -> str:
    return base64.b64encode(path.read_bytes()).decode()


def write_kubeconfig(path: Path, pki: Path, port: int) -> None:
    config = {
        "apiVersion": "v1", "kind": "Config",
        "clusters": [{"name": "eventsub-local", "cluster": {
            "server": f"https://127.0.0.1:{port}",
            "certificate-authority-data": _b64(pki / "ca.crt")}}],
        "users": [{"name": "eventsub-admin", "user": {
            "client-certificate-data": _b64(pki / "admin.crt"),
            "client-key-data": _b64(pki / "admin.key")}}],
        "contexts": [{"name": "eventsub-local",
                      "context": {"cluster": "eventsub-local", "user": "eventsub-admin"}}],
        "current-context": "eventsub-local",
    }
    path.write_text(json.dumps(config, indent=2))
    path.chmod(0o600)


class ApiClient:
    """Just enough HTTPS to check readiness and create the Node before any client library is used."""

    def __init__(self, pki: Path, port: int) -> None:
        self.port = port
        self.context = ssl.create_default_context(cafile=str(pki / "ca.crt"))
        self.context.load_cert_chain(str(pki / "admin.crt"), str(pki / "admin.key"))

    def request(self, method: str, path: str, body: object | None = None) -> tuple[int, bytes]:
        conn = http.client.HTTPSConnection("127.0.0.1", self.port, context=self.context, timeout=5)
        try:
            payload = json.dumps(body) if body is not None else None
            conn.request(method, path, body=payload, headers={"Content-Type": "application/json"})
            response = conn.getresponse()
            return response.status, response.read()
        finally:
            conn.close()

    def ready(self) -> bool:
        return self.request("GET", "/readyz")[0] == 200

    def default_service_account_exists(self) -> bool:
        return self.request("GET", "/api/v1/namespaces/default/serviceaccounts/default")[0] == 200

    def ensure_node(self) -> None:
        status, _ = self.request("GET", f"/api/v1/nodes/{NODE_NAME}")
        if status == 200:
            return
        resources = {"cpu": "64", "memory": "256Gi", "pods": "1000"}
        node = {
            "apiVersion": "v1", "kind": "Node",
            "metadata": {
                "name": NODE_NAME,
                "annotations": {"node.alpha.kubernetes.io/ttl": "0", "kwok.x-k8s.io/node": "fake"},
                "labels": {"kubernetes.io/hostname": NODE_NAME, "kubernetes.io/os": "linux",
                           "kubernetes.io/arch": "amd64", "type": "kwok"},
            },
            "status": {"allocatable": resources, "capacity": resources},
        }
        status, body = self.request("POST", "/api/v1/nodes", node)
        if status not in (200, 201, 409):
            raise RuntimeError(f"creating node {NODE_NAME}: HTTP {status}: {body[:200]!r}")

    def bind_node_role(self, node_name: str) -> None:
        """Lets a kubelet's identity act as a node (RBAC only: no Node authorizer here)."""
        binding = {
            "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
            "metadata": {"name": "eventsub-local-node"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                        "name": "system:node"},
            "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User",
                          "name": f"system:node:{node_name}"}],
        }
        status, body = self.request(
            "POST", "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings", binding)
        if status not in (200, 201, 409):
            raise RuntimeError(f"binding system:node: HTTP {status}: {body[:200]!r}")

    def node_ready(self, name: str = NODE_NAME) -> bool:
        status, body = self.request("GET", f"/api/v1/nodes/{name}")
        if status != 200:
            return False
        conditions = json.loads(body).get("status", {}).get("conditions", [])
        return any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)
