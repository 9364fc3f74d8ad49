"""Body structure: lines -> paragraphs -> scenes -> chapters.

Paragraphs are separated by blank lines, by indentation, or one per line; hard-wrapped
lines are joined; verse (lines broken on purpose) keeps its line breaks. Scenes break
at runs of blank lines longer than the story's usual paragraph gap (at least two) and at
marker lines (``***``, ``* * *``, ``~~~``, ``~*~``, ``---``, ``###``, ``oOo``, ``xXx``,
rows of dots, ...). Chapter headings (``Chapter 3``, ``Part Two``, ``Prologue``,
``Epilogue``, ``# Heading``) start chapters.
"""

from __future__ import annotations

import itertools
import re
from collections import Counter
from dataclasses import dataclass, field

from .clean import Origin, clean_paragraph
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
_MD_HEADING = re.compile(r"^#{1,6}\s+\S")
_TAB = 8


def is_marker(line: str) -> bool:
    s = line.strip()
    if not s or not _MARKER.match(line):
        return False
    if re.fullmatch(r"\.{1,2}", s):
        return False  # "." or ".." alone is more likely text than a break
    return not re.fullmatch(r"[oOxX]", s)


def _heading_text(line: str) -> str | None:
    s = line.strip()
    if _MD_HEADING.match(s):
        s = re.sub(r"^#{1,6}\s+", "", s)
        return re.sub(r"^(\*\*|__)(.+)\1$", r"\2", s).strip()
    bare = re.sub(r"^(\*\*|__)(.+)\1$", r"\2", s).strip()
    if _HEADING.match(bare) and not re.search(r"[,;]\s+\w+\s+\w+", bare) and \
            not bare.endswith((",", ";")) and len(bare.split()) <= 10:
        return bare
    if _NUMBER_HEADING.match(s):
        return s
    return None


def _indent(line: str) -> int:
    return len(line.expandtabs(_TAB)) - len(line.expandtabs(_TAB).lstrip())


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


def _blocks(lines: list[str], omitted: set[int], chapter_starts: dict[int, str]) -> list[_Block]:
    blocks: list[_Block] = []
    current: list[tuple[int, str]] = []
    blank = 0
    pending_title: str | None = None
    for idx, line in enumerate(lines):
        no = idx + 1
        if no in chapter_starts:
            pending_title = chapter_starts[no] or None
        if no in omitted:
            if current:
                blocks.append(_Block(current, blank))
                current, blank = [], 0
            continue
        if not line.strip():
            if current:
                blocks.append(_Block(current, blank))
                current, blank = [], 0
            blank += 1
            continue
        if is_marker(line) or (_heading_text(line) is not None and not current):
            if current:
                blocks.append(_Block(current, blank))
                current, blank = [], 0
            heading = None if is_marker(line) else _heading_text(line)
            kind = "marker" if heading is None else "heading"
            if kind == "heading" and idx + 1 < len(lines) and lines[idx + 1].strip() and \
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
            first, second = blk.lines[0][1].strip(), blk.lines[1][1].strip()
            if _heading_text(first) is not None and len(second) <= 60 and \
                    not second.endswith((".", ",", ";", "!", "?", '"', "”")):
                blk.kind = "heading"
                blk.heading = f"{_heading_text(first)} {second}"
    return blocks


def _wrap_width(lines: list[str]) -> int:
    lengths = sorted(len(line.rstrip()) for line in lines if line.strip())
    if not lengths:
        return 80
    return max(40, lengths[int(len(lengths) * 0.95) - 1 if len(lengths) > 1 else 0])


def _split_block(block: _Block, width: int) -> list[tuple[list[tuple[int, str]], bool]]:
    """Split a text block into paragraphs: (lines, is_verse)."""
    lines = block.lines
    if len(lines) == 1:
        return [(lines, False)]
    indents = [_indent(t) for _, t in lines]
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
    deliberate = 0
    for (_, a), (_, b) in itertools.pairwise(lines):
        a_s = a.rstrip()
        first = b.strip().split(" ", 1)[0]
        if a_s.endswith("-"):
            continue
        if len(a_s) + 1 + len(first) <= width * 0.8:
            deliberate += 1
    return deliberate * 2 > len(lines) - 1


def _join(lines: list[tuple[int, str]], verse: bool) -> tuple[str, list[Origin]]:
    """Join a paragraph's lines, mapping each character to its source (line, column)."""
    parts: list[str] = []
    origin: list[Origin] = []
    for k, (no, raw) in enumerate(lines):
        stripped = raw.strip()
        col = len(raw) - len(raw.lstrip()) + 1
        if k:
            prev = parts[-1] if parts else ""
            if verse:
                sep = "\n"
            elif prev.endswith("-") and len(prev) > 1 and prev[-2].isalpha() and \
                    not prev.endswith("--") and stripped[:1].isalpha():
                sep = ""  # "super-" + "human" -> "super-human"
            else:
                sep = " "
            if sep:
                parts.append(sep)
                origin.append(origin[-1] if origin else (no, 1))
        parts.append(stripped)
        origin.extend(zip(itertools.repeat(no), range(col, col + len(stripped)), strict=False))
    return "".join(parts), origin


def build_body(lines: list[str], omitted: set[int], chapter_starts: dict[int, str],
               options: CleanOptions) -> Body:
    blocks = _blocks(lines, omitted, chapter_starts)
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

    body = Body(chapters=[Chapter(None, None)])
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

    for block in blocks:
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
        for plines, verse in _split_block(block, width):
            text, origin = _join(plines, verse)
            cleaned = clean_paragraph(text, origin, options)
            body.changes.extend(cleaned.changes)
            if not cleaned.text.strip():
                continue
            scene.paragraphs.append(Paragraph(
                text=cleaned.text, start_line=plines[0][0], end_line=plines[-1][0],
                kind="verse" if verse else "prose", emphasis=cleaned.emphasis))
    # drop empty scenes (e.g. a chapter that ends with a break) but keep every chapter
    for ch in body.chapters:
        ch.scenes = [s for s in ch.scenes if s.paragraphs] or ch.scenes[:1]
    return body
