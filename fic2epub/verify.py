"""Read a written EPUB back and check that every word of the story is there, in order.

The book is opened with ebooklib's reader and its pages are parsed with BeautifulSoup,
independently of how fic2epub wrote them. Words are runs of letters and digits; markup
tags such as BBCode ``[i]`` are not words.
"""

from __future__ import annotations

import io
import re
import unicodedata
import warnings
from collections.abc import Iterable

from bs4 import BeautifulSoup
from ebooklib import ITEM_DOCUMENT, epub

from .errors import VerificationError
from .model import Story

_WORD = re.compile(r"[^\W_]+")
_TAGS = re.compile(r"\[/?(?:i|b|em|u)\]", re.IGNORECASE)


def words(text: str) -> list[str]:
    text = unicodedata.normalize("NFC", _TAGS.sub(" ", text))
    return [w.casefold() for w in _WORD.findall(text)]


def source_words(story: Story) -> list[tuple[str, int]]:
    """The story's words as the book must hold them: source lines not omitted."""
    omitted = {n for o in story.omissions for n in range(o.start_line, o.end_line + 1)}
    out: list[tuple[str, int]] = []
    for no, line in enumerate(story.text.split("\n"), 1):
        if no not in omitted:
            out.extend((w, no) for w in words(line))
    return out


def read_pages(data: bytes) -> list[tuple[str, str]]:
    """(file name, text) of each spine document, in reading order."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        book = epub.read_epub(io.BytesIO(data), {"ignore_ncx": True})
    pages = []
    for idref, _linear in book.spine:
        item = book.get_item_with_id(idref)
        if item is None or item.get_type() != ITEM_DOCUMENT:
            continue
        soup = BeautifulSoup(item.get_content(), "lxml-xml")
        body = soup.find("body")
        pages.append((item.get_name(), body.get_text(" ") if body else ""))
    return pages


def book_story_words(data: bytes) -> list[str]:
    out: list[str] = []
    for name, text in read_pages(data):
        if "/chapter-" in f"/{name}":
            out.extend(words(text))
    return out


def first_difference(expected: Iterable[tuple[str, int]], actual: list[str]) -> str | None:
    exp = list(expected)
    for i, (word, line) in enumerate(exp):
        if i >= len(actual):
            return f"word {word!r} from line {line} is missing from the book"
        if actual[i] != word:
            return (f"word {i + 1} differs: source has {word!r} (line {line}), "
                    f"the book has {actual[i]!r}")
    if len(actual) > len(exp):
        extra = len(actual) - len(exp)
        return f"the book has {extra} word(s) not in the source: {actual[len(exp)]!r}"
    return None


def check_words(story: Story, data: bytes) -> None:
    """Raise :class:`VerificationError` unless the book's story pages hold exactly the
    source's words, in order."""
    problem = first_difference(source_words(story), book_story_words(data))
    if problem:
        raise VerificationError(f"verification failed: {problem}")
