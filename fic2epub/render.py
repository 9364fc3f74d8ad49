"""Story -> XHTML documents. All escaping happens here, in :func:`esc`.

``render(story)`` is pure: it returns :class:`Document` objects (file name, title, XHTML
bytes); :mod:`fic2epub.package` puts them into the EPUB.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

from .model import Metadata, Paragraph, Story

STYLE_HREF = "../styles/style.css"

# Characters that may not appear in XML 1.0 documents, and bidi controls (which could
# reorder text on screen without the reader knowing).
_NOT_XML_CHARS = ("\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff\ufffe\uffff"
                  "\u202a-\u202e\u2066-\u2069")
_NOT_XML = re.compile(f"[{_NOT_XML_CHARS}]")
# What esc changes: markup characters, quotes, and the characters above. Most paragraphs
# have none (the cleaner made their quotes typographic): one search, and no copy.
_ESCAPED = re.compile(f"[&<>\"'{_NOT_XML_CHARS}]")


def esc(text: str) -> str:
    """Text -> XML character data or attribute value: never markup."""
    if _ESCAPED.search(text) is None:
        return text
    return html.escape(_NOT_XML.sub("", text), quote=True)


@dataclass(frozen=True)
class Document:
    uid: str
    file_name: str
    title: str
    content: bytes
    kind: str  # cover | titlepage | disclaimer | notes | chapter
    toc: bool = True


def _page(title: str, lang: str, body: str, body_type: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        "<!DOCTYPE html>\n"
        f'<html xmlns="http://www.w3.org/1999/xhtml" xmlns:epub="http://www.idpf.org/2007/ops"'
        f' lang="{esc(lang)}" xml:lang="{esc(lang)}">\n'
        "<head>\n"
        f"<title>{esc(title)}</title>\n"
        f'<link rel="stylesheet" type="text/css" href="{STYLE_HREF}"/>\n'
        "</head>\n"
        f'<body epub:type="{body_type}">\n{body}</body>\n</html>\n'
    ).encode()


def render_inline(p: Paragraph) -> str:
    """A paragraph's text with emphasis and verse line breaks, escaped."""
    out: list[str] = []
    pos = 0
    for start, end in p.emphasis:
        if start < pos:
            continue
        out.append(esc(p.text[pos:start]))
        out.append(f"<em>{esc(p.text[start:end])}</em>")
        pos = end
    out.append(esc(p.text[pos:]))
    rendered = "".join(out)
    if p.kind == "verse":
        rendered = rendered.replace("\n", "<br/>\n")
    return rendered


def _paragraph(p: Paragraph) -> str:
    cls = ' class="verse"' if p.kind == "verse" else ""
    return f"<p{cls}>{render_inline(p)}</p>\n"


def _multiline(value: str) -> str:
    return "<br/>".join(esc(v) for v in value.split("\n"))


# (attribute, label) in the order the title page lists them
TITLE_PAGE_FIELDS = (
    ("fandom", "Fandom"),
    ("rating", "Rating"),
    ("relationships", "Relationships"),
    ("characters", "Characters"),
    ("category", "Category"),
    ("warnings", "Warnings"),
    ("tags", "Tags"),
    ("word_count", "Words"),
    ("date", "Date"),
    ("translator", "Translator"),
    ("summary", "Summary"),
    ("feedback", "Feedback"),
    ("archive", "Archive"),
    ("email", "E-mail"),
)


def series_label(meta: Metadata) -> str | None:
    if not meta.series:
        return None
    return f"{meta.series}, part {meta.series_index}" if meta.series_index else meta.series


def title_page(story: Story, lang: str) -> str:
    m = story.metadata
    parts = ['<section class="titlepage" epub:type="titlepage" aria-label="Title page">\n',
             f'<h1 class="title">{esc(m.title or "")}</h1>\n']
    subtitles = [v for k, v in m.extra if k == "Subtitle"]
    for sub in subtitles:
        parts.append(f'<p class="subtitle">{esc(sub)}</p>\n')
    if m.byline:
        parts.append(f'<p class="author">{esc(m.byline)}</p>\n')
    elif m.author:
        parts.append(f'<p class="author">by {esc(m.author)}</p>\n')
    series = series_label(m)
    if series:
        parts.append(f'<p class="series">{esc(series)}</p>\n')
    rows = [(label, getattr(m, attr)) for attr, label in TITLE_PAGE_FIELDS if getattr(m, attr)]
    if m.author_email and m.author_email != m.email:
        rows.append(("Author’s e-mail", m.author_email))
    rows.extend((k, v) for k, v in m.extra if k != "Subtitle" and v)
    if rows:
        parts.append('<dl class="fields">\n')
        for label, value in rows:
            cls = re.sub(r"[^a-z]+", "-", label.lower()).strip("-") or "field"
            parts.append(f'<dt class="{cls}">{esc(label)}</dt>\n'
                         f'<dd class="{cls}">{_multiline(value)}</dd>\n')
        parts.append("</dl>\n")
    parts.append("</section>\n")
    return "".join(parts)


