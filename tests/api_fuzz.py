"""Generated eventsub resources for fuzzing the API: valid ones, and near-valid ones with one or two
fields perturbed (wrong types, values out of range, bad names, empty strings, unknown enum values,
missing or conflicting fields, odd but legal values, unicode, references to missing objects).

Each generated case says what must become of it: refused at admission naming one of the
perturbed fields, or accepted and then Ready=True, Ready=False, or either (with a reason). The
generator draws from one `random.Random(seed)`, so a seed reproduces a run exactly.
"""

from __future__ import annotations

import copy
import json
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

GROUP_VERSION = "eventsub.io/v1alpha1"

REFUSED, ACCEPTED, EITHER = "refused", "accepted", "either"

UNICODE = ("tópico", "主题", "événement", "emoji😀", "zero\u200bwidth", "rtl\u202eltr", "Ωmega")
WRONG_TYPES: tuple[Any, ...] = ("six", 1.5, True, [1], {"a": 1})

# The objects every fuzz run creates first and the generated ones refer to.
CONNECTION, SASL_CONNECTION, TOPIC, SUBSCRIPTION = "kafka", "kafka-sasl", "base", "base"
SASL_SECRET, WRONG_SASL_SECRET, GARBAGE_SECRET = "sasl-ok", "sasl-wrong", "garbage"
MISSING = "does-not-exist"


@dataclass(frozen=True)
class Expect:
    """What must become of a case. ready: True or False once accepted; None: either, with a
    reason. fields: what a refusal must name (any one of them)."""

    admission: str = ACCEPTED
    ready: bool | None = True
    fields: tuple[str, ...] = ()

    def __and__(self, other: Expect) -> Expect:
        admissions = {self.admission, other.admission}
        admission = REFUSED if REFUSED in admissions else EITHER if EITHER in admissions else ACCEPTED
        readies = {self.ready, other.ready}
        ready = False if False in readies else None if None in readies else True
        return Expect(admission, ready, self.fields + other.fields)


def refused(*fields: str) -> Expect:
    return Expect(REFUSED, None, fields)


def maybe_refused(*fields: str, ready: bool | None = None) -> Expect:
    return Expect(EITHER, ready, fields)


NOT_READY, READY, SETTLES = Expect(ready=False), Expect(), Expect(ready=None)


@dataclass
class Case:
    kind: str
    doc: dict[str, Any]
    expect: Expect = READY
    changes: list[str] = field(default_factory=list)  # what was perturbed, for the failure report

    @property
    def name(self) -> str:
        return str(self.doc["metadata"]["name"])

    @property
    def may_wait(self) -> bool:
        """May it stay Unknown, saying what it waits for? Only a replay of another subscription
        than the fixed one: that one only ever gets dry runs and Job-mode replays, which never
        wait for each other, so each of its replays must finish."""
        spec = self.doc.get("spec")
        ref = spec.get("subscriptionRef") if isinstance(spec, dict) else None
        return self.kind == "EventReplay" and not (isinstance(ref, dict) and ref.get("name") == SUBSCRIPTION)

    def describe(self) -> str:
        return f"{self.kind} {self.name!r} [{'; '.join(self.changes) or 'valid'}]"


@dataclass(frozen=True)
class World:
    """Where the generated objects live and what they can refer to."""

    namespace: str
    tag: str  # in every Kafka topic name a run creates, so the run can remove them
    bootstrap: str
    sasl_bootstrap: str
    sasl_username: str
    sasl_password: str

    @property
    def base_topic(self) -> str:
        return f"{self.namespace}.base"


def resource(kind: str, name: str, spec: Any) -> dict[str, Any]:
    return {"apiVersion": GROUP_VERSION, "kind": kind, "metadata": {"name": name}, "spec": spec}


def fixed_objects(world: World) -> list[dict[str, Any]]:
    """The connections, topic and subscription the generated objects refer to (Secrets apart)."""
    return [
        resource("KafkaConnection", CONNECTION, {"bootstrapServers": [world.bootstrap]}),
        resource("KafkaConnection", SASL_CONNECTION, {
            "bootstrapServers": [world.sasl_bootstrap], "securityProtocol": "SASL_PLAINTEXT",
            "sasl": {"mechanism": "PLAIN", "secretName": SASL_SECRET}}),
        resource("EventTopic", TOPIC, {"connectionRef": {"name": CONNECTION},
                                       "topicName": world.base_topic, "partitions": 2}),
        resource("EventSubscription", SUBSCRIPTION, {
            "connectionRef": {"name": CONNECTION}, "topics": [{"eventTopic": TOPIC}],
            "template": _template("base"), "scaling": {"minReplicas": 0}}),
    ]


def secrets(world: World) -> dict[str, dict[str, str]]:
    """Secret name -> string data."""
    return {SASL_SECRET: {"username": world.sasl_username, "password": world.sasl_password},
            WRONG_SASL_SECRET: {"username": world.sasl_username, "password": "not-the-password"},
            GARBAGE_SECRET: {"ca.crt": "not a certificate", "tls.key": "not a key"}}


