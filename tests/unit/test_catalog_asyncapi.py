"""The catalog's AsyncAPI 3.0.0 document (catalog.asyncapi) and its YAML text (catalog.block_yaml),
from snapshots built of resource bodies as the API server holds them."""

from __future__ import annotations

import json
import random
from typing import Any

import yaml
from catalog_data import catalog_bodies
from hypothesis import given, settings
from hypothesis import strategies as st

from catalog_resources import ORDER_SCHEMA, connection, shop_catalog, subscription, topic
from eventsub.catalog import block_yaml
from eventsub.catalog.asyncapi import (
    COMPONENT_KEY,
    channel_id,
    declared_producer_id,
    document,
    to_json,
    to_yaml,
    topic_configuration,
)
from eventsub.core.catalog_snapshot import Activity, build, cluster_ids


def test_servers_are_the_connections_with_their_protocol_and_no_credential() -> None:
    doc = document(shop_catalog())
    assert doc["asyncapi"] == "3.0.0"
    servers = doc["servers"]
    assert list(servers) == ["ops_local", "shop_local", "shop_mtls", "shop_secure"]
    assert servers["shop_local"]["host"] == "kafka-0:9092,kafka-1:9092"
    assert servers["shop_local"]["protocol"] == "kafka"
    assert "security" not in servers["shop_local"]
    assert servers["shop_secure"]["protocol"] == "kafka-secure"
    assert servers["shop_secure"]["security"] == [
        {"$ref": "#/components/securitySchemes/saslScramSha512"}]
    assert servers["shop_mtls"]["security"] == [{"$ref": "#/components/securitySchemes/mutualTls"}]
    assert doc["components"]["securitySchemes"]["saslScramSha512"]["type"] == "scramSha512"
    assert doc["components"]["securitySchemes"]["mutualTls"]["type"] == "X509"
    text = to_json(doc).decode()
    for secret_name in ("kafka-credentials", "client-tls", "kafka-ca", "tls.key"):
        assert secret_name not in text  # not even where the credentials are kept


def test_a_channel_per_event_with_its_kafka_binding_facts_and_extensions() -> None:
    activity = {("cluster-1", "shop.orders"): Activity(2.5, 1_700_000_000.0)}
    doc = document(shop_catalog(activity))
    orders = doc["channels"]["shop_orders"]
    assert orders["address"] == "shop.orders"
    assert orders["description"] == "Order state changes"
    assert orders["servers"] == [{"$ref": f"#/servers/{s}"} for s in (
        "ops_local", "shop_local", "shop_mtls", "shop_secure")]  # all reach cluster-1
    assert orders["bindings"]["kafka"] == {
        "topic": "shop.orders", "partitions": 6, "replicas": 3,
        "topicConfiguration": {"cleanup.policy": ["compact", "delete"], "retention.ms": 604800000},
        "x-eventsub-topic-configuration": {"segment.bytes": "1048576"},
        "bindingVersion": "0.5.0"}
    assert orders["tags"] == [{"name": "owner:team-orders"}]
    assert orders["x-eventsub-owner"] == "team-orders"
    assert orders["x-eventsub-lifecycle"] == "Deprecated"
    assert orders["x-eventsub-replaced-by"] == "shop.orders.v2"
    assert orders["x-eventsub-activity"] == {"messagesPerSecond": 2.5,
                                             "lastMessageTime": "2023-11-14T22:13:20Z"}
    assert orders["x-eventsub-producers"] == ["web frontend"]
    assert orders["x-eventsub-consumers"] == ["ops/audit", "shop/billing"]
    assert {"name": "owner:team-orders", "description": "Events owned by team-orders"} in (
        doc["info"]["tags"])


def test_messages_carry_an_inline_schema_or_name_its_reference() -> None:
    messages = document(shop_catalog())["components"]["messages"]
    assert messages["shop_orders"]["payload"] == {
        "schemaFormat": "application/schema+json;version=draft-07",
        "schema": json.loads(ORDER_SCHEMA)}
    assert messages["shop_orders"]["contentType"] == "application/json"
    payments = messages["shop_payments"]
    assert "payload" not in payments  # a registry subject is no document a parser could follow
    assert payments["x-eventsub-schema"] == {"format": "Avro", "ref": "payments.v1-value"}


