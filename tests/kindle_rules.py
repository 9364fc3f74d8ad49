"""Send-to-Kindle's known rules for EPUBs, as one reusable checker.

Amazon's converter rejects or mangles EPUBs that break these (from Amazon's published
"EPUB for Kindle" guidance and the reasons Send-to-Kindle gives when it refuses a book):

1. every XHTML (and the NCX) starts with an XML declaration that names its encoding;
2. ``dc:language`` is one valid language tag, and every page says the same language;
3. no link points at a ``<body>`` (or ``<html>``) element's id, and every link's target
   exists;
4. the NCX agrees with the spine and with the EPUB 3 nav: the same entries, with the same
   labels, in spine order, ``playOrder`` 1..n, ``dtb:uid`` the book's identifier,
   ``dtb:depth`` the real depth;
5. a cover: one ``cover-image`` manifest item (JPEG/PNG/GIF) that the EPUB 2
   ``<meta name="cover">`` names, shown by the first page of the spine, at least 500
   pixels on its short side.

``kindle_problems(path)`` returns one line per broken rule (empty list: all kept); it
reads the EPUB with zipfile + lxml only, independently of fic2epub's code.
"""

from __future__ import annotations

import io
import posixpath
import re
import zipfile
from pathlib import Path
from urllib.parse import unquote, urldefrag

from lxml import etree
from PIL import Image

OPF = "http://www.idpf.org/2007/opf"
DC = "http://purl.org/dc/elements/1.1/"
XH = "http://www.w3.org/1999/xhtml"
NCX = "http://www.daisy.org/z3986/2005/ncx/"
EPUB = "http://www.idpf.org/2007/ops"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
NS = {"opf": OPF, "dc": DC, "x": XH, "n": NCX,
      "c": "urn:oasis:names:tc:opendocument:xmlns:container"}

XML_DECL = re.compile(rb"^(\xef\xbb\xbf)?<\?xml[^>]*\bencoding\s*=\s*[\"'][A-Za-z0-9._-]+[\"']")
LANG_TAG = re.compile(r"^[a-z]{2,3}(-[A-Za-z]{4})?(-([A-Z]{2}|[0-9]{3}))?(-[A-Za-z0-9]{5,8})*$")
# ISO 639-1 codes (the two-letter primary subtags a language tag may start with)
_ISO_639_1_TEXT = """
aa ab ae af ak am an ar as av ay az ba be bg bh bi bm bn bo br bs ca ce ch co cr cs cu cv
cy da de dv dz ee el en eo es et eu fa ff fi fj fo fr fy ga gd gl gn gu gv ha he hi ho hr
ht hu hy hz ia id ie ig ii ik io is it iu ja jv ka kg ki kj kk kl km kn ko kr ks ku kv kw
ky la lb lg li ln lo lt lu lv mg mh mi mk ml mn mr ms mt my na nb nd ne ng nl nn no nr nv
ny oc oj om or os pa pi pl ps pt qu rm rn ro ru rw sa sc sd se sg si sk sl sm sn so sq sr
ss st su sv sw ta te tg th ti tk tl tn to tr ts tt tw ty ug uk ur uz ve vi vo wa wo xh yi
yo za zh zu"""
ISO_639_1 = frozenset(_ISO_639_1_TEXT.split())
COVER_TYPES = {"image/jpeg", "image/png", "image/gif"}
MIN_COVER_SIDE = 500