def _template(name: str) -> dict[str, Any]:
    return {"metadata": {"labels": {"fuzz": "yes"}},
            "spec": {"containers": [{"name": "consumer", "image": f"example/{name}:1"}]}}


# -- perturbations: each changes a valid doc in place and says what must become of it ----------

Perturbation = Callable[[random.Random, dict[str, Any], "Generator"], Expect]


def _spec(doc: dict[str, Any]) -> dict[str, Any]:
    spec: dict[str, Any] = doc["spec"]
    return spec


def _bad_name(rng: random.Random, doc: dict[str, Any], _: Generator) -> Expect:
    doc["metadata"]["name"] = rng.choice([
        "Upper-Case", "under_score", "-leading-dash", "trailing-dash-", "has space",
        rng.choice(UNICODE), "x" * 254, "", "dot..dot"])
    return refused("metadata.name")


def _long_name(rng: random.Random, doc: dict[str, Any], gen: Generator) -> Expect:
    # Legal for the API server; too long for a label value, a Deployment name or a Kafka topic
    # name derived from it: the operator must say so.
    length = rng.choice([63, 64, 200, 253])
    stem = f"{gen.world.tag}-long{gen.counter()}-"
    doc["metadata"]["name"] = (stem + "a.b-" * 70)[:length - 1] + "z"
    return SETTLES


def _unknown_field(rng: random.Random, doc: dict[str, Any], _: Generator) -> Expect:
    name = rng.choice(["partitons", "replicas", "bootstrap", "topic", "froms"])
    _spec(doc)[name] = rng.choice([1, "x", True])
    return refused(f"spec.{name}")


def _no_spec(rng: random.Random, doc: dict[str, Any], _: Generator) -> Expect:
    if rng.random() < 0.5:
        del doc["spec"]
    else:
        doc["spec"] = rng.choice(["a string", 7, ["a", "list"]])
    return refused("spec")


COMMON: list[tuple[str, Perturbation]] = [
    ("metadata.name", _bad_name), ("metadata.name", _long_name), ("spec.unknown", _unknown_field),
    ("spec", _no_spec)]


def _connection_ref(path: str, ready_of: Callable[[Generator], dict[str, bool | None]]) -> Perturbation:
    """spec.connectionRef (or path) wrong, missing, or naming a missing or generated connection."""
    def perturb(rng: random.Random, doc: dict[str, Any], gen: Generator) -> Expect:
        spec = _spec(doc)
        roll = rng.random()
        if roll < 0.15:
            del spec[path]
            return refused(f"spec.{path}")
        if roll < 0.35:
            value = rng.choice(["", "Bad_Name", rng.choice(UNICODE), "x" * 254])
            spec[path] = {"name": value}
            return refused(f"spec.{path}")
        if roll < 0.45:
            spec[path] = rng.choice(["kafka", 3, None])
            return refused(f"spec.{path}") if spec[path] is not None else \
                maybe_refused(f"spec.{path}", ready=False)
        if roll < 0.65:
            spec[path] = {"name": f"{MISSING}-{gen.counter()}"}
            return NOT_READY
        choices = ready_of(gen)
        name = rng.choice(sorted(choices))
        spec[path] = {"name": name}
        ready = choices[name]
        return Expect(ready=ready)
    return perturb


# -- KafkaConnection ----------------------------------------------------------------------------


def _bootstrap(rng: random.Random, doc: dict[str, Any], gen: Generator) -> Expect:
    spec = _spec(doc)
    roll = rng.random()
    if roll < 0.45:
        spec["bootstrapServers"] = rng.choice([
            [], ["kafka"], ["host:123456"], "127.0.0.1:9092", [""], ["a b:9092"],
            [f"{rng.choice(UNICODE)}:9092"], ["127.0.0.1:9092"] * 65, [9092]])
        return refused("spec.bootstrapServers")
    if roll < 0.8:  # legal, but no Kafka there
        spec["bootstrapServers"] = [rng.choice([
            "127.0.0.1:1", "nothing.invalid:9092", "127.0.0.1:99999", "[::1]:1", "0.0.0.0:0",
            "127.0.0.1:00000"])]
        return NOT_READY
    # Odd but legal: several servers, the real one among dead ones.
    spec["bootstrapServers"] = rng.sample(["127.0.0.1:1", gen.world.bootstrap, "nothing.invalid:9"], 3)
    return READY


