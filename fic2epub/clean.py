"""Inline cleaning: a registry of named fixers applied to each paragraph.

A fixer is a pure function ``str -> list[Edit]``: it proposes replacements and never
touches the text itself. :func:`clean_paragraph` (one paragraph) and
:func:`clean_texts` (all paragraphs of a story at once) apply them in ``FIXERS`` order,
map every edit back to its source line and column, and record each as a
:class:`~fic2epub.model.Change`. Fixers only change punctuation, whitespace
and markup characters; none deletes, reorders or invents a word.
"""

from __future__ import annotations

import bisect
import itertools
import operator
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from .model import FIXER_NAMES, Change, Changes, CleanOptions

Edit = tuple[int, int, str]
"""Replace ``text[start:end]`` with the string."""

Origin = tuple[int, int]
"""(line, column) in the source, 1-based."""


# Each fixer first checks cheaply whether it can apply at all: most paragraphs need
# only one or two of them. The patterns start with a literal where they can (a dash, a
# dot), so that the regex engine can skip to the places where they might match: a
# lookbehind that comes first makes it try every position of the text.
_WHITESPACE = re.compile(r"[ \t\u3000]{2,}|\t")
# In a text without tabs or U+3000, the same matches: two spaces, then any more (written
# so, the pattern starts with a two-character literal, which the engine finds fastest).
_SPACES = re.compile("  " + " *")
_DASHES = re.compile(r"--(?<!---)-?(?!-)")  # two or three dashes, no more
_ELLIPSES = re.compile(r"\.(?<!\.\.)(?:\.\.| \. \.)(?![.]| \.)")  # "..." or ". . .", not four


def fix_whitespace(text: str) -> list[Edit]:
    """Tabs and runs of spaces inside a paragraph become one space."""
    if "  " not in text and "\t" not in text and "\u3000" not in text:
        return []
    return _whitespace(text, 0, len(text))


def _whitespace(text: str, start: int, stop: int) -> list[Edit]:
    """The edits of :func:`fix_whitespace` for ``text[start:stop]``."""
    tabs = text.find("\t", start, stop) >= 0 or text.find("\u3000", start, stop) >= 0
    return [(m.start(), m.end(), " ")
            for m in (_WHITESPACE if tabs else _SPACES).finditer(text, start, stop)]


def fix_dashes(text: str) -> list[Edit]:
    """``--`` and ``---`` between or after words become an em dash."""
    if "--" not in text:
        return []
    return [(m.start(), m.end(), "—") for m in _DASHES.finditer(text)]


def fix_ellipses(text: str) -> list[Edit]:
    """Three dots (also spaced ``. . .``) become an ellipsis character."""
    if "..." not in text and ". ." not in text:
        return []
    return [(m.start(), m.end(), "…") for m in _ELLIPSES.finditer(text)]


_ELISIONS = {"em", "cause", "til", "till", "bout", "tis", "twas", "round", "kay", "nuff",
             "n", "s", "cept", "fraid", "scuse", "ere", "neath", "ow", "e", "im", "er", "ave",
             "ad", "ello", "appen", "tween", "twixt", "specially", "sup", "ya", "all"}
_OPENERS = set(" \t\n([{<—–-/\u00a0\u2014\u2013")
_ELIDED_WORD = re.compile(r"[A-Za-z]+|\d\d?s?\b")


def fix_quotes(text: str) -> list[Edit]:
    """Straight quotes to curly ones, deciding by context and by quote state.

    Apostrophes (``don't``, ``'90s``, ``rock 'n' roll``, ``'em``), nested single quotes,
    and a stray space inside an opening or closing quote (``gasped, " Because`` ->
    ``gasped, “Because``) are handled the way the author meant.
    """
    if '"' not in text and "'" not in text and "`" not in text:
        return []
    return _quotes(text, separated=False)


PARAGRAPH_BREAK = "\x00"
"""Joins the paragraphs of a body that the cleaner works on at once (see
:func:`clean_texts`); decoded text never holds it (it is a control character)."""


def _positions(text: str, chars: str) -> list[int]:
    """Where ``chars`` occur in ``text``, in order. (Searching for each character alone
    is several times faster than a regex search for a character class.)"""
    found: list[int] = []
    for char in chars:
        i = text.find(char)
        while i >= 0:
            found.append(i)
            i = text.find(char, i + 1)
    found.sort()
    return found


