"""The cleaner's fast paths give what the plain code would."""

from __future__ import annotations

import dataclasses
import pickle
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from pytest import MonkeyPatch

from fic2epub.clean import PARAGRAPH_BREAK, Origin, _change, clean_paragraph, clean_texts
from fic2epub.model import Change, Changes, CleanOptions

DECODE_FIXERS = {"mojibake", "control-chars", "mangled-quotes"}


def test_fast_change_is_a_change() -> None:
    args = ("quotes", 12, 7, '"', "“")
    fast, plain = _change(*args), Change(*args)
    assert type(fast) is Change
    assert fast == plain and hash(fast) == hash(plain) and repr(fast) == repr(plain)
    assert vars(fast) == vars(plain)  # every field, so a field added to Change fails here
    assert dataclasses.asdict(fast) == dataclasses.asdict(plain)
    assert pickle.loads(pickle.dumps(fast)) == plain


PIECES = st.sampled_from([
    "word", "It's", "'em", "'90s", '"', "'", "`", "``", "''", " ", "  ", "\t", "\u3000", "--",
    "---", "----", "...", ". . .", "....", "*", "**", "_", "[i]", "[/i]", "[b]", ",", ".",
    "(", "\n", "—", "“", "’", PARAGRAPH_BREAK,
])
TEXTS = st.lists(st.lists(PIECES, max_size=25).map("".join), max_size=8)
OPTIONS = st.sampled_from([CleanOptions(), CleanOptions(frozenset({"quotes"})),
                           CleanOptions(frozenset({"whitespace", "emphasis"}))])


@settings(max_examples=300, deadline=None)
@given(TEXTS, OPTIONS)
def test_body_at_once_is_paragraph_by_paragraph(texts: list[str], options: CleanOptions) -> None:
    """clean_texts (every paragraph in one pass per fixer) gives each paragraph's text,
    emphasis and changes exactly as clean_paragraph does, in paragraph order; a text that
    holds the break character itself is cleaned alone."""

    def origin(k: int, text: str) -> list[Origin]:
        return [(k + 1, col) for col in range(1, len(text) + 1)]

    def sources(ks: list[int], offsets: list[int]) -> list[Origin]:
        return [origin(k, texts[k])[offset] for k, offset in zip(ks, offsets, strict=True)]

    body = clean_texts(texts, sources, options)
    alone = [clean_paragraph(text, origin(k, text), options) for k, text in enumerate(texts)]
    assert body.texts == [p.text for p in alone]
    assert body.emphasis == [p.emphasis for p in alone]
    assert body.changes == [c for p in alone for c in p.changes]


def test_huge_bodies_are_cleaned_in_parts_with_the_same_result(monkeypatch) -> None:
    """A body longer than ``_CLEAN_PART`` is cleaned run by run of paragraphs (bounded
    memory): same texts, emphasis and changes, with the same source positions."""
    from fic2epub import structure
    from fic2epub.pipeline import parse

    data = (Path(__file__).resolve().parent.parent / "input" / "the_lantern_keeper.txt"
            ).read_bytes()
    whole = parse(data, "t.txt")
    monkeypatch.setattr(structure, "_CLEAN_PART", 300)  # a few paragraphs a part
    parts = parse(data, "t.txt")
    assert parts.chapters == whole.chapters
    assert parts.changes == whole.changes and len(whole.changes) > 20


STORY = (b'Title: Noted\nAuthor: Tester\n\n"Come in," she said -- and he didn\'t... \n\n'
         b'It was *late*.  "Very late."\n')


def test_changes_are_worked_out_only_when_read(monkeypatch: MonkeyPatch) -> None:
    from fic2epub import clean
    from fic2epub.pipeline import convert

    made: list[Change] = []

    def counting(*args: Any) -> Change:
        made.append(Change(*args))
        return made[-1]

    monkeypatch.setattr(clean, "_change", counting)
    story = convert(STORY, "noted.txt").story
    assert made == []  # a build never reads them
    changes = story.changes
    assert isinstance(changes, Changes)
    assert {c.fixer for c in changes} >= {"quotes", "dashes", "ellipses", "emphasis"}
    assert len(made) == len(changes) - len([c for c in changes if c.fixer in DECODE_FIXERS])
    count = len(made)
    assert sorted(map(repr, changes)) == sorted(map(repr, made + [
        c for c in changes if c.fixer in DECODE_FIXERS]))
    assert len(made) == count  # worked out once
    first = next(c for c in changes if c.fixer == "quotes")
    assert (first.line, first.column, first.before, first.after) == (4, 1, '"', "“")


def test_changes_read_like_a_list() -> None:
    from fic2epub.pipeline import parse

    changes = parse(STORY, "noted.txt").changes
    items = list(changes)
    assert changes == items and items == changes and changes != items[:-1]
    assert changes[0] == items[0] and changes[-2:] == items[-2:] and len(changes) == len(items)
    assert pickle.loads(pickle.dumps(changes)) == items
    assert Changes.later(items[:2], lambda: items[2:]) == items
    assert repr(Changes(items[:1])) == f"Changes({items[:1]!r})"
