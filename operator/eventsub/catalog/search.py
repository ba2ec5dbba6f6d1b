"""Finding events by name, owner or schema field.

A query is words; an event matches when every word is found (case-insensitive, anywhere in the
text) in its name (Kafka topic, EventTopic namespace/name), its owner, or one of its schema's
field paths. A word can be limited to one of them: `owner:payments`, `field:customer.id`,
`name:orders`."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from eventsub.catalog.schema_fields import schema_fields
from eventsub.core.catalog_snapshot import EventEntry

MAX_WORDS = 8
MAX_QUERY = 200
PLACES = ("name", "owner", "field")


@dataclass(frozen=True)
class Word:
    text: str  # lower case
    place: str | None = None  # one of PLACES, or anywhere


@dataclass(frozen=True)
class Match:
    entry: EventEntry
    reasons: tuple[str, ...]  # what matched, e.g. "owner", "field customer.id"


def parse(query: str) -> tuple[Word, ...]:
    words = []
    for raw in query[:MAX_QUERY].lower().split()[:MAX_WORDS]:
        place, _, rest = raw.partition(":")
        if rest and place in PLACES:
            words.append(Word(rest, place))
        else:
            words.append(Word(raw))
    return tuple(words)


def search(events: Iterable[EventEntry], query: str) -> list[Match]:
    """The events matching every word, in the order given; all of them for an empty query."""
    words = parse(query)
    matches = []
    for entry in events:
        reasons = match(entry, words)
        if reasons is not None:
            matches.append(Match(entry, reasons))
    return matches


def match(entry: EventEntry, words: tuple[Word, ...]) -> tuple[str, ...] | None:
    """Why the event matches every word (one reason per word), or None."""
    reasons = []
    for word in words:
        reason = _first_reason(entry, word)
        if reason is None:
            return None
        reasons.append(reason)
    return tuple(dict.fromkeys(reasons))


def _first_reason(entry: EventEntry, word: Word) -> str | None:
    if word.place in (None, "name") and any(
            word.text in name.lower() for name in (entry.topic, entry.key)):
        return "name"
    if word.place in (None, "owner") and entry.owner and word.text in entry.owner.lower():
        return "owner"
    if word.place in (None, "field"):
        for found in schema_fields(entry.schema).fields:
            if word.text in found.path.lower():
                return f"field {found.path}"
    return None