def _security(rng: random.Random, doc: dict[str, Any], gen: Generator) -> Expect:
    spec = _spec(doc)
    roll = rng.random()
    if roll < 0.25:
        spec["securityProtocol"] = rng.choice(["TLS", "plaintext", "", 1, "SASL"])
        return refused("spec.securityProtocol")
    if roll < 0.45:  # SASL without settings, settings without SASL, TLS without SSL
        choice = rng.randrange(3)
        if choice == 0:
            spec["securityProtocol"] = rng.choice(["SASL_PLAINTEXT", "SASL_SSL"])
            return refused("spec.sasl")
        if choice == 1:
            spec["sasl"] = {"mechanism": "PLAIN", "secretName": SASL_SECRET}
            return refused("spec.securityProtocol")
        spec["tls"] = {}
        return refused("spec.securityProtocol")
    if roll < 0.55:  # TLS towards a plaintext listener
        spec["securityProtocol"] = "SSL"
        return NOT_READY
    spec["bootstrapServers"] = [gen.world.sasl_bootstrap]
    spec["securityProtocol"] = "SASL_PLAINTEXT"
    secret, expect = rng.choice([(SASL_SECRET, READY), (WRONG_SASL_SECRET, NOT_READY),
                                 (f"{MISSING}-{gen.counter()}", NOT_READY)])
    spec["sasl"] = {"mechanism": "PLAIN", "secretName": secret}
    roll = rng.random()
    if roll < 0.3:
        spec["sasl"]["mechanism"] = rng.choice(["GSSAPI", "plain", "", "OAUTHBEARER"])
        return refused("spec.sasl.mechanism")
    if roll < 0.45:
        key = rng.choice(["usernameKey", "passwordKey"])
        spec["sasl"][key] = rng.choice(["", "no-such-key"])
        return refused(f"spec.sasl.{key}") if spec["sasl"][key] == "" else NOT_READY
    if roll < 0.55:
        del spec["sasl"][rng.choice(["mechanism", "secretName"])]
        return refused("spec.sasl")
    return expect


def _tls(rng: random.Random, doc: dict[str, Any], gen: Generator) -> Expect:
    spec = _spec(doc)
    spec["securityProtocol"] = "SSL"
    roll = rng.random()
    if roll < 0.3:
        spec["tls"] = {rng.choice(["clientCertificate", "clientKey"]):
                       {"name": GARBAGE_SECRET, "key": "tls.key"}}
        return refused("spec.tls")
    if roll < 0.45:
        spec["tls"] = {"ca": {"name": GARBAGE_SECRET, "key": rng.choice(["", "bad key"])}}
        return refused("spec.tls.ca.key")
    # Legal references to a CA that is missing or not a certificate.
    secret, key = rng.choice([(GARBAGE_SECRET, "ca.crt"), (GARBAGE_SECRET, "missing.crt"),
                              (f"{MISSING}-{gen.counter()}", "ca.crt")])
    spec["tls"] = {"ca": {"name": secret, "key": key}}
    if rng.random() < 0.3:
        spec["tls"]["clientCertificate"] = {"name": GARBAGE_SECRET, "key": "tls.key"}
        spec["tls"]["clientKey"] = {"name": GARBAGE_SECRET, "key": "tls.key"}
    return NOT_READY


def _client_config(rng: random.Random, doc: dict[str, Any], _: Generator) -> Expect:
    spec = _spec(doc)
    roll = rng.random()
    if roll < 0.3:
        spec["clientConfig"] = rng.choice([
            {"sasl.password": "hunter2"}, {"bootstrap.servers": "x:1"}, {"security.protocol": "SSL"},
            {"socket.timeout.ms": 5000}, {"client.id": "x" * 4097}, "client.id=x",
            {f"k{i}": "v" for i in range(65)}])
        return refused("spec.clientConfig")
    if roll < 0.65:  # legal for the API, refused by the Kafka client
        spec["clientConfig"] = rng.choice([
            {"no.such.property": "1"}, {"socket.timeout.ms": "soon"}, {"": "empty key"},
            {"reconnect.backoff.max.ms": "-5"}, {"client.id": "ok", "acks": "sometimes"},
            {rng.choice(UNICODE): "x"}])
        return NOT_READY
    spec["clientConfig"] = rng.choice([
        {"client.id": "fuzz"}, {"client.id": rng.choice(UNICODE)}, {"socket.timeout.ms": "20000"},
        {"client.rack": "rack-a", "metadata.max.age.ms": "60000"}])
    return READY


CONNECTION_PERTURBATIONS: list[tuple[str, Perturbation]] = [
    ("spec.bootstrapServers", _bootstrap), ("spec.securityProtocol", _security),
    ("spec.tls", _tls), ("spec.clientConfig", _client_config)]


# -- EventTopic ---------------------------------------------------------------------------------


def _partitions(rng: random.Random, doc: dict[str, Any], _: Generator) -> Expect:
    spec = _spec(doc)
    roll = rng.random()
    if roll < 0.6:
        spec["partitions"] = rng.choice([0, -1, 100001, 2**63, "six", "3", *WRONG_TYPES])
        return refused("spec.partitions")
    if roll < 0.7:
        spec["partitions"] = None  # null: pruned and defaulted, or refused
        return maybe_refused("spec.partitions", ready=True)
    # Legal but above what Kafka creates in one request.
    spec["partitions"] = rng.choice([10001, 50000, 100000])
    return NOT_READY


