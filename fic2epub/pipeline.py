"""The stages, in order, in one place.

    bytes --decode--> text --parse_front--> metadata + omissions
          --build_body (paragraphs, cleaning, scenes, chapters)--> Story
          --render--> XHTML documents --package--> EPUB bytes --verify--> checked bytes

Everything here is pure (data in, data out). Reading inputs and writing outputs lives
in :mod:`fic2epub.files`.
"""

from __future__ import annotations

import collections
import dataclasses
import functools
import hashlib
import re
import uuid
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from .cover import CoverImage, generate_cover, warm_up_covers
from .decode import decode
from .errors import ConfigError, EmptyStoryError
from .header import parse_front, smart_title_case
from .language import classify as classify_language
from .model import DEFAULT_CONFIG, Change, Changes, Chapter, Config, Metadata, Omission, Story
from .package import package
from .render import render
from .settings import LANG_TAG
from .structure import Body, build_body
from .verify import check_words

_ID_NAMESPACE = uuid.UUID("6f1c3a52-9a4e-5b7e-8c0d-f1c2e9b00001")


@dataclass(frozen=True)
class Converted:
    story: Story
    epub: bytes
    language: str


def _has_text(body: Body) -> bool:
    return any(ch.scenes and ch.scenes[0].paragraphs for ch in body.chapters)


def parse(data: bytes, source_name: str, config: Config = DEFAULT_CONFIG) -> Story:
    """Stages up to the Story: decode, front matter, body."""
    decoded = decode(data)
    lines = decoded.text.split("\n")
    front = parse_front(lines)
    body = build_body(lines, front.omitted_lines(), front.chapter_starts, config.clean)
    warnings: list[str] = []
    if not _has_text(body):
        # Nothing left after the header: read it again narrowly, so that a story of one
        # paragraph right under "Summary: ..." is the story, not the summary running on
        front = parse_front(lines, strict=True)
        body = build_body(lines, front.omitted_lines(), front.chapter_starts, config.clean)
        if not _has_text(body):
            raise EmptyStoryError("no story text found (only a header, or nothing at all)")
        warnings.append("the header seemed to hold all the text: read it as ending where "
                        "a field's value ends a sentence and the next line starts one")
    meta = _finish_metadata(front.metadata, config, source_name)
    if meta.title_source == "filename":
        warnings.append("no title found: using the file name")
    digest = hashlib.sha256(decoded.text.encode("utf-8")).hexdigest()
    omissions = sorted([*front.omissions, *body.omissions], key=lambda o: o.start_line)
    return Story(
        source_name=source_name,
        encoding=decoded.encoding,
        metadata=meta,
        fields=front.fields,
        chapters=body.chapters,
        changes=Changes.later(decoded.changes, body.changes),
        omissions=omissions,
        warnings=warnings,
        identifier=f"urn:uuid:{uuid.uuid5(_ID_NAMESPACE, digest)}",
        text=decoded.text,
    )


def _given(value: str | None) -> str | None:
    """An override as given, spaces trimmed; None when it holds only white space (an empty
    dc:title or dc:creator is invalid EPUB)."""
    return value.strip() or None if value else None


_ESCAPED_BYTE = re.compile("[\udc80-\udcff]")
_SURROGATE = re.compile("[\ud800-\udfff]")


def name_text(name: str) -> str:
    """A file name as text for a title. Bytes of a name that were not UTF-8 (Python keeps
    them as the lone surrogates U+DC80-U+DCFF) are read as Windows-1252, the encoding
    such names (from old archives) most often have; any other lone surrogate is dropped."""
    if not _SURROGATE.search(name):
        return name
    name = _ESCAPED_BYTE.sub(
        lambda m: bytes([ord(m.group()) - 0xDC00]).decode("cp1252", "replace"), name)
    return _SURROGATE.sub("", name)


def title_from_name(path: str) -> str:
    """A title made from a file or folder name: ``my_story.txt`` -> "My Story"."""
    stem = name_text(Path(path).name)
    stem = re.sub(r"\.(txt|text|md)$", "", stem, flags=re.I)
    return smart_title_case(re.sub(r"[_]+", " ", stem).strip()) or "Untitled"


