"""`python -m eventsub.consumer module:function`: how the handler is named and found."""

from __future__ import annotations

import pytest

from eventsub.consumer import load_handler, log_message


def test_a_handler_is_found_by_module_and_function() -> None:
    assert load_handler("eventsub.consumer:log_message") is log_message


@pytest.mark.parametrize("spec", ["eventsub.consumer", ":log_message", "eventsub.consumer:"])
def test_a_malformed_handler_name_says_what_it_should_look_like(spec: str) -> None:
    with pytest.raises(SystemExit, match=r"package\.module:function"):
        load_handler(spec)


def test_a_missing_function_is_an_error_naming_it() -> None:
    with pytest.raises(AttributeError, match="no_such_handler"):
        load_handler("eventsub.consumer:no_such_handler")
