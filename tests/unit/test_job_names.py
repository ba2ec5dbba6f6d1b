"""The names and labels of a replay's Job: valid for any EventReplay name (up to 253 characters)."""

from __future__ import annotations

import re

import pytest

from eventsub.core.job import job_name, label_safe

LABEL = re.compile(r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$")


@pytest.mark.parametrize(("name", "expected"), [
    ("bounded", "bounded-replay"),
    ("a" * 56, "a" * 56 + "-replay"),  # 63 characters: kept as it is
])
def test_short_names_are_kept(name: str, expected: str) -> None:
    assert job_name(name) == expected


@pytest.mark.parametrize("length", [57, 62, 63, 64, 200, 253])
@pytest.mark.parametrize("filler", ["a", "a-", "a."])
def test_long_names_are_cut_to_a_valid_unique_label(length: int, filler: str) -> None:
    name = (filler * length)[:length - 1] + "z"
    for value in (job_name(name), label_safe(name)):
        assert len(value) <= 63 and LABEL.match(value), value
    assert job_name(name).endswith("-replay")
    assert job_name(name) != job_name(name[:-1] + "y")  # same prefix, another replay