def test_inline_avro_and_protobuf_schemas_and_a_broken_one() -> None:
    avro = topic("ns", "a", catalog={"schema": {"format": "Avro", "inline": '{"type": "string"}'}})
    proto = topic("ns", "p", catalog={"schema": {
        "format": "Protobuf", "inline": 'syntax = "proto2";\nmessage M { optional int32 a = 1; }'}})
    broken = topic("ns", "b", catalog={"schema": {"format": "JsonSchema", "inline": "{nope"}})
    url = topic("ns", "u", catalog={"schema": {"format": "JsonSchema",
                                               "ref": "https://schemas.example/u.json"}})
    messages = document(build([avro, proto, broken, url], [], lambda k: "c"))["components"][
        "messages"]
    assert messages["ns_a"]["payload"] == {
        "schemaFormat": "application/vnd.apache.avro+json;version=1.9.0",
        "schema": {"type": "string"}}
    assert messages["ns_p"]["payload"]["schemaFormat"] == "application/vnd.google.protobuf;version=2"
    assert "payload" not in messages["ns_b"]
    assert messages["ns_b"]["x-eventsub-schema"]["problem"].startswith(
        "the inline JsonSchema schema is not JSON")
    assert messages["ns_u"]["externalDocs"]["url"] == "https://schemas.example/u.json"


def test_receive_operations_name_the_real_consumer_group_and_send_operations_every_producer(
        ) -> None:
    doc = document(shop_catalog())
    ops = doc["operations"]
    receive = ops["shop_billing_receive_shop_orders"]
    assert receive["action"] == "receive"
    assert receive["channel"] == {"$ref": "#/channels/shop_orders"}
    assert receive["messages"] == [{"$ref": "#/channels/shop_orders/messages/shop_orders"}]
    assert receive["bindings"]["kafka"] == {
        "groupId": {"type": "string", "enum": ["shop.billing-v2"]}, "bindingVersion": "0.5.0"}
    assert (receive["x-eventsub-lag"], receive["x-eventsub-total-lag"],
            receive["x-eventsub-replicas"], receive["x-eventsub-desired-replicas"]) == (40, 45, 2, 3)
    assert ops["shop_billing_receive_shop_payments"]["x-eventsub-lag"] == 5
    assert ops["ops_audit_receive_shop_orders"]["bindings"]["kafka"]["groupId"]["enum"] == [
        "ops.audit"]  # the default group id, named by the snapshot
    invoices = channel_id(next(e for e in shop_catalog().events if e.topic == "invoices"))
    assert ops[f"shop_billing_send_{invoices}"]["action"] == "send"
    declared = ops[f"{declared_producer_id('web frontend')}_send_shop_orders"]
    assert (declared["action"], declared["x-eventsub-service"]) == ("send", "web frontend")
    groups = {op["bindings"]["kafka"]["groupId"]["enum"][0] for op in ops.values()
              if op["action"] == "receive"}
    assert groups == {c.group for c in shop_catalog().consumers.values()}


def test_a_namespace_document_keeps_what_the_namespace_declares_or_uses() -> None:
    doc = document(shop_catalog(), namespace="ops")
    assert doc["info"]["title"] == "eventsub catalog: namespace ops"
    assert list(doc["channels"]) == ["shop_orders"]  # another namespace's topic it reads
    assert list(doc["operations"]) == ["ops_audit_receive_shop_orders",  # and the declared
                                       f"{declared_producer_id('web frontend')}_send_shop_orders"]
    assert list(doc["servers"]) == ["ops_local", "shop_local"]  # its own; the topic's
    assert document(shop_catalog(), namespace="nothing-here")["channels"] == {}


def test_findings_of_the_document_part() -> None:
    a = subscription("ns", "a", [{"name": "y"}], produces=["x"])
    b = subscription("ns", "b", [{"name": "x"}], produces=["y"])
    lonely = topic("other", "lonely")
    catalog = build([lonely], [a, b], lambda k: "c")
    findings = document(catalog)["x-eventsub-findings"]
    assert findings["feedbackLoops"] == ["ns/a -> x -> ns/b -> y -> ns/a"]
    assert findings["undocumentedEvents"] == findings["unconsumedEvents"] == ["other/lonely"]
    assert document(catalog)["operations"]["ns_a_receive_" + channel_id(
        next(e for e in catalog.events if e.topic == "y"))]["x-eventsub-feedback-loop"] == (
        "ns/a -> x -> ns/b -> y -> ns/a")
    assert document(catalog, namespace="other")["x-eventsub-findings"]["feedbackLoops"] == []


