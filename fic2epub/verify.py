"""Read a written EPUB back and check that every word of the story is there, in order.

The book is opened with ebooklib's reader and its pages are parsed with BeautifulSoup,
independently of how fic2epub wrote them. Words are runs of letters and digits; markup
tags such as BBCode ``[i]`` are not words.
"""

from __future__ import annotations

import hashlib
import io
import itertools
import posixpath
import re
import unicodedata
import warnings
import zipfile
from collections.abc import Iterable, Iterator

from lxml import etree

from .errors import VerificationError
from .model import Story

_WORD = re.compile(r"\w+")  # after "_" -> " ": runs of letters and digits (faster than [^\W_])
_TAGS = re.compile(r"\[/?(?:i|b|em|u)\]", re.IGNORECASE)
# ASCII bytes: letters lower-cased, digits kept, everything else a space; bytes of
# non-ASCII characters kept as they are (their tokens go through the regex).
_ASCII_WORDS = bytes(b + 32 if 65 <= b <= 90 else b if 48 <= b <= 57 or 97 <= b <= 122
                     or b >= 128 else 32 for b in range(256))
# Typographic punctuation the cleaner writes (curly quotes, dashes, ellipsis, no-break
# space) and the wide spaces of CJK and typeset text: none is part of a word, and removing
# them first keeps most text on the fast path.
_TYPOGRAPHIC = "\u2018\u2019\u201c\u201d\u2013\u2014\u2026\u00a0\u3000\u2009\u202f"


def _regex_words(text: str) -> list[str]:
    if not text.isascii():
        text = unicodedata.normalize("NFC", text)
    return _WORD.findall(text.casefold().replace("_", " "))


def _strip(text: str) -> str:
    """``text`` without BBCode tags and typographic punctuation: neither holds words."""
    if "[" in text:
        text = _TAGS.sub(" ", text)
    if not text.isascii():
        for ch in _TYPOGRAPHIC:
            if ch in text:
                text = text.replace(ch, " ")
    return text


def _tokens(text: str) -> list[bytes]:
    """The UTF-8 runs between word breaks, ASCII letters lower-cased: what both
    :func:`canonical` and :func:`words` are made from."""
    return _strip(text).encode("utf-8").translate(_ASCII_WORDS).split()


def canonical(text: str) -> bytes:
    """``text`` as UTF-8 with ASCII letters lower-cased and every other ASCII character a
    word break, tokens joined by single spaces. :func:`words` is a function of this form
    (it splits it and runs the regex on the tokens that are not ASCII), so two texts with
    the same canonical form have the same words; the converse need not hold (NFD against
    NFC, non-ASCII punctuation), which is why a mismatch is checked again word by word."""
    return b" ".join(_tokens(text))


def words(text: str) -> list[str]:
    """The words of ``text``, case-folded: runs of letters and digits (Unicode ``\\w``
    without ``_``, after NFC), BBCode tags such as ``[i]`` removed.

    Same result as one regex pass, about twice as fast: ASCII letters and digits are
    found with one byte translation and a split; only the tokens that hold other
    characters go through the regex (tested against it in tests/test_verify.py)."""
    if text.isascii() and "[" not in text:  # the common case, without a bytes per word
        return text.encode("ascii").translate(_ASCII_WORDS).decode("ascii").split()
    out: list[str] = []
    for token in _tokens(text):
        if token.isascii():
            out.append(token.decode("ascii"))
        else:
            out.extend(_regex_words(token.decode("utf-8")))
    return out


def iter_source_words(story: Story) -> Iterator[tuple[str, int]]:
    """The story's words as the book must hold them: source lines not omitted."""
    for chunk, lines in iter_source_chunks(story):
        yield from zip(chunk, lines, strict=True)