def _quotes(text: str, separated: bool) -> list[Edit]:
    """The edits of :func:`fix_quotes`. With ``separated``, ``text`` is paragraphs joined
    by ``PARAGRAPH_BREAK`` and each is treated as a text of its own: the quote state
    starts afresh and the paragraph's ends count as the text's ends (``begin``, ``stop``).
    """
    edits: list[Edit] = []
    begin = stop = -1  # the paragraph of the last quote (none yet)
    inside_double = False
    skip_to = 0
    for i in _positions(text, "\"'`"):
        if i < skip_to:
            continue
        if i > stop:  # the first quote of a paragraph
            begin = text.rfind(PARAGRAPH_BREAK, 0, i) + 1 if separated else 0
            stop = text.find(PARAGRAPH_BREAK, i) if separated else -1
            if stop < 0:
                stop = len(text)
            inside_double = False
        c = text[i]
        prev = text[i - 1] if i > begin else " "
        nxt = text[i + 1] if i + 1 < stop else " "
        if c == "'" and prev.isalnum() and nxt.isalnum():
            edits.append((i, i + 1, "’"))  # don't, Xander's (the most common case)
            continue
        if c == "`" and text.startswith("``", i, stop):
            edits.append((i, i + 2, "“"))
            inside_double = True
            skip_to = i + 2
            continue
        if c == "'" and text.startswith("''", i, stop) and i > begin and \
                not text[i - 1].isspace() and inside_double:
            edits.append((i, i + 2, "”"))
            inside_double = False
            skip_to = i + 2
            continue
        if c == '"':
            prev_open = prev in _OPENERS or prev in "“‘"
            next_space = nxt.isspace() or i + 1 >= stop
            if prev_open and not next_space:
                edits.append((i, i + 1, "“"))
                inside_double = True
            elif not prev_open and next_space and not inside_double and prev in ",:" and \
                    nxt == " " and text.count('"', i + 1, stop) % 2 == 1:
                # 'Giles responded," and I do not now."': an opener typed before its space
                edits.append((i, i + 2, " “"))
                inside_double = True
            elif not prev_open and (next_space or nxt in ".,;:!?)]}—–-'’"):
                edits.append((i, i + 1, "”"))
                inside_double = False
            elif prev_open and next_space:
                # floating quote: ' " Because' opens, 'and " she' closes; drop the stray space
                if inside_double:
                    start = i - 1 if prev == " " else i
                    edits.append((start, i + 1, "”"))
                    inside_double = False
                else:
                    end = i + 2 if nxt == " " and i + 2 < stop else i + 1
                    edits.append((i, end, "“"))
                    inside_double = True
            else:  # word"word: decide by state
                edits.append((i, i + 1, "”" if inside_double else "“"))
                inside_double = not inside_double
        elif c == "'":
            if prev in _OPENERS or prev in "“\"":
                word = _ELIDED_WORD.match(text, i + 1, stop)
                if word and (word.group().lower() in _ELISIONS or word.group()[0].isdigit()):
                    edits.append((i, i + 1, "’"))  # 'em, '90s, 'n'
                elif nxt.isspace():
                    edits.append((i, i + 1, "’"))
                else:
                    edits.append((i, i + 1, "‘"))
            else:
                edits.append((i, i + 1, "’"))
        elif c == "`" and nxt.isalnum():
            edits.append((i, i + 1, "‘"))  # `stories from the stacks'
    return edits


_EMPHASIS_PAIRS: Sequence[tuple[str, str, str]] = (
    ("bbcode", r"\[(?:i|I|em|b|B)\]", r"\[/(?:i|I|em|b|B)\]"),
    ("strong", r"\*\*", r"\*\*"),
    ("asterisk", r"\*", r"\*"),
    ("underscore", r"_", r"_"),
)