class _Epub:
    def __init__(self, path: Path) -> None:
        self.zip = zipfile.ZipFile(path)
        container = etree.fromstring(self.zip.read("META-INF/container.xml"))
        self.opf_path = container.find(".//c:rootfile", NS).get("full-path")
        self.base = posixpath.dirname(self.opf_path)
        self.opf = etree.fromstring(self.zip.read(self.opf_path))
        self.items = {}
        for item in self.opf.findall(".//opf:manifest/opf:item", NS):
            self.items[item.get("id")] = {
                "path": self.join(self.base, item.get("href")),
                "type": item.get("media-type"),
                "props": (item.get("properties") or "").split()}
        self.spine = [r.get("idref") for r in self.opf.findall(".//opf:spine/opf:itemref", NS)]
        self.by_path = {v["path"]: k for k, v in self.items.items()}

    @staticmethod
    def join(base: str, href: str) -> str:
        return posixpath.normpath(posixpath.join(base, unquote(href)))

    def xml(self, path: str) -> etree._Element:
        return etree.fromstring(self.zip.read(path))

    def xhtml_paths(self) -> list[str]:
        return [v["path"] for v in self.items.values() if v["type"] == "application/xhtml+xml"]

    def ncx_path(self) -> str | None:
        toc = self.opf.find(".//opf:spine", NS).get("toc")
        if toc and toc in self.items:
            return self.items[toc]["path"]
        return None

    def nav_path(self) -> str | None:
        return next((v["path"] for v in self.items.values() if "nav" in v["props"]), None)


def check_declarations(book: _Epub) -> list[str]:
    paths = book.xhtml_paths()
    ncx = book.ncx_path()
    if ncx:
        paths.append(ncx)
    return [f"{p}: no XML declaration with an encoding"
            for p in paths if not XML_DECL.match(book.zip.read(p))]


def check_language(book: _Epub) -> list[str]:
    langs = [e.text or "" for e in book.opf.findall(".//dc:language", NS)]
    if len(langs) != 1:
        return [f"dc:language: expected one, found {langs!r}"]
    lang = langs[0].strip()
    primary = lang.split("-")[0]
    if not LANG_TAG.match(lang) or (len(primary) == 2 and primary not in ISO_639_1):
        return [f"dc:language {lang!r} is not a valid language tag"]
    out = []
    for p in book.xhtml_paths():
        root = book.xml(p)
        page = root.get(XML_LANG) or root.get("lang")
        if page is not None and page.lower() != lang.lower():
            out.append(f"{p}: language {page!r} differs from dc:language {lang!r}")
    return out


def _ids(root: etree._Element) -> dict[str, str]:
    return {el.get("id"): etree.QName(el).localname for el in root.iter() if
            isinstance(el.tag, str) and el.get("id")}


def check_links(book: _Epub) -> list[str]:
    out = []
    ids = {p: _ids(book.xml(p)) for p in book.xhtml_paths()}
    links: list[tuple[str, str]] = []
    for p in book.xhtml_paths():
        for a in book.xml(p).iter(f"{{{XH}}}a"):
            if a.get("href"):
                links.append((p, a.get("href")))
    ncx = book.ncx_path()
    if ncx:
        links.extend((ncx, c.get("src")) for c in book.xml(ncx).iter(f"{{{NCX}}}content"))
    for guide_ref in book.opf.findall(".//opf:guide/opf:reference", NS):
        links.append((book.opf_path, guide_ref.get("href")))
    for source, href in links:
        if re.match(r"^[a-z][a-z0-9+.-]*:", href, re.I):
            continue  # external (mailto:, https:)
        doc, frag = urldefrag(href)
        target = book.join(posixpath.dirname(source), doc) if doc else source
        if target not in ids:
            out.append(f"{source}: link {href!r} leads to no page of the book")
            continue
        if frag:
            kind = ids[target].get(frag)
            if kind is None:
                out.append(f"{source}: link {href!r}: no id {frag!r} in {target}")
            elif kind in ("body", "html"):
                out.append(f"{source}: link {href!r} points into a <{kind}> id")
    return out


def _nav_entries(root: etree._Element, base: str, book: _Epub) -> list[tuple[str, str]]:
    for nav in root.iter(f"{{{XH}}}nav"):
        if nav.get(f"{{{EPUB}}}type") == "toc":
            return [(book.join(base, a.get("href")), " ".join("".join(a.itertext()).split()))
                    for a in nav.iter(f"{{{XH}}}a")]
    return []


