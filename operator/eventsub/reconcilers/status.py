"""Writing a resource's status only when it changed, and the Ready-style condition with it."""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any

from eventsub.core.conditions import find, set_condition
from eventsub.kube.objects import ObjectRef, patch_status, post_event


def now_rfc3339() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def with_condition(body: Mapping[str, Any], facts: Mapping[str, Any], *, type_: str = "Ready",
                   ok: bool | None, reason: str, message: str) -> dict[str, Any]:
    """The new status: the observed facts plus the condition, at the body's generation."""
    old = body.get("status") or {}
    generation = body["metadata"].get("generation")
    conditions = set_condition(old.get("conditions", []), type_=type_, status=ok, reason=reason,
                               message=message, generation=generation, now=now_rfc3339())
    return {**facts, "conditions": conditions, "observedGeneration": generation}


async def write_status(ref: ObjectRef, body: Mapping[str, Any], status: Mapping[str, Any]) -> bool:
    """Patches the given status fields if any differs from the body's (others are left as they
    are: the reconciler and the scaler each write their own)."""
    old = body.get("status") or {}
    if all(old.get(k) == v for k, v in status.items()):
        return False
    return await patch_status(ref, dict(status))


async def announce_transition(ref: ObjectRef, body: Mapping[str, Any], status: Mapping[str, Any],
                              type_: str = "Ready", first_success: bool = False) -> None:
    """An Event when the condition's reason changes, so refusals and outages are visible once."""
    before = find((body.get("status") or {}).get("conditions", []), type_)
    after = find(status.get("conditions", []), type_)
    if after is None or (before is not None and before.get("reason") == after["reason"]
                         and before.get("status") == after["status"]):
        return
    if before is None and after["status"] == "True" and not first_success:
        return  # the first success is announced by the action that achieved it
    await post_event(ref, "Warning" if after["status"] == "False" else "Normal", after["reason"],
                     after["message"])
