"""The data model: every stage takes and returns these dataclasses.

Positions are 1-based lines and columns in the *decoded* source text (after the
bytes were decoded and line endings split), so reports point into the author's
own file.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, overload


@dataclass(frozen=True)
class Change:
    """One edit the decoder or the cleaner made, with where it happened."""

    fixer: str
    line: int
    column: int
    before: str
    after: str


class Changes(Sequence[Change]):
    """Changes that are worked out when they are first read.

    The cleaner notes what each fixer did as it goes (where, in the text as that fixer
    saw it), but mapping every change back through the earlier fixers' edits to its line
    and column in the source, and making the :class:`Change` objects, waits until
    somebody reads them. A batch build never does; for it that work was 6.6% of the CPU
    instructions of a whole conversion (49.5 against 46.2 million a bench story). Read,
    this is a sequence like a list, equal to a list with the same changes, and it
    pickles as a list.
    """

    __slots__ = ("_items", "_parts")

    def __init__(self, items: Iterable[Change] = ()) -> None:
        self._items: list[Change] | None = list(items)
        self._parts: tuple[Sequence[Change] | Callable[[], list[Change]], ...] = ()

    @classmethod
    def later(cls, *parts: Sequence[Change] | Callable[[], list[Change]]) -> Changes:
        """The changes of ``parts`` one after the other; a callable part is called (once)
        for its changes when they are first read."""
        changes = cls()
        changes._items = None
        changes._parts = parts
        return changes

    def _list(self) -> list[Change]:
        if self._items is None:
            items: list[Change] = []
            for part in self._parts:
                items.extend(part() if callable(part) else part)
            self._items, self._parts = items, ()
        return self._items

    def __len__(self) -> int:
        return len(self._list())

    @overload
    def __getitem__(self, index: int) -> Change: ...

    @overload
    def __getitem__(self, index: slice) -> list[Change]: ...

    def __getitem__(self, index: int | slice) -> Change | list[Change]:
        return self._list()[index]

    def __iter__(self) -> Iterator[Change]:
        return iter(self._list())

    def __eq__(self, other: object) -> bool:
        if isinstance(other, (Changes, list, tuple)):
            return self._list() == list(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]  # mutable, like a list

    def __repr__(self) -> str:
        return f"Changes({self._list()!r})"

    def __reduce__(self) -> tuple[type[Changes], tuple[list[Change]]]:
        return (Changes, (self._list(),))


@dataclass(frozen=True)
class Omission:
    """Source lines deliberately not printed in the story body, and why.

    Their words live elsewhere (title page, metadata) or are routing noise
    (mail headers) or ornaments (scene-break markers).
    """

    start_line: int
    end_line: int
    reason: str
    text: str


@dataclass(frozen=True)
class Field:
    """A header field as written: canonical key, the label the author used, value."""

    key: str
    label: str
    value: str
    start_line: int
    end_line: int


@dataclass
class Metadata:
    title: str | None = None
    author: str | None = None
    author_email: str | None = None
    language: str | None = None
    rating: str | None = None
    fandom: str | None = None
    relationships: str | None = None
    characters: str | None = None
    category: str | None = None
    warnings: str | None = None
    tags: str | None = None
    series: str | None = None
    series_index: str | None = None
    summary: str | None = None
    disclaimer: str | None = None
    feedback: str | None = None
    notes: str | None = None
    archive: str | None = None
    email: str | None = None
    word_count: str | None = None
    date: str | None = None
    translator: str | None = None
    byline: str | None = None
    """The byline as written in the text ("written by Jane Doe"), when one was found."""
    extra: list[tuple[str, str]] = field(default_factory=list)
    """Fields with no canonical key, as (label, value), in source order."""
    title_source: str = "none"
    """Where the title came from: header, mail, gutenberg, first-line, filename, option."""


@dataclass(frozen=True)
class Paragraph:
    """A block of story text.

    ``text`` is clean text; for verse, lines are separated by ``\\n``.
    ``emphasis`` holds [start, end) character ranges of ``text`` to italicise.
    """

    text: str
    start_line: int
    end_line: int
    kind: Literal["prose", "verse"] = "prose"
    emphasis: tuple[tuple[int, int], ...] = ()


@dataclass
class Scene:
    paragraphs: list[Paragraph] = field(default_factory=list)
    start_line: int = 0
    marker: str | None = None
    """The break that opened this scene: a marker line such as ``* * *``, ``blank``, or None."""


@dataclass
class Chapter:
    title: str | None
    title_line: int | None
    scenes: list[Scene] = field(default_factory=list)
    notes: list[tuple[str, str]] = field(default_factory=list)
    """Of a combined book's chapter that begins a file after the first: that file's
    header fields (label, value) that the first file's header does not have as they are
    (the part's own notes, disclaimer, summary ...), shown on a page before it."""


@dataclass
class Story:
    source_name: str
    encoding: str
    metadata: Metadata
    fields: list[Field]
    chapters: list[Chapter]
    changes: Sequence[Change]
    """Every edit of the decoder and the cleaner, in source order by paragraph (usually a
    :class:`Changes`, worked out when first read)."""
    omissions: list[Omission]
    warnings: list[str]
    identifier: str
    """Stable identifier: the same story always gets the same id."""
    text: str = field(default="", repr=False)
    """The decoded source text (``\\n`` line ends): what positions refer to."""

    @property
    def scene_count(self) -> int:
        return sum(len(c.scenes) for c in self.chapters)

    @property
    def scene_breaks(self) -> int:
        """Breaks inside chapters (a chapter's first scene is not a break)."""
        return sum(max(0, len(c.scenes) - 1) for c in self.chapters)

    def paragraphs(self) -> list[Paragraph]:
        return [p for c in self.chapters for s in c.scenes for p in s.paragraphs]


@dataclass(frozen=True)
class Finding:
    """One thing a proofing checker wants the author to look at.

    Positions are 1-based lines and columns in the decoded source text
    (``Story.text.split("\\n")``); ``end_column`` is the column just past the flagged
    text, as in SARIF. ``text`` is the flagged text exactly as it stands in the file.
    """

    file: str
    line: int
    column: int
    end_line: int
    end_column: int
    text: str
    message: str
    rule: str
    category: str
    suggestions: list[str] = field(default_factory=list)


CHECKER_NAMES = ("spelling", "real-word", "typography", "languagetool")
"""The proofing checkers (``--checker``, a settings file's ``[proof] checkers``)."""
PROOF_LEVELS = ("note", "warning", "error")
"""Levels of a finding, mildest first (``--fail-on``)."""

FIXER_NAMES = ("whitespace", "dashes", "ellipses", "quotes", "emphasis")
"""The cleaner's fixers, in the order they run (``clean.FIXERS``, then ``emphasis``): the
names ``--no-fix`` and a settings file's ``no_fix`` take. Here rather than in
:mod:`fic2epub.clean` so that the command line knows them without loading the cleaner."""


@dataclass(frozen=True)
class CleanOptions:
    """Switches for the cleaner's fixers; each named fixer can be turned off."""

    disabled: frozenset[str] = frozenset()

    def enabled(self, fixer: str) -> bool:
        return fixer not in self.disabled


@dataclass(frozen=True)
class Config:
    """Everything a conversion needs besides the input bytes."""

    title: str | None = None
    author: str | None = None
    language: str | None = None
    series: str | None = None
    series_index: str | None = None
    stylesheet: Path | None = None
    clean: CleanOptions = CleanOptions()
    verify: bool = True
    max_bytes: int = 64 * 2**20
    """Inputs larger than this are refused, so that memory stays bounded."""
    proof: dict[str, Any] = field(default_factory=dict)
    """Proofing settings from configuration files (checkers, word lists, ...)."""
    cover: bool = True
    """Give the book a cover: the user's ``cover_image``, else a generated one."""
    cover_image: Path | None = None
    """The user's cover image (read by :mod:`fic2epub.files`, like ``stylesheet``)."""
    output_format: Literal["epub", "kepub"] = "epub"
    """``kepub`` adds Kobo's span markup and writes ``.kepub.epub``."""


DEFAULT_CONFIG = Config()
"""The settings of a plain ``fic2epub build``: the default of every stage."""


@dataclass
class Result:
    """The outcome of converting one input file (what ``build --json`` prints)."""

    input: str
    output: str | None
    ok: bool
    error: str | None = None
    title: str | None = None
    author: str | None = None
    words: int = 0
    scenes: int = 0
    warnings: list[str] = field(default_factory=list)
    skipped: bool = False
    """True when the input was unchanged since the last build and was not rebuilt."""
    input_sha256: str | None = None
    """SHA-256 of the input bytes the book was made from (None when they were not read)."""
    input_stat: tuple[int, int] | None = None
    """Size and modification time (ns) of the input, taken before it was read: with
    ``input_sha256``, what the incremental cache records, so that a file changed while
    the batch ran is rebuilt next time rather than taken for up to date."""
    findings: list[Finding] = field(default_factory=list)
    """Proofing findings (``build --check``), positions in the input file."""
    proof_failed: bool = False
    """A finding matched the proofing settings' ``fail_on`` (``--fail-on``)."""
    proof_notes: list[str] = field(default_factory=list)
    """Messages about the proofing run itself (a dictionary missing, LanguageTool
    unreachable): shown once for a whole batch, not as each book's warnings."""
