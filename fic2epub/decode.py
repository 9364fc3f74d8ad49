"""Bytes to text: encoding detection, mojibake repair, line endings, control characters.

``decode(data)`` is pure: bytes in, :class:`Decoded` out. Every repair that changes
characters is recorded as a :class:`~fic2epub.model.Change` with its line and column.
"""

from __future__ import annotations

import codecs
import functools
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass

from .errors import BinaryFileError, EmptyStoryError
from .model import Change

# Single-byte code pages that real Western story files come in, in order of preference
# when two decode equally well. Latin-1 is last: where it differs from cp1252 it yields
# C1 control characters, which the scorer penalises.
WESTERN = ("cp1252", "mac_roman", "cp437", "latin_1")

NON_LATIN = ("cp1251", "koi8_r", "cp866", "iso8859_5", "cp1253", "iso8859_7",
             "shift_jis", "cp932", "euc_jp", "gb18030", "big5", "euc_kr", "cp949", "cp1255",
             "cp1256", "tis_620")
LATIN_LANGUAGES = {"English", "German", "French", "Spanish", "Italian", "Portuguese", "Dutch",
                   "Swedish", "Danish", "Norwegian", "Finnish", "Polish", "Czech", "Slovak",
                   "Hungarian", "Romanian", "Croatian", "Slovene", "Turkish", "Indonesian",
                   "Vietnamese", "Estonian", "Lithuanian", "Latvian", "Unknown", ""}

_MAGIC = {
    b"PK\x03\x04": "a ZIP archive (an EPUB or DOCX?)",
    b"%PDF": "a PDF document",
    b"\x89PNG": "a PNG image",
    b"GIF8": "a GIF image",
    b"\xff\xd8\xff": "a JPEG image",
    b"\x7fELF": "a program (ELF executable)",
    b"MZ": "a Windows program",
    b"\x1f\x8b": "a gzip archive",
    b"{\\rtf": "an RTF document (save it as plain text)",
    b"\xd0\xcf\x11\xe0": "a Microsoft Office document (save it as plain text)",
}

_LINE_END = re.compile(r"\r\n|\r|\n")
_ASCII_RUN = re.compile(r"[\x00-\x7f]+")
_C1_OR_SURROGATE = re.compile("[\x80-\x9f\ud800-\udfff]")
# Typographic punctuation that well-encoded stories are full of: a line whose only
# non-ASCII characters are these is not mojibake (mis-decoded text always leaves letters
# such as "â", "Ã" or "Â" behind), so ftfy need not look at it.
_SUSPECT = re.compile("[^\x00-\x7f\u2018\u2019\u201c\u201d\u2013\u2014\u2026]")
# Control characters removed from the text: all of Cc except tab and line feed.
_CONTROL_CHAR = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")  # the quick test first
_ASCII_CONTROL_BYTES = bytes([*range(9), *range(11, 32), 127])  # the same, in ASCII text
_CONTROL = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|[\x00-\x08\x0b-\x1f\x7f-\x9f]")


@dataclass(frozen=True)
class Decoded:
    text: str
    """The decoded text, line endings normalised to ``\\n``."""
    encoding: str
    changes: tuple[Change, ...]


_CONTROL_BYTES = bytes(b for b in range(32) if b not in (9, 10, 12, 13, 26, 27))


