"""The Helm chart: lints, renders both RBAC modes, refuses bad values by name, installs, upgrades
and uninstalls on the local control plane, and its pod is admitted under Pod Security
"restricted". install.yaml is the chart rendered, byte for byte."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import yaml
from kubernetes import client

from conftest import Kube, fresh_namespace
from helm import CHART, KUBE_VERSION, helm, helm_ok, render
from kubectl import kubectl_ok
from localstack import StackInfo
from localstack.paths import Binaries
from manifests import INSTALL
from manifests import render as render_install
from support import eventually, unique

RESTRICTED = {"pod-security.kubernetes.io/enforce": "restricted",
              "pod-security.kubernetes.io/enforce-version": "latest"}
STANDARD_LABELS = {"app.kubernetes.io/name", "app.kubernetes.io/instance", "app.kubernetes.io/version",
                   "app.kubernetes.io/managed-by", "helm.sh/chart"}


def _by_kind(docs: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [d for d in docs if d["kind"] == kind]


def _env(deployment: dict[str, Any]) -> dict[str, Any]:
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in container["env"]}


def test_chart_lints_strictly(stack_info: StackInfo) -> None:
    result = helm(stack_info, "lint", "--strict", str(CHART))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 chart(s) failed" in result.stdout


def test_cluster_wide_rbac_and_a_restricted_pod_by_default(stack_info: StackInfo) -> None:
    docs = render(stack_info)
    for doc in docs:
        assert set(doc["metadata"].get("labels", {})) >= STANDARD_LABELS, doc["metadata"]["name"]
    (role,) = [r for r in _by_kind(docs, "ClusterRole") if not r["metadata"]["name"].endswith("discovery")]
    granted = {(group, resource): set(rule["verbs"]) for rule in role["rules"]
               for group in rule["apiGroups"] for resource in rule["resources"]}
    assert granted[("", "secrets")] == {"get"}  # read one by name, never list
    assert granted[("", "configmaps")] == {"get"}  # schemas and registry CAs, likewise
    assert granted[("apps", "deployments/scale")] >= {"patch"}
    assert not _by_kind(docs, "PodDisruptionBudget")  # one replica: nothing to protect
    (deployment,) = _by_kind(docs, "Deployment")
    pod = deployment["spec"]["template"]["spec"]
    container = pod["containers"][0]
    assert pod["securityContext"]["runAsNonRoot"] and pod["securityContext"]["runAsUser"] > 0
    assert container["securityContext"]["readOnlyRootFilesystem"]
    assert {"name": "tmp", "mountPath": "/tmp"} in container["volumeMounts"]
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    env = _env(deployment)
    assert env["EVENTSUB_NAMESPACES"] == "" and env["EVENTSUB_LEADER_ELECTION"] == "true"
    assert env["EVENTSUB_LEASE_NAMESPACE"] == {"fieldRef": {"fieldPath": "metadata.namespace"}}


def test_a_namespace_list_gets_roles_in_those_namespaces_only(stack_info: StackInfo) -> None:
    docs = render(stack_info, "watchNamespaces={team-a,team-b}", "replicaCount=2", "logFormat=json",
                  "serviceMonitor.enabled=true")
    roles = {(r["metadata"]["namespace"], r["metadata"]["name"]) for r in _by_kind(docs, "Role")}
    assert roles == {("team-a", "t-eventsub-operator"), ("team-b", "t-eventsub-operator"),
                     ("eventsub-system", "t-eventsub-operator-leader-election")}
    # Nothing cluster-scoped: the test under the ServiceAccount shows that this is enough.
    assert not _by_kind(docs, "ClusterRole") and not _by_kind(docs, "ClusterRoleBinding")
    (deployment,) = _by_kind(docs, "Deployment")
    env = _env(deployment)
    assert env["EVENTSUB_NAMESPACES"] == "team-a,team-b" and env["EVENTSUB_LOG_FORMAT"] == "json"
    assert deployment["spec"]["replicas"] == 2
    assert _by_kind(docs, "PodDisruptionBudget") and _by_kind(docs, "ServiceMonitor")


@pytest.mark.parametrize(("value", "message"), [
    ("logFormat=xml", "logFormat"),
    ("unknownKey=1", "unknownKey"),
    ("watchNamespaces={Team_A}", "watchNamespaces"),
    ("leaderElection.leaseDurationSeconds=2", "leaseDurationSeconds"),
    ("replicaCount=2,leaderElection.enabled=false", "needs leaderElection.enabled"),
])
def test_bad_values_are_refused_naming_the_value(stack_info: StackInfo, value: str, message: str) -> None:
    result = helm(stack_info, "template", "t", str(CHART), "--kube-version", KUBE_VERSION,
                  "--set", value)
    assert result.returncode != 0
    assert message in result.stderr, result.stderr


def test_install_yaml_is_the_chart_rendered(stack_info: StackInfo) -> None:
    assert INSTALL.read_text() == render_install(Binaries.locate().helm), \
        "manifests/install.yaml is stale: run `make manifests`"


def test_install_yaml_applies_with_kubectl_and_its_pod_runs(stack_info: StackInfo, crds: StackInfo) -> None:
    docs = [d for d in yaml.safe_load_all(INSTALL.read_text()) if d]
    assert {d["kind"] for d in docs} >= {"Namespace", "CustomResourceDefinition", "ServiceAccount",
                                         "ClusterRole", "Deployment", "Service"}
    # The CRDs are the ones the session installed (the same files); everything else is removed
    # afterwards, so only those stay.
    rest = yaml.safe_dump_all([d for d in docs if d["kind"] != "CustomResourceDefinition"])
    try:
        out = kubectl_ok(stack_info, "apply", "--server-side", "-f", str(INSTALL))
        assert out.count("serverside-applied") == len(docs)
        # The namespace enforces Pod Security "restricted": the pod is admitted and runs.
        kubectl_ok(stack_info, "-n", "eventsub-system", "wait", "--for=condition=Available",
                   "--timeout=90s", "deployment/eventsub-eventsub-operator")
    finally:
        kubectl_ok(stack_info, "delete", "--ignore-not-found", "--wait", "-f", "-", stdin=rest)


@pytest.fixture
def restricted_namespace(kube: Kube) -> Iterator[str]:
    with fresh_namespace(kube, "c", labels=RESTRICTED) as name:
        yield name


def test_install_upgrade_uninstall_under_pod_security_restricted(
        stack_info: StackInfo, kube: Kube, crds: StackInfo, restricted_namespace: str) -> None:
    namespace, release = restricted_namespace, unique("r")
    # The namespace really enforces "restricted": a plain pod is refused.
    plain = client.V1Pod(metadata=client.V1ObjectMeta(name="plain"), spec=client.V1PodSpec(
        containers=[client.V1Container(name="c", image="example/plain:1")]))
    with pytest.raises(client.ApiException) as refused:
        kube.core.create_namespaced_pod(namespace, plain, dry_run="All")
    assert refused.value.status == 403 and "PodSecurity" in refused.value.body
    try:
        helm_ok(stack_info, "install", release, str(CHART), "--namespace", namespace,
                "--set", f"watchNamespaces={{{namespace}}}", "--wait", "--timeout", "90s")
        name = f"{release}-eventsub-operator"
        deployment = kube.apps.read_namespaced_deployment(name, namespace)
        assert deployment.status.ready_replicas == 1  # its pod was admitted and is Running
        pods = kube.core.list_namespaced_pod(
            namespace, label_selector=f"app.kubernetes.io/instance={release}")
        assert [p.status.phase for p in pods.items] == ["Running"]
        assert kube.core.read_namespaced_service_account(name, namespace)
        assert kube.core.read_namespaced_service(name, namespace).spec.ports[0].name == "http-metrics"

        helm_ok(stack_info, "upgrade", release, str(CHART), "--namespace", namespace, "--reuse-values",
                "--set", "replicaCount=2,logFormat=json", "--wait", "--timeout", "90s")
        deployment = kube.apps.read_namespaced_deployment(name, namespace)
        env = {e.name: e.value for e in deployment.spec.template.spec.containers[0].env}
        assert deployment.spec.replicas == 2 and deployment.status.ready_replicas == 2
        assert env["EVENTSUB_LOG_FORMAT"] == "json" and env["EVENTSUB_NAMESPACES"] == namespace
        policy = client.PolicyV1Api(kube.api).read_namespaced_pod_disruption_budget(name, namespace)
        assert policy.spec.min_available == 1
        assert "REVISION" in helm_ok(stack_info, "history", release, "--namespace", namespace)
    finally:
        helm(stack_info, "uninstall", release, "--namespace", namespace, "--wait")
    rbac = client.RbacAuthorizationV1Api(kube.api)
    assert not [r for r in rbac.list_cluster_role().items if r.metadata.name.startswith(release)]
    assert not kube.apps.list_namespaced_deployment(namespace).items
    eventually(lambda: not kube.core.list_namespaced_pod(namespace).items, timeout=60,
               what="operator pods gone")
    # Helm keeps CRDs on uninstall, so custom resources (and their Kafka topics) survive it.
    assert kube.apiext.read_custom_resource_definition("eventtopics.eventsub.io")


@pytest.fixture
def policy_namespace(kube: Kube) -> Iterator[str]:
    with fresh_namespace(kube, "p") as name:
        yield name


def test_the_catalog_policy_refuses_new_topics_without_owner_or_description(
        stack_info: StackInfo, crds: StackInfo, kube: Kube, policy_namespace: str) -> None:
    assert _by_kind(render(stack_info), "ValidatingAdmissionPolicy") == []  # off by default
    release = unique("policy")
    docs = [d for d in render(stack_info, "catalog.requireOwnerAndDescription=true",
                              f"watchNamespaces={{{policy_namespace}}}", f"fullnameOverride={release}")
            if d["kind"] in ("ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding")]
    assert len(docs) == 2
    manifest = yaml.safe_dump_all(docs)

    def topic(name: str, catalog: dict[str, str] | None) -> dict[str, Any]:
        spec: dict[str, Any] = {"connectionRef": {"name": "none"}}
        if catalog is not None:
            spec["catalog"] = catalog
        return {"apiVersion": "eventsub.io/v1alpha1", "kind": "EventTopic",
                "metadata": {"name": name, "namespace": policy_namespace}, "spec": spec}

    def create(name: str, catalog: dict[str, str] | None) -> str:
        try:
            kube.custom.create_namespaced_custom_object("eventsub.io", "v1alpha1", policy_namespace,
                                                        "eventtopics", topic(name, catalog))
        except client.ApiException as refused:
            return str(refused.body)
        return "created"

    assert create("before", None) == "created"  # made before the policy: left alone after it
    try:
        kubectl_ok(stack_info, "apply", "-f", "-", stdin=manifest)
        # The API server compiles a new policy in the background: wait until it refuses.
        refused = eventually(lambda: (body := create(unique("probe"), None)) != "created" and body,
                             timeout=30, what="the policy in force")
        assert "spec.catalog.owner is required" in refused
        no_description = create("half", {"owner": "payments"})
        assert "spec.catalog.description is required for a new EventTopic" in no_description
        assert "spec.catalog.owner is required" in create("blank", {"owner": " ", "description": "x"})
        assert create("documented", {"owner": "payments", "description": "payments taken"}) == "created"
        # An existing topic without the facts can still be changed.
        kube.custom.patch_namespaced_custom_object(
            "eventsub.io", "v1alpha1", policy_namespace, "eventtopics", "before",
            {"spec": {"partitions": 2}})
    finally:
        kubectl_ok(stack_info, "delete", "--ignore-not-found", "--wait", "-f", "-", stdin=manifest)
