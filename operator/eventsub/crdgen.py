"""Models -> CustomResourceDefinitions. `python -m eventsub.crdgen [--check]`.

Turns pydantic's JSON Schema into the structural OpenAPI v3 schema Kubernetes accepts: $refs
inlined, Optional's anyOf-with-null collapsed, no titles, no additionalProperties: false
(Kubernetes prunes and strict field validation rejects unknown fields instead). Every field must
have a description, so `kubectl explain` documents the whole API. Output is deterministic.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import yaml

from eventsub.api.base import GROUP, VERSION
from eventsub.api.resources import CATEGORY, RESOURCES, Resource

REPO_ROOT = Path(__file__).resolve().parents[2]
OUTPUT_DIRS = (REPO_ROOT / "crds", REPO_ROOT / "helm" / "eventsub-operator" / "crds")

# Keys of JSON Schema that a structural OpenAPI v3 schema keeps as they are.
_KEPT = {
    "type", "description", "format", "enum", "default", "minimum", "maximum", "minLength",
    "maxLength", "pattern", "minItems", "maxItems", "minProperties", "maxProperties", "required",
    "x-kubernetes-validations", "x-kubernetes-preserve-unknown-fields", "x-kubernetes-list-type",
    "x-kubernetes-list-map-keys", "x-kubernetes-int-or-string", "x-kubernetes-map-type",
}


class SchemaError(ValueError):
    pass


def _resolve(node: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any]:
    """Inlines a $ref (siblings of the $ref win) and collapses anyOf[X, null] into X."""
    while True:
        if "$ref" in node:
            target = defs[node["$ref"].rsplit("/", 1)[1]]
            node = {**target, **{k: v for k, v in node.items() if k != "$ref"}}
        elif "anyOf" in node:
            options = [o for o in node["anyOf"] if o.get("type") != "null"]
            if len(options) != 1 or len(options) == len(node["anyOf"]):
                raise SchemaError(f"unions are not structural: {node['anyOf']}")
            outer = {k: v for k, v in node.items() if k != "anyOf"}
            node = {**options[0], **outer}
        else:
            return node


def structural(node: dict[str, Any], defs: dict[str, Any], path: str, status: bool) -> dict[str, Any]:
    node = _resolve(node, defs)
    out: dict[str, Any] = {k: v for k, v in node.items() if k in _KEPT}
    if "description" in out:  # docstrings wrap at the source's width; kubectl wraps for itself
        out["description"] = " ".join(out["description"].split())
    if "exclusiveMinimum" in node or "exclusiveMaximum" in node:
        raise SchemaError(f"{path}: use ge/le, not gt/lt (OpenAPI 3.0 bounds are inclusive)")
    if "const" in node:
        out["enum"] = [node["const"]]
    if "type" not in out and not out.get("x-kubernetes-preserve-unknown-fields"):
        raise SchemaError(f"{path}: no type")
    _clean_default(out, node, status)
    if "properties" in node:
        out["properties"] = {
            name: _described(structural(child, defs, f"{path}.{name}", status), f"{path}.{name}")
            for name, child in node["properties"].items()
        }
        out.setdefault("type", "object")
    if isinstance(node.get("additionalProperties"), dict):
        out["additionalProperties"] = structural(node["additionalProperties"], defs, f"{path}[*]",
                                                 status)
    if "items" in node:
        out["items"] = structural(node["items"], defs, f"{path}[]", status)
    if out.get("type") == "object" and "properties" not in out and "additionalProperties" not in out:
        out["x-kubernetes-preserve-unknown-fields"] = True
    return _ordered(out)


_ORDER = ("type", "description", "format", "enum", "default", "minimum", "maximum", "minLength",
          "maxLength", "pattern", "minItems", "maxItems", "minProperties", "maxProperties")


def _ordered(schema: dict[str, Any]) -> dict[str, Any]:
    """Reading order: what a field is first, its children and CEL rules last."""
    rank = {key: i for i, key in enumerate(_ORDER)}
    return dict(sorted(schema.items(), key=lambda kv: (rank.get(kv[0], len(_ORDER)), kv[0])))


def _clean_default(out: dict[str, Any], node: dict[str, Any], status: bool) -> None:
    """Status is never defaulted; empty lists and maps are not stored (nested objects with
    defaults keep `{}` so the API server defaults their fields)."""
    if "default" not in out:
        return
    value = out["default"]
    if status or value is None or (value in ([], {}) and not (value == {} and "properties" in node)):
        del out["default"]


def _described(schema: dict[str, Any], path: str) -> dict[str, Any]:
    if not schema.get("description"):
        raise SchemaError(f"{path}: every field needs a description (an attribute docstring)")
    return schema


def _model_schema(model: type[Any], path: str, status: bool) -> dict[str, Any]:
    raw = model.model_json_schema(by_alias=True)
    defs = raw.pop("$defs", {})
    return _described(structural(raw, defs, path, status), path)


def crd(resource: Resource) -> dict[str, Any]:
    spec = _model_schema(resource.spec, "spec", status=False)
    status = _model_schema(resource.status, "status", status=True)
    schema = {
        "type": "object",
        "description": resource.description,
        "required": ["spec"],
        "properties": {
            "apiVersion": {"type": "string", "description": "API version: eventsub.io/v1alpha1."},
            "kind": {"type": "string", "description": f"Kind: {resource.kind}."},
            "metadata": {"type": "object"},
            "spec": spec,
            "status": status,
        },
    }
    columns = [
        {"name": c.name, "type": c.type, "jsonPath": c.json_path,
         **({"description": c.description} if c.description else {}),
         **({"priority": c.priority} if c.priority else {})}
        for c in resource.columns
    ]
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": resource.crd_name,
                     "labels": {"app.kubernetes.io/name": "eventsub",
                                "app.kubernetes.io/part-of": "eventsub"}},
        "spec": {
            "group": GROUP,
            "scope": "Namespaced",
            "names": {"kind": resource.kind, "listKind": f"{resource.kind}List",
                      "plural": resource.plural, "singular": resource.singular,
                      "shortNames": list(resource.short_names), "categories": [CATEGORY]},
            "versions": [{
                "name": VERSION, "served": True, "storage": True,
                "schema": {"openAPIV3Schema": schema},
                "subresources": {"status": {}},
                "additionalPrinterColumns": columns,
            }],
        },
    }


def render(resource: Resource) -> str:
    header = "# Generated by `make crds` from operator/eventsub/api: do not edit.\n"
    return header + yaml.safe_dump(crd(resource), sort_keys=False, width=100, allow_unicode=True)


def file_name(resource: Resource) -> str:
    return f"{GROUP}_{resource.plural}.yaml"


def expected_files() -> dict[Path, str]:
    return {directory / file_name(r): render(r) for directory in OUTPUT_DIRS for r in RESOURCES}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if the files differ")
    args = parser.parse_args(argv)
    expected = expected_files()
    if args.check:
        stale = [str(p.relative_to(REPO_ROOT)) for p, text in expected.items()
                 if not p.is_file() or p.read_text() != text]
        if stale:
            print(f"CRDs out of date (run `make crds`): {', '.join(stale)}", file=sys.stderr)
            return 1
        return 0
    for path, text in expected.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