def _sniff_binary(data: bytes) -> str | None:
    for magic, what in _MAGIC.items():
        if data.startswith(magic):
            if magic == b"MZ" and b"\x00" not in data[:512]:
                continue  # a text file may well start with "MZ"
            return what
    sample = data[:65536]
    if not sample:
        return None
    nuls = sample.count(0)
    controls = len(sample) - len(sample.translate(None, _CONTROL_BYTES))
    if nuls > max(2, len(sample) // 100) or controls > max(8, len(sample) // 20):
        return "binary data"
    return None


def _score_western(text: str) -> int:
    """How plausible the non-ASCII characters of ``text`` are as prose.

    charset-normalizer (and chardet) cannot tell cp1252, Mac Roman and cp437 apart on
    mostly-ASCII English text with a handful of high bytes; they disagree with each
    other and with the truth on real story files. Context can: an accented lowercase
    letter sits inside a word, a curly quote hugs a word, box-drawing characters come
    in runs, and control characters never appear in prose.
    """
    score = 0
    n = len(text)
    for i, c in enumerate(text):
        if c < "\x80":
            continue
        prev = text[i - 1] if i else " "
        nxt = text[i + 1] if i + 1 < n else " "
        cat = unicodedata.category(c)
        if cat == "Ll":
            if c in (prev, nxt) or prev.isupper() or nxt.isupper():
                score -= 2
            elif prev.isalpha() or nxt.isalpha():
                score += 2
        elif cat == "Lu":
            if c in (prev, nxt) or prev.islower():
                score -= 2
            else:
                score += 1
        elif cat == "Zs":
            score += 1
        elif cat in ("Pi", "Ps"):
            score += 2 if nxt.isalnum() else 0
        elif cat in ("Pf", "Pe"):
            score += 2 if (prev.isalnum() or prev in ".,!?;:-") else 0
        elif cat in ("Pd", "Po"):
            score += 1
        elif "\u2500" <= c <= "\u259f":  # box drawing and blocks: ASCII art
            score += 2 if (prev in (c, " ") or nxt in (c, " ") or prev > "\u24ff") else -1
        elif cat in ("Cc", "Co", "Cn", "Cs") or c == "\ufffd":
            score -= 5
        elif cat.startswith("S"):
            score -= 2 if (prev.isalpha() or nxt.isalpha()) else 0
    return score


def detect_encoding(data: bytes) -> str:
    """Name of the codec that decodes ``data`` best."""
    if data.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    try:
        data.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError:
        pass
    scored = []
    for rank, enc in enumerate(WESTERN):
        scored.append((_score_western(data.decode(enc, errors="replace")), -rank, enc))
    western = max(scored)[2]
    # Non-Latin scripts (Cyrillic, Greek, CJK, ...): charset-normalizer, restricted to the
    # code pages such files come in, and trusted only when it finds a non-Latin language.
    # Only text that is mostly high bytes can be in such a script; Western files with a
    # few accented letters or curly quotes never are.
    sample = data[:200_000]
    high = sum(1 for b in sample if b >= 0x80)
    if high * 4 < sum(1 for b in sample if b > 0x20):
        return western
    as_western = sample.decode(western, errors="replace")
    if sum("\u2500" <= c <= "\u259f" for c in as_western) * 2 >= high:
        return western  # DOS box-drawing art, not an Asian script
    import charset_normalizer  # imported when first needed (startup time)

    best = charset_normalizer.from_bytes(sample, cp_isolation=[*NON_LATIN, western]).best()
    if best is not None and best.chaos < 0.2 and best.language not in LATIN_LANGUAGES:
        return str(best.encoding)
    return western



def _line_col(text: str, offset: int) -> tuple[int, int]:
    line = text.count("\n", 0, offset) + 1
    col = offset - (text.rfind("\n", 0, offset) + 1) + 1
    return line, col


def _record_line_diffs(fixer: str, before: str, after: str) -> list[Change]:
    """Changes for each line that differs (both texts have the same line count)."""
    changes: list[Change] = []
    for no, (a, b) in enumerate(zip(before.split("\n"), after.split("\n"), strict=True), 1):
        if a == b:
            continue
        start = 0
        while start < min(len(a), len(b)) and a[start] == b[start]:
            start += 1
        end_a, end_b = len(a), len(b)
        while end_a > start and end_b > start and a[end_a - 1] == b[end_b - 1]:
            end_a -= 1
            end_b -= 1
        changes.append(Change(fixer, no, start + 1, a[start:end_a], b[start:end_b]))
    return changes


_CONTRACTION_TAIL = re.compile(r"(s|t|ll|re|ve|d|m)\b", re.IGNORECASE)


def repair_mangled_quotes(text: str) -> tuple[str, list[Change]]:
    """Repair curly quotes that an old conversion turned into other characters.

    Some 1990s files went Mac Roman -> Latin-1 -> DOS code page, so that every opening
    quote became one stray character (``ò``), every closing quote another (``ó``) and
    every apostrophe a third (``Ö``). A character is taken for a quote only when its
    positions say so beyond doubt: an opener always starts a word, a closer always ends
    one and the two come in near-equal numbers; an apostrophe is never a lowercase
    letter and is followed by a contraction ending (``don't``, ``we'll``).
    """
    if text.isascii():
        return text, []
    counts = Counter(_ASCII_RUN.sub("", text))  # of each non-ASCII character
    non_ascii = sum(counts.values())
    if not non_ascii or non_ascii > len(text) // 50:
        return text, []
    opens: dict[str, int] = {}
    closes: dict[str, int] = {}
    apostrophes: set[str] = set()
    for c, total in counts.items():
        if total < 3 or c in "“”‘’«»„‚" or unicodedata.category(c)[0] not in "LSP":
            continue
        o = cl = inner = tail = 0
        for m in re.finditer(re.escape(c), text):
            i = m.start()
            prev = text[i - 1] if i else " "
            nxt = text[i + 1] if i + 1 < len(text) else " "
            if prev.isalpha() and nxt.isalpha():
                inner += 1
                tail += bool(_CONTRACTION_TAIL.match(text, i + 1))
            elif (prev.isspace() or prev in "([-") and (nxt.isalnum() or nxt in "."):
                o += 1
            elif (prev.isalnum() or prev in ".,!?;:-") and (nxt.isspace() or nxt in ".,;:)-"):
                cl += 1
        if inner >= 0.9 * total and tail >= 0.8 * total and not c.islower():
            apostrophes.add(c)
        elif o >= 0.9 * total:
            opens[c] = total
        elif cl >= 0.9 * total:
            closes[c] = total
    mapping: dict[str, str | int | None] = {}
    if len(opens) == 1 and len(closes) == 1:
        (o_char, o_n), (c_char, c_n) = next(iter(opens.items())), next(iter(closes.items()))
        if 0.7 <= o_n / c_n <= 1.4:
            mapping[o_char] = "“"
            mapping[c_char] = "”"
    if mapping:
        for c in apostrophes:
            mapping[c] = "’"
    if not mapping:
        return text, []
    fixed = text.translate(str.maketrans(mapping))
    return fixed, _record_line_diffs("mangled-quotes", text, fixed)


_NON_ASCII_RUN = re.compile("[^\x00-\x7f]+")


def _badness_reach(pattern: re.Pattern[str]) -> int | None:
    """How far a match of ftfy's badness ``pattern`` can reach from the non-ASCII
    character it must hold, or None when that cannot be shown.

    The pattern is a list of alternatives. Each must hold a character that can only be
    non-ASCII, and be at most a few characters long; then every match lies within that
    reach of a non-ASCII character of the line, and searching only there finds a match
    exactly when searching the whole line does. Read from the compiled pattern of the
    installed ftfy, so a future ftfy that breaks either condition gets whole-line
    searches again."""
    try:
        from re import _parser  # type: ignore[attr-defined]

        if pattern.flags & re.IGNORECASE:
            return None
        items = list(_parser.parse(pattern.pattern, pattern.flags))
        if len(items) != 1 or str(items[0][0]) != "BRANCH":
            return None
        longest = 0
        for alternative in items[0][1][1]:
            width = alternative.getwidth()[1]
            if width > 16 or not any(_only_non_ascii(op, av) for op, av in alternative):
                return None
            longest = max(longest, width)
        return longest - 1
    except Exception:  # an internal of the re module that changed: no shortcut
        return None


def _only_non_ascii(op: object, av: object) -> bool:
    """Whether a pattern item matches one character, never an ASCII one."""
    if str(op) == "LITERAL":
        return isinstance(av, int) and av >= 128
    if str(op) != "IN" or not isinstance(av, list):
        return False
    for kind, value in av:
        if str(kind) == "LITERAL" and value >= 128:
            continue
        if str(kind) == "RANGE" and value[0] >= 128:
            continue
        return False  # an ASCII character, a negated set, a category such as \w
    return bool(av)


@functools.cache
def _ftfy_reach() -> int | None:
    """:func:`_badness_reach` of the installed ftfy's pattern, worked out once."""
    import ftfy.badness

    return _badness_reach(ftfy.badness.BADNESS_RE)


def _looks_bad(line: str) -> bool:
    """``ftfy.badness.is_bad(line)``, searching only near the line's non-ASCII characters
    (see :func:`_badness_reach`): the bench corpus's accented Latin lines cost 3.7 M of
    the 6.3 M CPU instructions decoding took a story, most of them spent on plain ASCII."""
    import ftfy.badness

    reach = _ftfy_reach()
    if reach is None:
        return ftfy.badness.is_bad(line)
    search = ftfy.badness.BADNESS_RE.search
    start = end = -1  # the window being gathered
    for run in _NON_ASCII_RUN.finditer(line):
        lo, hi = run.start() - reach, run.end() + reach
        if lo <= end:
            end = hi
            continue
        if end >= 0 and search(line, max(0, start), end):
            return True
        start, end = lo, hi
    return end >= 0 and search(line, max(0, start), end) is not None


def repair_mojibake(text: str) -> str:
    """NFC-normalise, and let ftfy repair the lines that look like mojibake (ftfy's own
    badness test picks them; running the full fixer on every line is slow)."""
    text = unicodedata.normalize("NFC", text)
    # Only lines with a suspect character (not ASCII, and not a curly quote, a dash or
    # an ellipsis, which alone are never mojibake) need a look. One regex search finds
    # the next one, skipping all lines in between.
    m = None if text.isascii() else _SUSPECT.search(text)
    if m is None:
        return text
    import ftfy  # imported when first needed: a run with nothing to convert starts faster
    import ftfy.badness

    config = ftfy.TextFixerConfig(unescape_html=False, uncurl_quotes=False,
                                  fix_line_breaks=False, fix_latin_ligatures=False,
                                  fix_character_width=False, remove_control_chars=False,
                                  normalization="NFC", explain=False)
    lines = text.split("\n")
    changed = False
    k = 0  # the line that starts at ``begin``
    begin = 0
    while m is not None:
        k += text.count("\n", begin, m.start())
        line = lines[k]
        if _looks_bad(line) or _C1_OR_SURROGATE.search(line):
            fixed = ftfy.fix_text(line, config)
            if fixed != line and "\n" not in fixed:
                lines[k] = fixed
                changed = True
        end = text.find("\n", m.start())
        if end < 0:
            break
        k += 1
        begin = end + 1
        m = _SUSPECT.search(text, begin)
    return "\n".join(lines) if changed else text


def _has_control_chars(text: str) -> bool:
    """Does ``text`` hold a character of ``_CONTROL_CHAR``? (In ASCII text, a bytes
    translation answers many times faster than a regex search for a character class.)"""
    if text.isascii():
        data = text.encode("ascii")
        return len(data.translate(None, _ASCII_CONTROL_BYTES)) != len(data)
    return _CONTROL_CHAR.search(text) is not None


def decode(data: bytes) -> Decoded:
    """Decode a story file's bytes into clean text with ``\\n`` line endings.

    Raises :class:`BinaryFileError` for binary data and :class:`EmptyStoryError` for
    a file with no text.
    """
    what = _sniff_binary(data)
    if what is not None:
        raise BinaryFileError(f"not a text file: looks like {what}")
    encoding = detect_encoding(data)
    raw = data.decode(encoding, errors="replace")
    if encoding != "utf-16":
        raw = raw.rstrip("\x00\x1a")  # trailing NUL padding and the DOS end-of-file mark
    if "\r" in raw:
        raw = _LINE_END.sub("\n", raw)
    changes: list[Change] = []

    text = raw
    if not text.isascii():
        fixed = repair_mojibake(text)
        if fixed != text:
            changes.extend(_record_line_diffs("mojibake", text, fixed))
            text = fixed
    removed = _CONTROL.sub("", text) if _has_control_chars(text) else text
    if removed != text:
        for m in _CONTROL.finditer(text):
            line, col = _line_col(text, m.start())
            changes.append(Change("control-chars", line, col, m.group(), ""))
        text = removed
    text, quote_changes = repair_mangled_quotes(text)
    changes.extend(quote_changes)

    if not text.strip():
        raise EmptyStoryError("the file is empty" if not data else "the file holds no text")
    return Decoded(text=text, encoding=encoding, changes=tuple(changes))
