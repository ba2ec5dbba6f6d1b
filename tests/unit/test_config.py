from __future__ import annotations

import pytest

from eventsub.config import OperatorConfig


def test_defaults_watch_all_namespaces_with_plain_logs() -> None:
    config = OperatorConfig.from_env({})
    assert config == OperatorConfig(namespaces=(), log_format="plain", verbose=False)


def test_namespace_list_is_trimmed_and_empty_entries_dropped() -> None:
    config = OperatorConfig.from_env({"EVENTSUB_NAMESPACES": " team-a, ,team-b ,"})
    assert config.namespaces == ("team-a", "team-b")


@pytest.mark.parametrize(("value", "expected"), [("JSON", "json"), ("plain", "plain")])
def test_log_format_is_case_insensitive(value: str, expected: str) -> None:
    assert OperatorConfig.from_env({"EVENTSUB_LOG_FORMAT": value}).log_format == expected


def test_unknown_log_format_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match="EVENTSUB_LOG_FORMAT must be 'plain' or 'json'"):
        OperatorConfig.from_env({"EVENTSUB_LOG_FORMAT": "xml"})