def _replication(rng: random.Random, doc: dict[str, Any], _: Generator) -> Expect:
    spec = _spec(doc)
    roll = rng.random()
    if roll < 0.5:
        spec["replicationFactor"] = rng.choice([0, -3, 10001, "one", 1.5])
        return refused("spec.replicationFactor")
    if roll < 0.8:  # more replicas than the one broker
        spec["replicationFactor"] = rng.choice([2, 3, 10000])
        return NOT_READY
    spec["replicationFactor"] = 1
    return READY


def _topic_name(rng: random.Random, doc: dict[str, Any], gen: Generator) -> Expect:
    spec = _spec(doc)
    roll = rng.random()
    if roll < 0.4:
        spec["topicName"] = rng.choice(["", "has space", "a/b", "tab\t", rng.choice(UNICODE),
                                        "x" * 250, 42, "colon:name"])
        return refused("spec.topicName")
    if roll < 0.55:  # legal for the pattern, illegal or taken in Kafka
        spec["topicName"] = rng.choice([".", "..", gen.world.base_topic,
                                        gen.world.base_topic.replace(".", "_")])
        return NOT_READY
    # Odd but legal: the longest name, mixed case, dots, dashes, underscores.
    stem = f"{gen.world.tag}.{gen.counter()}_Odd-Name."
    spec["topicName"] = stem + "x" * rng.choice([0, 249 - len(stem)])
    return READY


def _topic_config(rng: random.Random, doc: dict[str, Any], _: Generator) -> Expect:
    spec = _spec(doc)
    roll = rng.random()
    if roll < 0.3:
        spec["config"] = rng.choice([
            {"": "x"}, {"retention.ms": 86400000}, "retention.ms=1",
            {"k": "x" * 4097}, {f"k{i}": "1" for i in range(129)}])
        return refused("spec.config")
    if roll < 0.6:  # Kafka refuses these
        spec["config"] = rng.choice([
            {"retention.ms": "a week"}, {"no.such.setting": "1"}, {"cleanup.policy": "shred"},
            {" ": "blank key"}, {"min.insync.replicas": "0"},
            {"message.timestamp.type": rng.choice(UNICODE)}, {"retention.ms": "-2"}])
        return NOT_READY
    spec["config"] = rng.choice([
        {"retention.ms": "86400000"}, {"cleanup.policy": "compact", "min.cleanable.dirty.ratio": "0.1"},
        {"retention.ms": "-1", "max.message.bytes": "2000000"}, {}])
    return READY


def _deletion_policy(rng: random.Random, doc: dict[str, Any], _: Generator) -> Expect:
    if rng.random() < 0.5:
        _spec(doc)["deletionPolicy"] = rng.choice(["Purge", "delete", "", 1, None])
        if _spec(doc)["deletionPolicy"] is None:
            return maybe_refused("spec.deletionPolicy", ready=True)
        return refused("spec.deletionPolicy")
    _spec(doc)["deletionPolicy"] = rng.choice(["Delete", "Retain"])
    return READY


def _catalog(rng: random.Random, doc: dict[str, Any], _: Generator) -> Expect:
    spec = _spec(doc)
    roll = rng.random()
    if roll < 0.5:
        spec["catalog"], path = rng.choice([
            ({"schema": {"format": "Avro", "inline": "{}", "ref": "subject"}}, "spec.catalog.schema"),
            ({"schema": {"format": "Avro"}}, "spec.catalog.schema"),
            ({"schema": {"format": "Thrift", "ref": "x"}}, "spec.catalog.schema.format"),
            ({"schema": {"ref": "x"}}, "spec.catalog.schema.format"),
            ({"owner": "o" * 254}, "spec.catalog.owner"),
            ({"description": ["not", "text"]}, "spec.catalog.description"),
            ("owned by team a", "spec.catalog")])
        return refused(path)
    spec["catalog"] = {"owner": rng.choice(["team-a", rng.choice(UNICODE)]),
                       "description": " ".join(rng.choices(UNICODE, k=5)),
                       "schema": rng.choice([{"format": "JsonSchema", "inline": '{"type": "object"}'},
                                             {"format": "Avro", "ref": "orders-value"}])}
    return READY


def _topic_connections(gen: Generator) -> dict[str, bool | None]:
    return {CONNECTION: True, SASL_CONNECTION: True, **gen.connections}


TOPIC_PERTURBATIONS: list[tuple[str, Perturbation]] = [
    ("spec.partitions", _partitions), ("spec.replicationFactor", _replication),
    ("spec.topicName", _topic_name), ("spec.config", _topic_config),
    ("spec.deletionPolicy", _deletion_policy), ("spec.catalog", _catalog),
    ("spec.connectionRef", _connection_ref("connectionRef", _topic_connections))]


# -- EventSubscription --------------------------------------------------------------------------


