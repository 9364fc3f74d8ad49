"""What the checkers read: the story's body text, positioned in the author's own file.

``Document.body`` is ``Story.text`` with every character outside the story's paragraphs
(header block, titles, scene-break markers) replaced by a space, so an offset into
``body`` is an offset into the decoded source and whole-text regular expressions can run
at C speed without finding anything in the header.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import accumulate

from ..model import Finding, Story

WORD = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)*")
"""A word: letters, with apostrophes inside (don't, D'Hoffryn, Buffy's)."""

TOKENS = re.compile(r"([^\W\d_]+(?:['’][^\W\d_]+)*)")
"""``WORD`` as a capture group: ``TOKENS.split`` gives what lies between the words too."""

CHUNK_SIZE = 1 << 16


class Chunk:
    """A stretch of ``Document.body`` cut at a blank line, tokenised once:
    ``parts[0::2]`` are the gaps, ``parts[1::2]`` (``words``) the words, so word ``j`` is
    ``parts[2 * j + 1]``, with ``parts[2 * j]`` before it and ``parts[2 * j + 2]`` after."""

    __slots__ = ("_low", "end", "parts", "start", "words")

    def __init__(self, start: int, end: int, text: str) -> None:
        self.start = start
        self.end = end
        self.parts: list[str] = TOKENS.split(text)
        self.words: list[str] = self.parts[1::2]
        self._low: list[str] | None = None

    @property
    def low(self) -> list[str]:
        """The words in lower case (computed once, shared by the checkers)."""
        if self._low is None:
            self._low = list(map(str.lower, self.words))
        return self._low

    def offsets(self, words: list[int]) -> list[int]:
        """Body offsets of the words with these (ascending) indices."""
        out = []
        parts = self.parts
        pos = self.start
        prev = 0
        for j in words:
            i = 2 * j + 1
            pos += sum(map(len, parts[prev:i]))
            prev = i
            out.append(pos)
        return out


@dataclass
class Document:
    name: str
    text: str
    """The decoded source text (``\\n`` line ends)."""
    body: str
    """``text`` with everything that is not story prose blanked out (same length)."""
    paragraphs: list[tuple[int, int]]
    """[start, end) offsets of each paragraph's source span, in order."""
    language: str = "en"
    line_starts: list[int] = field(default_factory=list)

    def position(self, offset: int) -> tuple[int, int]:
        """(line, column), both 1-based, of a character offset."""
        i = bisect_right(self.line_starts, offset) - 1
        return i + 1, offset - self.line_starts[i] + 1

    def chunks(self) -> Iterator[Chunk]:
        """The body in tokenised pieces of about ``CHUNK_SIZE`` characters, each cut at a
        blank line, so that nothing a checker relates (neighbouring words, a sentence end
        and the next word) lies across two pieces; only one piece is held at a time."""
        body = self.body
        n = len(body)
        pos = 0
        while pos < n:
            end = body.find("\n\n", pos + CHUNK_SIZE)
            if end < 0:
                end = n
            yield Chunk(pos, end, body[pos:end])
            pos = end

    def finding(self, start: int, end: int, message: str, rule: str, category: str,
                suggestions: list[str] | None = None) -> Finding:
        line, col = self.position(start)
        end_line, end_col = self.position(end)
        return Finding(self.name, line, col, end_line, end_col, self.text[start:end],
                       message, rule, category, list(suggestions or []))


def document_from_text(text: str, name: str, paragraph_lines: list[tuple[int, int]],
                       language: str = "en") -> Document:
    """Build a Document from the decoded text and (first, last) 1-based line pairs."""
    line_starts = [0, *accumulate(len(line) + 1 for line in text.split("\n")[:-1])]
    line_ends = [*(s - 1 for s in line_starts[1:]), len(text)]
    spans: list[tuple[int, int]] = []
    for first, last in paragraph_lines:
        if first < 1 or last > len(line_starts) or last < first:
            continue
        spans.append((line_starts[first - 1], line_ends[last - 1]))
    spans.sort()
    parts: list[str] = []
    pos = 0
    for start, end in spans:
        if start < pos:
            start = pos
        parts.append(_blank(text[pos:start]))
        parts.append(text[start:end])
        pos = max(pos, end)
    parts.append(_blank(text[pos:]))
    body = _blank_urls("".join(parts))
    assert len(body) == len(text)
    return Document(name, text, body, spans, language, line_starts)


_URL = re.compile(r"(?:https?://|www\.)\S+|\S+@\S+\.\w+|\S+\.(?:org|com|net)\b\S*",
                  re.IGNORECASE)
"""Web and mail addresses: not prose, never checked."""
_URL_HINT = re.compile(r"://|www\.|@|\.(?:org|com|net)", re.IGNORECASE)
"""What every ``_URL`` match contains: a quick scan for the few places to look."""


def _blank_urls(body: str) -> str:
    """``_URL`` matches blanked out. A match never crosses white space, so the pattern
    (slow to try at every character) runs only on the space-free runs with a hint in them;
    the result is the same as running it over the whole body."""
    out: list[str] = []
    pos = 0
    n = len(body)
    for m in _URL_HINT.finditer(body):
        if m.start() < pos:
            continue
        start = m.start()
        while start > pos and not body[start - 1].isspace():
            start -= 1
        end = m.end()
        while end < n and not body[end].isspace():
            end += 1
        out.append(body[pos:start])
        out.append(_URL.sub(lambda u: _blank(u.group()), body[start:end]))
        pos = end
    out.append(body[pos:])
    return "".join(out)


def _blank(s: str) -> str:
    """Same length, newlines kept, everything else a space."""
    return "\n".join(" " * len(line) for line in s.split("\n"))


def document_from_story(story: Story, language: str = "en") -> Document:
    lines = [(p.start_line, p.end_line) for p in story.paragraphs()]
    return document_from_text(story.text, story.source_name, lines, language)
