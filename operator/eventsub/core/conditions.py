"""metav1.Condition bookkeeping: a transition time that moves only when the status does."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

Condition = dict[str, Any]


def set_condition(conditions: Sequence[Mapping[str, Any]], *, type_: str, status: bool | None,
                  reason: str, message: str, generation: int | None, now: str) -> list[Condition]:
    """Returns the conditions with `type_` set (status None: Unknown); others are kept, in order."""
    status_text = "Unknown" if status is None else "True" if status else "False"
    previous = find(conditions, type_)
    transition = (previous["lastTransitionTime"]
                  if previous is not None and previous.get("status") == status_text
                  and previous.get("lastTransitionTime") else now)
    updated: Condition = {"type": type_, "status": status_text, "reason": reason,
                          "message": message, "lastTransitionTime": transition}
    if generation is not None:
        updated["observedGeneration"] = generation
    result = [dict(c) for c in conditions if c.get("type") != type_]
    index = next((i for i, c in enumerate(conditions) if c.get("type") == type_), len(result))
    result.insert(index, updated)
    return result


def find(conditions: Sequence[Mapping[str, Any]], type_: str) -> Mapping[str, Any] | None:
    return next((c for c in conditions if c.get("type") == type_), None)


def is_true(conditions: Sequence[Mapping[str, Any]], type_: str) -> bool:
    condition = find(conditions, type_)
    return condition is not None and condition.get("status") == "True"