def _topics(rng: random.Random, doc: dict[str, Any], gen: Generator) -> Expect:
    spec = _spec(doc)
    roll = rng.random()
    if roll < 0.4:
        spec["topics"], path = rng.choice([
            ([], "spec.topics"), ("orders", "spec.topics"),
            ([{"eventTopic": TOPIC, "name": "orders"}], "spec.topics[0]"), ([{}], "spec.topics[0]"),
            ([{"eventTopic": "Bad_Name"}], "spec.topics[0].eventTopic"),
            ([{"name": "has space"}], "spec.topics[0].name"),
            ([{"name": rng.choice(UNICODE)}], "spec.topics[0].name"),
            ([{"name": f"t{i}"} for i in range(101)], "spec.topics")])
        return refused(path)
    if roll < 0.6:
        spec["topics"] = [{"eventTopic": f"{MISSING}-{gen.counter()}"}]
        return NOT_READY
    if roll < 0.75:  # a Kafka topic by name that does not exist
        spec["topics"] = [{"name": f"{gen.world.namespace}.raw{gen.counter()}"}]
        return SETTLES
    names = rng.sample(sorted(gen.topics), k=min(len(gen.topics), rng.choice([1, 1, 2, 3])))
    spec["topics"] = [{"eventTopic": n} for n in names]
    if rng.random() < 0.3:
        spec["topics"].append({"name": gen.world.base_topic})
    expect = READY
    for n in names:
        expect = expect & Expect(ready=gen.topics[n])
    return expect


def _group(rng: random.Random, doc: dict[str, Any], gen: Generator) -> Expect:
    if rng.random() < 0.5:
        _spec(doc)["consumerGroup"] = rng.choice(["", "bad group", "x" * 250, rng.choice(UNICODE), 7])
        return refused("spec.consumerGroup")
    _spec(doc)["consumerGroup"] = f"{gen.world.namespace}.Group_{gen.counter()}-x"
    return READY


def _start(rng: random.Random, doc: dict[str, Any], _: Generator) -> Expect:
    if rng.random() < 0.5:
        _spec(doc)["startPosition"] = rng.choice(["Beginning", "earliest", "", 0])
        return refused("spec.startPosition")
    _spec(doc)["startPosition"] = rng.choice(["Earliest", "Latest"])
    return READY


def _pod_template(rng: random.Random, doc: dict[str, Any], _: Generator) -> Expect:
    spec = _spec(doc)
    roll = rng.random()
    if roll < 0.3:
        if rng.random() < 0.5:
            del spec["template"]
        else:
            spec["template"] = rng.choice(["nginx", 1, ["a"]])
        return refused("spec.template")
    if roll < 0.7:  # accepted as written; the Deployment built from it is not
        spec["template"] = rng.choice([
            {}, {"spec": {}}, {"spec": {"containers": []}},
            {"spec": {"containers": [{"name": "Bad_Name", "image": "i"}]}},
            {"spec": {"containers": [{"name": "c"}]}},
            {"spec": {"containers": "c"}}, {"spec": "nope"}, {"metadata": ["x"]},
            {"spec": {"containers": ["c"]}},
            {"spec": {"containers": [{"name": "c", "image": "i", "env": "X=1"}]}},
            {"metadata": {"labels": {"bad key!": "v"}},
             "spec": {"containers": [{"name": "c", "image": "i"}]}},
            {"spec": {"containers": [{"name": "c", "image": "i",
                                      "resources": {"limits": {"cpu": "lots"}}}]}}])
        return NOT_READY
    spec["template"] = rng.choice([
        {"spec": {"containers": [{"name": "c", "image": "i", "env": [{"name": "X", "value": "ü"}]}]}},
        {"metadata": {"annotations": {"note": rng.choice(UNICODE)}},
         "spec": {"containers": [{"name": "a", "image": "i"}, {"name": "b", "image": "j"}]}},
        {"spec": {"containers": [{"name": "c", "image": "i",
                                  "env": [{"name": "EVENTSUB_TOPICS", "value": "overridden"}]}]}}])
    return READY


def _scaling(rng: random.Random, doc: dict[str, Any], _: Generator) -> Expect:
    spec = _spec(doc)
    roll = rng.random()
    if roll < 0.6:
        spec["scaling"], path = rng.choice([
            ({"minReplicas": 5, "maxReplicas": 2}, "spec.scaling.minReplicas"),
            ({"minReplicas": 11}, "spec.scaling.minReplicas"),
            ({"lagThreshold": 0}, "spec.scaling.lagThreshold"),
            ({"lagThreshold": -1}, "spec.scaling.lagThreshold"),
            ({"maxReplicas": 1001}, "spec.scaling.maxReplicas"),
            ({"maxReplicas": 0}, "spec.scaling.maxReplicas"),
            ({"mode": "Automatic"}, "spec.scaling.mode"),
            ({"pollIntervalSeconds": 0}, "spec.scaling.pollIntervalSeconds"),
            ({"minReplicas": "1"}, "spec.scaling.minReplicas"),
            ({"targetDrainSeconds": 86401}, "spec.scaling.targetDrainSeconds"),
            ({"cooldownSeconds": -1}, "spec.scaling.cooldownSeconds"),
            ({"maxLagSeconds": 0}, "spec.scaling.maxLagSeconds"),
            ({"allowIdleConsumers": "yes"}, "spec.scaling.allowIdleConsumers"),
            ("fast", "spec.scaling")])
        return refused(path)
    # Odd but legal; at most one replica, so the fuzz starts few pods.
    spec["scaling"] = rng.choice([
        {"minReplicas": 0, "maxReplicas": 1000, "lagThreshold": 1_000_000_000},
        {"mode": "Manual", "minReplicas": 1, "maxReplicas": 1},
        {"minReplicas": 0, "maxReplicas": 1, "pollIntervalSeconds": 3600, "cooldownSeconds": 86400,
         "targetDrainSeconds": 1, "maxLagSeconds": 864000, "limitToPartitionsWithLag": True},
        {"minReplicas": 0, "activationLagThreshold": 1_000_000_000, "allowIdleConsumers": True,
         "scaleUpStabilizationSeconds": 3600, "scaleDownStabilizationSeconds": 0}])
    return READY


