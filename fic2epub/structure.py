"""Body structure: lines -> paragraphs -> scenes -> chapters.

Paragraphs are separated by blank lines, by indentation, or one per line; hard-wrapped
lines are joined; verse (lines broken on purpose) keeps its line breaks. Scenes break
at runs of blank lines longer than the story's usual paragraph gap (at least two) and at
marker lines (``***``, ``* * *``, ``~~~``, ``~*~``, ``---``, ``###``, ``oOo``, ``xXx``,
rows of dots, ...). Chapter headings (``Chapter 3``, ``Part Two``, ``Prologue``,
``Epilogue``, ``# Heading``) start chapters.
"""

from __future__ import annotations

import bisect
import functools
import itertools
import math
import operator
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from .clean import CleanBody, Origin, Sources, clean_texts
from .model import Change, Chapter, CleanOptions, Omission, Paragraph, Scene

_MARKER_CHARS = r"*~#=_+\-.•·°^:<>|/\\oOxX0"
_MARKER = re.compile(
    r"^[ \t]*(?:"
    r"[*~#=_+\-.•·°^<>|/\\ \t]{1,120}"  # rows of symbols: ***, * * *, ~~~, ---, ###, .....
    r"|(?:[~*=\-. ]*)(?:o+O+o+|O+o+O+|x+X+x+|X+x+X+|oOo|xXx|OoO|XxX)(?:[~*=\-. ]*)"
    r"|[~*=\-]+\s*[oOxX+]\s*[~*=\-]+"  # ~*~, -x-, =+=
    r"|\\textbreak"
    r")[ \t]*$"
)
_HEADING = re.compile(
    r"^\W{0,4}(?:chapter|chap\.|part|book|prologue|epilogue|interlude|act|teaser|"
    r"kapitel|chapitre|cap[ií]tulo|afterword|foreword|preface)\b.{0,70}$",
    re.IGNORECASE)
_NUMBER_HEADING = re.compile(r"^\s*(?:[IVXLC]{1,7}|\d{1,3})\.?\s*$")
# A marker line's first non-space character is always one of these (a text line's seldom is).
_MARKER_FIRST = frozenset("*~#=_+-.•·°^<>|/\\oOxX")
_MD_HEADING = re.compile(r"^#{1,6}\s+\S")
_MD_PREFIX = re.compile(r"^#{1,6}\s+")
_BOLD_LINE = re.compile(r"^(\*\*|__)(.+)\1$")
_RUNS_ON = re.compile(r"[,;]\s+\w+\s+\w+")
_DOTS = re.compile(r"\.{1,2}")
_LETTER_MARK = re.compile(r"[oOxX]")
# Longest text the heading patterns can match, so longer lines skip them: up to four
# symbols, a nine-letter word and 70 more characters; a Roman or Arabic number and a dot.
_HEADING_MAX = 4 + 9 + 70
_NUMBER_HEADING_MAX = 7 + 1
_TAB = 8


def is_marker(line: str) -> bool:
    s = line.strip()
    if not s or s[0] not in _MARKER_FIRST or not _MARKER.match(line):
        return False
    if _DOTS.fullmatch(s):
        return False  # "." or ".." alone is more likely text than a break
    return not _LETTER_MARK.fullmatch(s)


def _heading_text(line: str) -> str | None:
    s = line.strip()
    if s[:1] == "#" and _MD_HEADING.match(s):
        s = _MD_PREFIX.sub("", s)
        return _BOLD_LINE.sub(r"\2", s).strip()
    bare = _BOLD_LINE.sub(r"\2", s).strip() if s[:2] in ("**", "__") else s
    if len(bare) <= _HEADING_MAX and _HEADING.match(bare) and not _RUNS_ON.search(bare) and \
            not bare.endswith((",", ";")) and len(bare.split()) <= 10:
        return bare
    if len(s) <= _NUMBER_HEADING_MAX and _NUMBER_HEADING.match(s):
        return s
    return None


@dataclass
class _Lines:
    """What the structure needs of every line, worked out once for all of them (mostly
    by C loops: ``map`` over string methods) rather than line by line in each step."""

    text: list[str]
    stripped: list[str]
    rstripped_lengths: list[int]
    indents: list[int]
    """Leading whitespace, tabs expanded."""

    @classmethod
    def of(cls, lines: list[str]) -> _Lines:
        expanded = list(map(str.expandtabs, lines, itertools.repeat(_TAB)))
        indents = list(map(operator.sub, map(len, expanded),
                           map(len, map(str.lstrip, expanded))))
        return cls(lines, list(map(str.strip, lines)), list(map(len, map(str.rstrip, lines))),
                   indents)


