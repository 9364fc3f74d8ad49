"""Run the checkers over one story and merge what they find."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..model import (
    CHECKER_NAMES,
    DEFAULT_CONFIG,
    PROOF_LEVELS,
    Config,
    Finding,
    Result,
    Story,
)
from ..settings import word_list
from .checkers import (
    Checker,
    ChunkedChecker,
    Notes,
    RealWordChecker,
    SpellingChecker,
    TypographyChecker,
)
from .document import Document, document_from_story
from .languagetool import LanguageToolChecker, local_languagetool_available

CHECKERS = CHECKER_NAMES
OFFLINE = ("spelling", "real-word", "typography")

LEVELS = PROOF_LEVELS
CATEGORY_LEVEL = {"spelling": "error", "real-word": "error", "repetition": "error",
                  "grammar": "warning", "typography": "warning", "style": "note"}


def level_of(finding: Finding) -> str:
    return CATEGORY_LEVEL.get(finding.category, "warning")


@dataclass
class ProofOptions:
    checkers: tuple[str, ...] | None = None
    """Checkers to run; None = the offline ones, plus LanguageTool when it is configured."""
    disabled: frozenset[str] = frozenset()
    words: frozenset[str] = frozenset()
    """The author's own words (never flagged as misspellings)."""
    ignore_rules: frozenset[str] = frozenset()
    """Rules or categories to leave out of the report."""
    ignore_words: frozenset[str] = frozenset()
    """Flagged text to leave out of the report (any rule), compared case-insensitively."""
    languagetool: str | None = None
    """URL of a LanguageTool server."""
    language: str | None = None

    def active(self) -> list[str]:
        if self.checkers is not None:
            chosen = list(self.checkers)
        else:
            chosen = list(OFFLINE)
            if self.languagetool or local_languagetool_available():
                chosen.append("languagetool")
        return [c for c in chosen if c not in self.disabled]


@dataclass
class ProofResult:
    file: str
    findings: list[Finding]
    notes: list[str] = field(default_factory=list)
    words: int = 0
    language: str = "en"
    text: str = ""
    """The decoded source, for reports that show the story (HTML)."""


def _strings(value: Any) -> tuple[str, ...]:
    return (value,) if isinstance(value, str) else tuple(str(v) for v in value or ())


def options_from_settings(settings: Mapping[str, Any]) -> ProofOptions:
    """ProofOptions from proofing settings: a settings file's ``[proof]`` table (checked
    by :mod:`fic2epub.settings`; word lists as paths, read by
    :func:`~fic2epub.settings.word_list`) with the command line's values over it."""
    words: frozenset[str] = frozenset()
    for path in _strings(settings.get("words")):
        words |= word_list(Path(path))
    checkers = settings.get("checkers")
    return ProofOptions(
        checkers=_strings(checkers) if checkers is not None else None,
        disabled=frozenset(_strings(settings.get("disable"))), words=words,
        ignore_rules=frozenset(_strings(settings.get("ignore_rules"))),
        ignore_words=frozenset(_strings(settings.get("ignore_words"))),
        languagetool=settings.get("languagetool") or None,
        language=settings.get("language") or None)


def fail_on_of(settings: Mapping[str, Any]) -> tuple[str, ...]:
    """The ``fail_on`` of proofing settings (levels, categories or rules)."""
    return _strings(settings.get("fail_on"))


def record(result: Result, proofed: ProofResult, settings: Mapping[str, Any]) -> None:
    """A book's proofing in its batch Result (``build --check`` and ``build --proof``):
    the findings, whether ``settings``' ``fail_on`` names one, and the notes."""
    result.findings = proofed.findings
    result.proof_failed = should_fail(proofed.findings, fail_on_of(settings))
    result.proof_notes = list(proofed.notes)


def make_checkers(options: ProofOptions, notes: Notes) -> list[Checker]:
    made: list[Checker] = []
    for name in options.active():
        if name == "spelling":
            made.append(SpellingChecker(set(options.words), notes))
        elif name == "real-word":
            made.append(RealWordChecker())
        elif name == "typography":
            made.append(TypographyChecker())
        elif name == "languagetool":
            made.append(LanguageToolChecker(options.languagetool, notes))
    return made


