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
import itertools
import re
from collections import Counter
from dataclasses import dataclass, field

from .clean import Origin, clean_texts
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


def _indent(line: str) -> int:
    if "\t" in line:
        line = line.expandtabs(_TAB)
    return len(line) - len(line.lstrip())


@dataclass
class _Block:
    lines: list[tuple[int, str]]  # (line number, text)
    blank_before: int
    kind: str = "text"  # text | marker | heading
    heading: str | None = None
    chapter_title: str | None = None  # a chapter start from a later mail post


@dataclass
class Body:
    chapters: list[Chapter]
    changes: list[Change] = field(default_factory=list)
    omissions: list[Omission] = field(default_factory=list)


def _blocks(lines: list[str], stripped: list[str], omitted: set[int],
            chapter_starts: dict[int, str]) -> list[_Block]:
    """Runs of text lines, and marker and heading lines; ``stripped`` is each line
    stripped."""
    blocks: list[_Block] = []
    current: list[tuple[int, str]] = []
    blank = 0
    pending_title: str | None = None
    special = omitted.union(chapter_starts)  # the line numbers to look up
    for idx, s in enumerate(stripped):
        no = idx + 1
        if no in special:
            if no in chapter_starts:
                pending_title = chapter_starts[no] or None
            if no in omitted:
                if current:
                    blocks.append(_Block(current, blank))
                    current, blank = [], 0
                continue
        if not s:
            if current:
                blocks.append(_Block(current, blank))
                current, blank = [], 0
            blank += 1
            continue
        line = lines[idx]
        marker = s[0] in _MARKER_FIRST and is_marker(line)
        heading = None if marker or current else _heading_text(line)
        if marker or heading is not None:
            if current:
                blocks.append(_Block(current, blank))
                current, blank = [], 0
            kind = "marker" if heading is None else "heading"
            if kind == "heading" and idx + 1 < len(lines) and stripped[idx + 1] and \
                    not is_marker(lines[idx + 1]) and idx + 1 + 1 not in omitted:
                # a heading stands alone; a line running on into text is a paragraph
                current = [(no, line)]
                continue
            blk = _Block([(no, line)], blank, kind, heading)
            blk.chapter_title = pending_title
            pending_title = None
            blocks.append(blk)
            blank = 0
            continue
        if not current and pending_title is not None:
            blocks.append(_Block([], blank, "heading", pending_title))
            blank = 0
            pending_title = None
        current.append((no, line))
    if current:
        blocks.append(_Block(current, blank))
    for blk in blocks:
        # "CHAPTER I." over "Down the Rabbit-Hole": a two-line heading
        if blk.kind == "text" and len(blk.lines) == 2:
            second = blk.lines[1][1].strip()
            if len(second) > 60 or second.endswith((".", ",", ";", "!", "?", '"', "”")):
                continue
            first = _heading_text(blk.lines[0][1].strip())
            if first is not None:
                blk.kind = "heading"
                blk.heading = f"{first} {second}"
    return blocks


def _wrap_width(lines: list[str]) -> int:
    lengths = sorted(map(len, map(str.rstrip, lines)))
    lengths = lengths[bisect.bisect_right(lengths, 0):]  # blank lines strip to nothing
    if not lengths:
        return 80
    return max(40, lengths[int(len(lengths) * 0.95) - 1 if len(lengths) > 1 else 0])


def _split_block(block: _Block, width: int) -> list[tuple[list[tuple[int, str]], bool]]:
    """Split a text block into paragraphs: (lines, is_verse)."""
    lines = block.lines
    if len(lines) == 1:
        return [(lines, False)]
    indents = [len(t) - len(t.lstrip()) if "\t" not in t else _indent(t) for _, t in lines]
    base = min(indents[1:]) if len(indents) > 1 else indents[0]
    # indentation style: a line indented deeper than its neighbours starts a paragraph
    starts = [k for k in range(1, len(lines)) if indents[k] > base + 1]
    if starts and len(starts) < len(lines) - 1:
        out = []
        prev = 0
        for k in [*starts, len(lines)]:
            if k > prev:
                out.append((lines[prev:k], False))
            prev = k
        return [(part, _is_verse(part, width)) for part, _ in out]
    return [(lines, _is_verse(lines, width))]