@dataclass
class _Block:
    start: int  # index of its first line
    end: int  # index after its last line (a block's lines follow each other)
    blank_before: int
    kind: str = "text"  # text | marker | heading
    heading: str | None = None
    chapter_title: str | None = None  # a chapter start from a later mail post


@dataclass
class Body:
    chapters: list[Chapter]
    changes: Sequence[Change] = field(default_factory=list)
    omissions: list[Omission] = field(default_factory=list)


def _blocks(lines: _Lines, omitted: set[int], chapter_starts: dict[int, str]) -> list[_Block]:
    """Runs of text lines, and marker and heading lines."""
    blocks: list[_Block] = []
    current = -1  # the first line of the text block being gathered, if any
    blank = 0
    pending_title: str | None = None
    special = omitted.union(chapter_starts)  # the line numbers to look up
    stripped = lines.stripped
    for idx, s in enumerate(stripped):
        no = idx + 1
        if no in special:
            if no in chapter_starts:
                pending_title = chapter_starts[no] or None
            if no in omitted:
                if current >= 0:
                    blocks.append(_Block(current, idx, blank))
                    current, blank = -1, 0
                continue
        if not s:
            if current >= 0:
                blocks.append(_Block(current, idx, blank))
                current, blank = -1, 0
            blank += 1
            continue
        line = lines.text[idx]
        marker = s[0] in _MARKER_FIRST and is_marker(line)
        heading = None if marker or current >= 0 else _heading_text(line)
        if marker or heading is not None:
            if current >= 0:
                blocks.append(_Block(current, idx, blank))
                current, blank = -1, 0
            kind = "marker" if heading is None else "heading"
            if kind == "heading" and idx + 1 < len(stripped) and stripped[idx + 1] and \
                    not is_marker(lines.text[idx + 1]) and idx + 1 + 1 not in omitted:
                # a heading stands alone; a line running on into text is a paragraph
                current = idx
                continue
            blk = _Block(idx, idx + 1, blank, kind, heading)
            blk.chapter_title = pending_title
            pending_title = None
            blocks.append(blk)
            blank = 0
            continue
        if current < 0:
            if pending_title is not None:
                blocks.append(_Block(idx, idx, blank, "heading", pending_title))
                blank = 0
                pending_title = None
            current = idx
    if current >= 0:
        blocks.append(_Block(current, len(stripped), blank))
    for blk in blocks:
        # "CHAPTER I." over "Down the Rabbit-Hole": a two-line heading
        if blk.kind == "text" and blk.end - blk.start == 2:
            second = stripped[blk.start + 1]
            if len(second) > 60 or second.endswith((".", ",", ";", "!", "?", '"', "”")):
                continue
            first = _heading_text(stripped[blk.start])
            if first is not None:
                blk.kind = "heading"
                blk.heading = f"{first} {second}"
    return blocks


def _wrap_width(lines: _Lines) -> int:
    lengths = sorted(lines.rstripped_lengths)
    lengths = lengths[bisect.bisect_right(lengths, 0):]  # blank lines strip to nothing
    if not lengths:
        return 80
    return max(40, lengths[int(len(lengths) * 0.95) - 1 if len(lengths) > 1 else 0])


_Part = tuple[int, int, bool]
"""A paragraph: its first line, the line after its last, and whether it is verse."""


def _split_block(lines: _Lines, block: _Block, width: int) -> list[_Part]:
    """Split a text block into paragraphs."""
    start, end = block.start, block.end
    if end - start == 1:
        return [(start, end, False)]
    indents = lines.indents[start + 1:end]
    base = min(indents)
    if max(indents) <= base + 1:
        return [(start, end, _is_verse(lines, start, end, width))]
    # indentation style: a line indented deeper than its neighbours starts a paragraph
    cuts = [k for k, indent in enumerate(indents, start + 1) if indent > base + 1]
    parts = []
    prev = start
    for k in [*cuts, end]:
        if k > prev:
            parts.append((prev, k, _is_verse(lines, prev, k, width)))
        prev = k
    return parts


def _is_verse(lines: _Lines, start: int, end: int, width: int) -> bool:
    """Were these lines broken on purpose? Hard wrapping breaks a line only when the next
    word would not fit; a break where it easily would have is a deliberate one."""
    if end - start < 2:
        return False
    room = width * 0.8
    # Only a line with room after it for a space and a letter may have been broken on
    # purpose: hard-wrapped prose seldom has enough such lines, and then needs no more.
    lengths = sorted(lines.rstripped_lengths[start:end - 1])
    if bisect.bisect_right(lengths, math.floor(room) - 2) * 2 <= end - start - 1:
        return False
    deliberate = 0
    for k in range(start, end - 1):
        if lines.stripped[k].endswith("-"):
            continue
        next_word = lines.stripped[k + 1].partition(" ")[0]
        if lines.rstripped_lengths[k] + 1 + len(next_word) <= room:
            deliberate += 1
    return deliberate * 2 > end - start - 1


