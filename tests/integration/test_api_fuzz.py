"""Fuzz the API with generated resources against the real API server and the running operator.

Every generated object is refused at admission naming the field, or accepted and then settles:
Ready=True, or Ready=False with a CamelCase reason and a message (Succeeded for EventReplay,
whose Unknown says what it waits for; the replays of the fixed subscription never wait).
Meanwhile the operator neither dies nor logs a traceback.

EVENTSUB_FUZZ_SEED reproduces a run (each run draws a new seed otherwise; failures print it);
EVENTSUB_FUZZ_COUNT sets how many objects are generated (600 by default).
"""

from __future__ import annotations

import base64
import collections
import contextlib
import json
import os
import random
import re
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import pytest
from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient
from kubernetes import client

from api_fuzz import ACCEPTED, REFUSED, Case, Generator, World, fixed_objects, secrets
from conftest import Kube
from eventsub.kube.events import DEFER_SECONDS
from localstack import StackInfo
from operator_process import OperatorProcess
from resources import (
    CONSUMER_TEMPLATE,
    GROUP,
    PLURALS,
    VERSION,
    condition,
    create,
    resource,
    wait_condition,
)

COUNT = int(os.environ.get("EVENTSUB_FUZZ_COUNT", "600"))
SETTLE_SECONDS = 90  # every accepted object has its condition within this
CAMEL_CASE = re.compile(r"^[A-Z][A-Za-z0-9]*$")
FIELD = re.compile(r"\b(spec|metadata)(\.|\[|:|\b)")


@dataclass
class Admission:
    case: Case
    status: int | None = None  # None: accepted
    message: str = ""


def _seed() -> int:
    return int(os.environ.get("EVENTSUB_FUZZ_SEED") or random.SystemRandom().randrange(2**32))


def _condition_type(kind: str) -> str:
    return "Succeeded" if kind == "EventReplay" else "Ready"


def _create(kube: Kube, namespace: str, case: Case) -> Admission:
    try:
        kube.custom.create_namespaced_custom_object(GROUP, VERSION, namespace, PLURALS[case.kind],
                                                    case.doc, field_validation="Strict")
    except client.ApiException as error:
        try:
            message = json.loads(error.body).get("message", error.body)
        except (TypeError, ValueError):
            message = str(error.body)
        return Admission(case, error.status, message)
    return Admission(case)


def _admission_problem(admission: Admission) -> str | None:
    """Why this admission outcome is wrong, or None."""
    expect = admission.case.expect
    if admission.status is None:
        return "accepted, but it should have been refused" if expect.admission == REFUSED else None
    if expect.admission == ACCEPTED:
        return f"refused ({admission.status}: {admission.message}), but it is valid"
    unknown_field = admission.status == 400 and "unknown field" in admission.message
    if admission.status != 422 and not unknown_field:
        return f"refused with {admission.status}, not 422: {admission.message}"
    if not any(f in admission.message for f in expect.fields):
        return f"refused without naming {' or '.join(expect.fields)}: {admission.message}"
    return None


def _settled(case: Case, body: dict[str, Any] | None) -> str | None:
    """None once the object shows what must become of it; otherwise what it shows now."""
    if body is None:
        return "gone"
    type_ = _condition_type(case.kind)
    found = condition(body, type_)
    if found is None:
        return f"no {type_} condition"
    if found.get("observedGeneration") != body["metadata"].get("generation"):
        return f"{type_} is for generation {found.get('observedGeneration')}"
    status, reason, message = found["status"], found.get("reason", ""), found.get("message", "")
    shown = f"{type_}={status} {reason}: {message}"
    if status != "True" and (not CAMEL_CASE.match(reason) or not message.strip()):
        return f"no CamelCase reason and message: {shown}"
    if status == "Unknown" and not case.may_wait:
        return shown  # only a replay waits with Unknown, and not one of the fixed subscription
    wanted = case.expect.ready
    if (status == "True" and wanted is False) or (status != "True" and wanted is True):
        return f"expected {type_}={'True' if wanted else 'not True'}; {shown}"
    return None