def _finish_metadata(meta: Metadata, config: Config, source_name: str) -> Metadata:
    if title := _given(config.title):
        meta.title, meta.title_source = title, "option"
    if author := _given(config.author):
        meta.author = author
    if series := _given(config.series):
        meta.series = series
    if series_index := _given(config.series_index):
        meta.series_index = series_index
    if not meta.title:
        meta.title = title_from_name(source_name)
        meta.title_source = "filename"
    if config.language:
        meta.language = config.language
    return meta




_LETTER = re.compile(r"[^\W\d_]")
_LANG_SAMPLE = 800
"""Characters of prose given to the language classifier. Its time grows with the
sample; on 185 windows of the corpus and samples, 500 and 800 characters gave the same
language as 1,500 (300: 184 of 185), in 0.14 instead of 0.26 ms
(``benchmarks/bench_language.py``)."""


def detect_language(story: Story) -> str:
    """BCP 47 tag: from the header/options, else detected from the text, else ``en``."""
    if story.metadata.language:
        if not LANG_TAG.match(story.metadata.language):
            raise ConfigError(f"invalid language tag {story.metadata.language!r}")
        return story.metadata.language
    sample: list[str] = []
    size = 0
    for p in story.paragraphs():
        sample.append(p.text)
        size += len(p.text)
        if size >= _LANG_SAMPLE:
            break
    text = " ".join(sample)[:_LANG_SAMPLE]
    letters = len(_LETTER.findall(text))
    if letters < 40:
        return "en"
    try:
        lang = classify_language(text)
    except (OSError, ImportError, ValueError) as exc:  # its model missing or damaged
        story.warnings.append(f"language detection failed ({exc}); using en")
        return "en"
    return str(lang) if LANG_TAG.match(str(lang)) else "en"


@functools.cache
def default_css() -> bytes:
    """The bundled stylesheet (read once per process). Installed, it is the package
    ``fic2epub.styles`` (mapped from the top-level ``styles/`` folder); run from a source
    checkout that is not installed (``python -m fic2epub`` in the project folder), or with
    an install that points elsewhere, it is read from ``styles/`` beside the package."""
    try:
        return resources.files("fic2epub.styles").joinpath("default.css").read_bytes()
    except (ModuleNotFoundError, FileNotFoundError):
        project = Path(__file__).resolve().parent.parent  # a checkout: not site-packages
        checkout = project / "styles" / "default.css"
        if (project / "pyproject.toml").is_file() and checkout.is_file():
            return checkout.read_bytes()
        raise


def choose_cover(story: Story, config: Config, cover: CoverImage | None) -> CoverImage | None:
    """The user's image when given, a generated cover by default, none with ``cover=False``."""
    if not config.cover:
        return None
    return cover if cover is not None else generate_cover(story.metadata, story.identifier)


def convert(data: bytes, source_name: str, config: Config = DEFAULT_CONFIG,
            css: bytes | None = None, cover: CoverImage | None = None) -> Converted:
    """All stages: bytes of a story file -> a checked EPUB (or KEPUB).

    ``cover`` is the user's prepared image (:func:`fic2epub.cover.load_user_cover`);
    without it a cover is generated unless ``config.cover`` is False."""
    return build_epub(parse(data, source_name, config), config, css, cover)


_WARM_UP = (b"Title: Warm-up\nAuthor: fic2epub\nFandom: none\nSeries: none, part 1\n\n"
            b"The lantern keeper climbed the stairs and looked out over the grey water, "
            b"where the boats were \"coming home\" -- slowly... *at last*.\n")


def warm_up(config: Config = DEFAULT_CONFIG) -> None:
    """Convert a tiny story, so that models, fonts and caches are loaded (used before
    forking batch workers, which then share them)."""
    convert(_WARM_UP, "warm-up.txt", config)
    # ftfy checks every line with a non-ASCII character, which most stories have. Not
    # charset_normalizer (0.06 s, 2 MB), needed only for files that are not UTF-8: a
    # worker that meets one imports it then, in parallel with the other workers.
    import ftfy.badness  # noqa: F401

    warm_up_covers()