def test_topic_configuration_types_what_the_binding_defines_and_keeps_the_rest() -> None:
    known, rest = topic_configuration({
        "retention.ms": "-1", "retention.bytes": "x", "delete.retention.ms": "-5",
        "max.message.bytes": " 1000 ", "cleanup.policy": "delete,unknown",
        "confluent.value.schema.validation": "TRUE", "confluent.key.subject.name.strategy": "s",
        "min.insync.replicas": "2"})
    assert known == {"retention.ms": -1, "max.message.bytes": 1000,
                     "confluent.value.schema.validation": True,
                     "confluent.key.subject.name.strategy": "s"}
    assert rest == {"retention.bytes": "x", "delete.retention.ms": "-5",
                    "cleanup.policy": "delete,unknown", "min.insync.replicas": "2"}


def test_ids_are_valid_unique_and_stable_across_clusters_and_namespaces() -> None:
    # One topic name on two clusters, only named by subscriptions; EventTopics whose names
    # could run together with their namespace's; a declared producer with any characters.
    connections = [connection("a", "k1", {"bootstrapServers": ["h1:1"]}, "c1"),
                   connection("a", "k2", {"bootstrapServers": ["h2:1"]}, "c2"),
                   connection("a-b", "k1", {"bootstrapServers": ["h1:1"]}, "c1")]
    topics = [topic("a", "b-c", "k1", catalog={"producers": ["Web UI (team x)", "web-ui-team-x-"]}),
              topic("a-b", "c", "k1")]
    subs = [subscription("a", "s", [{"name": "t"}], connection="k1"),
            subscription("a", "s2", [{"name": "t"}], connection="k2")]
    catalog = build(topics, subs, cluster_ids(connections), None, connections)
    doc = document(catalog)
    ids = [*doc["servers"], *doc["channels"], *doc["operations"], *doc["components"]["messages"]]
    assert all(COMPONENT_KEY.match(i) for i in ids), ids
    assert len(doc["channels"]) == 4
    for section in ("servers", "channels", "operations"):
        assert len(set(doc[section])) == len(doc[section])
    assert len({o for o in doc["operations"] if "_send_" in o}) == 2  # both declared producers
    shuffled = build(list(reversed(topics)), list(reversed(subs)), cluster_ids(connections),
                     None, list(reversed(connections)))
    assert to_json(document(shuffled)) == to_json(doc)  # the same catalog, the same bytes


def test_every_reference_points_at_something_in_the_document() -> None:
    connections, topics, subs = catalog_bodies("bulk", 50)
    doc = document(build(topics, subs, cluster_ids(connections), None, connections))
    refs = [v for v in _walk(doc) if isinstance(v, str) and v.startswith("#/")]
    assert len(refs) > 250
    for ref in refs:
        node: Any = doc
        for part in ref[2:].split("/"):
            node = node[part]


def _walk(value: Any) -> list[Any]:
    if isinstance(value, dict):
        return [x for k, v in value.items() for x in ([v] if k == "$ref" else _walk(v))]
    if isinstance(value, list):
        return [x for v in value for x in _walk(v)]
    return []


def test_the_yaml_text_is_the_same_document() -> None:
    connections, topics, subs = catalog_bodies("bulk", 20)
    doc = document(build(topics, subs, cluster_ids(connections), None, connections))
    assert yaml.safe_load(to_yaml(doc)) == json.loads(to_json(doc))


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20)


@settings(max_examples=300, deadline=None)
@given(JSON_VALUES)
def test_block_yaml_reads_back_as_what_was_written(value: Any) -> None:
    assert yaml.safe_load(block_yaml.dump(value)) == value


def test_block_yaml_quotes_what_would_read_as_something_else() -> None:
    words = ["yes", "No", "on", "null", "true", "1", "0x1f", "1e3", "~", ".inf", "- a", "a: b",
             "A\n", "orders\n",
             "#x", "", " lead", "trail ", "@x", "`x", "*x", "&x", "!x", "%x", "|", ">", "?",
             "a\nb", "\u0085", "\x7f", "é", "1:20", "<<", "="]
    value = {w: [w, {w: w}] for w in words}
    assert yaml.safe_load(block_yaml.dump(value)) == value
    assert block_yaml.dump({"plain-key.x": "word"}) == "plain-key.x: word\n"
    assert yaml.safe_load(block_yaml.dump({"f": 1e16, "g": -2.5e-7})) == {"f": 1e16, "g": -2.5e-7}


def test_documents_of_random_orderings_are_identical() -> None:
    connections, topics, subs = catalog_bodies("bulk", 30)
    expected = to_json(document(build(topics, subs, cluster_ids(connections), None, connections)))
    rng = random.Random(7)
    for _ in range(3):
        rng.shuffle(topics)
        rng.shuffle(subs)
        assert to_json(document(build(topics, subs, cluster_ids(connections), None,
                                      connections))) == expected
