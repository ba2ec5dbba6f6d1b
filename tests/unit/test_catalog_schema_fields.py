"""The fields of an event's inline schema (Avro, JSON Schema, Protobuf), as the page lists and
searches them."""

from __future__ import annotations

import json

from eventsub.catalog.schema_fields import MAX_FIELDS, SchemaField, schema_fields


def paths(schema: dict[str, str]) -> list[tuple[str, str]]:
    return [(f.path, f.type) for f in schema_fields(schema).fields]


def test_avro_records_nested_unions_arrays_and_logical_types() -> None:
    avro = {"type": "record", "name": "Order", "fields": [
        {"name": "id", "type": "string"},
        {"name": "placed", "type": {"type": "long", "logicalType": "timestamp-millis"}},
        {"name": "customer", "type": ["null", {"type": "record", "name": "Customer", "fields": [
            {"name": "email", "type": "string"}]}]},
        {"name": "lines", "type": {"type": "array", "items": {
            "type": "record", "name": "Line", "fields": [{"name": "sku", "type": "string"}]}}},
        {"name": "tags", "type": {"type": "map", "values": "string"}}]}
    assert paths({"format": "Avro", "inline": json.dumps(avro)}) == [
        ("id", "string"), ("placed", "timestamp-millis"), ("customer", "null | Customer"),
        ("customer.email", "string"), ("lines", "array<Line>"), ("lines[].sku", "string"),
        ("tags", "map<string>")]


def test_json_schema_properties_nested_objects_and_array_items() -> None:
    schema = {"type": "object", "properties": {
        "id": {"type": "string", "format": "uuid"},
        "amount": {"type": ["number", "null"]},
        "customer": {"type": "object", "properties": {"address": {"type": "object", "properties": {
            "city": {"type": "string"}}}}},
        "lines": {"type": "array", "items": {"type": "object", "properties": {
            "sku": {"type": "string"}}}},
        "ref": {"$ref": "#/definitions/Thing"}}}
    assert paths({"format": "JsonSchema", "inline": json.dumps(schema)}) == [
        ("id", "string (uuid)"), ("amount", "number | null"), ("customer", "object"),
        ("customer.address", "object"), ("customer.address.city", "string"),
        ("lines", "array<object>"), ("lines[].sku", "string"), ("ref", "#/definitions/Thing")]


def test_protobuf_messages_nested_messages_and_labels() -> None:
    proto = """syntax = "proto3";
    // the order
    message Order {
      string id = 1;
      repeated Line lines = 2;  // what was bought
      message Line { string sku = 1; int32 quantity = 2; }
      enum State { PLACED = 0; PAID = 1; }
      optional State state = 3;
      map<string, string> tags = 4;
    }
    message Refund { string order_id = 1; }
    """
    assert paths({"format": "Protobuf", "inline": proto}) == [
        ("Order.id", "string"), ("Order.lines", "repeated Line"), ("Order.Line.sku", "string"),
        ("Order.Line.quantity", "int32"), ("Order.state", "State"),
        ("Order.tags", "map<string, string>"), ("Refund.order_id", "string")]


def test_a_schema_by_reference_or_missing_has_no_fields() -> None:
    assert schema_fields(None).fields == ()
    assert schema_fields({"format": "Avro", "ref": "orders-value"}).fields == ()


def test_a_schema_that_is_not_json_says_why() -> None:
    read = schema_fields({"format": "Avro", "inline": "{not json"})
    assert read.fields == () and read.problem and "not valid JSON" in read.problem


def test_a_recursive_or_huge_schema_is_cut() -> None:
    node: dict[str, object] = {"type": "object", "properties": {}}
    root = node
    for _ in range(50):  # deeper than anyone would follow
        child: dict[str, object] = {"type": "object", "properties": {}}
        node["properties"] = {"next": child}
        node = child
    deep = schema_fields({"format": "JsonSchema", "inline": json.dumps(root)}).fields
    assert 0 < len(deep) < 50
    wide = {"type": "record", "name": "W", "fields": [
        {"name": f"f{i}", "type": "int"} for i in range(MAX_FIELDS + 100)]}
    fields = schema_fields({"format": "Avro", "inline": json.dumps(wide)}).fields
    assert len(fields) == MAX_FIELDS and fields[0] == SchemaField("f0", "int")