def _hyphen_join(prev: str, line: str) -> bool:
    """Does ``prev`` end in a word broken by a hyphen that ``line`` finishes?
    (``super-`` + ``human`` -> ``super-human``, joined without a space)"""
    return prev.endswith("-") and len(prev) > 1 and prev[-2].isalpha() and \
        not prev.endswith("--") and line[:1].isalpha()


def _join(stripped: list[str], verse: bool) -> str:
    """Join a paragraph's stripped lines: verse keeps its line breaks, prose lines are
    joined by a space, or by nothing at a hyphen join."""
    if verse:
        return "\n".join(stripped)
    text = " ".join(stripped)
    if "- " not in text:
        return text  # no line ends in a hyphen, so there is no hyphen join
    parts = [stripped[0]]
    for prev, line in itertools.pairwise(stripped):
        if not _hyphen_join(prev, line):
            parts.append(" ")
        parts.append(line)
    return "".join(parts)


class _Sources:
    """Source (line, column) of each character of the paragraphs, joined as the cleaner
    joins them (one break character after each). Every line of a paragraph gives it the
    line's stripped text and one character more (a space, a line break or that break),
    except at a hyphen join: so where each line begins is a running sum, and bisection
    finds a character's line. A separator maps where the character before it does.
    """

    def __init__(self, lines: _Lines, paragraphs: list[_Part], texts: list[str]) -> None:
        self._lines, self._paragraphs, self._texts = lines, paragraphs, texts

    @functools.cached_property
    def _tables(self) -> tuple[list[int], list[int], list[int], list[int]]:
        """(where each paragraph starts, where each line starts, the lines, their
        stripped sizes), set up when the first position is asked for: a build never
        reads its changes (see :class:`~fic2epub.model.Changes`)."""
        lines, paragraphs, texts = self._lines, self._paragraphs, self._texts
        rows = list(itertools.chain.from_iterable(
            range(start, end) for start, end, _verse in paragraphs))
        sizes = list(map(len, map(lines.stripped.__getitem__, rows)))
        starts = [0, *itertools.accumulate(map(operator.add, sizes, itertools.repeat(1)))]
        firsts = list(itertools.accumulate(
            (end - start for start, end, _verse in paragraphs), initial=0))
        paragraph_starts = list(map(starts.__getitem__, firsts))
        # a paragraph shorter than its lines and separators has a hyphen join: no
        # separator after the line before it
        joined = [k for k, (text, start, end) in enumerate(zip(
            texts, paragraph_starts, paragraph_starts[1:], strict=False))
            if len(text) != end - start - 1]
        if joined:
            steps = [0, *map(operator.add, sizes, itertools.repeat(1))]
            for k in joined:
                parts = lines.stripped[paragraphs[k][0]:paragraphs[k][1]]
                for j, (prev, line) in enumerate(itertools.pairwise(parts), firsts[k] + 1):
                    if _hyphen_join(prev, line):
                        steps[j] -= 1
            starts = list(itertools.accumulate(steps))
            paragraph_starts = list(map(starts.__getitem__, firsts))
        return paragraph_starts, starts, rows, sizes

    def __call__(self, ks: list[int], offsets: list[int]) -> list[Origin]:
        """The source of character ``offsets[i]`` of paragraph ``ks[i]``, for each ``i``."""
        paragraph_starts, starts, rows, sizes = self._tables
        text = self._lines.text
        found = []
        for k, offset in zip(ks, offsets, strict=True):
            offset += paragraph_starts[k]
            j = bisect.bisect_right(starts, offset) - 1
            raw = text[rows[j]]
            offset -= starts[j]
            size = sizes[j]
            found.append((rows[j] + 1, len(raw) - len(raw.lstrip()) + 1 +
                          (offset if offset < size else size - 1)))
        return found


_CLEAN_PART = 1 << 18
"""Characters of paragraphs cleaned at once. A story (~20,000 characters) is one part;
a huge one is cleaned part by part, so that the cleaner's maps of edits stay small."""


