"""The page's addresses, built in one place (names are quoted; keys keep their slash)."""

from __future__ import annotations

from urllib.parse import quote, urlencode

ROOT = "/catalog"


def event_href(key: str) -> str:
    return f"{ROOT}/events/{quote(key, safe='/')}"


def graph_href(namespace: str | None = None) -> str:
    return f"{ROOT}/graph/{quote(namespace, safe='')}" if namespace else f"{ROOT}/graph"


def list_href(query: str = "", namespace: str = "", flagged: bool = False, page: int = 1) -> str:
    params = {k: v for k, v in (("q", query), ("ns", namespace), ("flagged", "1" if flagged else ""),
                                ("page", str(page) if page > 1 else "")) if v}
    return f"{ROOT}?{urlencode(params)}" if params else ROOT
