"""Shared building blocks of the API: the model base class, references, conditions.

Python attributes are snake_case; the API (aliases) is camelCase. Attribute docstrings are the
field descriptions that `kubectl explain` prints, so every field must have one (crdgen enforces it).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic.alias_generators import to_camel

GROUP = "eventsub.io"
VERSION = "v1alpha1"
API_VERSION = f"{GROUP}/{VERSION}"

# A Kubernetes object name (DNS-1123 subdomain).
ObjectName = Annotated[str, Field(min_length=1, max_length=253,
                                  pattern=r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$")]
# A Kafka topic name: legal characters and length as Kafka enforces them.
TopicName = Annotated[str, Field(min_length=1, max_length=249, pattern=r"^[a-zA-Z0-9._-]+$")]


def cel(rule: str, message: str, field_path: str | None = None,
        reason: str | None = None) -> dict[str, str]:
    """One x-kubernetes-validations entry."""
    entry = {"rule": rule, "message": message}
    if field_path:
        entry["fieldPath"] = field_path
    if reason:
        entry["reason"] = reason
    return entry


def validations(*rules: dict[str, str]) -> dict[str, Any]:
    return {"x-kubernetes-validations": list(rules)}


def spec_errors(error: ValidationError) -> str:
    """A spec's validation errors, each naming its field (spec.x.y: what is wrong)."""
    return "; ".join(f"spec.{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in error.errors())


class ApiModel(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="forbid",
        use_attribute_docstrings=True, frozen=True,
    )

    def to_api(self) -> dict[str, Any]:
        """The camelCase document as the API server stores it, without unset optionals."""
        return self.model_dump(by_alias=True, exclude_none=True, mode="json")


class StatusModel(ApiModel):
    # Status is written by the operator and may carry fields a newer operator added.
    model_config = ConfigDict(extra="ignore")


class LocalObjectReference(ApiModel):
    """A reference to an object in the same namespace."""

    name: ObjectName
    """Name of the referenced object, in the same namespace."""


class SecretKeySelector(ApiModel):
    """One key of a Secret in the same namespace."""

    name: ObjectName
    """Name of the Secret, in the same namespace as this resource."""
    key: Annotated[str, Field(min_length=1, max_length=253, pattern=r"^[-._a-zA-Z0-9]+$")]
    """Key within the Secret's data."""


class ConfigMapKeySelector(ApiModel):
    """One key of a ConfigMap in the same namespace."""

    name: ObjectName
    """Name of the ConfigMap, in the same namespace as this resource."""
    key: Annotated[str, Field(min_length=1, max_length=253, pattern=r"^[-._a-zA-Z0-9]+$")]
    """Key within the ConfigMap's data."""


class Condition(StatusModel):
    """The state of one aspect of the resource (metav1.Condition)."""

    type: Annotated[str, Field(max_length=316)]
    """Type of condition in CamelCase, e.g. Ready."""
    status: Literal["True", "False", "Unknown"]
    """Status of the condition: True, False or Unknown."""
    reason: Annotated[str, Field(max_length=1024)]
    """Machine-readable CamelCase reason for the last transition."""
    message: Annotated[str, Field(max_length=32768)] = ""
    """Human-readable explanation of the last transition."""
    observed_generation: Annotated[int, Field(ge=0)] | None = None
    """The metadata.generation that the condition was set for."""
    last_transition_time: Annotated[str, Field(json_schema_extra={"format": "date-time"})]
    """When the condition last changed status (RFC 3339)."""


class ConditionsStatus(StatusModel):
    """A status part with conditions. The list is a map keyed by type, so each writer owns its
    own condition types (server-side apply merges entries by type) and none can undo another's."""

    conditions: Annotated[list[Condition], Field(
        max_length=16,
        json_schema_extra={"x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["type"]},
    )] = []
    """Current conditions of the resource; Ready (Succeeded for EventReplay) summarizes them."""


class CommonStatus(ConditionsStatus):
    """Fields every resource's status carries, written by the resource's reconciler."""

    observed_generation: Annotated[int, Field(ge=0)] | None = None
    """The metadata.generation the operator last reconciled."""
