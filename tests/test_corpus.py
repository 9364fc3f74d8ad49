"""Every shared sample and corpus file converts into an EPUB (and a KEPUB) that EPUBCheck
passes with 0 errors and 0 warnings, that holds every word of the source, in order, and
that has a cover and keeps Send-to-Kindle's rules."""

from __future__ import annotations

from pathlib import Path

import pytest
from bookreader import Book, words
from conftest import CORPUS, SAMPLES
from kindle_rules import kindle_problems

from fic2epub import Config, convert
from fic2epub.model import Story

ALL = SAMPLES + CORPUS


def expected_story_words(story: Story) -> list[str]:
    """Words of the decoded source, minus the lines the story says it omitted on purpose
    (front matter shown on the title page, scene-break ornaments, mail routing)."""
    omitted = {n for o in story.omissions for n in range(o.start_line, o.end_line + 1)}
    out: list[str] = []
    for no, line in enumerate(story.text.split("\n"), 1):
        if no not in omitted:
            out.extend(words(line))
    return out


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Story, Path]]:
    out = tmp_path_factory.mktemp("corpus")
    books = {}
    for src in ALL:
        result = convert(src.read_bytes(), src.name, Config())
        path = out / f"{src.name}.epub"
        path.write_bytes(result.epub)
        books[src.name] = (result.story, path)
    return books


@pytest.mark.slow
def test_every_book_passes_epubcheck(built: dict[str, tuple[Story, Path]], epubcheck) -> None:
    assert len(built) == len(ALL) >= 28
    reports = epubcheck([path for _, path in built.values()])
    bad = {r.path.name: r.messages for r in reports if not r.clean}
    assert bad == {}


@pytest.mark.parametrize("src", ALL, ids=lambda p: p.name)
def test_no_word_lost_or_reordered(src: Path, built: dict[str, tuple[Story, Path]]) -> None:
    story, path = built[src.name]
    book = Book(path)
    actual = [w for page in book.story_pages() for w in words(book.text(page))]
    expected = expected_story_words(story)
    assert len(expected) > 50
    assert actual == expected


@pytest.mark.parametrize("src", ALL, ids=lambda p: p.name)
def test_omitted_words_are_front_matter_or_ornament(src: Path,
                                                    built: dict[str, tuple[Story, Path]]) -> None:
    """Words left out of the story pages are only ever header text (which the title
    page shows), mail routing, or scene-break ornaments."""
    story, path = built[src.name]
    book = Book(path)
    front_words = [w for page in book.front_pages() for w in words(book.text(page))]
    front = set(front_words)
    front_letters = "".join(front_words)
    for o in story.omissions:
        assert o.reason in {"header block", "repeated title", "title", "byline", "mail header",
                            "gutenberg header", "scene break"}, o
        if o.reason == "byline":
            missing = [w for w in words(o.text) if w not in front]
            assert missing == [], (o, missing)
        if o.reason == "title":  # letter-spaced titles ("B O O K") are closed up
            assert "".join(words(o.text)) in front_letters, o
    for f in story.fields:
        if f.key in ("title", "author", "summary", "disclaimer", "rating", "feedback"):
            missing = [w for w in words(f.value) if w not in front]
            assert missing == [], (f, missing)


def test_red_omega_metadata(built: dict[str, tuple[Story, Path]]) -> None:
    story, path = built["red_omega_part15.txt"]
    book = Book(path)
    assert book.dc("title") == ["Red Omega (part 15 NA)"]
    assert book.dc("creator") == ["Nimue"]
    assert book.dc("language") == ["en"]
    assert book.dc("description") == ["The final battle. What more can I say?"]
    assert book.meta("belongs-to-collection") == ["Red Omega"]
    assert book.meta("group-position") == ["15"]
    assert book.meta_name("calibre:series") == "Red Omega"
    assert book.meta_name("calibre:series_index") == "15"
    assert book.meta("schema:accessMode") == ["textual", "visual"]  # text + cover image
    assert book.meta("schema:accessibilityHazard") == ["none"]
    assert any(p.endswith("disclaimer.xhtml") for p in book.spine)
    assert "All characters belong to Joss Whedon" in book.text("EPUB/text/disclaimer.xhtml")
    title_page = book.text("EPUB/text/titlepage.xhtml")
    assert "Yes, please" in title_page and "The final battle" in title_page
    breaks = sum(len(book.page(p).findall(".//{http://www.w3.org/1999/xhtml}hr"))
                 for p in book.story_pages())
    assert breaks == 19 == story.scene_breaks
    # the repeated title line is not printed again in the story
    first = book.text(book.story_pages()[0]).split()
    assert first[:3] == ["It", "was", "dark"]


def test_same_input_same_bytes(tmp_path: Path) -> None:
    src = SAMPLES[0].read_bytes()
    a = convert(src, "red_omega_part15.txt").epub
    b = convert(src, "red_omega_part15.txt").epub
    assert a == b
    other = convert(src + b"\n\nOne more line.\n", "red_omega_part15.txt").epub
    assert other != a


@pytest.fixture(scope="module")
def built_kepub(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The same books as KEPUBs (the word check inside convert runs on them too)."""
    out = tmp_path_factory.mktemp("corpus-kepub")
    books = {}
    for src in ALL:
        path = out / f"{src.name}.kepub.epub"
        path.write_bytes(convert(src.read_bytes(), src.name, Config(output_format="kepub")).epub)
        books[src.name] = path
    return books


@pytest.mark.parametrize("src", ALL, ids=lambda p: p.name)
def test_cover_and_kindle_rules(src: Path, built: dict[str, tuple[Story, Path]]) -> None:
    """Every book has a cover, first in the spine, and keeps Send-to-Kindle's rules."""
    _story, path = built[src.name]
    assert kindle_problems(path) == []
    book = Book(path)
    assert book.spine[0].endswith("/cover.xhtml") and book.meta_name("cover") == "cover-image"


@pytest.mark.parametrize("src", ALL, ids=lambda p: p.name)
def test_kepub_keeps_words_and_rules(src: Path, built: dict[str, tuple[Story, Path]],
                                     built_kepub: dict[str, Path]) -> None:
    _story, path = built[src.name]
    epub, kepub = Book(path), Book(built_kepub[src.name])
    assert kindle_problems(built_kepub[src.name]) == []
    assert [words(kepub.text(p)) for p in kepub.story_pages()] == \
        [words(epub.text(p)) for p in epub.story_pages()]
    spans = [el for p in kepub.story_pages() for el in kepub.page(p).iter(
        "{http://www.w3.org/1999/xhtml}span") if el.get("class") == "koboSpan"]
    assert spans


@pytest.mark.slow
def test_every_kepub_passes_epubcheck(built_kepub: dict[str, Path], epubcheck) -> None:
    reports = epubcheck(list(built_kepub.values()))
    assert {r.path.name: r.messages for r in reports if not r.clean} == {}
