"""LanguageTool through language-tool-python, only when the user points at a server
(``--languagetool URL``) or a LanguageTool already unpacked on disk (``LTP_PATH``).

It is never allowed to download LanguageTool: without a server or a local copy, or when
the server does not answer, the checker adds one line to the run's notes and returns no
findings, so the other checkers' findings are still reported.
"""

from __future__ import annotations

import contextlib
import os
from typing import Any

from ..model import Finding
from .checkers import Notes
from .document import Document

CHUNK = 15_000
"""Characters per request (public LanguageTool servers refuse large texts)."""

_CATEGORIES = {"TYPOS": "spelling", "PUNCTUATION": "typography", "TYPOGRAPHY": "typography",
               "CONFUSED_WORDS": "real-word", "GRAMMAR": "grammar", "CASING": "typography",
               "REDUNDANCY": "style", "STYLE": "style", "COLLOCATIONS": "grammar"}

NOT_CONFIGURED = ("LanguageTool not configured: set --languagetool URL (a LanguageTool "
                  "server) or LTP_PATH (a local LanguageTool folder); its checks were skipped")


def local_languagetool_available() -> bool:
    """True when LTP_PATH holds an unpacked LanguageTool (so nothing would be downloaded)."""
    if not os.environ.get("LTP_PATH"):
        return False
    try:
        from language_tool_python.download_lt import LocalLanguageTool

        return LocalLanguageTool.get_latest_installed_version() is not None
    except Exception:
        return False


class LanguageToolChecker:
    name = "languagetool"

    def __init__(self, url: str | None, notes: Notes) -> None:
        self.url = url
        self.notes = notes

    def _tool(self, language: str) -> Any:
        import language_tool_python

        if self.url:
            return language_tool_python.LanguageTool(language, remote_server=self.url)
        return language_tool_python.LanguageTool(language)

    def check(self, doc: Document) -> list[Finding]:
        if not self.url and not local_languagetool_available():
            self.notes.add(NOT_CONFIGURED)
            return []
        where = self.url or os.environ.get("LTP_PATH", "")
        try:
            tool = self._tool(doc.language)
        except Exception as exc:
            self.notes.add(f"LanguageTool unreachable at {where} ({_short(exc)}): its checks "
                           f"were skipped; set --languagetool URL to a running server")
            return []
        findings: list[Finding] = []
        try:
            for base, text in _chunks(doc):
                for m in tool.check(text):
                    start = base + int(m.offset)
                    end = start + max(1, int(m.error_length))
                    category = _CATEGORIES.get(str(m.category).upper(), "style")
                    findings.append(doc.finding(
                        start, end, str(m.message), f"LT:{m.rule_id}", category,
                        [str(r) for r in m.replacements[:5]]))
        except Exception as exc:
            self.notes.add(f"LanguageTool unreachable at {where} ({_short(exc)}): its checks "
                           f"were skipped; set --languagetool URL to a running server")
            return []
        finally:
            with contextlib.suppress(Exception):
                tool.close()
        return findings


def _short(exc: BaseException) -> str:
    """One short reason: the system's own words for the innermost OS error in the chain
    ("Connection refused", "Name or service not known"), else the first line."""
    inner: BaseException = exc
    seen = {id(exc)}
    while (nxt := inner.__cause__ or inner.__context__) is not None and id(nxt) not in seen:
        seen.add(id(nxt))
        inner = nxt
    if isinstance(inner, OSError) and inner.strerror:
        return inner.strerror
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return text[:160]


def _chunks(doc: Document) -> list[tuple[int, str]]:
    """(offset, text) runs of whole paragraphs, at most CHUNK characters where possible.

    A run is the source text from its first paragraph's start to its last one's end, with
    everything between paragraphs (titles, markers) blanked, so offsets map back as is.
    """
    runs: list[tuple[int, str]] = []
    start = None
    end = 0
    for a, b in doc.paragraphs:
        if start is None:
            start, end = a, b
        elif b - start > CHUNK:
            runs.append((start, doc.body[start:end]))
            start, end = a, b
        else:
            end = b
    if start is not None:
        runs.append((start, doc.body[start:end]))
    return runs
