"""The local stack finds a Java 21+ runtime for the schema registry by the version it reports,
and says clearly what is missing when there is none."""

from __future__ import annotations

from pathlib import Path

import pytest

from localstack.errors import StackError
from localstack.registry import find_java, java_major


def _jdk(root: Path, name: str, version: str) -> Path:
    java = root / name / "bin" / "java"
    java.parent.mkdir(parents=True)
    java.write_text(f"#!/bin/sh\necho 'openjdk version \"{version}\" 2026-01-01' >&2\n")
    java.chmod(0o755)
    return java


@pytest.fixture(autouse=True)
def _no_java_around(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty-path"))
    monkeypatch.delenv("JAVA_HOME", raising=False)
    monkeypatch.delenv("EVENTSUB_REGISTRY_JAVA_HOME", raising=False)


def test_the_newest_java_21_or_later_is_chosen(tmp_path: Path) -> None:
    _jdk(tmp_path, "java-17-openjdk", "17.0.15")
    _jdk(tmp_path, "temurin-21", "21.0.4")
    newest = _jdk(tmp_path, "temurin-25-jdk", "25.0.3")
    assert find_java([tmp_path]) == newest
    assert java_major(newest) == 25


def test_an_old_java_is_named_in_the_error(tmp_path: Path) -> None:
    _jdk(tmp_path, "java-17-openjdk", "17.0.15")
    _jdk(tmp_path, "java-8", "1.8.0_402")
    with pytest.raises(StackError) as refused:
        find_java([tmp_path])
    message = str(refused.value)
    assert "needs Java 21 or newer" in message
    assert "java-17-openjdk (17)" in message and "java-8 (8)" in message
    assert "EVENTSUB_REGISTRY_JAVA_HOME" in message


def test_an_explicit_home_counts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    chosen = _jdk(tmp_path / "elsewhere", "jdk", "22")
    monkeypatch.setenv("EVENTSUB_REGISTRY_JAVA_HOME", str(chosen.parent.parent))
    assert find_java([tmp_path / "nothing"]) == chosen