_COVER_STYLE = (
    "@page { margin: 0; }\n"
    "html, body { margin: 0; padding: 0; height: 100%; }\n"
    "section.cover { height: 100%; margin: 0; padding: 0; text-align: center; }\n"
    "section.cover img { height: 100%; width: auto; max-width: 100%; object-fit: contain; }\n"
)


def cover_page(story: Story, lang: str, image_href: str) -> Document:
    """The first page: the cover image alone. Its file name has no ``chapter-`` in it, so
    the word check never reads it as story text."""
    m = story.metadata
    alt = f"Cover: {m.title or story.source_name}" + (f", by {m.author}" if m.author else "")
    body = (f'<section class="cover" epub:type="cover" aria-label="Cover">\n'
            f'<img src="{esc(image_href)}" alt="{esc(alt)}"/>\n</section>\n')
    content = _page("Cover", lang, body, "frontmatter").replace(
        f'<link rel="stylesheet" type="text/css" href="{STYLE_HREF}"/>\n'.encode(),
        f"<style>\n{_COVER_STYLE}</style>\n".encode())
    return Document("cover", "text/cover.xhtml", "Cover", content, "cover", toc=False)


def _part_notes(n: int, label: str, notes: list[tuple[str, str]], lang: str) -> Document:
    """The page before chapter ``n`` of a combined book with the header fields of the
    file it comes from (its notes, disclaimer ...). Not a ``chapter-`` page: like the
    first file's title page, its words are the header's, which the word check leaves
    out of the story."""
    heading = f"Notes: {label}"
    rows = "".join(f'<dt>{esc(key)}</dt>\n<dd>{_multiline(value)}</dd>\n'
                   for key, value in notes)
    body = (f'<section class="part-notes" epub:type="preamble" aria-label="{esc(heading)}">\n'
            f'<dl class="fields">\n{rows}</dl>\n</section>\n')
    return Document(f"notes-{n:03d}", f"text/notes-{n:03d}.xhtml", heading,
                    _page(heading, lang, body, "bodymatter"), "notes", toc=False)


def render(story: Story, lang: str) -> list[Document]:
    m = story.metadata
    title = m.title or story.source_name
    docs = [Document("titlepage", "text/titlepage.xhtml", "Title Page",
                     _page(title, lang, title_page(story, lang), "frontmatter"), "titlepage")]
    if m.disclaimer:
        body = ('<section class="disclaimer" epub:type="preamble" aria-labelledby="disclaimer-h">'
                '\n<h2 id="disclaimer-h">Disclaimer</h2>\n'
                f"<p>{_multiline(m.disclaimer)}</p>\n</section>\n")
        docs.append(Document("disclaimer", "text/disclaimer.xhtml", "Disclaimer",
                             _page("Disclaimer", lang, body, "frontmatter"), "disclaimer"))
    if m.notes:
        body = ('<section class="notes" epub:type="preface" aria-labelledby="notes-h">\n'
                '<h2 id="notes-h">Author’s Note</h2>\n'
                + "".join(f"<p>{esc(n)}</p>\n" for n in m.notes.split("\n"))
                + "</section>\n")
        docs.append(Document("notes", "text/notes.xhtml", "Author’s Note",
                             _page("Author’s Note", lang, body, "frontmatter"), "notes"))
    for n, chapter in enumerate(story.chapters, 1):
        label = chapter.title or (title if len(story.chapters) == 1 else f"Part {n}")
        if chapter.notes:  # a combined book's later part: its own header fields
            docs.append(_part_notes(n, label, chapter.notes, lang))
        out = [f'<section class="chapter" epub:type="chapter" role="doc-chapter"'
               f' aria-label="{esc(label)}">\n']
        if chapter.title and chapter.title_line is not None:
            out.append(f'<h2 class="chapter-title">{esc(chapter.title)}</h2>\n')
        for k, scene in enumerate(chapter.scenes):
            if k:
                out.append('<hr class="scene-break" aria-label="Scene break"/>\n')
            out.extend(_paragraph(p) for p in scene.paragraphs)
        out.append("</section>\n")
        docs.append(Document(f"chapter-{n:03d}", f"text/chapter-{n:03d}.xhtml", label,
                             _page(label, lang, "".join(out), "bodymatter"), "chapter",
                             toc=True))
    return docs