def _line_chunks(story: Story, size: int) -> Iterator[tuple[int, list[str]]]:
    """The source lines in chunks of ``size``, omitted lines blanked: (number of the
    chunk's first line minus one, lines)."""
    omitted = {n for o in story.omissions for n in range(o.start_line, o.end_line + 1)}
    lines = story.text.split("\n")
    for base in range(0, len(lines), size):
        chunk = lines[base:base + size]
        if omitted:
            chunk = ["" if k in omitted else line for k, line in enumerate(chunk, base + 1)]
        yield base, chunk


def iter_source_chunks(story: Story, size: int = 2000) -> Iterator[tuple[list[str], list[int]]]:
    """The same words in chunks of about ``size`` lines: (words, their line numbers)."""
    for base, chunk in _line_chunks(story, size):
        out: list[str] = []
        nos: list[int] = []
        for k, line in enumerate(chunk, base + 1):
            if line:
                found = words(line)
                out.extend(found)
                nos.extend([k] * len(found))
        yield out, nos


def iter_source_word_chunks(story: Story,
                            size: int = 2000) -> Iterator[tuple[list[str], list[int]]]:
    """The words of :func:`iter_source_chunks` without their line numbers (line 0): one
    regex pass over each chunk of lines instead of one per line."""
    for text in source_texts(story, size):
        found = words(text)
        yield found, [0] * len(found)


def read_pages(data: bytes) -> list[tuple[str, str]]:
    """(file name, text) of each spine document, in reading order."""
    from bs4 import BeautifulSoup  # only the verify command reads books this way
    from ebooklib import ITEM_DOCUMENT, epub

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
    """Words of the story pages, read with ebooklib and BeautifulSoup (thorough, slower)."""
    out: list[str] = []
    for name, text in read_pages(data):
        if "/chapter-" in f"/{name}":
            out.extend(words(text))
    return out


_OPF = "{http://www.idpf.org/2007/opf}"
_ROOTFILE = "{urn:oasis:names:tc:opendocument:xmlns:container}rootfile"


def spine_items(zf: zipfile.ZipFile) -> list[tuple[str, str]]:
    """(path in the ZIP, media type) of each spine item in reading order, found through
    ``META-INF/container.xml`` and the package document. Raises KeyError or
    ``etree.XMLSyntaxError`` when the book has no readable container or package."""
    container = etree.fromstring(zf.read("META-INF/container.xml"))
    rootfile = next(container.iter(_ROOTFILE), None)
    opf_path = rootfile.get("full-path") if rootfile is not None else None
    if not opf_path:
        raise KeyError("META-INF/container.xml names no package document")
    opf = etree.fromstring(zf.read(opf_path))
    base = posixpath.dirname(opf_path)
    manifest = next(opf.iter(_OPF + "manifest"), None)
    spine = next(opf.iter(_OPF + "spine"), None)
    if manifest is None or spine is None:
        return []
    items = {i.get("id"): (posixpath.normpath(posixpath.join(base, i.get("href", ""))),
                           i.get("media-type", ""))
             for i in manifest.iterchildren(_OPF + "item")}
    return [items[r.get("idref")] for r in spine.iterchildren(_OPF + "itemref")
            if r.get("idref") in items]


_PART = 200_000
"""Characters of page text read back at a time (a page's bytes bound its characters)."""