def _dead_letter(rng: random.Random, doc: dict[str, Any], gen: Generator) -> Expect:
    roll = rng.random()
    if roll < 0.4:
        _spec(doc)["deadLetterTopic"] = rng.choice(["", "has space", "x" * 250, rng.choice(UNICODE)])
        return refused("spec.deadLetterTopic")
    if roll < 0.55:  # legal pattern, illegal Kafka name
        _spec(doc)["deadLetterTopic"] = rng.choice([".", ".."])
        return NOT_READY
    _spec(doc)["deadLetterTopic"] = f"{gen.world.namespace}.dlq{gen.counter()}"
    return READY


def _produces(rng: random.Random, doc: dict[str, Any], gen: Generator) -> Expect:
    if rng.random() < 0.5:
        _spec(doc)["produces"] = rng.choice([["has space"], "orders", [""], [7]])
        return refused("spec.produces")
    _spec(doc)["produces"] = [f"{gen.world.namespace}.out", "x" * 249]
    return READY


def _subscription_connections(gen: Generator) -> dict[str, bool | None]:
    # A subscription reads its EventTopics' Kafka topics through its own connection.
    return {CONNECTION: True, SASL_CONNECTION: True}


SUBSCRIPTION_PERTURBATIONS: list[tuple[str, Perturbation]] = [
    ("spec.topics", _topics), ("spec.consumerGroup", _group), ("spec.startPosition", _start),
    ("spec.template", _pod_template), ("spec.scaling", _scaling),
    ("spec.deadLetterTopic", _dead_letter), ("spec.produces", _produces),
    ("spec.connectionRef", _connection_ref("connectionRef", _subscription_connections))]


# -- EventReplay --------------------------------------------------------------------------------


def _origin(rng: random.Random, doc: dict[str, Any], gen: Generator) -> Expect:
    spec = _spec(doc)
    roll = rng.random()
    if roll < 0.55:
        spec["from"], path = rng.choice([
            ({}, "spec.from"), ({"earliest": True, "secondsAgo": 60}, "spec.from"),
            ({"earliest": False}, "spec.from.earliest"), ({"shiftBy": 0}, "spec.from.shiftBy"),
            ({"shiftBy": 10**13}, "spec.from.shiftBy"), ({"secondsAgo": 0}, "spec.from.secondsAgo"),
            ({"secondsAgo": 31_536_001}, "spec.from.secondsAgo"),
            ({"secondsAgo": "1h"}, "spec.from.secondsAgo"),
            ({"offsets": []}, "spec.from.offsets"),
            ({"offsets": [{"topic": "t", "partition": -1, "offset": 0}]}, "spec.from.offsets[0].partition"),
            ({"offsets": [{"topic": "t", "partition": 0, "offset": -5}]}, "spec.from.offsets[0].offset"),
            ({"offsets": [{"topic": "has space", "partition": 0, "offset": 0}]},
             "spec.from.offsets[0].topic"),
            ({"offsets": [{"partition": 0, "offset": 0}]}, "spec.from.offsets[0].topic"),
            ({"snapshotOf": "Bad_Name"}, "spec.from.snapshotOf"),
            ("earliest", "spec.from")])
        return refused(path)
    if roll < 0.65:
        spec["from"] = {"timestamp": rng.choice(["yesterday", "2026-13-45T00:00:00Z", "12:00"])}
        return refused("spec.from.timestamp")
    # Legal origins, some odd: before the epoch, far in the future, partitions that do not
    # exist, topics the subscription does not read, a snapshot of a missing replay.
    spec["from"] = rng.choice([
        {"timestamp": "1969-07-20T20:17:40Z"}, {"timestamp": "9999-12-31T23:59:59Z"},
        {"timestamp": "2026-01-01T00:00:00+05:30"}, {"secondsAgo": 31_536_000},
        {"shiftBy": -1_000_000_000_000}, {"shiftBy": 1_000_000_000_000},
        {"offsets": [{"topic": gen.world.base_topic, "partition": 100000, "offset": 2**62}]},
        {"offsets": [{"topic": f"{gen.world.namespace}.other", "partition": 0, "offset": 0}]},
        {"snapshotOf": f"{MISSING}-{gen.counter()}"}])
    return SETTLES


