"""What cannot be done as the spec asks: a CamelCase reason and a message a person understands."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Refusal:
    reason: str
    message: str