def _clean_in_parts(texts: list[str], sources: Sources, options: CleanOptions) -> CleanBody:
    """:func:`~fic2epub.clean.clean_texts` over runs of paragraphs of at most
    ``_CLEAN_PART`` characters (and at least one paragraph): the same result, since each
    paragraph is cleaned as if alone, with bounded memory."""
    if sum(map(len, texts)) <= _CLEAN_PART:
        return clean_texts(texts, sources, options)
    # The parts' changes are worked out now, part by part (a lazy list would keep every
    # part's maps and the source lines alive for as long as the story).
    out = CleanBody([], [], [])
    changes: list[Change] = []
    start = 0
    while start < len(texts):
        end, size = start + 1, len(texts[start])
        while end < len(texts) and size + len(texts[end]) <= _CLEAN_PART:
            size += len(texts[end])
            end += 1

        def part_sources(ks: list[int], offsets: list[int], base: int = start) -> list[Origin]:
            return sources([k + base for k in ks], offsets)

        part = clean_texts(texts[start:end], part_sources, options)
        out.texts.extend(part.texts)
        out.emphasis.extend(part.emphasis)
        changes.extend(part.changes)
        start = end
    out.changes = changes
    return out


def build_body(lines: list[str], omitted: set[int], chapter_starts: dict[int, str],
               options: CleanOptions) -> Body:
    info = _Lines.of(lines)
    blocks = _blocks(info, omitted, chapter_starts)
    width = _wrap_width(info)
    text_gaps = [b.blank_before for b in blocks if b.kind == "text" and b.blank_before]
    usual = Counter(text_gaps).most_common(1)[0][0] if text_gaps else 1
    threshold = max(2, usual + 1)
    # A story that marks its breaks with ornaments but also has many more long blank runs
    # uses blank lines for layout, not for scene breaks.
    markers = sum(b.kind == "marker" for b in blocks)
    long_gaps = sum(g >= threshold for g in text_gaps)
    if markers >= 2 and long_gaps > 3 * markers:
        threshold = max(text_gaps) + 1

    # Every paragraph is cleaned at once, before the scenes and chapters are built.
    splits = [_split_block(info, b, width) if b.kind == "text" else [] for b in blocks]
    paragraphs = [part for parts in splits for part in parts]
    texts = [_join(info.stripped[start:end], verse) for start, end, verse in paragraphs]
    cleaned = _clean_in_parts(texts, _Sources(info, paragraphs, texts), options)
    k = 0  # the next paragraph of ``cleaned``

    body = Body(chapters=[Chapter(None, None)], changes=cleaned.changes)
    chapter = body.chapters[0]
    scene = Scene(start_line=blocks[0].start + 1 if blocks and blocks[0].end > blocks[0].start
                  else 1)
    chapter.scenes.append(scene)
    pending_break: str | None = None

    def new_scene(marker: str | None, line: int) -> Scene:
        nonlocal scene
        if scene.paragraphs:
            scene = Scene(start_line=line, marker=marker)
            chapter.scenes.append(scene)
        return scene

    for n, block in enumerate(blocks):
        if block.kind == "heading":
            if block.chapter_title and block.heading is None:
                block.heading = block.chapter_title
            no = block.start + 1 if block.end > block.start else None
            if chapter.scenes[-1].paragraphs or len(body.chapters) > 1 or chapter.title:
                chapter = Chapter(block.heading, no)
                body.chapters.append(chapter)
            else:
                chapter.title, chapter.title_line = block.heading, no
                chapter.scenes.clear()
            scene = Scene(start_line=no or 0)
            chapter.scenes.append(scene)
            pending_break = None
            continue
        if block.kind == "marker":
            no, raw = block.start + 1, lines[block.start]
            body.omissions.append(Omission(no, no, "scene break", raw))
            if block.chapter_title:
                chapter = Chapter(block.chapter_title, None)
                body.chapters.append(chapter)
                scene = Scene(start_line=no)
                chapter.scenes.append(scene)
            else:
                pending_break = raw.strip()
            continue
        if block.blank_before >= threshold and pending_break is None:
            pending_break = "blank"
        if pending_break is not None:
            new_scene(pending_break, block.start + 1)
            pending_break = None
        for start, end, verse in splits[n]:
            text, emphasis = cleaned.texts[k], cleaned.emphasis[k]
            k += 1
            if not text.strip():
                continue
            scene.paragraphs.append(Paragraph(text, start + 1, end,
                                              "verse" if verse else "prose", emphasis))
    # drop empty scenes (e.g. a chapter that ends with a break) but keep every chapter
    for ch in body.chapters:
        ch.scenes = [s for s in ch.scenes if s.paragraphs] or ch.scenes[:1]
    return body