def _depth(el: etree._Element) -> int:
    kids = el.findall("n:navPoint", NS)
    return 1 + max((_depth(k) for k in kids), default=0) if kids else 0


def check_ncx(book: _Epub) -> list[str]:
    ncx_path = book.ncx_path()
    if ncx_path is None:
        return ["no NCX named by the spine's toc attribute"]
    ncx = book.xml(ncx_path)
    out = []
    base = posixpath.dirname(ncx_path)
    points = list(ncx.iter(f"{{{NCX}}}navPoint"))
    entries = [(book.join(base, p.find("n:content", NS).get("src")),
                " ".join("".join(p.find("n:navLabel/n:text", NS).itertext()).split()))
               for p in points]
    orders = [int(p.get("playOrder", "0")) for p in points]
    if orders != list(range(1, len(points) + 1)):
        out.append(f"NCX playOrder is {orders}, not 1..{len(points)}")
    spine_paths = [book.items[i]["path"] for i in book.spine]
    positions = []
    for target, label in entries:
        page = urldefrag(target)[0]
        if page not in spine_paths:
            out.append(f"NCX entry {label!r} -> {page} is not in the spine")
        else:
            positions.append(spine_paths.index(page))
    if positions != sorted(positions):
        out.append("NCX entries are not in spine order")
    nav = book.nav_path()
    if nav:
        nav_entries = _nav_entries(book.xml(nav), posixpath.dirname(nav), book)
        if nav_entries != entries:
            out.append(f"NCX entries {entries} differ from the nav's {nav_entries}")
    meta = {m.get("name"): m.get("content") for m in ncx.iter(f"{{{NCX}}}meta")}
    ident = [e.text for e in book.opf.findall(".//dc:identifier", NS)]
    if meta.get("dtb:uid") not in ident:
        out.append(f"NCX dtb:uid {meta.get('dtb:uid')!r} is not the book's identifier")
    depth = _depth(ncx.find("n:navMap", NS))
    if meta.get("dtb:depth") != str(depth):
        out.append(f"NCX dtb:depth is {meta.get('dtb:depth')!r}, the navMap's depth is {depth}")
    return out


def check_cover(book: _Epub) -> list[str]:
    covers = [k for k, v in book.items.items() if "cover-image" in v["props"]]
    if len(covers) != 1:
        return [f"expected one cover-image manifest item, found {len(covers)}"]
    cover_id = covers[0]
    item = book.items[cover_id]
    out = []
    if item["type"] not in COVER_TYPES:
        out.append(f"cover image type {item['type']} is not JPEG, PNG or GIF")
    names = [m.get("content") for m in book.opf.findall(".//opf:meta", NS)
             if m.get("name") == "cover"]
    if names != [cover_id]:
        out.append(f'<meta name="cover"> names {names}, not [{cover_id!r}]')
    with Image.open(io.BytesIO(book.zip.read(item["path"]))) as img:
        if min(img.size) < MIN_COVER_SIDE:
            out.append(f"cover image is only {img.size[0]}x{img.size[1]} pixels")
    first = book.items[book.spine[0]]
    if first["type"] != "application/xhtml+xml":
        return [*out, "the first spine item is not a page"]
    page = book.xml(first["path"])
    srcs = [book.join(posixpath.dirname(first["path"]), el.get("src"))
            for el in page.iter(f"{{{XH}}}img") if el.get("src")]
    if item["path"] not in srcs:
        out.append(f"the first page {first['path']} does not show the cover image")
    return out


RULES = (check_declarations, check_language, check_links, check_ncx, check_cover)


def kindle_problems(path: Path) -> list[str]:
    """Every Send-to-Kindle rule this EPUB breaks, one line each; [] when it keeps all."""
    book = _Epub(path)
    return [f"{rule.__name__}: {problem}" for rule in RULES for problem in rule(book)]
