"""An EPUB reader for tests, independent of fic2epub's own code: zipfile + lxml."""

from __future__ import annotations

import posixpath
import re
import unicodedata
import zipfile
from pathlib import Path

from lxml import etree

NS = {"c": "urn:oasis:names:tc:opendocument:xmlns:container",
      "opf": "http://www.idpf.org/2007/opf", "dc": "http://purl.org/dc/elements/1.1/",
      "x": "http://www.w3.org/1999/xhtml"}
WORD = re.compile(r"[^\W_]+")
TAGS = re.compile(r"\[/?(?:i|b|em|u)\]", re.IGNORECASE)


def words(text: str) -> list[str]:
    return [w.casefold() for w in WORD.findall(unicodedata.normalize("NFC", TAGS.sub(" ", text)))]


class Book:
    def __init__(self, path: Path) -> None:
        self.zip = zipfile.ZipFile(path)
        container = etree.fromstring(self.zip.read("META-INF/container.xml"))
        self.opf_path = container.find(".//c:rootfile", NS).get("full-path")
        self.opf = etree.fromstring(self.zip.read(self.opf_path))
        base = posixpath.dirname(self.opf_path)
        manifest = {i.get("id"): posixpath.join(base, i.get("href"))
                    for i in self.opf.findall(".//opf:manifest/opf:item", NS)}
        refs = self.opf.findall(".//opf:spine/opf:itemref", NS)
        self.spine = [manifest[r.get("idref")] for r in refs]

    def dc(self, name: str) -> list[str]:
        return [e.text or "" for e in self.opf.findall(f".//dc:{name}", NS)]

    def meta(self, prop: str) -> list[str]:
        metas = self.opf.findall(".//opf:meta", NS)
        return [e.text or "" for e in metas if e.get("property") == prop]

    def meta_name(self, name: str) -> str | None:
        for e in self.opf.findall(".//opf:meta", NS):
            if e.get("name") == name:
                return e.get("content")
        return None

    def page(self, name: str) -> etree._Element:
        return etree.fromstring(self.zip.read(name))

    def text(self, name: str) -> str:
        body = self.page(name).find(".//x:body", NS)
        return " ".join(body.itertext()) if body is not None else ""

    def story_pages(self) -> list[str]:
        return [p for p in self.spine if "/chapter-" in p or p.startswith("chapter-")]

    def front_pages(self) -> list[str]:
        return [p for p in self.spine if p not in self.story_pages()]