def book_pages_texts(data: bytes) -> Iterator[str]:
    """Text of the story pages, read straight from the ZIP with lxml (used after every
    build: a real container and XML parse, without the object model's overhead), the
    pieces of each page joined by spaces: a page of up to 200,000 bytes in one part (one
    join in C), a bigger one in parts of about 200,000 characters so that memory stays
    bounded for huge books."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            for name, _media_type in spine_items(zf):
                if "/chapter-" not in f"/{name}":
                    continue
                raw = zf.read(name)
                body = etree.fromstring(raw).find("{http://www.w3.org/1999/xhtml}body")
                if body is None:
                    continue
                if len(raw) <= _PART:  # its text, in characters, is shorter still
                    yield " ".join(body.itertext())
                    continue
                buf: list[str] = []
                size = 0
                for piece in body.itertext():
                    buf.append(piece)
                    size += len(piece)
                    if size > _PART:
                        yield " ".join(buf)
                        buf, size = [], 0
                yield " ".join(buf)
    except (KeyError, zipfile.BadZipFile, etree.XMLSyntaxError) as exc:
        raise VerificationError(f"verification failed: the book cannot be read: {exc}") from exc


def book_pages_words(data: bytes) -> Iterator[list[str]]:
    """The words of :func:`book_pages_texts`, a part at a time."""
    for text in book_pages_texts(data):
        yield words(text)


def source_texts(story: Story, size: int = 2000) -> Iterator[str]:
    """The source text the book must hold (omitted lines blank), ``size`` lines at a time."""
    for _base, chunk in _line_chunks(story, size):
        yield "\n".join(chunk)


def _digest(texts: Iterable[str]) -> bytes:
    """A digest of the canonical form of the texts read one after the other."""
    h = hashlib.blake2b(digest_size=32)
    for text in texts:
        form = canonical(text)
        if form:
            h.update(form)
            h.update(b" ")
    return h.digest()


def first_difference(expected: Iterable[tuple[str, int]], actual: Iterable[str],
                     start: int = 1) -> str | None:
    """Compare word streams; a description of the first difference, or None."""
    pairs = itertools.zip_longest(expected, actual)
    for i, (exp, got) in enumerate(pairs, start):
        if exp is None:
            return f"the book has word(s) not in the source, from word {i}: {got!r}"
        word, line = exp
        if got is None:
            return f"word {word!r} from line {line} is missing from the book"
        if got != word:
            return f"word {i} differs: source has {word!r} (line {line}), the book has {got!r}"
    return None


def first_difference_chunked(expected: Iterator[tuple[list[str], list[int]]],
                             actual: Iterator[list[str]]) -> str | None:
    """Like :func:`first_difference`, comparing list slices (fast) and only walking word
    by word around a mismatch."""
    exp_words: list[str] = []
    exp_lines: list[int] = []
    act_words: list[str] = []
    seen = 0
    exp_done = act_done = False
    while True:
        while not exp_done and len(exp_words) <= len(act_words):
            nxt = next(expected, None)
            if nxt is None:
                exp_done = True
            else:
                exp_words.extend(nxt[0])
                exp_lines.extend(nxt[1])
        while not act_done and len(act_words) <= len(exp_words):
            page = next(actual, None)
            if page is None:
                act_done = True
            else:
                act_words.extend(page)
        n = min(len(exp_words), len(act_words))
        if exp_words[:n] != act_words[:n]:
            return first_difference(zip(exp_words[:n], exp_lines[:n], strict=True),
                                    act_words[:n], start=seen + 1)
        if exp_done and act_done:
            if len(exp_words) != len(act_words):
                return first_difference(zip(exp_words, exp_lines, strict=True), act_words,
                                        start=seen + 1)
            return None
        if exp_done and len(exp_words) == n and len(act_words) > n:
            return first_difference([], act_words[n:], start=seen + n + 1)
        if act_done and len(act_words) == n and len(exp_words) > n:
            return first_difference(zip(exp_words[n:], exp_lines[n:], strict=True), [],
                                    start=seen + n + 1)
        del exp_words[:n], exp_lines[:n], act_words[:n]
        seen += n


def check_words(story: Story, data: bytes) -> None:
    """Raise :class:`VerificationError` unless the book's story pages hold exactly the
    source's words, in order.

    First both sides are reduced to a digest of their canonical form (:func:`canonical`):
    equal digests mean equal words, and that is the answer for nearly every book. Only
    when they differ are the words compared one by one, which either finds nothing (the
    forms differed in something that is not a word) or says where the first difference
    is, by line."""
    if _digest(source_texts(story)) == _digest(book_pages_texts(data)):
        return
    problem = first_difference_chunked(iter_source_word_chunks(story), book_pages_words(data))
    if problem:  # again, word by word with line numbers, to say where
        problem = first_difference_chunked(iter_source_chunks(story),
                                           book_pages_words(data)) or problem
    if problem:
        raise VerificationError(f"verification failed: {problem}")