def _emphasis_markers() -> list[tuple[bool, str, re.Pattern[str], re.Pattern[str]]]:
    """(bbcode?, a character every marker holds, opener, closer) for each pair."""
    out = []
    for name, open_re, close_re in _EMPHASIS_PAIRS:
        bbcode = name == "bbcode"
        # markers sit at word boundaries: "snake_case", "2*3*4" and "ery[i]Forum" are text.
        # The character before a marker is tested after the marker's first character,
        # in a lookbehind that spans both: a pattern that starts with a literal lets the
        # regex engine skip to where it may match instead of trying every position.
        first = open_re[:2] if open_re.startswith("\\") else open_re[:1]
        rest = open_re[len(first):]
        opener = re.compile(first + r"(?<!\w" + first + ")" + rest if bbcode else
                            first + r"(?<![\w*_\\]" + first + ")" + rest + r"(?=[^\s*_])")
        first = close_re[:2] if close_re.startswith("\\") else close_re[:1]
        rest = close_re[len(first):]
        closer = re.compile(close_re + r"(?!\w)" if bbcode else
                            first + r"(?<=[^\s*_]" + first + ")" + rest + r"(?![\w*_])")
        out.append((bbcode, "[" if bbcode else open_re[-1], opener, closer))
    return out


_EMPHASIS_MARKERS = _emphasis_markers()


def find_emphasis(text: str) -> tuple[list[Edit], list[tuple[int, int]]]:
    """Marker pairs ``*x*``, ``_x_``, ``**x**``, ``[i]x[/i]`` -> removals and ranges.

    Ranges are [start, end) of the emphasised text *before* the edits are applied.
    An opening marker follows a space or the start and precedes a non-space; a closing
    marker follows a non-space and precedes a space, punctuation or the end.
    Unpaired markers are left as they are.
    """
    if "*" not in text and "_" not in text and "[" not in text:
        return [], []
    taken: list[bool] = []
    pairs: list[tuple[int, int, int, int]] = []  # open_s, open_e, close_s, close_e
    for bbcode, char, opener, closer in _EMPHASIS_MARKERS:
        if char not in text:
            continue
        if not taken:
            taken = [False] * (len(text) + 1)
        pos = 0
        while True:
            om = opener.search(text, pos)
            if not om:
                break
            o_start, o_end = om.span()
            if any(taken[o_start:o_end]):
                pos = o_end
                continue
            cm = closer.search(text, o_end)
            if not cm:
                # no closer after this opener, so none after any later one either
                break
            c_start, c_end = cm.span()
            if any(taken[c_start:c_end]) or \
                    (not bbcode and text.find("\n", o_end, c_start) >= 0):
                pos = o_end
                continue
            pairs.append((o_start, o_end, c_start, c_end))
            taken[o_start:o_end] = [True] * (o_end - o_start)
            taken[c_start:c_end] = [True] * (c_end - c_start)
            pos = c_end
    edits: list[Edit] = []
    ranges: list[tuple[int, int]] = []
    for os_, oe, cs, ce in pairs:
        edits.append((os_, oe, ""))
        edits.append((cs, ce, ""))
        ranges.append((oe, cs))
    return edits, ranges


FIXERS: dict[str, Callable[[str], list[Edit]]] = {
    "whitespace": fix_whitespace,
    "dashes": fix_dashes,
    "ellipses": fix_ellipses,
    "quotes": fix_quotes,
}
"""Inline fixers in the order they run; ``emphasis`` runs last (it removes markers)."""

if (*FIXERS, "emphasis") != FIXER_NAMES:  # the names the options take, kept in model
    raise ImportError("fic2epub.model.FIXER_NAMES does not name clean.FIXERS in order")


@dataclass(frozen=True)
class CleanParagraph:
    text: str
    emphasis: tuple[tuple[int, int], ...]
    changes: tuple[Change, ...]


class _Applied:
    """Edits one fixer made: (old_start, old_end, new_start, new_end), sorted. An edit
    that replaces one character with one other needs no span: around it, offsets move
    by the same shift as before it."""

    def __init__(self, spans: list[tuple[int, int, int, int]]) -> None:
        self.spans = spans
        self._old_starts: list[int] | None = None
        self._new_starts = [sp[2] for sp in spans]

    def back(self, offsets: list[int]) -> list[int]:
        """Offsets in the fixer's output -> offsets in its input."""
        new_starts, spans = self._new_starts, self.spans
        out = []
        for offset in offsets:
            k = bisect.bisect_right(new_starts, offset) - 1
            if k < 0:
                out.append(offset)
                continue
            old_start, old_end, _new_start, new_end = spans[k]
            out.append(old_start if offset < new_end else old_end + (offset - new_end))
        return out

    def forward(self, offset: int) -> int:
        """Offset in the fixer's input -> offset in its output."""
        if self._old_starts is None:
            self._old_starts = [sp[0] for sp in self.spans]
        k = bisect.bisect_right(self._old_starts, offset) - 1
        if k < 0:
            return offset
        _old_start, old_end, new_start, new_end = self.spans[k]
        if offset < old_end:
            return new_start
        return new_end + (offset - old_end)


