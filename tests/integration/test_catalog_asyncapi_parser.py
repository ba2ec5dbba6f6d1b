"""The official AsyncAPI parser accepts every shape of the catalog's document: SASL and mutual
TLS servers, inline JSON Schema, Avro and Protobuf payloads, a schema reference, a broken inline
schema, declared producers, topics only subscriptions name, activity and feedback loops; as JSON
and as YAML. No stack: the document is built from resource bodies."""

from __future__ import annotations

import copy

import pytest

from asyncapi_parser import diagnostics
from catalog_resources import MTLS, OPS, ORDERS, PAYMENTS, PLAIN, SCRAM, subscription, topic
from eventsub.catalog.asyncapi import document, to_json, to_yaml
from eventsub.core.catalog_snapshot import Activity, build, cluster_ids

pytestmark = pytest.mark.integration  # runs Node.js and the parser npm installed

PROTO = 'syntax = "proto3";\nmessage Shipment { string order_id = 1; int64 at = 2; }'
AVRO = ('{"type": "record", "name": "Refund", "fields": [{"name": "orderId", "type": "string"},'
        ' {"name": "cents", "type": "long"}]}')


def test_every_shape_of_the_document_has_no_error_and_a_broken_one_has() -> None:
    connections = [PLAIN, SCRAM, MTLS, OPS]
    topics = [ORDERS, PAYMENTS,
              topic("shop", "shipments", catalog={"owner": "team-ship", "schema": {
                  "format": "Protobuf", "inline": PROTO}}),
              topic("shop", "refunds", catalog={"schema": {"format": "Avro", "inline": AVRO}}),
              topic("shop", "broken", catalog={"schema": {"format": "JsonSchema",
                                                          "inline": "{not json"}})]
    subs = [subscription("shop", "a", [{"name": "y"}], produces=["x"], consumerGroup="custom.a"),
            subscription("shop", "b", [{"name": "x"}], produces=["y"]),
            subscription("ops", "audit", [{"name": "shop.orders"}, {"eventTopic": "nope"}])]
    activity = {("cluster-1", "shop.orders"): Activity(0.25, 1_700_000_000.0)}
    doc = document(build(topics, subs, cluster_ids(connections), activity, connections))
    assert doc["x-eventsub-findings"]["feedbackLoops"]  # the loop a <-> b is in it
    # The check can fail: a channel on a server the document does not have.
    broken = copy.deepcopy(doc)
    broken["channels"]["shop_orders"]["servers"] = [{"$ref": "#/servers/missing"}]

    as_json, as_yaml, wrong = diagnostics(to_json(doc), to_yaml(doc), to_json(broken))
    assert [d for d in as_json if d["severity"] == "error"] == [], as_json
    assert [d for d in as_yaml if d["severity"] == "error"] == [], as_yaml
    assert any(d["severity"] == "error" and d["path"][:2] == ["channels", "shop_orders"]
               for d in wrong), wrong