def _mode(rng: random.Random, doc: dict[str, Any], _: Generator) -> Expect:
    spec = _spec(doc)
    roll = rng.random()
    if roll < 0.35:
        spec["mode"] = rng.choice(["Replay", "rewind", "", 1])
        return refused("spec.mode")
    if roll < 0.7:
        spec["mode"], extra, path = rng.choice([
            ("Rewind", {"to": {"logEndAtStart": True}}, "spec.to"),
            ("Rewind", {"keepJobGroup": True}, "spec.keepJobGroup"),
            ("Job", {"from": {"snapshotOf": "earlier"}}, "spec.mode"),
            ("Job", {"to": {"logEndAtStart": True, "timestamp": "2026-01-01T00:00:00Z"}}, "spec.to"),
            ("Job", {"to": {}}, "spec.to"),
            ("Job", {"to": {"logEndAtStart": False}}, "spec.to.logEndAtStart")])
        spec.update(extra)
        return refused(path)
    # A bounded Job: nothing completes its pod here, so it may keep running (with a reason).
    spec["mode"] = "Job"
    spec["to"] = rng.choice([{"logEndAtStart": True}, {"timestamp": "2020-01-01T00:00:00Z"}])
    spec["keepJobGroup"] = rng.choice([True, False])
    return SETTLES


def _scope(rng: random.Random, doc: dict[str, Any], gen: Generator) -> Expect:
    spec = _spec(doc)
    if rng.random() < 0.5:
        spec["scope"], path = rng.choice([
            ({"topics": ["has space"]}, "spec.scope.topics[0]"),
            ({"partitions": [-1]}, "spec.scope.partitions[0]"),
            ({"partitions": [100001]}, "spec.scope.partitions[0]"),
            ({"partitions": "0-3"}, "spec.scope.partitions"),
            ({"partitions": list(range(10001))}, "spec.scope.partitions")])
        return refused(path)
    spec["scope"] = rng.choice([{"topics": [f"{gen.world.namespace}.other"]}, {"partitions": [99]},
                                {"topics": [gen.world.base_topic], "partitions": [0]}, {}])
    return SETTLES


def _replay_settings(rng: random.Random, doc: dict[str, Any], _: Generator) -> Expect:
    spec = _spec(doc)
    if rng.random() < 0.6:
        key, value = rng.choice([("emptyGroupTimeoutSeconds", 0), ("emptyGroupTimeoutSeconds", 3601),
                                 ("dryRun", "yes"), ("dryRun", 1), ("dryRun", [True])])
        spec[key] = value
        return refused(f"spec.{key}")
    spec["emptyGroupTimeoutSeconds"] = rng.choice([1, 3600])
    return READY


def _subscription_ref(rng: random.Random, doc: dict[str, Any], gen: Generator) -> Expect:
    spec = _spec(doc)
    roll = rng.random()
    if roll < 0.3:
        if rng.random() < 0.3:
            del spec["subscriptionRef"]
        else:
            spec["subscriptionRef"] = rng.choice([{"name": ""}, {"name": "Bad_Name"}, "base", {}])
        return refused("spec.subscriptionRef")
    if roll < 0.6:  # waits for its subscription, with a reason
        spec["subscriptionRef"] = {"name": f"{MISSING}-{gen.counter()}"}
        return NOT_READY
    name = rng.choice(sorted(gen.subscriptions))
    spec["subscriptionRef"] = {"name": name}
    # Replays of a subscription that never runs wait for it; others may wait for each other.
    return NOT_READY if gen.subscriptions[name] is False else SETTLES


def _for_real(rng: random.Random, doc: dict[str, Any], gen: Generator) -> Expect:
    # A Rewind that moves offsets makes the later replays of its subscription wait for it:
    # only of generated subscriptions, so the dry runs of the fixed one never wait.
    running = sorted(n for n, ready in gen.subscriptions.items() if ready and n != SUBSCRIPTION)
    _spec(doc)["dryRun"] = False
    if not running:
        _spec(doc)["subscriptionRef"] = {"name": f"{MISSING}-{gen.counter()}"}
        return NOT_READY
    _spec(doc)["subscriptionRef"] = {"name": rng.choice(running)}
    return SETTLES


REPLAY_PERTURBATIONS: list[tuple[str, Perturbation]] = [
    ("spec.from", _origin), ("spec.mode", _mode), ("spec.scope", _scope),
    ("spec.settings", _replay_settings), ("spec.subscriptionRef", _subscription_ref),
    ("spec.subscriptionRef", _for_real)]


# -- the generator --------------------------------------------------------------------------------


