"""The fuzz generator's own promises, checked without a stack: what it calls valid is valid for
the API models (the source of the CRDs), names never collide, and a seed reproduces a run."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from api_fuzz import ACCEPTED, REFUSED, Generator, World
from eventsub.api.resources import RESOURCES

WORLD = World(namespace="t-0123456789", tag="0123456789", bootstrap="127.0.0.1:9092",
              sasl_bootstrap="127.0.0.1:9093", sasl_username="user", sasl_password="secret")
SPECS = {r.kind: r.spec for r in RESOURCES}


@settings(max_examples=25, deadline=None)
@given(st.integers(min_value=0, max_value=2**32 - 1))
def test_what_the_generator_calls_acceptable_is_valid_for_the_api_models(seed: int) -> None:
    cases = Generator(seed, WORLD).cases(600)
    assert len(cases) == 600
    for case in cases:
        if case.expect.admission == ACCEPTED:
            SPECS[case.kind].model_validate(case.doc["spec"])  # raises if not
        if case.expect.admission == REFUSED:
            assert case.expect.fields, case.describe()
    created = [(c.kind, c.name) for c in cases if c.expect.admission != REFUSED]
    assert len(created) == len(set(created))


def test_a_seed_reproduces_the_same_cases() -> None:
    first, again = Generator(7, WORLD).cases(600), Generator(7, WORLD).cases(600)
    assert [c.doc for c in first] == [c.doc for c in again]
    assert [c.expect for c in first] == [c.expect for c in again]