def _list(kube: Kube, namespace: str, kind: str) -> dict[str, dict[str, Any]]:
    listed = kube.custom.list_namespaced_custom_object(GROUP, VERSION, namespace, PLURALS[kind])
    return {item["metadata"]["name"]: item for item in listed["items"]}


def _wait_settled(kube: Kube, namespace: str, cases: list[Case]) -> dict[str, dict[str, Any]]:
    """Polls the lists until every case has settled (all at the same time); returns the last
    bodies, keyed by kind/name. Fails naming the cases that did not settle."""
    deadline = time.monotonic() + SETTLE_SECONDS
    while True:
        bodies = {f"{kind}/{name}": body for kind in PLURALS
                  for name, body in _list(kube, namespace, kind).items()}
        unsettled = {c.describe(): problem for c in cases  # in creation order: causes first
                     if (problem := _settled(c, bodies.get(f"{c.kind}/{c.name}"))) is not None}
        if not unsettled:
            return bodies
        if time.monotonic() > deadline:
            lines = [f"  {what}\n      {problem}" for what, problem in list(unsettled.items())[:40]]
            raise AssertionError(f"{len(unsettled)} object(s) did not settle in {SETTLE_SECONDS}s:\n"
                                 + "\n".join(lines))
        time.sleep(1.0)


def _setup(kube: Kube, namespace: str, world: World) -> None:
    for name, data in secrets(world).items():
        kube.core.create_namespaced_secret(namespace, client.V1Secret(
            metadata=client.V1ObjectMeta(name=name),
            data={k: base64.b64encode(v.encode()).decode() for k, v in data.items()}))
    for doc in fixed_objects(world):
        create(kube, namespace, doc)
    for doc in fixed_objects(world):
        wait_condition(kube, namespace, doc["kind"], doc["metadata"]["name"], timeout=60)


@pytest.fixture
def world(stack_info: StackInfo, kube: Kube, kafka_admin: AdminClient,
          namespace: str) -> Iterator[World]:
    """The namespace's fixed objects; afterwards the run's resources and Kafka topics go."""
    world = World(namespace=namespace, tag=namespace.rsplit("-", 1)[-1],
                  bootstrap=stack_info.kafka_bootstrap, sasl_bootstrap=stack_info.kafka_sasl_bootstrap,
                  sasl_username=stack_info.sasl_username, sasl_password=stack_info.sasl_password)
    try:
        yield world
    finally:
        _clean_up(kube, kafka_admin, world)


def _clean_up(kube: Kube, kafka_admin: AdminClient, world: World) -> None:
    """Deletes the resources, then the Kafka topics the run created (the tag is in each of their
    names) that a Retain policy kept. A topic being deleted is never created again, so the
    Delete-policy topics of unreachable connections, which take the deletion timeout to be
    released, are not waited for to the end."""
    for kind in ("EventReplay", "EventSubscription", "EventTopic", "KafkaConnection"):
        kube.custom.delete_collection_namespaced_custom_object(GROUP, VERSION, world.namespace,
                                                               PLURALS[kind])
    deadline = time.monotonic() + 30
    while _list(kube, world.namespace, "EventTopic") and time.monotonic() < deadline:
        time.sleep(1)
    ours = [t for t in kafka_admin.list_topics(timeout=10).topics if world.tag in t]
    for future in kafka_admin.delete_topics(ours, operation_timeout=30).values() if ours else ():
        with contextlib.suppress(KafkaException):  # the operator deleted it meanwhile
            future.result()


def _unannounced(kube: Kube, namespace: str, cases: list[Case],
                 bodies: dict[str, dict[str, Any]]) -> list[str]:
    """The objects that ended not Ready without an Event of that reason. A status is written
    before its Event is posted, and in a burst like this one Events are held back up to
    DEFER_SECONDS: so they are looked for that long and a little more."""
    refusals = {}
    for case in cases:
        found = condition(bodies[f"{case.kind}/{case.name}"], _condition_type(case.kind)) or {}
        if found.get("status") == "False":
            refusals[(case.kind, case.name, found["reason"])] = case.describe()
    deadline = time.monotonic() + DEFER_SECONDS + 10
    while True:
        events = {(e.involved_object.kind, e.involved_object.name, e.reason)
                  for e in kube.core.list_namespaced_event(namespace).items}
        missing = [f"  {what}: {key[2]}" for key, what in refusals.items() if key not in events]
        if not missing or time.monotonic() > deadline:
            return missing
        time.sleep(0.5)


