"""``fic2epub preview``: a look at a book's first pages, rendered by a real browser engine.

The cover, the title page, the disclaimer page and the first story page of an EPUB are
rendered to PNG by headless Chromium (Blink, the engine inside Kobo's and many Android
readers' web views), each at an e-reader's page size. The pages are shown as a reader
would: the book's own stylesheet, plus the margins, serif font and size a reader app
applies by default. Background networking is off; the pages load only local files.
"""

from __future__ import annotations

import os
import posixpath
import shutil
import subprocess
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from lxml import etree

from .errors import Fic2EpubError
from .verify import spine_items

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
PAGE_SIZE = (600, 900)  # CSS pixels: a 6-inch e-reader's page, portrait
READER_CSS = (
    "html { background: #ffffff; }\n"
    "body { margin: 0 !important; padding: 56px 48px 40px 48px !important;"
    " font-family: 'Source Serif Pro', 'DejaVu Serif', Georgia, serif; font-size: 20px;"
    " line-height: 1.45; color: #1b1b1b; }\n"
)


class PreviewError(Fic2EpubError):
    """The preview cannot be made (no browser, not an EPUB, the browser failed)."""


@dataclass(frozen=True)
class Page:
    role: str  # cover | titlepage | disclaimer | story
    path: str  # inside the EPUB


def find_browser() -> str:
    """The Chromium executable: $FIC2EPUB_CHROMIUM, else the first of BROWSERS on PATH."""
    env = os.environ.get("FIC2EPUB_CHROMIUM")
    if env:
        if shutil.which(env):
            return str(shutil.which(env))
        raise PreviewError(f"FIC2EPUB_CHROMIUM={env} is not an executable")
    for name in BROWSERS:
        found = shutil.which(name)
        if found:
            return found
    raise PreviewError("chromium is not installed: preview needs it "
                       "(Debian/Ubuntu: apt-get install chromium)")


def pick_pages(book: zipfile.ZipFile) -> list[Page]:
    """The cover, title page, disclaimer and first story page, those the book has."""
    try:
        items = spine_items(book)
    except (KeyError, etree.XMLSyntaxError) as exc:
        raise PreviewError("not an EPUB (no readable container.xml / package document)") \
            from exc
    spine = [path for path, media_type in items if media_type == "application/xhtml+xml"]
    pages: list[Page] = []
    rules = (("cover", lambda p: posixpath.basename(p).startswith("cover")),
             ("titlepage", lambda p: "titlepage" in posixpath.basename(p)),
             ("disclaimer", lambda p: "disclaimer" in posixpath.basename(p)),
             ("story", lambda p: "/chapter-" in f"/{p}"))
    for role, match in rules:
        found = next((p for p in spine if match(p)), None)
        if found:
            pages.append(Page(role, found))
    if not any(p.role == "story" for p in pages):
        rest = [p for p in spine if p not in {q.path for q in pages} and "nav" not in p]
        if rest:
            pages.append(Page("story", rest[0]))
    if not pages:
        raise PreviewError("the book has no pages to show")
    return pages


def _extract(book: zipfile.ZipFile, dest: Path) -> None:
    for name in book.namelist():
        target = (dest / name).resolve()
        if not target.is_relative_to(dest.resolve()) or name.endswith("/"):
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(book.read(name))


def _with_reader_style(page: Path) -> Path:
    """A copy of the page with the reader app's default margins and font added."""
    content = page.read_bytes()
    style = f"<style>\n{READER_CSS}</style>\n</head>".encode()
    shown = page.with_name(f".preview-{page.name}")
    shown.write_bytes(content.replace(b"</head>", style, 1))
    return shown


def screenshot(browser: str, page: Path, png: Path, size: tuple[int, int] = PAGE_SIZE,
               timeout: float = 90) -> None:
    with tempfile.TemporaryDirectory(prefix="fic2epub-chromium-") as profile:
        args = [browser, "--headless", "--disable-gpu", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--no-first-run",
                "--disable-default-apps", "--hide-scrollbars", "--mute-audio",
                "--force-device-scale-factor=1",
                f"--user-data-dir={profile}", f"--screenshot={png}",
                f"--window-size={size[0]},{size[1]}", page.resolve().as_uri()]
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            args.insert(2, "--no-sandbox")  # Chromium refuses to sandbox as root
        try:
            proc = subprocess.run(args, capture_output=True, timeout=timeout, check=False)
        except subprocess.TimeoutExpired as exc:
            raise PreviewError(f"{browser} did not finish within {timeout:.0f} s") from exc
        except OSError as exc:
            raise PreviewError(f"cannot run {browser}: {exc.strerror or exc}") from exc
    if proc.returncode != 0 or not png.is_file() or png.stat().st_size == 0:
        last = (proc.stderr.decode("utf-8", "replace").strip().splitlines() or ["no output"])
        raise PreviewError(f"{browser} failed (exit {proc.returncode}): {last[-1][:200]}")


def preview(epub: Path, out_dir: Path, size: tuple[int, int] = PAGE_SIZE) -> list[Path]:
    """Render the book's first pages to ``out_dir/NN-role.png``; returns the PNG paths."""
    browser = find_browser()
    try:
        book = zipfile.ZipFile(epub)
    except (OSError, zipfile.BadZipFile) as exc:
        raise PreviewError("not an EPUB (not a ZIP file)") from exc
    with book, tempfile.TemporaryDirectory(prefix="fic2epub-preview-") as tmp:
        pages = pick_pages(book)
        root = Path(tmp)
        _extract(book, root)
        out_dir.mkdir(parents=True, exist_ok=True)
        written = []
        for n, page in enumerate(pages, 1):
            source = root / page.path
            shown = source if page.role == "cover" else _with_reader_style(source)
            png = out_dir / f"{n:02d}-{page.role}.png"
            screenshot(browser, shown, png, size)
            written.append(png)
    return written
