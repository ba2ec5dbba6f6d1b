"""The official AsyncAPI parser accepts every shape of the catalog's document: SASL and mutual
TLS servers, inline JSON Schema, Avro and Protobuf payloads, a schema reference, a broken inline
schema, declared producers, topics only subscriptions name, activity and feedback loops; as JSON
and as YAML. No stack: the document is built from resource bodies."""

from __future__ import annotations

import pytest

from asyncapi_parser import diagnostics, errors
from catalog_resources import MTLS, OPS, ORDERS, PAYMENTS, PLAIN, SCRAM, subscription, topic
from eventsub.catalog.asyncapi import document, to_json, to_yaml
from eventsub.core.catalog_snapshot import Activity, build, cluster_ids

pytestmark = pytest.mark.integration  # runs Node.js and the parser npm installed

PROTO = 'syntax = "proto3";\nmessage Shipment { string order_id = 1; int64 at = 2; }'
AVRO = ('{"type": "record", "name": "Refund", "fields": [{"name": "orderId", "type": "string"},'
        ' {"name": "cents", "type": "long"}]}')


def test_every_shape_of_the_document_has_no_error() -> None:
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
    found = diagnostics(to_json(doc))
    assert [d for d in found if d["severity"] == "error"] == [], found
    assert errors(to_yaml(doc)) == []


def test_the_parser_reports_a_broken_document() -> None:
    # The check can fail: a channel referring to a server the document does not have.
    doc = document(build([ORDERS], [], cluster_ids([PLAIN]), None, [PLAIN]))
    doc["channels"]["shop_orders"]["servers"] = [{"$ref": "#/servers/missing"}]
    assert errors(to_json(doc))