class Generator:
    """Draws cases kind by kind (connections, topics, subscriptions, replays), so that later
    kinds refer to earlier generated objects and know what will become of them."""

    def __init__(self, seed: int, world: World) -> None:
        self.rng = random.Random(seed)
        self.world = world
        self._count = 0
        # name -> expected readiness, for the references of later kinds
        self.connections: dict[str, bool | None] = {}
        self.topics: dict[str, bool | None] = {TOPIC: True}
        self.subscriptions: dict[str, bool | None] = {SUBSCRIPTION: True}

    def counter(self) -> int:
        self._count += 1
        return self._count

    def cases(self, total: int) -> list[Case]:
        shares = (("KafkaConnection", 0.15), ("EventTopic", 0.35), ("EventSubscription", 0.3),
                  ("EventReplay", 0.2))
        made: list[Case] = []
        for kind, share in shares:
            count = round(total * share) if kind != "EventReplay" else total - len(made)
            made += [self.case(kind) for _ in range(count)]
        return made

    def case(self, kind: str) -> Case:
        base, perturbations = self._valid(kind)
        case = Case(kind, base)
        roll = self.rng.random()
        picks = 0 if roll < 0.2 else 1 if roll < 0.75 else 2
        chosen = self.rng.sample(perturbations + COMMON, k=picks)
        paths = [path for path, _ in chosen]
        if len(set(paths)) < len(paths) or "spec" in paths:
            # Two changes of one field (the second would hide the first), or a spec that is
            # gone (nothing else to change): one change only.
            chosen = chosen[-1:]
        touched: set[str] = set()
        for path, perturb in chosen:
            snapshot = copy.deepcopy(case.doc)
            outcome = perturb(self.rng, case.doc, self)
            changed = _changed(snapshot, case.doc)
            if changed & touched:  # it would overwrite the earlier change: keep that one alone
                case.doc = snapshot
                continue
            touched |= changed
            case.expect = outcome if not case.changes else case.expect & outcome
            case.changes.append(f"{path}: {_diff(snapshot, case.doc)}")
        self._remember(case)
        return case

    def _remember(self, case: Case) -> None:
        ready = None if case.expect.admission == EITHER else case.expect.ready
        known = {"KafkaConnection": self.connections, "EventTopic": self.topics,
                 "EventSubscription": self.subscriptions}.get(case.kind)
        if known is None:
            return
        if case.expect.admission == REFUSED:
            return  # never exists: a reference to it is a reference to a missing object
        known[case.name] = ready

    def _valid(self, kind: str) -> tuple[dict[str, Any], list[tuple[str, Perturbation]]]:
        n, tag = self.counter(), self.world.tag
        if kind == "KafkaConnection":
            return resource(kind, f"conn-{n}", {"bootstrapServers": [self.world.bootstrap]}), \
                CONNECTION_PERTURBATIONS
        if kind == "EventTopic":
            # The Kafka topic is named after the resource unless topicName says otherwise: both
            # carry the run's tag.
            spec: dict[str, Any] = {"connectionRef": {"name": CONNECTION},
                                    "partitions": self.rng.randint(1, 3)}
            if self.rng.random() < 0.5:
                spec["topicName"] = f"{self.world.namespace}.topic-{n}"
            return resource(kind, f"{tag}-topic-{n}", spec), TOPIC_PERTURBATIONS
        if kind == "EventSubscription":
            topic = self.rng.choice(sorted(t for t, ready in self.topics.items() if ready))
            return resource(kind, f"sub-{n}", {
                "connectionRef": {"name": CONNECTION}, "topics": [{"eventTopic": topic}],
                "template": _template(f"sub-{n}"), "scaling": {"minReplicas": 0}}), \
                SUBSCRIPTION_PERTURBATIONS
        origin = self.rng.choice([{"earliest": True}, {"secondsAgo": 60}, {"shiftBy": -5}])
        return resource(kind, f"replay-{n}", {
            "subscriptionRef": {"name": SUBSCRIPTION}, "from": origin, "dryRun": True}), \
            REPLAY_PERTURBATIONS


def _changed(before: dict[str, Any], after: dict[str, Any]) -> set[str]:
    """The top-level fields a change touched, e.g. {"spec.mode", "spec.to"}."""
    touched = set()
    for section in ("metadata", "spec"):
        old, new = before.get(section), after.get(section)
        if isinstance(old, dict) and isinstance(new, dict):
            touched |= {f"{section}.{k}" for k in set(old) | set(new)
                        if _json(old.get(k, MISSING)) != _json(new.get(k, MISSING))}
        elif _json(old) != _json(new):
            touched.add(section)
    return touched


def _json(value: Any) -> str:
    """As the API server sees it: 1 and True differ, unlike in Python."""
    return json.dumps(value, sort_keys=True)


def _diff(before: dict[str, Any], after: dict[str, Any]) -> str:
    """The changed top-level parts, shortened, for a readable report."""
    parts = []
    for section in ("metadata", "spec"):
        old, new = before.get(section), after.get(section)
        if _json(old) == _json(new):
            continue
        if isinstance(old, dict) and isinstance(new, dict):
            keys = sorted(set(old) | set(new), key=str)
            parts += [f"{section}.{k}={_short(new.get(k, '<removed>'))}" for k in keys
                      if _json(old.get(k, MISSING)) != _json(new.get(k, MISSING))]
        else:
            parts.append(f"{section}={_short(new if section in after else '<removed>')}")
    return ", ".join(parts)


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."
