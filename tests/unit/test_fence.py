"""The write fence refuses writes while the installed check says this process may not act."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from eventsub import fence


@pytest.fixture(autouse=True)
def restore() -> Iterator[None]:
    yield
    fence.install(lambda: True)


def test_writes_pass_by_default_and_while_leading() -> None:
    fence.check("scaling a Deployment")
    fence.install(lambda: True)
    fence.check("scaling a Deployment")


def test_a_write_without_a_current_lease_is_refused_naming_it() -> None:
    leading = [True]
    fence.install(lambda: leading[0])
    fence.check("moving group offsets")
    leading[0] = False
    with pytest.raises(fence.NotLeading, match="moving group offsets refused"):
        fence.check("moving group offsets")