def _apply(text: str, edits: list[Edit]) -> tuple[str, list[Edit], _Applied]:
    """Apply non-overlapping edits (an overlapping one is dropped): the new text, the
    edits applied, in order, and their map."""
    out: list[str] = []
    applied: list[Edit] = []
    spans: list[tuple[int, int, int, int]] = []
    pos = 0
    shift = 0  # output offset minus input offset after the edits so far
    for edit in sorted(edits):
        start, end, repl = edit
        if start < pos:
            continue
        out.append(text[pos:start])
        out.append(repl)
        applied.append(edit)
        size = len(repl)
        if size != end - start or size > 1:
            spans.append((start, end, start + shift, start + shift + size))
            shift += size - (end - start)
        pos = end
    out.append(text[pos:])
    return "".join(out), applied, _Applied(spans)


def _change(fixer: str, line: int, column: int, before: str, after: str) -> Change:
    """``Change(fixer, line, column, before, after)`` at half the cost, for the hundreds of
    changes of a story: the frozen dataclass's ``__init__`` sets each field through
    ``object.__setattr__``; this fills the new object's ``__dict__`` at once. The object
    is the same (``tests/test_clean.py`` checks it against the constructor)."""
    change = _new_object(Change)
    change.__dict__.update(fixer=fixer, line=line, column=column, before=before, after=after)
    return change


_new_object = object.__new__


Sources = Callable[[list[int], list[int]], list[Origin]]
"""``sources(ks, offsets)``: the source (line, column) of character ``offsets[i]`` of text
``ks[i]``, for each ``i`` (asked for many at once: a story has hundreds of changes)."""


@dataclass
class CleanBody:
    """The cleaned paragraphs of a body, in the order they were given."""

    texts: list[str]
    emphasis: list[tuple[tuple[int, int], ...]]
    changes: Sequence[Change]
    """By paragraph; a paragraph's by fixer (in ``FIXERS`` order), each fixer's by position."""


def clean_paragraph(text: str, origin: Sequence[Origin], options: CleanOptions) -> CleanParagraph:
    """Run every enabled fixer over one paragraph's text.

    ``origin[i]`` is the source (line, column) of ``text[i]``; each recorded change is
    mapped back through the earlier fixers to its place in the source.
    """
    last = len(origin) - 1

    def sources(_ks: list[int], offsets: list[int]) -> list[Origin]:
        if last < 0:
            return [(0, 0)] * len(offsets)
        return [origin[offset if offset < last else last] for offset in offsets]

    cleaned = clean_texts([text], sources, options)
    return CleanParagraph(cleaned.texts[0], cleaned.emphasis[0], tuple(cleaned.changes))