def _is_verse(lines: list[tuple[int, str]], width: int) -> bool:
    """Were these lines broken on purpose? Hard wrapping breaks a line only when the next
    word would not fit; a break where it easily would have is a deliberate one."""
    if len(lines) < 2:
        return False
    room = width * 0.8
    # Only a line with room after it for a space and a letter may have been broken on
    # purpose: hard-wrapped prose seldom has enough such lines, and then needs no more.
    lengths = [len(a.rstrip()) for _, a in lines[:-1]]
    if sum(length + 2 <= room for length in lengths) * 2 <= len(lines) - 1:
        return False
    deliberate = 0
    for (_, a), (_, b) in itertools.pairwise(lines):
        a_s = a.rstrip()
        if a_s.endswith("-"):
            continue
        if len(a_s) + 1 + len(b.strip().partition(" ")[0]) <= room:
            deliberate += 1
    return deliberate * 2 > len(lines) - 1


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

    def __init__(self, paragraphs: list[tuple[list[tuple[int, str]], bool]],
                 stripped: list[list[str]], texts: list[str]) -> None:
        self._lines = [line for lines, _verse in paragraphs for line in lines]
        self._sizes = [len(text) for lines in stripped for text in lines]
        steps = [size + 1 for size in self._sizes]
        if sum(steps) != sum(map(len, texts)) + len(texts):
            # some paragraph has a hyphen join: no separator after its first line
            first = 0
            for (lines, verse), parts in zip(paragraphs, stripped, strict=True):
                if not verse:
                    for j, (prev, line) in enumerate(itertools.pairwise(parts), first):
                        if _hyphen_join(prev, line):
                            steps[j] -= 1
                first += len(lines)
        self._starts = [0, *itertools.accumulate(steps)]
        firsts = itertools.accumulate((len(lines) for lines, _verse in paragraphs), initial=0)
        self._paragraph_starts = [self._starts[j] for j in firsts]

    def __call__(self, ks: list[int], offsets: list[int]) -> list[Origin]:
        """The source of character ``offsets[i]`` of paragraph ``ks[i]``, for each ``i``."""
        paragraph_starts, starts, lines, sizes = \
            self._paragraph_starts, self._starts, self._lines, self._sizes
        found = []
        for k, offset in zip(ks, offsets, strict=True):
            offset += paragraph_starts[k]
            j = bisect.bisect_right(starts, offset) - 1
            no, raw = lines[j]
            offset -= starts[j]
            size = sizes[j]
            found.append((no, len(raw) - len(raw.lstrip()) + 1 +
                          (offset if offset < size else size - 1)))
        return found


def build_body(lines: list[str], omitted: set[int], chapter_starts: dict[int, str],
               options: CleanOptions) -> Body:
    stripped = list(map(str.strip, lines))
    blocks = _blocks(lines, stripped, omitted, chapter_starts)
    width = _wrap_width(lines)
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
    splits = [_split_block(b, width) if b.kind == "text" else [] for b in blocks]
    paragraphs = [part for parts in splits for part in parts]
    parts = [[stripped[no - 1] for no, _raw in lines] for lines, _verse in paragraphs]
    texts = [_join(line_texts, verse)
             for line_texts, (_lines, verse) in zip(parts, paragraphs, strict=True)]
    cleaned = clean_texts(texts, _Sources(paragraphs, parts, texts), options)
    k = 0  # the next paragraph of ``cleaned``

    body = Body(chapters=[Chapter(None, None)], changes=cleaned.changes)
    chapter = body.chapters[0]
    scene = Scene(start_line=blocks[0].lines[0][0] if blocks and blocks[0].lines else 1)
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
            no = block.lines[0][0] if block.lines else None
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
            no, raw = block.lines[0]
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
            new_scene(pending_break, block.lines[0][0])
            pending_break = None
        for plines, verse in splits[n]:
            text, emphasis = cleaned.texts[k], cleaned.emphasis[k]
            k += 1
            if not text.strip():
                continue
            scene.paragraphs.append(Paragraph(
                text=text, start_line=plines[0][0], end_line=plines[-1][0],
                kind="verse" if verse else "prose", emphasis=emphasis))
    # drop empty scenes (e.g. a chapter that ends with a break) but keep every chapter
    for ch in body.chapters:
        ch.scenes = [s for s in ch.scenes if s.paragraphs] or ch.scenes[:1]
    return body
