"""Kobo's KEPUB markup, added to finished XHTML pages.

Kobo's reader (and the KEPUB readers that imitate it: KOReader, Calibre's kobotouch
driver, kepubify's output) track reading position, highlights and page statistics by
``<span class="koboSpan" id="kobo.N.M">`` elements: ``N`` counts paragraph-level
elements in the page, ``M`` the sentences (or text segments split by inline markup)
inside one. The body's content is wrapped in ``<div id="book-columns"><div
id="book-inner">``, which Kobo's renderer uses for its column layout.

Only markup is added: every character of text stays, in order, so the word check reads
the same words from a KEPUB as from the EPUB.
"""

from __future__ import annotations

import re

from lxml import etree

XHTML = "http://www.w3.org/1999/xhtml"
_X = f"{{{XHTML}}}"
BLOCKS = frozenset(f"{_X}{t}" for t in ("p", "h1", "h2", "h3", "h4", "h5", "h6", "li", "dt",
                                           "dd", "figcaption", "td", "th", "pre"))
SKIP = frozenset(f"{_X}{t}" for t in ("script", "style", "svg", "math", "ruby"))
# A sentence ends at . ! ? or … (with closing quotes/brackets) followed by white space.
SENTENCE = re.compile(r".*?[.!?…]+[\"'”’»)\]]*\s+|.+", re.S)
HACK_CSS = "div#book-inner { margin-top: 0; margin-bottom: 0; }"
HEADER = b'<?xml version="1.0" encoding="utf-8"?>\n<!DOCTYPE html>\n'


def sentences(text: str) -> list[str]:
    """``text`` cut after each sentence end; joined back they give ``text`` exactly."""
    return [m.group() for m in SENTENCE.finditer(text)]


class _Counter:
    def __init__(self) -> None:
        self.paragraph = 0
        self.segment = 0

    def next_paragraph(self) -> None:
        self.paragraph += 1
        self.segment = 0

    def span(self) -> etree._Element:
        self.segment += 1
        el = etree.Element(f"{_X}span", {"class": "koboSpan",
                                          "id": f"kobo.{self.paragraph}.{self.segment}"})
        return el


def _spans(text: str, counter: _Counter) -> list[etree._Element]:
    out = []
    for part in sentences(text):
        el = counter.span()
        el.text = part
        out.append(el)
    return out


def _wrap_inline(el: etree._Element, counter: _Counter) -> None:
    """Wrap the text inside a paragraph-level element (and its inline children)."""
    if el.text and el.text.strip():
        spans = _spans(el.text, counter)
        el.text = None
        for i, s in enumerate(spans):
            el.insert(i, s)
    for child in list(el):
        if child.get("class") == "koboSpan":
            continue
        if child.tag == f"{_X}img":
            holder = counter.span()
            child.addprevious(holder)
            tail, child.tail = child.tail, None
            holder.append(child)
            holder.tail = tail
            child = holder
        elif child.tag not in SKIP and isinstance(child.tag, str):
            _wrap_inline(child, counter)
        if child.tail and child.tail.strip():
            spans = _spans(child.tail, counter)
            child.tail = None
            for s in reversed(spans):
                child.addnext(s)


def _walk(el: etree._Element, counter: _Counter) -> None:
    for child in list(el):
        if not isinstance(child.tag, str) or child.tag in SKIP:
            continue
        if child.tag in BLOCKS:
            counter.next_paragraph()
            _wrap_inline(child, counter)
        elif child.tag == f"{_X}img":
            counter.next_paragraph()
            holder = counter.span()
            child.addprevious(holder)
            tail, child.tail = child.tail, None
            holder.append(child)
            holder.tail = tail
        else:
            _walk(child, counter)


def kepubify(content: bytes) -> bytes:
    """One XHTML page with Kobo's spans and column wrappers added."""
    root = etree.fromstring(content)
    head = root.find(f"{_X}head")
    body = root.find(f"{_X}body")
    if body is None:
        return content
    _walk(body, _Counter())
    columns = etree.Element(f"{_X}div", {"id": "book-columns"})
    inner = etree.SubElement(columns, f"{_X}div", {"id": "book-inner"})
    inner.text = body.text
    for child in list(body):
        inner.append(child)
    body.text = "\n"
    columns.tail = "\n"
    body.append(columns)
    if head is not None:
        style = etree.SubElement(head, f"{_X}style", {"type": "text/css",
                                                      "class": "kobostylehacks"})
        style.text = HACK_CSS
        style.tail = "\n"
    text: str = etree.tostring(root, encoding="unicode")
    return HEADER + text.encode("utf-8") + b"\n"
