"""KEPUB: Kobo's spans and wrappers are added without losing or moving a character;
the books pass EPUBCheck, keep the Kindle rules and the word check."""

from __future__ import annotations

import re
from pathlib import Path

from bookreader import Book, words
from click.testing import CliRunner
from conftest import SAMPLES
from hypothesis import given
from hypothesis import strategies as st
from kindle_rules import kindle_problems
from lxml import etree

from fic2epub import Config, convert
from fic2epub.cli import cli
from fic2epub.kepub import kepubify, sentences

X = "{http://www.w3.org/1999/xhtml}"
RED = SAMPLES[0]

PAGE = b"""<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE html>
<html xmlns="http://www.w3.org/1999/xhtml" lang="en" xml:lang="en">
<head><title>t</title></head>
<body>
<section>
<h2>One. Two</h2>
<p>It was dark. &#8220;Was it?&#8221; she asked&#8230; He <em>knew. It was.</em> Fine!</p>
<p class="verse">Line one,<br/>
line two.</p>
<hr/>
<p>Tail &amp; more.</p>
<img src="x.png" alt="x"/>
</section>
</body>
</html>
"""


@given(st.text())
def test_sentences_keep_every_character(text: str) -> None:
    assert "".join(sentences(text)) == text


def test_sentences_split_after_sentence_ends() -> None:
    assert sentences("It was dark. “Was it?” she asked… He knew.") == [
        "It was dark. ", "“Was it?” ", "she asked… ", "He knew."]
    assert sentences("Mr.Smith 3.5 e.g.x") == ["Mr.Smith 3.5 e.g.x"]


def test_kepubify_page() -> None:
    out = kepubify(PAGE)
    assert out.startswith(b'<?xml version="1.0" encoding="utf-8"?>\n<!DOCTYPE html>\n')
    before, after = etree.fromstring(PAGE), etree.fromstring(out)
    text = "".join(before.find(f"{X}body").itertext())
    assert "".join(after.find(f"{X}body").itertext()).split() == text.split()
    body = after.find(f"{X}body")
    columns = body.find(f"{X}div")
    assert columns.get("id") == "book-columns"
    assert columns.find(f"{X}div").get("id") == "book-inner"
    ids = [s.get("id") for s in after.iter(f"{X}span")]
    assert ids == ["kobo.1.1", "kobo.1.2", *(f"kobo.2.{m}" for m in range(1, 8)),
                   "kobo.3.1", "kobo.3.2", "kobo.4.1", "kobo.5.1"]
    em = after.find(f".//{X}em")
    assert [s.text for s in em] == ["knew. ", "It was."]
    img = after.find(f".//{X}img")
    assert img.getparent().get("id") == "kobo.5.1"
    # no text outside a span inside paragraphs
    for p in after.iter(f"{X}p", f"{X}h2"):
        assert not (p.text or "").strip()
        for child in p.iter():
            if child is not p and child.tag != f"{X}span":
                assert not (child.tail or "").strip() or child.getparent().tag == f"{X}span"
    assert after.find(f".//{X}style").get("class") == "kobostylehacks"


def test_kepub_book(tmp_path: Path, epubcheck) -> None:
    epub = tmp_path / "red.epub"
    kepub = tmp_path / "red.kepub.epub"
    epub.write_bytes(convert(RED.read_bytes(), RED.name).epub)
    kepub.write_bytes(convert(RED.read_bytes(), RED.name, Config(output_format="kepub")).epub)
    a, b = Book(epub), Book(kepub)
    assert a.spine == b.spine
    assert [words(b.text(p)) for p in b.story_pages()] == [words(a.text(p))
                                                           for p in a.story_pages()]
    for page in b.story_pages():
        root = b.page(page)
        ids = [s.get("id") for s in root.iter(f"{X}span") if s.get("class") == "koboSpan"]
        assert len(ids) == len(set(ids)) > 100
        assert all(re.fullmatch(r"kobo\.\d+\.\d+", i) for i in ids)
        for p in root.iter(f"{X}p"):
            assert not (p.text or "").strip(), "text outside a koboSpan"
    assert kindle_problems(kepub) == []
    reports = epubcheck([epub, kepub])
    assert [r.messages for r in reports if not r.clean] == []


def test_cli_kepub_name(tmp_path: Path, epubcheck) -> None:
    res = CliRunner().invoke(cli, ["build", str(RED), "-o", str(tmp_path), "--format", "kepub"])
    assert res.exit_code == 0, res.output
    books = [p for p in tmp_path.iterdir() if not p.name.startswith(".")]  # not the cache
    assert [p.name for p in books] == ["red_omega_part15.kepub.epub"]
    assert all(r.clean for r in epubcheck(books))
    res = CliRunner().invoke(cli, ["build", str(RED), "-o", str(tmp_path), "--format", "mobi"])
    assert res.exit_code == 2
