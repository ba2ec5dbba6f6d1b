"""The generated CRDs are structural, documented, deterministic and in sync with the models."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import pytest
from pydantic import Field

from eventsub import crdgen
from eventsub.api import RESOURCES
from eventsub.api.base import ApiModel


def _walk(schema: dict[str, Any], path: str = "") -> list[tuple[str, dict[str, Any]]]:
    nodes = [(path, schema)]
    for name, child in schema.get("properties", {}).items():
        nodes += _walk(child, f"{path}.{name}")
    if isinstance(schema.get("items"), dict):
        nodes += _walk(schema["items"], f"{path}[]")
    if isinstance(schema.get("additionalProperties"), dict):
        nodes += _walk(schema["additionalProperties"], f"{path}[*]")
    return nodes


def _openapi(resource: Any) -> dict[str, Any]:
    schema: dict[str, Any] = crdgen.crd(resource)["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    return schema


def test_committed_crds_match_the_generator() -> None:
    assert crdgen.main(["--check"]) == 0


def test_check_fails_on_drift(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(crdgen, "OUTPUT_DIRS", (tmp_path / "crds", tmp_path / "chart"))
    monkeypatch.setattr(crdgen, "REPO_ROOT", tmp_path)
    assert crdgen.main([]) == 0
    assert crdgen.main(["--check"]) == 0
    edited = tmp_path / "chart" / "eventsub.io_eventtopics.yaml"
    edited.write_text(edited.read_text().replace("partitions", "partition", 1))
    assert crdgen.main(["--check"]) == 1
    edited.unlink()
    assert crdgen.main(["--check"]) == 1


def test_output_is_deterministic() -> None:
    assert [crdgen.render(r) for r in RESOURCES] == [crdgen.render(r) for r in RESOURCES]


@pytest.mark.parametrize("resource", RESOURCES, ids=lambda r: r.kind)
def test_schema_is_structural_and_documented(resource: Any) -> None:
    for path, node in _walk(_openapi(resource)):
        assert not {"$ref", "anyOf", "oneOf", "allOf", "title", "$defs"} & set(node), path
        assert node.get("additionalProperties") is not False, path
        assert "type" in node or node.get("x-kubernetes-preserve-unknown-fields"), path
        if (path.count(".") >= 2 and not path.endswith(("[]", "[*]"))) or path in (".spec", ".status"):
            assert node.get("description"), f"{resource.kind}{path} has no description"
        if path.startswith(".status"):
            assert "default" not in node, path


@pytest.mark.parametrize("resource", RESOURCES, ids=lambda r: r.kind)
def test_crd_names_columns_and_category(resource: Any) -> None:
    spec = crdgen.crd(resource)["spec"]
    assert spec["names"]["categories"] == ["eventsub"]
    assert spec["names"]["shortNames"] == list(resource.short_names)
    version = spec["versions"][0]
    assert version["subresources"] == {"status": {}}
    assert {c["name"] for c in version["additionalPrinterColumns"]} >= {"Age"}


def test_schema_defaults_equal_model_defaults() -> None:
    scaling = _openapi(RESOURCES[2])["properties"]["spec"]["properties"]["scaling"]
    assert scaling["default"] == {}
    from eventsub.api.subscription import ScalingPolicy
    for name, field in ScalingPolicy.model_fields.items():
        alias = field.alias or name
        schema_default = scaling["properties"][alias].get("default")
        assert schema_default == field.default, alias


def test_a_field_without_description_is_refused() -> None:
    class Undocumented(ApiModel):
        """A model."""
        size: int = 1

    with pytest.raises(crdgen.SchemaError, match="description"):
        crdgen.structural(Undocumented.model_json_schema(), {}, "spec", status=False)


def test_exclusive_bounds_are_refused() -> None:
    class Exclusive(ApiModel):
        """A model."""
        size: Annotated[int, Field(gt=0)] = 1
        """A size."""

    with pytest.raises(crdgen.SchemaError, match="ge/le"):
        crdgen.structural(Exclusive.model_json_schema(), {}, "spec", status=False)
