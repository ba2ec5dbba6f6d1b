"""metav1.Condition bookkeeping: a transition time that moves only when the status does."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

from eventsub.api.base import Condition


def condition(previous: Condition | None, *, type_: str, ok: bool | None, reason: str,
              message: str, generation: int | None, now: str) -> Condition:
    """The condition `type_` as it is now (ok None: Unknown); its lastTransitionTime is kept
    from `previous` while the status stays the same."""
    status: Literal["True", "False", "Unknown"] = "Unknown" if ok is None else "True" if ok else "False"
    transition = (previous.last_transition_time
                  if previous is not None and previous.status == status else now)
    return Condition(type=type_, status=status, reason=reason, message=message,
                     observed_generation=generation, last_transition_time=transition)


def find(conditions: Iterable[Condition], type_: str) -> Condition | None:
    return next((c for c in conditions if c.type == type_), None)


def is_true(conditions: Iterable[Condition], type_: str) -> bool:
    found = find(conditions, type_)
    return found is not None and found.status == "True"

