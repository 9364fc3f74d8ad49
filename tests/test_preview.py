"""``fic2epub preview`` renders real pages in headless Chromium; the pictures are not
blank, and a missing browser is one clear line."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import ROOT, SAMPLES, require
from PIL import Image

from fic2epub import convert
from fic2epub.cli import cli
from fic2epub.preview import BROWSERS, PAGE_SIZE

INPUT = ROOT / "input"
BOOKS = [*sorted(INPUT.glob("*.txt")), SAMPLES[0]]


def has_browser() -> bool:
    return any(shutil.which(b) for b in BROWSERS)


@pytest.fixture(scope="module")
def browser() -> None:
    require(has_browser(), "chromium is required for the preview tests in CI",
            "chromium is not installed")


def not_blank(png: Path) -> float:
    """Share of pixels that are not (near) white; asserts the image is not one colour."""
    img = Image.open(png).convert("L")
    assert img.size == PAGE_SIZE
    lo, hi = img.getextrema()
    assert hi - lo > 100, f"{png} is (nearly) one colour"
    data = img.tobytes()
    return sum(1 for v in data if v < 200) / len(data)


@pytest.mark.parametrize("src", BOOKS, ids=lambda p: p.name)
def test_preview_pages(src: Path, tmp_path: Path, browser: None) -> None:
    epub = tmp_path / "book.epub"
    epub.write_bytes(convert(src.read_bytes(), src.name).epub)
    out = tmp_path / "preview"
    res = CliRunner().invoke(cli, ["preview", str(epub), "-o", str(out)])
    assert res.exit_code == 0, res.output
    pngs = sorted(out.glob("*.png"))
    assert [Path(line).name for line in res.stdout.split()] == [p.name for p in pngs]
    roles = [p.stem.split("-", 1)[1] for p in pngs]
    assert roles[:2] == ["cover", "titlepage"] and roles[-1] == "story"
    assert len(roles) == (4 if "disclaimer" in roles else 3)
    shares = {role: not_blank(p) for role, p in zip(roles, pngs, strict=True)}
    assert shares["cover"] > 0.5  # the dark cover fills the page
    assert shares["titlepage"] > 0.003
    assert shares["story"] > 0.03  # a page full of text


def test_kepub_preview(tmp_path: Path, browser: None) -> None:
    from fic2epub import Config

    epub = tmp_path / "book.kepub.epub"
    epub.write_bytes(convert(SAMPLES[0].read_bytes(), SAMPLES[0].name,
                             Config(output_format="kepub")).epub)
    res = CliRunner().invoke(cli, ["preview", str(epub), "-o", str(tmp_path / "p")])
    assert res.exit_code == 0, res.output
    assert not_blank(tmp_path / "p" / "04-story.png") > 0.03


def test_missing_browser_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    epub = tmp_path / "book.epub"
    epub.write_bytes(convert(SAMPLES[0].read_bytes(), SAMPLES[0].name).epub)
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    monkeypatch.delenv("FIC2EPUB_CHROMIUM", raising=False)
    res = CliRunner().invoke(cli, ["preview", str(epub), "-o", str(tmp_path / "p")])
    assert res.exit_code == 1
    assert res.stderr.strip().splitlines() == [
        f"{epub}: chromium is not installed: preview needs it "
        "(Debian/Ubuntu: apt-get install chromium)"]


@pytest.mark.broken_epubs
def test_not_an_epub(tmp_path: Path, browser: None) -> None:
    bad = tmp_path / "x.epub"
    bad.write_bytes(b"hello")
    res = CliRunner().invoke(cli, ["preview", str(bad), "-o", str(tmp_path / "p")])
    assert res.exit_code == 1
    assert res.stderr.strip() == f"{bad}: not an EPUB (not a ZIP file)"


def test_stylesheet_leaves_font_and_size_to_the_reader() -> None:
    css = (ROOT / "styles" / "default.css").read_text(encoding="utf-8")
    rules = css.split("*/", 1)[1]  # after the header comment
    assert "font-family" not in rules
    assert not __import__("re").search(r"\d(px|pt)\b|line-height|color\s*:", rules)
    for needed in ("hyphens: auto", "text-indent: 0", "text-indent: 1.5em", "\\2042",
                   "h2 + p", "hr + p"):
        assert needed in rules
