"""What the checkers read: the story's body text, positioned in the author's own file.

``Document.body`` is ``Story.text`` with every character outside the story's paragraphs
(header block, titles, scene-break markers) replaced by a space, so an offset into
``body`` is an offset into the decoded source and whole-text regular expressions can run
at C speed without finding anything in the header.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass, field

from ..model import Finding, Story

WORD = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)*")
"""A word: letters, with apostrophes inside (don't, D'Hoffryn, Buffy's)."""


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

    def finding(self, start: int, end: int, message: str, rule: str, category: str,
                suggestions: list[str] | None = None) -> Finding:
        line, col = self.position(start)
        end_line, end_col = self.position(end)
        return Finding(self.name, line, col, end_line, end_col, self.text[start:end],
                       message, rule, category, list(suggestions or []))


def document_from_text(text: str, name: str, paragraph_lines: list[tuple[int, int]],
                       language: str = "en") -> Document:
    """Build a Document from the decoded text and (first, last) 1-based line pairs."""
    line_starts = [0]
    for m in re.finditer("\n", text):
        line_starts.append(m.end())
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
    body = _URL.sub(lambda m: _blank(m.group()), "".join(parts))
    assert len(body) == len(text)
    return Document(name, text, body, spans, language, line_starts)


_URL = re.compile(r"(?:https?://|www\.)\S+|\S+@\S+\.\w+|\S+\.(?:org|com|net)\b\S*",
                  re.IGNORECASE)
"""Web and mail addresses: not prose, never checked."""


def _blank(s: str) -> str:
    """Same length, newlines kept, everything else a space."""
    return re.sub(r"[^\n]", " ", s)


def document_from_story(story: Story, language: str = "en") -> Document:
    lines = [(p.start_line, p.end_line) for p in story.paragraphs()]
    return document_from_text(story.text, story.source_name, lines, language)
