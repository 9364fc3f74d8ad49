"""Property tests: for any input, the pipeline either builds a book that keeps every word
in order, or fails with a clean library error. It never crashes."""

from __future__ import annotations

import hashlib
import io
import tempfile
import zipfile
from pathlib import Path

from bookreader import Book, words
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fic2epub import Fic2EpubError, VerificationError, convert
from fic2epub.model import Story

# Story-like text: words, punctuation authors use, markers, headers, blank lines.
PIECES = st.sampled_from([
    "word", "Title: ", "Author: ", "Summary: ", "\n", "\n\n", "\n\n\n", "* * *", "~*~",
    "oOo", '"', "'", "--", "...", "*", "_", " ", "\t", "Chapter 2", "It's", "'90s", ",",
    ".", "é", "“", "’", "From: a@b.c", "Subject: x", "<b>", "&", "]]>", "[i]", "[/i]",
    "\r\n", "\r", "    ", "#", "Prologue", "by Someone",
])
TEXTS = st.lists(st.one_of(PIECES, st.text(min_size=1, max_size=12)), max_size=60).map("".join)


def _expected(story: Story) -> list[str]:
    omitted = {n for o in story.omissions for n in range(o.start_line, o.end_line + 1)}
    assert all(o.reason != "scene break" or not words(o.text) or
               all(w in ("ooo", "xxx", "o", "x") or set(w) <= set("oxOX0") for w in words(o.text))
               for o in story.omissions)
    return [w for no, line in enumerate(story.text.split("\n"), 1) if no not in omitted
            for w in words(line)]


KEEP = 8
"""Books of each property test kept in its ``tmp_path`` (those with the most text, see
:func:`_keep`), so that conftest's sweep runs EPUBCheck on them after the test. Not all:
EPUBCheck takes 4-8 s a book here, and the tests make up to 250."""


def _text_size(epub: bytes) -> int:
    """Bytes of a book's text entries (XHTML, OPF, NCX, CSS): the cover image, most of a
    book's bytes, says nothing about how unusual its text is."""
    with zipfile.ZipFile(io.BytesIO(epub)) as zf:
        return sum(i.file_size for i in zf.infolist() if not i.filename.endswith(".jpg"))


def _keep(folder: Path, epub: bytes, source: bytes) -> None:
    """Keep ``epub`` in ``folder`` if it is among the KEEP distinct books with the most
    text so far, with its input beside it (``.txt``): a book EPUBCheck rejects at the
    end of the test can be rebuilt from it."""
    folder.mkdir(exist_ok=True)
    stem = f"{_text_size(epub):08d}-{hashlib.sha256(epub).hexdigest()[:16]}"
    (folder / f"{stem}.epub").write_bytes(epub)
    (folder / f"{stem}.txt").write_bytes(source)
    for small in sorted(folder.glob("*.epub"))[:-KEEP]:  # names sort by text size
        small.unlink()
        small.with_suffix(".txt").unlink()


def _check(data: bytes, keep: Path | None = None) -> None:
    try:
        result = convert(data, "prop.txt")
    except VerificationError:
        raise  # a lost word is a bug, never a clean error
    except Fic2EpubError as exc:
        assert str(exc) and "\n" not in str(exc)
        return
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "b.epub"
        path.write_bytes(result.epub)
        book = Book(path)
        actual = [w for page in book.story_pages() for w in words(book.text(page))]
    assert actual == _expected(result.story)
    if keep is not None:
        _keep(keep, result.epub, data)


# tmp_path is shared by all examples of a test: it collects the books to EPUBCheck
@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(text=TEXTS)
def test_any_text_builds_or_fails_cleanly(text: str, tmp_path: Path) -> None:
    _check(text.encode("utf-8"), tmp_path / "books")


@settings(max_examples=100, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=400))
def test_any_bytes_builds_or_fails_cleanly(data: bytes, tmp_path: Path) -> None:
    _check(data, tmp_path / "books")


HOSTILE = {
    "markup": "Title: <script>alert(1)</script>\nAuthor: A & B \"quoted\"\n\n"
              "Text <b>bold</b> & ]]> <!-- c --> javascript:alert(1)\n",
    "bidi": "Rain\u202e reversed \u2066isolate\u2069 text and more words here.\n",
    "controls": "Bell\x07 and\x00 nul and \x1b[31mred\x1b[0m words.\n",
    "surrogate_escape": b"Lone \xed\xa0\x80 surrogate bytes in a line of words.\n".decode(
        "utf-8", "surrogateescape"),
    "one_long_line": "word " * 20000,
    "only_markers": "* * *\n\n~*~\n\nA single line after markers.\n",
}


def test_hostile_texts_give_valid_books(tmp_path: Path, epubcheck) -> None:
    paths = []
    for name, text in HOSTILE.items():
        data = text.encode("utf-8", "surrogateescape")
        result = convert(data, f"{name}.txt")
        path = tmp_path / f"{name}.epub"
        path.write_bytes(result.epub)
        paths.append(path)
        _check(data)
    reports = epubcheck(paths)
    assert [(r.path.name, r.messages) for r in reports if not r.clean] == []


REGRESSIONS = sorted((Path(__file__).parent / "fuzz_regressions").glob("*"))


def test_fuzz_regressions() -> None:
    """Inputs on which the atheris fuzzer once found a bug stay fixed."""
    assert REGRESSIONS
    for path in REGRESSIONS:
        _check(path.read_bytes())


ESC_PIECES = st.sampled_from(["&", "<", ">", '"', "'", "&amp;", "\x00", "\x0b", "\x7f",
                              "\ud800", "\ufffe", "\u202e", "\u2066", "é", "“", "a", " "])


@settings(max_examples=500, deadline=None)
@given(st.lists(st.one_of(ESC_PIECES, st.text(max_size=8)), max_size=20).map("".join))
def test_escaped_text_is_never_markup_and_reads_back(text: str) -> None:
    """render.esc, fast path (nothing to change) or not: no markup characters, no
    characters XML forbids, and an XML reader gets back the text minus those."""
    import html

    from fic2epub.render import _NOT_XML, esc

    out = esc(text)
    assert not any(c in out for c in "<>\"'") and not _NOT_XML.search(out)
    assert html.unescape(out) == _NOT_XML.sub("", text)
    assert (out is text) == (out == text)  # unchanged text is returned as it is
