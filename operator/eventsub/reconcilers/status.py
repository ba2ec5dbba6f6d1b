"""Writing one writer's part of a resource's status, only when it changed, and the Events that
announce a condition's transitions."""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, TypeVar

from eventsub import metrics
from eventsub.api.base import Condition, ConditionsStatus, StatusModel
from eventsub.core.conditions import condition, find
from eventsub.core.status import StatusWriter, document, needs_write
from eventsub.kube.api import Kube
from eventsub.kube.objects import ObjectRef

S = TypeVar("S", bound=StatusModel)


def now_rfc3339() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def stored(body: Mapping[str, Any]) -> Mapping[str, Any]:
    """The status as the API server has it (as last seen by the cache)."""
    return body.get("status") or {}


def read_status(body: Mapping[str, Any], model: type[S]) -> S:
    """The stored status as a model; an unreadable one counts as empty (the next write repairs it)."""
    try:
        return model.model_validate(stored(body))
    except ValueError:
        return model()


def generation(body: Mapping[str, Any]) -> int | None:
    value = body["metadata"].get("generation")
    return int(value) if value is not None else None


def updated_condition(body: Mapping[str, Any], type_: str, ok: bool | None, reason: str,
                      message: str) -> Condition:
    """The condition as it is now, at the body's generation; its transition time is kept while
    its status stays the same."""
    previous = find(read_status(body, ConditionsStatus).conditions, type_)
    return condition(previous, type_=type_, ok=ok, reason=reason, message=message,
                     generation=generation(body), now=now_rfc3339())


async def write_part(kube: Kube, writer: StatusWriter, ref: ObjectRef, body: Mapping[str, Any],
                       status: StatusModel, ignore_messages: bool = False) -> bool:
    """Applies the writer's part when it differs from the stored one; True if it was sent and
    the object exists."""
    if not needs_write(writer, stored(body), status, ignore_messages):
        return False
    metrics.STATUS_WRITES.labels(ref.kind, writer.manager).inc()
    return await kube.apply_status(ref, writer.manager, document(writer, status))


async def announce_transition(kube: Kube, ref: ObjectRef, body: Mapping[str, Any], after: Condition,
                              first_success: bool = False) -> None:
    """An Event when a condition's reason or status changes, so refusals and outages are
    visible once."""
    before = find(read_status(body, ConditionsStatus).conditions, after.type)
    if before is not None and before.reason == after.reason and before.status == after.status:
        return
    if before is None and after.status == "True" and not first_success:
        return  # the first success is announced by the action that achieved it
    await kube.post_event(ref, "Warning" if after.status == "False" else "Normal", after.reason,
                     after.message)