def clean_texts(texts: Sequence[str], sources: Sources, options: CleanOptions) -> CleanBody:
    """Clean many paragraphs: the same result as :func:`clean_paragraph` on each in turn.

    A story has some eighty paragraphs, most of them short, so running five fixers and
    applying their edits paragraph by paragraph costs more than the fixing itself. Here
    each fixer runs once over the whole body, the paragraphs joined by
    ``PARAGRAPH_BREAK``: the patterns of the whitespace, dash and ellipsis fixers never
    match that character and see it as they see the end of a text, and the quote fixer
    is told where each paragraph ends. Only emphasis, which is rare, runs per paragraph.
    Each change is mapped back through the earlier fixers' edits to an offset in the
    joined texts, and so to its paragraph and its place in the source, when the changes
    are first read (:class:`~fic2epub.model.Changes`).
    """
    count = len(texts)
    if not count:
        return CleanBody([], [], [])
    body = PARAGRAPH_BREAK.join(texts)
    if count > 1 and body.count(PARAGRAPH_BREAK) != count - 1:
        # a text holds the break character itself: clean the texts one by one
        def alone(k: int) -> CleanBody:
            return clean_texts([texts[k]], lambda ks, offsets: sources([k] * len(ks), offsets),
                               options)

        parts = [alone(k) for k in range(count)]
        return CleanBody([p.texts[0] for p in parts], [p.emphasis[0] for p in parts],
                         Changes.later(*(p.changes for p in parts)))
    starts = [0, *itertools.accumulate(len(text) + 1 for text in texts[:-1])]
    shifting: list[_Applied] = []  # the maps of the body-wide fixers' edits, newest first
    # what each fixer did: (fixer, the edits' offsets in the body as it saw it, the text
    # each replaced, its replacement, the maps of the fixers before it, newest first)
    noted: list[tuple[str, list[int], list[str], list[str], list[_Applied]]] = []

    def record(name: str, text: str, applied: list[Edit]) -> None:
        """Note the edits applied to ``text``, the body as the earlier fixers left it."""
        if applied:
            noted.append((name, [start for start, _end, _repl in applied],
                          [text[start:end] for start, end, _repl in applied],
                          [repl for _start, _end, repl in applied], list(shifting)))

    def work_out() -> list[Change]:
        """The noted edits as Changes: each mapped back through the earlier fixers' edits
        to its paragraph and its source position; by paragraph, then fixer, then
        position."""
        found: list[tuple[int, Change]] = []  # (paragraph, change)
        for name, offsets, befores, afters, earlier in noted:
            for layer in earlier:
                offsets = layer.back(offsets)
            ks = [bisect.bisect_right(starts, offset) - 1 for offset in offsets]
            origins = sources(ks, [offset - starts[k]
                                   for k, offset in zip(ks, offsets, strict=True)])
            found.extend(zip(ks, [_change(name, line, col, before, after)
                                  for (line, col), before, after
                                  in zip(origins, befores, afters, strict=True)], strict=True))
        found.sort(key=operator.itemgetter(0))  # stable
        return [change for _k, change in found]

    separated = count > 1
    for name in FIXERS:
        if options.enabled(name):
            edits = _body_edits(name, body, separated)
            if edits:
                fixed, applied, layer = _apply(body, edits)
                record(name, body, applied)
                body = fixed
                if layer.spans:
                    shifting.insert(0, layer)
    cleaned = body.split(PARAGRAPH_BREAK) if separated else [body]
    emphasis: list[tuple[tuple[int, int], ...]] = [()] * count
    if options.enabled("emphasis") and ("*" in body or "_" in body or "[" in body):
        removed: list[Edit] = []  # the markers removed, at their offsets in ``body``
        base = 0
        for k, text in enumerate(cleaned):
            if "*" in text or "_" in text or "[" in text:
                edits, raw_ranges = find_emphasis(text)
                if edits:
                    cleaned[k], applied, layer = _apply(text, edits)
                    removed += [(base + start, base + end, "") for start, end, _ in applied]
                    spans = ((layer.forward(s), layer.forward(e)) for s, e in raw_ranges)
                    emphasis[k] = tuple(sorted((s, e) for s, e in spans if e > s))
            base += len(text) + 1
        record("emphasis", body, removed)
    return CleanBody(cleaned, emphasis, Changes.later(work_out) if noted else Changes())


def _body_edits(name: str, body: str, separated: bool) -> list[Edit]:
    """The edits of ``FIXERS[name]`` for ``body``: one text, or paragraphs joined by
    ``PARAGRAPH_BREAK`` when ``separated``."""
    if name == "quotes":
        if '"' not in body and "'" not in body and "`" not in body:
            return []
        return _quotes(body, separated)
    if name != "whitespace" or not separated or \
            ("\t" not in body and "\u3000" not in body):
        # the other patterns never match the break, which they see as a text's end
        return FIXERS[name](body)
    edits: list[Edit] = []  # runs with a tab: paragraph by paragraph, where they are
    begin = 0
    for text in body.split(PARAGRAPH_BREAK):
        stop = begin + len(text)
        edits += _whitespace(body, begin, stop)
        begin = stop + 1
    return edits