def proof_document(doc: Document, options: ProofOptions) -> ProofResult:
    notes = Notes()
    findings: list[Finding] = []
    checkers = make_checkers(options, notes)
    # the offline checkers read the body together, one tokenised chunk at a time
    chunked = [c for c in checkers if isinstance(c, ChunkedChecker)]
    for c in chunked:
        c.begin(doc)
    words = 0
    for chunk in doc.chunks():
        words += len(chunk.words)
        for c in chunked:
            c.chunk(doc, chunk)
    for checker in checkers:
        if isinstance(checker, ChunkedChecker):
            findings.extend(checker.finish(doc))
        else:
            findings.extend(checker.check(doc))
    findings = _merge(findings, options)
    return ProofResult(doc.name, findings, notes.lines, words, doc.language, doc.text)


def proof_story(story: Story, options: ProofOptions | None = None,
                language: str | None = None) -> ProofResult:
    options = options or ProofOptions()
    from ..pipeline import detect_language

    lang = options.language or language or detect_language(story)
    return proof_document(document_from_story(story, lang), options)


def proof_bytes(data: bytes, name: str, options: ProofOptions | None = None,
                config: Config = DEFAULT_CONFIG) -> ProofResult:
    from ..pipeline import parse

    return proof_story(parse(data, name, config), options)


def proof_file(path: Path, options: ProofOptions | None = None,
               config: Config = DEFAULT_CONFIG) -> ProofResult:
    from ..files import read_input

    result = proof_bytes(read_input(path), path.name, options, config)
    result.file = str(path)
    for f in result.findings:
        object.__setattr__(f, "file", str(path))
    return result


def _merge(findings: list[Finding], options: ProofOptions) -> list[Finding]:
    """Drop ignored findings and duplicates (the same span and category twice: the
    offline checker's finding is kept), sorted by position."""
    ignore_words = {w.lower() for w in options.ignore_words}
    seen: set[tuple[int, int, int, int, str]] = set()
    out: list[Finding] = []
    for f in findings:
        if f.rule in options.ignore_rules or f.category in options.ignore_rules:
            continue
        if f.text.lower() in ignore_words:
            continue
        key = (f.line, f.column, f.end_line, f.end_column, f.category)
        if key in seen:
            continue
        seen.add(key)
        out.append(f)
    out.sort(key=lambda f: (f.line, f.column, f.rule))
    return out


def fail_on_error(specs: tuple[str, ...] | list[str]) -> str | None:
    """Why a ``--fail-on`` list is wrong, None when it is right. Each entry is a level
    (note, warning, error; any case), a category, a rule of the offline checkers, a
    LanguageTool rule (``LT:ID``), or ``CATEGORY/RULE`` as findings are printed. A
    mistyped name would never match, and a CI gate on it would pass for ever."""
    from .checkers import RULES

    bad = []
    for spec in specs:
        category, _, rule = spec.rpartition("/") if "/" in spec else ("", "", spec)
        known_rule = rule in RULES or (rule.startswith("LT:") and len(rule) > 3)
        if category:
            ok = category in CATEGORY_LEVEL and known_rule
        else:
            ok = rule.lower() in LEVELS or rule in CATEGORY_LEVEL or known_rule
        if not ok:
            bad.append(spec)
    if bad:
        return (f"fail_on {', '.join(map(repr, bad))}: give a level ({', '.join(LEVELS)}), "
                f"a category ({', '.join(CATEGORY_LEVEL)}), a rule (as in the "
                "[CATEGORY/RULE] of a finding; LanguageTool's: LT:ID) or CATEGORY/RULE")
    return None


def should_fail(findings: list[Finding], fail_on: tuple[str, ...]) -> bool:
    """``--fail-on``: a level (note, warning, error: that level or worse), a category, a
    rule, or ``CATEGORY/RULE``."""
    for spec in fail_on:
        if spec.lower() in LEVELS:
            floor = LEVELS.index(spec.lower())
            if any(LEVELS.index(level_of(f)) >= floor for f in findings):
                return True
        elif "/" in spec:
            category, _, rule = spec.rpartition("/")
            if any(f.category == category and f.rule == rule for f in findings):
                return True
        elif any(f.category == spec or f.rule == spec for f in findings):
            return True
    return False


def warm_up() -> None:
    """Proofread a tiny story, so that the dictionaries and word models are loaded (used
    before forking batch workers, which then share them)."""
    proof_bytes(b"Title: Warm-up\n\nThe lantern keeper climbed the stares and looked out "
                b"over the the grey water.\n", "warm-up.txt")