def _summary(admissions: list[Admission], bodies: dict[str, dict[str, Any]]) -> str:
    counts: collections.Counter[str] = collections.Counter()
    for a in admissions:
        if a.status is not None:
            counts[f"{a.case.kind} refused"] += 1
            continue
        found = condition(bodies[f"{a.case.kind}/{a.case.name}"], _condition_type(a.case.kind)) or {}
        counts[f"{a.case.kind} {found.get('status')} {found.get('reason')}"] += 1
    return "\n".join(f"  {n:4d}  {what}" for what, n in sorted(counts.items()))


def test_generated_resources_are_refused_or_settle_with_a_reason(
        kube: Kube, operator: OperatorProcess, world: World) -> None:
    seed = _seed()
    print(f"EVENTSUB_FUZZ_SEED={seed} EVENTSUB_FUZZ_COUNT={COUNT}")
    log_start = len(operator.log())
    _setup(kube, world.namespace, world)
    cases = Generator(seed, world).cases(COUNT)
    assert len(cases) >= 500

    started = time.monotonic()
    with ThreadPoolExecutor(4) as pool:
        admissions = list(pool.map(lambda c: _create(kube, world.namespace, c), cases))
    print(f"created {len(cases)} objects in {time.monotonic() - started:.1f}s")
    wrong = [f"  {a.case.describe()}\n      {problem}" for a in admissions
             if (problem := _admission_problem(a)) is not None]
    assert not wrong, f"seed {seed}: {len(wrong)} wrong admission(s):\n" + "\n".join(wrong[:40])

    accepted = [a.case for a in admissions if a.status is None]
    try:
        bodies = _wait_settled(kube, world.namespace, accepted)
    except AssertionError as error:
        raise AssertionError(f"seed {seed}: {error}") from None
    print(f"all settled {time.monotonic() - started:.1f}s after the first was created")
    print(_summary(admissions, bodies))

    missing = _unannounced(kube, world.namespace, accepted, bodies)
    assert not missing, f"seed {seed}: not Ready without an Event:\n" + "\n".join(missing[:40])

    assert operator.process.poll() is None, f"seed {seed}: the operator exited"
    log = operator.log()[log_start:]
    assert "Traceback" not in log, f"seed {seed}: the operator logged a traceback:\n{log[-5000:]}"


def test_characters_beyond_the_basic_plane_reach_status_and_deployments(
        kube: Kube, operator: OperatorProcess, stack_info: StackInfo, world: World) -> None:
    # Found by the fuzz: the client library escaped an emoji as a JSON surrogate pair, which the
    # API server's YAML decoder refused, so such a status was never written.
    namespace = world.namespace
    create(kube, namespace, resource("KafkaConnection", "emoji", {
        "bootstrapServers": [stack_info.kafka_bootstrap], "clientConfig": {"emoji😀": "x"}}))
    ready = condition(wait_condition(kube, namespace, "KafkaConnection", "emoji", status="False",
                                     reason="InvalidClientConfig")) or {}
    assert '"emoji😀"' in ready["message"]
    create(kube, namespace, resource("KafkaConnection", "local",
                                     {"bootstrapServers": [stack_info.kafka_bootstrap]}))
    create(kube, namespace, resource("EventTopic", "emoji", {
        "connectionRef": {"name": "local"}, "topicName": f"{namespace}.emoji",
        "deletionPolicy": "Delete", "catalog": {"description": "🚀 launches"}}))
    create(kube, namespace, resource("EventSubscription", "emoji", {
        "connectionRef": {"name": "local"}, "topics": [{"eventTopic": "emoji"}],
        "scaling": {"minReplicas": 0},
        "template": {"metadata": {"annotations": {"note": "🚀 launch"}}, **CONSUMER_TEMPLATE}}))
    wait_condition(kube, namespace, "EventSubscription", "emoji", reason="Running")
    deployment = kube.apps.read_namespaced_deployment("emoji-consumer", namespace)
    assert deployment.spec.template.metadata.annotations["note"] == "🚀 launch"
