from __future__ import annotations

import dataclasses

import pytest

from eventsub.config import OperatorConfig


def test_defaults_watch_all_namespaces_with_plain_logs_and_leader_election() -> None:
    config = OperatorConfig.from_env({})
    assert dataclasses.replace(config, identity="x") == OperatorConfig(
        namespaces=(), log_format="plain", verbose=False, identity="x")
    assert config.leader_election and config.lease_duration_seconds == 12


def test_identity_is_the_pod_name_and_unique_per_process() -> None:
    env = {"EVENTSUB_POD_NAME": "eventsub-operator-7d9f-abcde"}
    first, second = OperatorConfig.from_env(env), OperatorConfig.from_env(env)
    assert first.identity.startswith("eventsub-operator-7d9f-abcde_")
    assert first.identity != second.identity


def test_lease_settings_come_from_the_environment() -> None:
    config = OperatorConfig.from_env({"EVENTSUB_LEADER_ELECTION": "false", "EVENTSUB_LEASE_NAME": "l",
                                      "EVENTSUB_LEASE_NAMESPACE": "ops",
                                      "EVENTSUB_LEASE_DURATION_SECONDS": "20"})
    assert (config.leader_election, config.lease_name, config.lease_namespace,
            config.lease_duration_seconds) == (False, "l", "ops", 20)


@pytest.mark.parametrize(("name", "value", "message"), [
    ("EVENTSUB_LEADER_ELECTION", "maybe", "EVENTSUB_LEADER_ELECTION must be true or false"),
    ("EVENTSUB_VERBOSE", "2", "EVENTSUB_VERBOSE must be true or false"),
    ("EVENTSUB_METRICS_PORT", "http", "EVENTSUB_METRICS_PORT must be a port number"),
    ("EVENTSUB_METRICS_PORT", "70000", "EVENTSUB_METRICS_PORT must be a port number"),
    ("EVENTSUB_LEASE_DURATION_SECONDS", "0", "EVENTSUB_LEASE_DURATION_SECONDS must be a positive"),
    ("EVENTSUB_LEASE_DURATION_SECONDS", "3", r"seconds \(at least 4\), not '3'"),
])
def test_bad_settings_are_refused_by_name(name: str, value: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        OperatorConfig.from_env({name: value})


def test_namespace_list_is_trimmed_and_empty_entries_dropped() -> None:
    config = OperatorConfig.from_env({"EVENTSUB_NAMESPACES": " team-a, ,team-b ,"})
    assert config.namespaces == ("team-a", "team-b")


@pytest.mark.parametrize(("value", "expected"), [("JSON", "json"), ("plain", "plain")])
def test_log_format_is_case_insensitive(value: str, expected: str) -> None:
    assert OperatorConfig.from_env({"EVENTSUB_LOG_FORMAT": value}).log_format == expected


def test_unknown_log_format_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match="EVENTSUB_LOG_FORMAT must be 'plain' or 'json'"):
        OperatorConfig.from_env({"EVENTSUB_LOG_FORMAT": "xml"})


def test_lag_cycles_read_the_groups_from_consumer_offsets_unless_turned_off() -> None:
    assert OperatorConfig.from_env({}).offsets_log
    assert not OperatorConfig.from_env({"EVENTSUB_OFFSETS_LOG": "false"}).offsets_log
    assert OperatorConfig.from_env({"EVENTSUB_OFFSETS_LOG": "true"}).offsets_log
