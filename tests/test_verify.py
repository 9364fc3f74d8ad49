"""The check after every build: a book that lost, changed or gained a word is refused,
and the message names the word and its line in the source."""

from __future__ import annotations

import io
import re
import unicodedata
import zipfile

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fic2epub import verify
from fic2epub.errors import VerificationError
from fic2epub.pipeline import convert, parse
from fic2epub.verify import _regex_words, canonical, check_words, words

SOURCE = (b"Title: Tampered\nAuthor: Tester\n\n"
          b"The first paragraph has a lantern in it.\n\n"
          b"The second paragraph keeps a heron_under the bridge.\n\n"
          b"* * *\n\n"
          b"The third paragraph ends the story quietly.\n")


def tamper(book: bytes, old: bytes, new: bytes) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(book)) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename.endswith(".xhtml") and old in data:
                data = data.replace(old, new, 1)
            dst.writestr(info, data)
    return out.getvalue()


def test_untouched_book_passes() -> None:
    book = convert(SOURCE, "t.txt").epub
    check_words(parse(SOURCE, "t.txt"), book)


@pytest.mark.parametrize(("old", "new", "message"), [
    (b"lantern", b"", "source has 'lantern' (line 4), the book has 'in'"),
    (b"quietly.", b".", "word 'quietly' from line 10 is missing from the book"),
    (b"heron", b"herring", "source has 'heron' (line 6), the book has 'herring'"),
    (b"quietly", b"quietly again", "the book has word(s) not in the source"),
    (b"first paragraph", b"paragraph first", "source has 'first' (line 4)"),
])
def test_changed_book_is_refused(old: bytes, new: bytes, message: str) -> None:
    book = tamper(convert(SOURCE, "t.txt").epub, old, new)
    with pytest.raises(VerificationError) as err:
        check_words(parse(SOURCE, "t.txt"), book)
    assert message in str(err.value)


def test_underscore_separates_words() -> None:
    # "heron_under" is two words on both sides; joining them would be a change
    book = tamper(convert(SOURCE, "t.txt").epub, b"heron_under", b"heronunder")
    with pytest.raises(VerificationError, match="'heron' \\(line 6\\)"):
        check_words(parse(SOURCE, "t.txt"), book)


# Characters where the fast path and the regex could part ways: ASCII letters, digits,
# "_" and punctuation, BBCode, typographic punctuation, combining marks (NFC), letters
# that case-fold to several (ß, İ, ligatures), no-break and ideographic spaces, CJK,
# other scripts' digits, Roman numerals and mathematical letters.
_TRICKY = ("aZ09_ \n\t.,'\"-[]/ib<=>\u00e9e\u0301\u00df\u2019\u2018\u201c\u201d\u2013"
           "\u2014\u2026\u00a0\u0130\ufb01\u0338\u3000\u4e2d\u0660\u00bd\u2163"
           "\U0001d400\u00c5A\u030a")


@settings(max_examples=3000, deadline=None)
@given(st.text(alphabet=_TRICKY, max_size=40) | st.text(max_size=40))
def test_words_matches_the_regex_definition(text: str) -> None:
    reference = text
    if "[" in reference:
        reference = re.sub(r"\[/?(?:i|b|em|u)\]", " ", reference, flags=re.IGNORECASE)
    reference = unicodedata.normalize("NFC", reference).casefold().replace("_", " ")
    assert words(text) == re.findall(r"\w+", reference)


def _words_of_canonical(form: bytes) -> list[str]:
    out: list[str] = []
    for token in form.split():
        out.extend([token.decode()] if token.isascii() else _regex_words(token.decode()))
    return out


@settings(max_examples=3000, deadline=None)
@given(st.text(alphabet=_TRICKY, max_size=40) | st.text(max_size=40))
def test_words_are_a_function_of_the_canonical_form(text: str) -> None:
    # what makes the digest check sound: equal canonical forms can only mean equal words
    assert words(text) == _words_of_canonical(canonical(text))


def test_an_intact_book_is_settled_by_the_digest(monkeypatch: pytest.MonkeyPatch) -> None:
    def word_by_word(*args: object) -> None:
        raise AssertionError("the word-by-word comparison ran")

    book = convert(SOURCE, "t.txt").epub
    monkeypatch.setattr(verify, "first_difference_chunked", word_by_word)
    check_words(parse(SOURCE, "t.txt"), book)


def test_a_different_form_of_the_same_words_passes() -> None:
    # NFD in the book, NFC in the source: the digests differ, the words do not
    source = SOURCE.replace(b"lantern", "caf\u00e9".encode())
    book = tamper(convert(source, "t.txt").epub, "caf\u00e9".encode(), "cafe\u0301".encode())
    with zipfile.ZipFile(io.BytesIO(book)) as zf:
        assert any("cafe\u0301".encode() in zf.read(name) for name in zf.namelist())
    check_words(parse(source, "t.txt"), book)


def test_a_huge_page_is_read_in_parts_and_checked_whole() -> None:
    """A chapter page over 200,000 bytes is read in parts (memory stays bounded), and a
    word lost near its end is still found."""
    sentences = [f"The keeper lit lantern {n} and watched heron{n} fly over the water."
                 for n in range(7_000)]
    body = "\n\n".join(" ".join(sentences[i:i + 10]) for i in range(0, len(sentences), 10))
    source = ("Title: Long\nAuthor: Tester\n\n" + body + "\n").encode()
    book = convert(source, "long.txt").epub
    parts = list(verify.book_pages_texts(book))
    assert len(parts) >= 3
    assert words(" ".join(parts)) == words(body)
    check_words(parse(source, "long.txt"), book)
    with zipfile.ZipFile(io.BytesIO(book)) as zf:
        assert max(i.file_size for i in zf.infolist() if "chapter" in i.filename) > 400_000
    with pytest.raises(VerificationError, match="heron6998"):
        check_words(parse(source, "long.txt"), tamper(book, b" heron6998", b""))
