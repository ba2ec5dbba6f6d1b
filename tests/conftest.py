"""Session fixtures: the local stack (reused when `make up` left one running), and clients for it."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from confluent_kafka.admin import AdminClient
from kubernetes import client, config

from kubectl import install_crds
from localstack import LocalStack, StackInfo
from localstack.paths import run_dir
from operator_process import OperatorProcess
from support import unique

STACK_FIXTURES = {"stack_info", "kafka_admin", "kube", "namespace", "operator", "crds", "real_node"}
NAMESPACE_PREFIX = "t"  # the session operator watches "t-*"
# The real node's tests share one node (one kubelet per host), so one worker runs them all.
NODE_GROUP = "tests/node"


def pytest_configure(config: pytest.Config) -> None:
    # `make test` runs two xdist workers; each gets a stack of its own (its own run directory,
    # free ports), so tests never see another worker's operator, topics or consumers. The first
    # worker keeps the default directory and so reuses a stack `make up` left running.
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    if worker != "gw0":
        os.environ["EVENTSUB_RUN_DIR"] = f"{run_dir()}-{worker}"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # Anything that touches the stack is an integration test, so `-m "not integration"` is fast.
    for item in items:
        if STACK_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.integration)
    # The real node's tests first: they are the longest group (the node starts, images are
    # imported), and a long group scheduled last would leave the other worker idle at the end.
    items.sort(key=lambda item: not item.nodeid.startswith(NODE_GROUP + "/"))


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """Whole modules to a worker, in order, sharing their module fixtures (an extra broker, a
    browser) as in one process; the real node's modules together, as one."""
    from xdist.scheduler import LoadScopeScheduling

    class ByModule(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            module = nodeid.split("::", 1)[0]
            return NODE_GROUP if module.startswith(NODE_GROUP + "/") else module

    return ByModule(config, log)


@pytest.fixture(scope="session")
def stack_info() -> Iterator[StackInfo]:
    stack = LocalStack()
    info, started_here = stack.up()
    os.environ["KUBECONFIG"] = info.kubeconfig
    try:
        yield info
    finally:
        if started_here:
            stack.down()


@pytest.fixture(scope="session")
def real_node(stack_info: StackInfo) -> StackInfo:
    """The stack with its real node (kubelet + containerd), added if it lacks one: the session's
    own stack stops it with the rest; one added to a stack left by `make up` stays, as
    `make node` would leave it."""
    if stack_info.node_running:
        return stack_info
    info, _ = LocalStack().up(with_node=True)
    # The session keeps one record of its stack: tests that stop and start the broker save
    # stack_info to state.json, and a copy from before the node would drop the node's pids.
    for name in vars(info):
        setattr(stack_info, name, getattr(info, name))
    return stack_info


@pytest.fixture(scope="session")
def kafka_admin(stack_info: StackInfo) -> AdminClient:
    return AdminClient({"bootstrap.servers": stack_info.kafka_bootstrap,
                        "socket.timeout.ms": 10000})


@dataclass
class Kube:
    api: client.ApiClient
    core: client.CoreV1Api
    apps: client.AppsV1Api
    batch: client.BatchV1Api
    apiext: client.ApiextensionsV1Api
    custom: client.CustomObjectsApi


@pytest.fixture(scope="session")
def kube(stack_info: StackInfo) -> Kube:
    api = config.new_client_from_config(config_file=stack_info.kubeconfig)
    return Kube(api=api, core=client.CoreV1Api(api), apps=client.AppsV1Api(api),
                batch=client.BatchV1Api(api), apiext=client.ApiextensionsV1Api(api),
                custom=client.CustomObjectsApi(api))


@contextlib.contextmanager
def fresh_namespace(kube: Kube, prefix: str, labels: dict[str, str] | None = None) -> Iterator[str]:
    """A namespace of its own, deleted afterwards (tests on a reused stack never collide)."""
    name = unique(prefix)
    kube.core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=name,
                                                                               labels=labels)))
    try:
        yield name
    finally:
        kube.core.delete_namespace(name)


@pytest.fixture
def namespace(kube: Kube) -> Iterator[str]:
    """A fresh namespace per test, watched by the session's operator (its names start "t-")."""
    with fresh_namespace(kube, NAMESPACE_PREFIX) as name:
        yield name


@pytest.fixture(scope="session")
def crds(stack_info: StackInfo) -> StackInfo:
    install_crds(stack_info)
    return stack_info


@pytest.fixture(scope="session")
def operator(crds: StackInfo, tmp_path_factory: pytest.TempPathFactory) -> Iterator[OperatorProcess]:
    """One operator for the session, as a real process; its log is checked for leaks.

    It watches the namespaces of the `namespace` fixture only, so tests that run operators of
    their own (leader election, the chart's RBAC) use other namespaces and are not disturbed."""
    process = OperatorProcess(crds, tmp_path_factory.mktemp("operator") / "operator.log",
                              {"EVENTSUB_NAMESPACES": f"{NAMESPACE_PREFIX}-*",
                               # A lease that outlives an API server restart (test_watch_gap).
                               "EVENTSUB_LEASE_DURATION_SECONDS": "60",
                               # kopf stops watching a namespace matched by a pattern once it
                               # sees it terminating: the re-list keeps the cache current.
                               "EVENTSUB_RELIST_SECONDS": "5"})
    try:
        yield process
    finally:
        assert process.stop() == 0, process.log()[-3000:]
        assert "Traceback" not in process.log(), process.log()[-3000:]