_COMBINED_KEYS = {"title", "series", "language"}
"""Header fields of a combined book's later parts that make its metadata or chapter
titles rather than a page of their own."""


def combine(stories: list[Story], name: str, folder_name: str | None = None) -> Story:
    """One Story from several files that are chapters or parts of one work, in the order
    given. Metadata comes from the first file's header; each file becomes at least one
    chapter (titled by its own heading, else its title); line numbers continue across
    files so that every position stays unique. ``folder_name``: the name of the work's
    folder, the title when its first file has no title of its own."""
    if not stories:
        raise EmptyStoryError("nothing to combine")
    first = stories[0]
    chapters: list[Chapter] = []
    omissions: list[Omission] = []
    changes: list[Change] = []
    texts: list[str] = []
    offset = 0
    first_fields = {(f.key, f.value) for f in first.fields}
    titles = collections.Counter(s.metadata.title for s in stories)
    for n, story in enumerate(stories, 1):
        # a part's own header fields (its notes, disclaimer ...) are the author's words
        # too: kept for a page before its first chapter, unless the first part's header
        # says the same (the title, author, rating repeated in every file)
        notes = [] if n == 1 else [(f.label, f.value) for f in story.fields
                                   if f.key not in _COMBINED_KEYS and f.value.strip()
                                   and (f.key, f.value) not in first_fields]
        for k, ch in enumerate(story.chapters):
            ch = dataclasses.replace(
                ch,
                title_line=None if ch.title_line is None else ch.title_line + offset,
                scenes=[dataclasses.replace(
                    s, start_line=s.start_line + offset,
                    paragraphs=[dataclasses.replace(p, start_line=p.start_line + offset,
                                                    end_line=p.end_line + offset)
                                for p in s.paragraphs]) for s in ch.scenes],
                notes=notes if k == 0 else [])
            if ch.title is None:
                # a title two files share names no part ("My Fic" in every file's
                # header would be "My Fic" three times in the contents): numbered parts
                title = story.metadata.title
                ch.title = title if len(stories) == 1 or (title and titles[title] == 1) \
                    else f"Part {n}"
            chapters.append(ch)
        omissions.extend(dataclasses.replace(o, start_line=o.start_line + offset,
                                             end_line=o.end_line + offset)
                         for o in story.omissions)
        changes.extend(dataclasses.replace(c, line=c.line + offset) for c in story.changes)
        texts.append(story.text)
        offset += story.text.count("\n") + 1
    meta = dataclasses.replace(first.metadata)
    if meta.series and meta.title and meta.title_source != "option":
        meta.title = meta.series
    elif meta.title_source == "filename" and len(stories) > 1:
        # the work's folder (its real name: "." is a folder too), not its first file
        meta.title = title_from_name(folder_name or name)
    digest = hashlib.sha256("\n".join(texts).encode("utf-8")).hexdigest()
    return Story(source_name=name, encoding=first.encoding, metadata=meta,
                 fields=first.fields, chapters=chapters, changes=changes,
                 omissions=omissions,
                 warnings=[w for s in stories for w in s.warnings],
                 identifier=f"urn:uuid:{uuid.uuid5(_ID_NAMESPACE, digest)}",
                 text="\n".join(texts))


def build_epub(story: Story, config: Config = DEFAULT_CONFIG,
               css: bytes | None = None, cover: CoverImage | None = None) -> Converted:
    """Stages after the Story: language, render, package, verify."""
    lang = detect_language(story)
    story.metadata.language = lang
    documents = render(story, lang)
    image = choose_cover(story, config, cover)
    book = package(story, documents, css if css is not None else default_css(), lang, image,
                   kobo=config.output_format == "kepub")
    if config.verify:
        check_words(story, book)
    return Converted(story, book, lang)
