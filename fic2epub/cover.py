"""Cover images: a generated typographic cover for every book, or the user's own image.

:func:`generate_cover` draws title, author, series and part, and fandom on a flat colour
chosen from the story's identifier, as a JPEG. The same story always gives the same bytes:
nothing time-dependent is drawn, the JPEG carries no EXIF or comment segments, and what is
cached changes only how fast the bytes come, never which.

Coding is most of the cost, so a cover codes as little as it can. The JPEG has a restart
marker after every 4 blocks of 16×16 pixels: each cell of 64×16 pixels (25 to a block
row) is coded on its own, and its bytes depend only on its pixels. The blank cover
(background and frame) of each colour scheme is coded once (and kept in the user's cache
folder, with the passes of the glyph check below, for later runs); a book codes only
the cells its text and rule touch (about a tenth of the cover), side by side in one or two
small images, and splices them into the blank with the restart markers numbered again:
the same bytes as coding the whole image. The coded cells of each line are kept (up to
8 MB, titles first to go), so an author, fandom or series that comes back at the same
place in the same colours costs nothing to draw or code.

Text is drawn from cached glyphs: FreeType sets each glyph at a whole pixel, so a line is
its glyphs' masks placed at the kerned pen positions and combined as FreeType combines
them, and its width is the sum of the same advances. That is ImageDraw.text's mask, pixel
for pixel (ligatures are kept whole), for the lines it is used for: every character Latin
or common to all scripts (Basic Latin to Latin Extended-B, Latin Extended Additional,
General Punctuation), so that the line is one script to raqm; every character one the
font maps to a glyph of its own (not one HarfBuzz composes from a letter and marks); and
every word at most 32 characters long. Other lines, and every line when a check of the
glyphs against FreeType (once per font file, libraries and version of this code) differs,
are drawn by FreeType.

Fonts, first that has every glyph of a line: Source Serif Pro (the ``font-source-serif-pro``
package, SIL OFL 1.1), then DejaVu Serif and Noto CJK when the system has them, then
Pillow's built-in scalable font. A machine with other fonts draws other (but still
deterministic) bytes.

:func:`load_user_cover` checks an image given with ``--cover``: it must be a readable
JPEG, PNG, GIF or WebP; it is turned upright (EXIF orientation), flattened onto white,
scaled down to at most 1600 × 2560 and written as JPEG (photos) without metadata.
"""

from __future__ import annotations

import hashlib
import importlib.util
import io
import itertools
import math
import os
import re
import struct
import unicodedata
import warnings
from array import array
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass, field
from functools import cache, cached_property, lru_cache
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont, ImageOps, UnidentifiedImageError

from .errors import CoverError
from .model import Metadata
from .usercache import cache_root, used, write_entry

WIDTH, HEIGHT = 1600, 2400  # 2:3, the shape of a paperback and of most e-reader screens
MAX_USER = (1600, 2560)
MIN_USER_SIDE = 200
MAX_USER_PIXELS = 60_000_000

AnyFont = ImageFont.FreeTypeFont | ImageFont.ImageFont | ImageFont.TransposedFont


@dataclass(frozen=True)
class CoverImage:
    data: bytes
    media_type: str  # image/png or image/jpeg
    width: int
    height: int

    @property
    def extension(self) -> str:
        return "png" if self.media_type == "image/png" else "jpg"


# (background, text, accent): dark, quiet colours with light text, legible as thumbnails
PALETTE = (
    ((31, 58, 95), (244, 239, 230), (201, 168, 106)),
    ((90, 30, 43), (246, 238, 228), (214, 176, 120)),
    ((36, 68, 58), (240, 236, 224), (196, 178, 120)),
    ((59, 47, 74), (242, 236, 240), (190, 168, 204)),
    ((107, 62, 31), (248, 240, 226), (236, 198, 140)),
    ((46, 59, 68), (238, 240, 240), (170, 196, 204)),
    ((24, 24, 28), (240, 236, 228), (196, 160, 96)),
    ((70, 86, 52), (244, 242, 228), (220, 206, 150)),
)

_SOURCE_SERIF = {"title": "SourceSerifPro-Semibold.ttf", "text": "SourceSerifPro-Regular.ttf",
                 "italic": "SourceSerifPro-It.ttf"}
_SYSTEM = {
    "title": ["/usr/share/fonts/truetype/dejavu/DejaVuSerif-Bold.ttf",
              "/usr/share/fonts/opentype/noto/NotoSerifCJK-Bold.ttc",
              "/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc"],
    "text": ["/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf",
             "/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc",
             "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"],
    "italic": ["/usr/share/fonts/truetype/dejavu/DejaVuSerif-Italic.ttf",
               "/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf",
               "/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc"],
}


@cache
def font_files(role: str) -> tuple[str, ...]:
    """Font files for a role (title, text, italic), best first; may be empty."""
    out: list[str] = []
    spec = importlib.util.find_spec("font_source_serif_pro")
    if spec is not None and spec.origin:
        path = Path(spec.origin).parent / "files" / _SOURCE_SERIF[role]
        if path.is_file():
            out.append(str(path))
    out.extend(p for p in _SYSTEM[role] if Path(p).is_file())
    return tuple(out)


@lru_cache(maxsize=256)
def _load(path: str | None, size: int) -> AnyFont:
    if path is None:
        return ImageFont.load_default(size=size)
    return ImageFont.truetype(path, size)


@lru_cache(maxsize=64)
def _notdef(path: str | None, size: int) -> bytes:
    return _mask(_load(path, size), "\U0010fffd")


def _mask(font: AnyFont, ch: str) -> bytes:
    bbox = font.getbbox(ch)
    img = Image.new("L", (max(1, int(bbox[2]) + 2), max(1, int(bbox[3]) + 2)), 0)
    ImageDraw.Draw(img).text((0, 0), ch, font=font, fill=255)
    return img.tobytes() + bytes(str(img.size), "ascii")


@lru_cache(maxsize=1 << 16)
def _has_glyph(path: str | None, ch: str) -> bool:
    """Whether the font draws ``ch`` as something other than its missing-glyph box;
    rendering a mask costs ~0.3 ms, so each (font, character) is looked at once."""
    return _mask(_load(path, 48), ch) != _notdef(path, 48)


def covers(path: str | None, text: str) -> bool:
    """Whether the font has a glyph for every visible character of ``text``."""
    return all(_has_glyph(path, ch) for ch in set(text) if not ch.isspace())


def pick_font(role: str, text: str, size: int) -> AnyFont:
    candidates: list[str | None] = [*font_files(role), None]
    for path in candidates:
        if covers(path, text):
            return _load(path, size)
    return _load(candidates[0], size)


TRACK = 0.18  # letter spacing of small capitals labels, in em


@lru_cache(maxsize=4096)
def _advance(font: AnyFont, ch: str) -> float:
    return float(font.getlength(ch))


# Text from cached glyphs. FreeType renders every glyph of a line at whole-pixel positions,
# so a line is its glyphs' masks put at the pen positions and combined as
# ImageFont.getmask2 combines them (each "over" the ones before). The glyph of a character
# (or of a few that the font joins, like a ligature) is rendered once; the pen advances by
# each glyph's advance plus the kerning of each pair, both measured with getlength. A pair
# is trusted to be set that way once drawing it whole gave the same mask (at a reference
# size: the font's substitutions do not depend on the size). Text with characters outside
# Latin and common punctuation (raqm shapes each script's run apart), characters the font
# has no glyph of its own for, marks, controls or words over 32 characters is left to
# FreeType, as are anchors other than ls and ms.

_REFERENCE = 48  # size at which a pair of glyphs is checked
_PAIRS = 1 << 15


@dataclass(frozen=True)
class _Glyph:
    image: Image.Image | None  # the glyph's mask cropped to its ink; None: no ink
    dx: int  # where the ink's top left corner is from the pen (on the baseline), in pixels
    dy: int
    advance: int  # in 1/64 pixel
    left: int  # min(0, left of the glyph's box), as FreeType's bounding box counts it
    top: int  # max(0, top of the glyph's box above the baseline)


def _pixel(v: int) -> int:
    """A 26.6 fixed-point value rounded to whole pixels, as FreeType and Pillow round."""
    return (v + 32) >> 6


def _f32(v: float) -> float:
    """``v`` as a C float: Pillow takes the start position as one and adds in floats."""
    return float(struct.unpack("f", struct.pack("f", v))[0])


def _c_round(v: float) -> int:
    """C's round(): halves away from zero."""
    return math.floor(v + 0.5) if v >= 0 else -math.floor(0.5 - v)


def _drawn(font: ImageFont.FreeTypeFont, text: str, anchor: str, fx: float,
           fy: float) -> tuple[Image.Image, int, int]:
    mask, (left, top) = font.getmask2(text, "L", None, None, None, 0, anchor, 0, (fx, fy),
                                      stroke_filled=True)
    return Image.Image()._new(mask), left, top


@lru_cache(maxsize=1024)
def _glyph(font: ImageFont.FreeTypeFont, token: str) -> _Glyph:
    mask, left, top = _drawn(font, token, "ls", 0.0, 0.0)
    advance = round(font.getlength(token) * 64)
    box = mask.getbbox() if mask.width and mask.height else None
    if box is None:
        return _Glyph(None, 0, 0, advance, left, -top)
    return _Glyph(mask.crop(box), left + box[0], top + box[1], advance, left, -top)


@lru_cache(maxsize=4096)
def _plain(ch: str) -> bool:
    """Whether ``ch`` may be set from cached glyphs: a letter, digit, punctuation or symbol
    of the Latin script or common to all scripts (Basic Latin to Latin Extended-B, Latin
    Extended Additional, General Punctuation), left to right; no combining marks or
    controls. Every such line is one script to raqm: a line mixing scripts is cut into
    runs that are shaped apart (no kerning across them), which cached pairs cannot follow."""
    code = ord(ch)
    return (0x20 <= code < 0x250 or 0x1E00 <= code < 0x1F00 or 0x2000 <= code < 0x2070) \
        and unicodedata.category(ch)[0] in "LNPSZ" and unicodedata.category(ch) not in (
            "Zl", "Zp") and unicodedata.bidirectional(ch) in ("L", "EN", "ES", "ET", "CS",
                                                              "ON", "WS")


@lru_cache(maxsize=1 << 14)
def _direct(reference: ImageFont.FreeTypeFont, ch: str) -> bool:
    """Whether the font maps ``ch`` to a glyph of its own. One it lacks (Ǟ, Ǽ, Vietnamese
    ố in some faces) HarfBuzz sets as a base letter and combining marks at fractional
    offsets, which cached glyphs would not match: drawn without shaping (basic layout),
    such a character is the missing-glyph box."""
    basic, notdef = _basic(reference)
    return _mask(basic, ch) != notdef


@lru_cache(maxsize=64)
def _basic(reference: ImageFont.FreeTypeFont) -> tuple[ImageFont.FreeTypeFont, bytes]:
    """The font without shaping, and its missing-glyph box."""
    basic = reference.font_variant(layout_engine=ImageFont.Layout.BASIC)
    return basic, _mask(basic, "\U0010fffd")


def _reference(font: ImageFont.FreeTypeFont) -> AnyFont:
    return _load(font.path if isinstance(font.path, str) else None, _REFERENCE)


@lru_cache(maxsize=_PAIRS)
def _kern(font: ImageFont.FreeTypeFont, a: str, b: str) -> int:
    """What the pen moves between ``a`` and ``b`` beyond their advances, in 1/64 pixel."""
    return round(font.getlength(a + b) * 64) - _glyph(font, a).advance - _glyph(font, b).advance


@lru_cache(maxsize=_PAIRS)
def _pairs(reference: ImageFont.FreeTypeFont, a: str, b: str) -> bool:
    """Whether the font sets ``a + b`` as ``a``'s glyphs then ``b``'s, kerned: drawn whole
    and drawn from the two it gives the same mask."""
    return _matches(reference, _Shaped((a, b), (_kern(reference, a, b),)), a + b, "ls",
                    0.0, 0.0)


def _matches(font: ImageFont.FreeTypeFont, shaped: _Shaped, text: str, anchor: str,
             fx: float, fy: float) -> bool:
    """Whether the glyphs draw the mask FreeType draws for ``text``, at the same place."""
    whole, left, top = _drawn(font, text, anchor, fx, fy)
    box = whole.getbbox() if whole.width and whole.height else None
    ink = _compose(font, shaped, anchor, fx, fy)
    if box is None or ink is None:
        return box is None and ink is None
    return (left + box[0], top + box[1]) == (ink.left, ink.top) \
        and whole.crop(box).tobytes() == ink.mask.tobytes() \
        and (box[2] - box[0], box[3] - box[1]) == ink.mask.size


@dataclass(frozen=True)
class _Shaped:
    """A line cut into glyphs (tokens) and the kerning between each two."""
    tokens: tuple[str, ...]
    kerns: tuple[int, ...]


def _advance64(font: ImageFont.FreeTypeFont, shaped: _Shaped) -> int:
    return sum(_glyph(font, t).advance for t in shaped.tokens) + sum(shaped.kerns)


_LONGEST = 32  # longer words are left to FreeType: wrap() measures prefixes of a long word


@lru_cache(maxsize=4096)
def _shape_word(font: ImageFont.FreeTypeFont, word: str) -> tuple[_Shaped, int] | None:
    """``word`` (no spaces, at most :data:`_LONGEST` characters) as glyphs and its
    advance, or None if the font must set it."""
    reference = _reference(font)
    if not word or not isinstance(reference, ImageFont.FreeTypeFont) \
            or not all(_plain(ch) and _direct(reference, ch) for ch in word):
        return None
    tokens = [word[0]]
    for ch in word[1:]:
        if _pairs(reference, tokens[-1], ch):
            tokens.append(ch)
        elif len(tokens[-1]) < 4:
            tokens[-1] += ch
        else:
            return None
    for a, b in itertools.pairwise(tokens):
        if not _pairs(reference, a, b):
            return None
    shaped = _Shaped(tuple(tokens),
                     tuple(_kern(font, a, b) for a, b in itertools.pairwise(tokens)))
    return shaped, _advance64(font, shaped)


def _shape(font: ImageFont.FreeTypeFont, text: str) -> tuple[_Shaped, int] | None:
    """``text`` as glyphs and its advance (in 1/64 pixel), words joined by single spaces
    set as glyphs of their own; None if the font must set it."""
    return _shape_line(font, text) if _trusted(font) else None


def _shape_line(font: ImageFont.FreeTypeFont, text: str) -> tuple[_Shaped, int] | None:
    words = text.split(" ")
    if any(len(word) > _LONGEST for word in words):
        return None
    if len(words) == 1:
        return _shape_word(font, text)
    reference = _reference(font)
    if not isinstance(reference, ImageFont.FreeTypeFont):
        return None
    tokens: list[str] = []
    kerns: list[int] = []
    advance = 0
    space = _glyph(font, " ").advance
    for word in words:
        shaped = _shape_word(font, word)
        if shaped is None:
            return None
        if tokens:
            last, first = tokens[-1], shaped[0].tokens[0]
            if not (_pairs(reference, last, " ") and _pairs(reference, " ", first)):
                return None
            tokens.append(" ")
            kerns.append(_kern(font, last, " "))
            kerns.append(_kern(font, " ", first))
            advance += kerns[-2] + space + kerns[-1]
        tokens.extend(shaped[0].tokens)
        kerns.extend(shaped[0].kerns)
        advance += shaped[1]
    return _Shaped(tuple(tokens), tuple(kerns)), advance


@dataclass(frozen=True)
class _Ink:
    """A drawn line: its mask, where the mask's top left corner is from the anchor point's
    whole pixel, and boxes (on the mask) that hold all of its ink."""
    mask: Image.Image
    left: int
    top: int
    rects: tuple[Box, ...]


def _over(under: Image.Image, glyph: Image.Image) -> Image.Image:
    """``glyph`` combined over ``under`` as FreeType glyphs are combined in a line mask:
    g + t·(255 − g)/255, rounded; Pillow's alpha compositing computes exactly that alpha."""
    a = Image.new("RGBA", under.size)
    a.putalpha(under)
    b = Image.new("RGBA", glyph.size)
    b.putalpha(glyph)
    return Image.alpha_composite(a, b).getchannel("A")


def _compose(font: ImageFont.FreeTypeFont, shaped: _Shaped, anchor: str, fx: float,
             fy: float) -> _Ink | None:
    """The line's mask from its glyphs, as ``font.getmask2(text, anchor=anchor,
    start=(fx, fy))`` draws it (cropped to the ink); None when nothing is drawn."""
    glyphs = [_glyph(font, t) for t in shaped.tokens]
    pens = []
    pen = 0
    for n, g in enumerate(glyphs):
        pens.append(pen)
        pen += g.advance + (shaped.kerns[n] if n < len(shaped.kerns) else 0)
    # Pillow's render: the pen starts at -x_min (and -y_max), plus the sub-pixel start,
    # in C floats; the mask is placed by the bounding box and the anchor
    x_min = min([0] + [_pixel(p) + g.left for g, p in zip(glyphs, pens, strict=True)])
    y_max = max([0] + [g.top for g in glyphs])
    x0 = _c_round(_f32(_f32(-x_min) + _f32(fx)) * 64)
    y0 = _c_round(_f32(_f32(-y_max) - _f32(fy)) * 64)
    left = x_min - (_pixel(pen // 2) if anchor[0] == "m" else 0)
    top = -y_max
    base = -_pixel(y0)
    placed = [(g.image, _pixel(x0 + p) + g.dx, base + g.dy)
              for g, p in zip(glyphs, pens, strict=True) if g.image is not None]
    if not placed:
        return None
    if len(placed) == 1:  # a letter: its glyph as it is (masks are not changed once made)
        im, x, y = placed[0]
        return _Ink(im, left + x, top + y, ((0, 0, im.width, im.height),))
    x_lo = min(x for _im, x, _y in placed)
    y_lo = min(y for _im, _x, y in placed)
    x_hi = max(x + im.width for im, x, _y in placed)
    y_hi = max(y + im.height for im, _x, y in placed)
    mask = Image.new("L", (x_hi - x_lo, y_hi - y_lo))
    rects: list[Box] = []
    reach = -1 << 30  # right edge of the glyphs so far
    for im, x, y in placed:
        rect = (x - x_lo, y - y_lo, x - x_lo + im.width, y - y_lo + im.height)
        if rect[0] < reach and any(_meet(rect, r) for r in rects):
            im = _over(mask.crop(rect), im)
        mask.im.paste(im.im, rect)
        rects.append(rect)
        reach = max(reach, rect[2])
    return _Ink(mask, left + x_lo, top + y_lo, tuple(rects))


# A check that the glyphs still draw what the installed Pillow, FreeType and HarfBuzz draw
# (_compose copies Pillow's placement and rounding): the first time a font file is used, a
# sample line in it at a few sub-pixel starts. If any differs, all text is left to FreeType
# for the rest of the process.
_SAMPLE = "AVATAR Wolf, “office” Tyjq — L’été 1984?"
_SAMPLE_AT = (("ls", 0.0, 0.0), ("ls", 0.3, 0.7), ("ms", 0.5, 0.25), ("ms", 0.81, 0.5078125))
_glyphs_on = True


def _trusted(font: ImageFont.FreeTypeFont) -> bool:
    """Whether text may be drawn from cached glyphs in this process, in this font."""
    return _glyphs_on and _verified(font.path if isinstance(font.path, str) else None)


@lru_cache(maxsize=64)
def _verified(path: str | None) -> bool:
    """Whether the cached glyphs of the font file draw what FreeType draws (and are still
    trusted in this process). The check costs ~0.05 s a font, every run; a pass is kept in
    the user's cache (:func:`_remembered`), so later runs with the same libraries, font
    file and code skip it. A failure is not kept: it is checked again every run."""
    global _glyphs_on
    font = _load(path, 61)
    if not isinstance(font, ImageFont.FreeTypeFont):
        return False
    entry = _remembered("check", lambda: _font_key(path))
    if entry is not None and entry.body == b"verified":
        return _glyphs_on
    if _self_check(font):
        if entry is not None:
            entry.store(b"verified")
    else:
        _glyphs_on = False
    return _glyphs_on


def _self_check(font: ImageFont.FreeTypeFont) -> bool:
    """Whether the sample line set from cached glyphs has FreeType's width and masks."""
    # the words it has glyphs for (Pillow's own font lacks é and —)
    sample = " ".join(w for w in _SAMPLE.split(" ") if _shape_word(font, w))
    shaped = _shape_line(font, sample)
    return not (shaped is None or len(sample) < 20
                or shaped[1] != round(font.getlength(sample) * 64)
                or not all(_matches(font, shaped[0], sample, anchor, fx, fy)
                           for anchor, fx, fy in _SAMPLE_AT))


# The user's cache of start-up work (the glyph check's passes, the coded blank covers):
# each entry is a file in cache_root()/covers named by a digest of what it depends on,
# and holds that text itself, so that a file found is used only for exactly that key. The
# key: fic2epub's version, _CACHE_VERSION, a digest of this module's source (any change to
# the drawing or coding code), Pillow's version and the files of its C modules, the
# versions of FreeType, raqm, HarfBuzz, FriBiDi and libjpeg, and the entry's own part (the
# font file's path, size and time; the colours). Files are written whole under a
# temporary name and renamed; any problem (no cache folder, a read-only disk, a damaged
# file) means computing as without a cache, which gives the same bytes.
_CACHE_VERSION = 1  # bump when what is cached depends on something the key misses


_ENTRY_NAME = re.compile(r"[a-z]+-[0-9a-f]{32}")
"""How this cache's entry files are named (``KIND-DIGEST``): the only files pruned."""


def _cache_folder() -> Path | None:
    root = cache_root()
    return None if root is None else root / "covers"


@cache
def _libraries() -> str:
    """The part of every entry's key that is the same for the whole process."""
    import sys

    import PIL
    from PIL import features

    from . import __version__

    parts = [f"fic2epub {__version__} covers {_CACHE_VERSION}",
             f"source {hashlib.sha256(Path(__file__).read_bytes()).hexdigest()}",
             f"python {sys.implementation.cache_tag}", f"Pillow {PIL.__version__}"]
    for name in ("freetype2", "raqm", "harfbuzz", "fribidi", "jpg"):
        try:
            parts.append(f"{name} {features.version(name)}")
        except Exception:  # a Pillow that does not know the feature
            parts.append(f"{name} ?")
    for module in ("PIL._imaging", "PIL._imagingft"):  # a rebuilt Pillow of that version
        spec = importlib.util.find_spec(module)
        file = spec.origin if spec is not None else None
        st = os.stat(file) if file else None
        parts.append(f"{file} {st.st_size} {st.st_mtime_ns}" if st else f"{module} none")
    return "\n".join(parts)


def _font_key(path: str | None) -> str:
    if path is None:
        return "font: Pillow's own"
    st = os.stat(path)
    return f"font: {path} {st.st_size} {st.st_mtime_ns}"


@dataclass(frozen=True)
class _Entry:
    """One entry of the cache: its file, its key, and what the file holds for that key
    (None: no file, or one that is damaged or for another key)."""
    path: Path
    key: bytes
    body: bytes | None

    def store(self, body: bytes) -> None:
        """Write the key, ``body`` and a digest of both (a reader checks it); any failure
        is ignored."""
        data = self.key + body
        write_entry(self.path, data + hashlib.sha256(data).digest(), _ENTRY_NAME)


def _remembered(kind: str, detail: Callable[[], str]) -> _Entry | None:
    """The cache entry of ``kind`` whose own part of the key is ``detail()``; None when
    there is no cache folder or the key cannot be made (a font file gone)."""
    try:
        folder = _cache_folder()
        if folder is None:
            return None
        key = f"fic2epub {kind}\n{_libraries()}\n{detail()}\n\n".encode()
        path = folder / f"{kind}-{hashlib.sha256(key).hexdigest()[:32]}"
    except Exception:
        return None
    try:
        data = path.read_bytes()
    except OSError:
        return _Entry(path, key, None)
    if not data.startswith(key) or len(data) < len(key) + 32 \
            or hashlib.sha256(data[:-32]).digest() != data[-32:]:
        return _Entry(path, key, None)
    used(path)
    return _Entry(path, key, data[len(key):-32])


def _width(font: AnyFont, text: str, tracked: bool = False) -> float:
    if tracked:
        size = float(getattr(font, "size", 10))
        return sum(_advance(font, c) for c in text) + TRACK * size * (len(text) - 1)
    if isinstance(font, ImageFont.FreeTypeFont):
        shaped = _shape(font, text)
        if shaped is not None:
            return shaped[1] / 64
    return float(font.getlength(text))


def wrap(text: str, font: AnyFont, width: float, tracked: bool = False) -> list[str]:
    """Greedy word wrap; a word wider than the line is broken between characters."""
    lines: list[str] = []
    current = ""
    for word in text.split():
        trial = f"{current} {word}" if current else word
        if _width(font, trial, tracked) <= width:
            current = trial
            continue
        if current:
            lines.append(current)
        current = ""
        while _width(font, word, tracked) > width and len(word) > 1:
            cut = _longest(word, font, width, tracked)
            lines.append(word[:cut])
            word = word[cut:]
        current = word
    if current:
        lines.append(current)
    return lines


def _longest(word: str, font: AnyFont, width: float, tracked: bool) -> int:
    """How many characters of ``word`` (too wide for the line) fit on it: the longest
    prefix shorter than the word that fits, at least one character. Found by halving, as a
    prefix is never narrower than a shorter one (each character adds its advance, far more
    than any kerning takes back): ~log2(n) measurements instead of up to n, each of which
    costs time growing with n (a word of 300 letters took ~3 s to lay out)."""
    lo, hi = 1, len(word) - 1  # lo fits (or is the least cut); all past hi do not
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if _width(font, word[:mid], tracked) <= width:
            lo = mid
        else:
            hi = mid - 1
    return lo


@lru_cache(maxsize=512)
def fit(text: str, role: str, width: float, height: float, start: int, smallest: int,
        max_lines: int, spacing: float = 1.15,
        tracked: bool = False) -> tuple[AnyFont, tuple[str, ...], int]:
    """The largest size (from ``start`` down) at which ``text`` fits the box. Authors,
    fandoms and series come back often in a batch, so their layouts are kept."""
    size = start
    while True:
        font = pick_font(role, text, size)
        lines = wrap(text, font, width, tracked)
        if (len(lines) <= max_lines and len(lines) * size * spacing <= height) \
                or size <= smallest:
            if len(lines) > max_lines:
                rest = " ".join(lines[max_lines - 1:])
                lines = [*lines[:max_lines - 1], _ellipsize(rest, font, width, tracked)]
            return font, tuple(lines), size
        size = max(smallest, int(size * 0.92))


def _ellipsize(text: str, font: AnyFont, width: float, tracked: bool) -> str:
    """``text`` cut to fit the line with an ellipsis after it: the text itself, else its
    longest prefix ending in other than white space (as cutting a character at a time and
    stripping spaces finds it), else nothing. Found by halving, as in :func:`_longest`."""
    if _width(font, text + "…", tracked) <= width:
        return text + "…"
    ends = [n for n in range(1, len(text)) if not text[n - 1].isspace()]
    lo, hi = -1, len(ends) - 1  # ends[lo] fits (-1: only nothing does); past hi do not
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if _width(font, text[:ends[mid]] + "…", tracked) <= width:
            lo = mid
        else:
            hi = mid - 1
    return (text[:ends[lo]] if lo >= 0 else "") + "…"


RGB = tuple[int, int, int]
Box = tuple[int, int, int, int]  # left, top, right, bottom (exclusive), in cover pixels
CLEAR: Box = (100, 100, WIDTH - 100, HEIGHT - 100)  # plain background inside the frame


@lru_cache(maxsize=24)
def _render(font: ImageFont.FreeTypeFont, text: str, anchor: str, fx: float,
            fy: float) -> _Ink | None:
    """The anti-aliased mask of ``text`` and its offset from the anchor point's whole
    pixel, at the sub-pixel position ``(fx, fy)``, as :meth:`ImageDraw.text` draws it:
    from cached glyphs when the text allows, else by FreeType."""
    if text == " " * len(text):  # spaces (between the letters of a label) draw nothing
        return None
    if anchor in ("ls", "ms"):
        shaped = _shape(font, text)
        if shaped is not None:
            return _compose(font, shaped[0], anchor, fx, fy)
    mask, left, top = _drawn(font, text, anchor, fx, fy)
    if not (mask.width and mask.height):
        return None
    return _Ink(mask, left, top, ((0, 0, mask.width, mask.height),))


@lru_cache(maxsize=64)
def _shades(background: RGB, ink: RGB) -> bytes:
    """The colour ImageDraw gives each mask value when it draws ``ink`` on ``background``,
    as a palette: a mask coloured with it can be pasted instead of blended (5x faster for
    a line of the title, no faster for a letter)."""
    ramp = Image.frombytes("L", (256, 1), bytes(range(256)))
    row = Image.new("RGB", (256, 1), background)
    ImageDraw.Draw(row).bitmap((0, 0), ramp, fill=ink)
    return row.tobytes()


@dataclass(frozen=True)
class _Text:
    """One line (or one letter) of text, drawn at ``(x, y)`` by its ``anchor``."""
    x: float
    y: float
    text: str
    font: AnyFont
    fill: RGB
    anchor: str

    @cached_property
    def glyphs(self) -> tuple[Image.Image, int, int, tuple[Box, ...]] | None:
        """The mask, where its top left corner goes on the cover, and boxes (on the cover)
        holding all its ink; None for a font whose masks are not known."""
        if not isinstance(self.font, ImageFont.FreeTypeFont):
            return None
        fx, x = math.modf(self.x)
        fy, y = math.modf(self.y)
        ink = _render(self.font, self.text, self.anchor, fx, fy)
        if ink is None:
            return Image.new("L", (0, 0)), int(x), int(y), ()
        left, top = int(x) + ink.left, int(y) + ink.top
        return ink.mask, left, top, tuple((a + left, b + top, c + left, d + top)
                                          for a, b, c, d in ink.rects)

    def box(self) -> Box | None:
        if self.glyphs is None:
            return None
        mask, left, top, _rects = self.glyphs
        return left, top, left + mask.width, top + mask.height

    def ink(self) -> tuple[Box, ...] | None:
        return None if self.glyphs is None else self.glyphs[3]

    def draw(self, img: Image.Image, dx: int, dy: int, background: RGB | None) -> None:
        """Draw moved by ``(dx, dy)``; ``background``: what is under the whole box."""
        if self.glyphs is None:
            ImageDraw.Draw(img).text((self.x + dx, self.y + dy), self.text, font=self.font,
                                     fill=self.fill, anchor=self.anchor)
            return
        mask, left, top, _rects = self.glyphs
        if not (mask.width and mask.height):
            return
        if background is None:
            ImageDraw.Draw(img).bitmap((left + dx, top + dy), mask, fill=self.fill)
            return
        shaded = mask.copy()
        shaded.putpalette(_shades(background, self.fill))
        img.paste(shaded, (left + dx, top + dy))


@dataclass(frozen=True)
class _Shape:
    """The rule under the title (a line) and its dot (an ellipse)."""
    ellipse: bool
    coords: tuple[float, float, float, float]
    fill: RGB
    width: int = 0

    def box(self) -> Box:
        x0, y0, x1, y1 = self.coords
        pad = self.width + _SLACK
        return int(x0) - pad, int(y0) - pad, int(x1) + pad + 1, int(y1) + pad + 1

    def ink(self) -> tuple[Box, ...]:
        return (self.box(),)

    def draw(self, img: Image.Image, dx: int, dy: int, background: RGB | None,
             fill: RGB | int | None = None) -> None:
        """Draw moved by ``(dx, dy)``, in its colour or in ``fill`` (255 on a mask)."""
        x0, y0, x1, y1 = self.coords
        colour = self.fill if fill is None else fill
        if self.ellipse:
            ImageDraw.Draw(img).ellipse((x0 + dx, y0 + dy, x1 + dx, y1 + dy), fill=colour)
        else:
            ImageDraw.Draw(img).line((x0 + dx, y0 + dy, x1 + dx, y1 + dy), fill=colour,
                                     width=self.width)


Mark = _Text | _Shape


def _inside(box: Box, outer: Box) -> bool:
    return outer[0] <= box[0] and outer[1] <= box[1] and box[2] <= outer[2] \
        and box[3] <= outer[3]


def _area(box: Box) -> int:
    return (box[2] - box[0]) * (box[3] - box[1])


def _meet(a: Box, b: Box) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


@dataclass(frozen=True)
class _Line:
    """The marks of one line of the cover (a line of text, the letters of a label, the
    rule and its dot) and what identifies them: the same key, the same pixels. Keys are
    kept with the line's coded cells, so they hold values, not marks with their masks."""
    key: Hashable
    marks: tuple[Mark, ...]
    keep: bool = True  # worth keeping coded: it comes back in a batch (not a title)


@dataclass
class Design:
    """What a cover shows: the blank (background and double frame) and the marks on it."""
    background: RGB
    accent: RGB
    lines: list[_Line] = field(default_factory=list)

    @property
    def marks(self) -> list[Mark]:
        return [mark for line in self.lines for mark in line.marks]

    def frame(self, img: Image.Image, top: int = 0, left: int = 0) -> None:
        """A thin double frame, like a cloth binding; ``img`` holds the cover from
        ``(left, top)``."""
        draw = ImageDraw.Draw(img)
        draw.rectangle((70 - left, 70 - top, WIDTH - 71 - left, HEIGHT - 71 - top),
                       outline=self.accent, width=6)
        draw.rectangle((92 - left, 92 - top, WIDTH - 93 - left, HEIGHT - 93 - top),
                       outline=self.accent, width=2)

    def image(self) -> Image.Image:
        img = Image.new("RGB", (WIDTH, HEIGHT), self.background)
        self.frame(img)
        self.paint(img, self.marks)
        return img

    def paint(self, img: Image.Image, marks: list[Mark], dx: int = 0, dy: int = 0) -> None:
        """Draw the marks moved by ``(dx, dy)``. A large mark alone on the background is
        pasted in colour rather than blended onto it (the same pixels)."""
        boxes = [mark.box() for mark in marks]
        for n, (mark, box) in enumerate(zip(marks, boxes, strict=True)):
            alone = box is not None and _area(box) >= 4096 and _inside(box, CLEAR) \
                and not any(other is None or _meet(box, other) for other in boxes[:n])
            mark.draw(img, dx, dy, self.background if alone else None)

    def centred(self, lines: tuple[str, ...], font: AnyFont, size: int, top: float,
                fill: RGB, spacing: float = 1.15, keep: bool = True) -> float:
        y = top
        for line in lines:
            mark = _Text(WIDTH / 2, y + size * 0.8, line, font, fill, "ms")
            key = ("text", mark.x, mark.y, line, font, fill)  # (not the mark: it keeps its mask)
            self.lines.append(_Line(key, (mark,), keep))
            y += size * spacing
        return y

    def tracked(self, lines: tuple[str, ...], font: AnyFont, size: int, top: float,
                fill: RGB) -> None:
        """Letter-spaced capitals (the fandom label), set a character at a time."""
        y = top
        for line in lines:
            x = (WIDTH - _width(font, line, True)) / 2
            marks = []
            for ch in line:
                marks.append(_Text(x, y + size * 0.8, ch, font, fill, "ls"))
                x += _advance(font, ch) + TRACK * size
            self.lines.append(_Line(("tracked", line, font, size, y, fill), tuple(marks)))
            y += size * 1.5


def palette_for(key: str) -> tuple[tuple[int, int, int], ...]:
    digest = hashlib.sha256(key.encode("utf-8")).digest()
    return PALETTE[digest[0] % len(PALETTE)]


def series_text(meta: Metadata) -> str | None:
    if not meta.series:
        return None
    if meta.series_index:
        return f"{meta.series} · Part {meta.series_index}"
    return meta.series


def design(meta: Metadata, key: str) -> Design:
    """The layout of the story's cover; ``key`` (the story id) picks the colours."""
    bg, fg, accent = palette_for(key)
    out = Design(bg, accent)
    margin = 150
    inner = WIDTH - 2 * margin

    if meta.fandom:
        fandom = meta.fandom.split("\n")[0].strip()
        font, lines, size = fit(fandom.upper(), "text", inner, 200, 58, 36, 2, spacing=1.5,
                                tracked=True)
        out.tracked(lines, font, size, 250, accent)

    # a title of only spaces is no title: it would leave the cover without one
    title = " ".join((meta.title or "").split()) or "Untitled"
    tfont, tlines, tsize = fit(title, "title", inner, 1000, 190, 70, 6, spacing=1.12)
    block = len(tlines) * tsize * 1.12
    top = max(520, 1050 - block / 2)
    bottom = out.centred(tlines, tfont, tsize, top, fg, spacing=1.12, keep=False)

    rule_y = bottom + 70
    rule = _Shape(False, (WIDTH / 2 - 160, rule_y, WIDTH / 2 + 160, rule_y), accent, 5)
    dot = _Shape(True, (WIDTH / 2 - 14, rule_y - 14, WIDTH / 2 + 14, rule_y + 14), accent)
    out.lines.append(_Line((rule, dot), (rule, dot)))

    if meta.author:
        author = " ".join(meta.author.split())
        afont, alines, asize = fit(author, "text", inner, 260, 110, 54, 2)
        out.centred(alines, afont, asize, rule_y + 90, fg)

    series = series_text(meta)
    if series:
        sfont, slines, ssize = fit(series, "italic", inner, 240, 84, 44, 2)
        height = len(slines) * ssize * 1.15
        out.centred(slines, sfont, ssize, HEIGHT - 230 - height, accent)
    return out


# JPEG: what e-readers and Send-to-Kindle expect for covers, and ~15x faster to encode than
# PNG at this size; no EXIF or comment segments. Chroma is 4:2:0 (libjpeg's default and
# what published covers use): the text is at least 44 px high and light on a dark ground,
# so halving the colour resolution does not show, while it codes ~2x faster than 4:4:4
# and the file is ~30% smaller.
# A restart marker after every RESTART blocks of 16x16 pixels makes the coded data of each
# cell (64x16 pixels, 25 to a block row) stand alone: the DC predictors reset, and without
# optimize the Huffman tables are libjpeg's standard ones and the quantisation tables
# depend only on the quality. So a cell's bytes depend only on its pixels, and cells coded
# in any image with the same settings can be put together into one valid JPEG, as long as
# the restart markers are numbered again in order (RST0-RST7, cycling).
MCU = 16  # height of a block row at 4:2:0
# Blocks between restart markers: shorter is less to code per book, longer is a smaller
# file (each restart costs 2 bytes and the DC values coded afresh). At 4 the file is ~11%
# larger than with a restart per block row; 1 or 2 code fewer pixels but more pieces, and
# were no faster.
RESTART = 4
CELL = MCU * RESTART
ROWS, COLS = HEIGHT // MCU, WIDTH // CELL
CELLS = ROWS * COLS
_STRIP = 1000  # most cells in a row of the image coded for a book (65535 px at most)
_SLACK = 4  # pixels around a shape's box its drawing may touch
_RST = [bytes((0xFF, 0xD0 + n)) for n in range(8)]
_MARKERS = _RST * (COLS // 8 + 2)  # from _MARKERS[n % 8]: the markers after cells n, n+1...
_RST_SPLIT = re.compile(rb"\xff[\xd0-\xd7]")  # in coded data FF is always followed by 00


def encode(img: Image.Image) -> bytes:
    """The cover's JPEG encoding; :func:`generate_cover` gives the same bytes faster."""
    out = io.BytesIO()
    img.save(out, format="JPEG", quality=90, subsampling=2, optimize=False,
             restart_marker_blocks=RESTART)
    return out.getvalue()


def _split(data: bytes, cells: int) -> tuple[bytes, list[bytes]] | None:
    """The header of a JPEG from :func:`encode` (SOI up to the end of SOS), with the
    image size set to the cover's, and the coded data of each cell."""
    pos, sof = 2, -1
    while pos + 4 <= len(data) and data[pos] == 0xFF:
        marker = data[pos + 1]
        if marker == 0xC0:
            sof = pos
        pos += 2 + int.from_bytes(data[pos + 2:pos + 4], "big")
        if marker == 0xDA:
            break
    else:
        return None
    if sof < 0 or data[-2:] != b"\xff\xd9":
        return None
    header = data[:sof + 5] + HEIGHT.to_bytes(2, "big") + WIDTH.to_bytes(2, "big") \
        + data[sof + 9:pos]
    segments = _RST_SPLIT.split(data[pos:-2])
    if len(segments) != cells:
        return None
    return header, segments


@dataclass(frozen=True)
class _Blank:
    header: bytes
    body: bytes  # the coded cells of the blank cover with the restart markers between them
    starts: tuple[int, ...]  # where each cell's data starts in body
    ends: tuple[int, ...]  # and ends (its restart marker follows)


@lru_cache(maxsize=len(PALETTE))
def _blank(background: RGB, accent: RGB) -> _Blank | None:
    """The blank cover (background and frame) in one colour scheme, coded once a process,
    or read from the user's cache (~0.01 s a scheme to code; :func:`warm_up_covers` codes
    all eight)."""
    entry = _remembered("blank", lambda: f"colours: {background} {accent}")
    if entry is not None and entry.body is not None:
        known = _unpack_blank(entry.body)
        if known is not None:
            return known
    blank = _code_blank(background, accent)
    if blank is not None and entry is not None:
        entry.store(_pack_blank(blank))
    return blank


def _pack_blank(blank: _Blank) -> bytes:
    """The blank as bytes: the lengths of header and body, the header, the body, then the
    start and end of every cell as unsigned 32-bit numbers."""
    cells = array("I", blank.starts + blank.ends)
    return struct.pack("<III", len(blank.header), len(blank.body), len(blank.starts)) \
        + blank.header + blank.body + cells.tobytes()


def _unpack_blank(data: bytes) -> _Blank | None:
    """What :func:`_pack_blank` wrote, or None if it is not a whole blank of this cover."""
    if len(data) < 12:
        return None
    head, size, count = struct.unpack_from("<III", data)
    cells = array("I")
    if count != CELLS or cells.itemsize != 4 or len(data) != 12 + head + size + 8 * count:
        return None
    cells.frombytes(data[12 + head + size:])
    blank = _Blank(data[12:12 + head], data[12 + head:12 + head + size],
                   tuple(cells[:count]), tuple(cells[count:]))
    if not all(0 <= a <= b <= size for a, b in zip(blank.starts, blank.ends, strict=True)):
        return None
    return blank


def _code_blank(background: RGB, accent: RGB) -> _Blank | None:
    """The blank cover in one colour scheme, coded. Rows wholly
    inside :data:`CLEAR`'s height are alike (background and the frame's sides), so only
    the top and bottom rows and one middle row are drawn and coded."""
    inside = range(-(-CLEAR[1] // MCU), CLEAR[3] // MCU)  # rows wholly in the middle
    top = Image.new("RGB", (WIDTH, (inside.start + 1) * MCU), background)
    Design(background, accent).frame(top)
    bottom = Image.new("RGB", (WIDTH, (ROWS - inside.stop) * MCU), background)
    Design(background, accent).frame(bottom, inside.stop * MCU)
    strip = Image.new("RGB", (WIDTH, top.height + bottom.height))
    strip.paste(top, (0, 0))
    strip.paste(bottom, (0, top.height))
    split = _split(encode(strip), strip.height // MCU * COLS)
    if split is None:
        return None
    header, coded = split

    def at(row: int) -> int:  # where the row is in the strip
        if row in inside:
            return inside.start
        return row if row < inside.start else row - inside.stop + inside.start + 1

    pieces: list[bytes] = []
    starts: list[int] = []
    ends: list[int] = []
    pos = 0
    for cell in range(CELLS):
        row, col = divmod(cell, COLS)
        data = coded[at(row) * COLS + col]
        if cell:
            pieces.append(_RST[(cell - 1) % 8])
            pos += 2
        starts.append(pos)
        pieces.append(data)
        pos += len(data)
        ends.append(pos)
    return _Blank(header, b"".join(pieces), tuple(starts), tuple(ends))


def warm_up_covers() -> None:
    """Check the cached glyphs and code the blank cover of every colour scheme now (before
    batch workers fork)."""
    for role in _SOURCE_SERIF:
        _verified(font_files(role)[0] if font_files(role) else None)
    for background, _text, accent in PALETTE:
        _blank(background, accent)


@dataclass(frozen=True)
class _Coded:
    cells: Box  # the cells (columns and rows) its ink may touch
    # (first cell, end cell, their coded data with the restart markers between them) of
    # each run of cells it changes; cells are numbered row by row
    data: tuple[tuple[int, int, bytes], ...]
    size: int


class _Store:
    """The coded cells of lines drawn before (authors, fandoms and series come back often
    in a batch), the most recently used last, up to a number of bytes. Not locked: covers
    are drawn on the main thread of each process, as every other cache here."""

    def __init__(self, budget: int) -> None:
        self.budget = budget
        self.items: OrderedDict[Hashable, _Coded] = OrderedDict()
        self.size = 0

    def get(self, key: Hashable) -> _Coded | None:
        item = self.items.get(key)
        if item is not None:
            self.items.move_to_end(key)
        return item

    def put(self, key: Hashable, item: _Coded, keep: bool = True) -> None:
        """Store ``item``; one not to ``keep`` (a title) goes first when room is needed."""
        old = self.items.pop(key, None)
        if old is not None:
            self.size -= old.size
        self.items[key] = item
        if not keep:
            self.items.move_to_end(key, last=False)
        self.size += item.size
        while self.size > self.budget:
            _key, dropped = self.items.popitem(last=False)
            self.size -= dropped.size

    def clear(self) -> None:
        self.items.clear()
        self.size = 0


_coded = _Store(8 << 20)


def _cells(rects: Iterable[Box]) -> Box | None:
    """The cells (columns c0..c1, rows r0..r1, ends exclusive) the boxes touch."""
    boxes = [(max(0, a), max(0, b), min(WIDTH, c), min(HEIGHT, d)) for a, b, c, d in rects]
    boxes = [box for box in boxes if box[0] < box[2] and box[1] < box[3]]
    if not boxes:
        return None
    return (min(b[0] for b in boxes) // CELL, min(b[1] for b in boxes) // MCU,
            (max(b[2] for b in boxes) - 1) // CELL + 1, (max(b[3] for b in boxes) - 1) // MCU + 1)


Run = tuple[int, int, int]  # a row of cells, its first column and end column


@dataclass
class _Part:
    """Lines coded together: one line, or lines whose cells meet."""
    keys: list[Hashable]
    lines: list[tuple[int, _Line]]  # with their place in the design
    cells: Box
    coded: _Coded | None = None

    @property
    def key(self) -> Hashable:
        return self.keys[0] if len(self.keys) == 1 else tuple(self.keys)

    def runs(self) -> list[Run] | None:
        """(row, first column, end column) of the cells the ink touches, row by row."""
        bands: dict[tuple[int, int], int] = {}  # (first row, end row): columns, as bits
        for _n, line in self.lines:
            for mark in line.marks:
                ink = mark.ink()
                if ink is None:
                    return None
                for a, b, c, d in ink:
                    a, b, c, d = max(0, a), max(0, b), min(WIDTH, c), min(HEIGHT, d)
                    if a < c and b < d:
                        first, end = a // CELL, (c - 1) // CELL + 1
                        band = (b // MCU, (d - 1) // MCU + 1)
                        bands[band] = bands.get(band, 0) | ((1 << end) - (1 << first))
        rows: dict[int, int] = {}
        for (first, end), columns in bands.items():
            for row in range(first, end):
                rows[row] = rows.get(row, 0) | columns
        runs = []
        for row in sorted(rows):
            bits, col = rows[row], 0
            while bits:
                skip = (bits & -bits).bit_length() - 1  # empty columns, then a run of cells
                bits >>= skip
                col += skip
                count = (~bits & (bits + 1)).bit_length() - 1
                runs.append((row, col, col + count))
                bits >>= count
                col += count
        return runs


def _splice(plan: Design) -> bytes | None:
    """The cover's JPEG, coding only the cells with ink on them and taking the rest from
    the blank; the same bytes as ``encode(plan.image())``. None when that cannot be done
    (a font without known masks, an encoder that writes other tables)."""
    blank = _blank(plan.background, plan.accent)
    if blank is None:
        return None
    parts: list[_Part] = []
    for n, line in enumerate(plan.lines):
        key = (plan.background, plan.accent, line.key)
        known = _coded.get(key)
        if known is not None:
            parts.append(_Part([key], [(n, line)], known.cells, known))
            continue
        rects: list[Box] = []
        for mark in line.marks:
            ink = mark.ink()
            if ink is None:
                return None
            rects.extend(ink)
        cells = _cells(rects)
        if cells is not None:
            parts.append(_Part([key], [(n, line)], cells))
    # lines whose cells meet are drawn and coded together
    n = 0
    while n < len(parts):
        other = next((m for m in range(n + 1, len(parts))
                      if _meet(parts[n].cells, parts[m].cells)), None)
        if other is None:
            n += 1
            continue
        a, b = parts[n], parts.pop(other)
        lines = sorted(a.lines + b.lines, key=lambda item: item[0])
        keys: list[Hashable] = [(plan.background, plan.accent, line.key) for _n, line in lines]
        cells = (min(a.cells[0], b.cells[0]), min(a.cells[1], b.cells[1]),
                 max(a.cells[2], b.cells[2]), max(a.cells[3], b.cells[3]))
        parts[n] = _Part(keys, lines, cells)
    todo = []
    for part in parts:
        if part.coded is None and len(part.keys) > 1:
            part.coded = _coded.get(part.key)
        if part.coded is None:
            todo.append(part)
    if todo and not _code(plan, blank, todo):
        return None
    runs = sorted(run for part in parts if part.coded is not None for run in part.coded.data)
    out: list[bytes | memoryview] = [blank.header]
    body = memoryview(blank.body)
    pos = 0
    for first, end, data in runs:
        out.append(body[pos:blank.starts[first]])
        out.append(data)
        pos = blank.ends[end - 1]
    out.append(body[pos:])
    out.append(b"\xff\xd9")
    return b"".join(out)


def _source(marks: list[Mark], box: Box) -> tuple[Image.Image, int, int] | None:
    """The marks as one mask, for marks of one colour alone on the background (their
    pixels are then that mask coloured through :func:`_shades`), and where the mask's top
    left corner is on the cover; None when the marks overlap (blending twice is not
    blending their combined mask once)."""
    if len(marks) == 1 and isinstance(marks[0], _Text) and marks[0].glyphs is not None:
        mask, left, top, _rects = marks[0].glyphs
        return mask, left, top
    canvas = Image.new("L", (box[2] - box[0], box[3] - box[1]))
    drawn: list[Box] = []
    for mark in marks:
        if isinstance(mark, _Text):
            if mark.glyphs is None:
                return None
            mask, left, top, _rects = mark.glyphs
            rect = (left, top, left + mask.width, top + mask.height)
            if any(_meet(rect, other) for other in drawn):
                return None
            drawn.append(rect)
            if mask.width and mask.height:
                canvas.im.paste(mask.im, (left - box[0], top - box[1], rect[2] - box[0],
                                          rect[3] - box[1]))
    for mark in marks:  # shapes are solid (not blended): drawn last, in full
        if isinstance(mark, _Shape):
            mark.draw(canvas, -box[0], -box[1], None, 255)
    return canvas, box[0], box[1]


def _code(plan: Design, blank: _Blank, parts: list[_Part]) -> bool:
    """Draw the parts and code the cells their ink touches. The cells are put side by side
    in rows of up to :data:`_STRIP`, one image for each colour of marks alone on the
    background (drawn as masks, coloured at the end) and one for the rest (drawn in
    colour). Sets each part's ``coded``."""
    groups: dict[RGB | None, list[tuple[_Part, tuple[Image.Image, int, int], list[Run]]]] = {}
    for part in parts:
        runs = part.runs()
        if runs is None:
            return False
        marks = [mark for _n, line in part.lines for mark in line.marks]
        c0, r0, c1, r1 = part.cells
        box = (c0 * CELL, r0 * MCU, c1 * CELL, r1 * MCU)
        fills = {mark.fill for mark in marks}
        source = _source(marks, box) if _inside(box, CLEAR) and len(fills) == 1 else None
        if source is not None:
            groups.setdefault(fills.pop(), []).append((part, source, runs))
            continue
        canvas = Image.new("RGB", (box[2] - box[0], box[3] - box[1]), plan.background)
        if not _inside(box, CLEAR):
            plan.frame(canvas, box[1], box[0])
        plan.paint(canvas, marks, -box[0], -box[1])
        groups.setdefault(None, []).append((part, (canvas, box[0], box[1]), runs))
    found: dict[int, list[tuple[int, int, bytes]]] = {id(part): [] for part in parts}
    for fill, items in groups.items():
        total = sum(end - first for _part, _source, runs in items for _row, first, end in runs)
        rows = -(-total // _STRIP)
        per = -(-total // rows)
        if fill is None:
            strip = Image.new("RGB", (per * CELL, rows * MCU), plan.background)
        else:
            strip = Image.new("L", (per * CELL, rows * MCU))
        owners: list[tuple[list[tuple[int, int, bytes]], int, int]] = []  # to, cell, count
        place = 0
        for part, (image, ox, oy), runs in items:
            to = found[id(part)]
            for row, first, end in runs:
                while first < end:  # a run may go on in the next row of the strip
                    x, y = place % per * CELL, place // per * MCU
                    count = min(end - first, per - place % per)
                    piece = image.im.crop((first * CELL - ox, row * MCU - oy,
                                            (first + count) * CELL - ox, (row + 1) * MCU - oy))
                    strip.im.paste(piece, (x, y, x + count * CELL, y + MCU))
                    owners.append((to, row * COLS + first, count))
                    place += count
                    first += count
        if fill is not None:
            strip.putpalette(_shades(plan.background, fill))
            strip = strip.convert("RGB")
        split = _split(encode(strip), per * rows)
        if split is None or split[0] != blank.header:
            return False
        coded = split[1]
        place = 0
        for to, cell, count in owners:  # the run's cells with the cover's restart markers
            pieces: list[bytes] = [b""] * (2 * count - 1)
            pieces[::2] = coded[place:place + count]
            pieces[1::2] = _MARKERS[cell % 8:cell % 8 + count - 1]
            to.append((cell, cell + count, b"".join(pieces)))
            place += count
    for part in parts:
        coded_runs = tuple(found[id(part)])
        part.coded = _Coded(part.cells, coded_runs,
                            sum(len(d) for _a, _b, d in coded_runs) + 64 * len(coded_runs))
        _coded.put(part.key, part.coded, all(line.keep for _n, line in part.lines))
    return True


def generate_cover(meta: Metadata, key: str) -> CoverImage:
    """A typographic cover for the story; ``key`` (the story id) picks the colours."""
    plan = design(meta, key)
    data = _splice(plan)
    if data is None:
        data = encode(plan.image())
    return CoverImage(data, "image/jpeg", WIDTH, HEIGHT)


def load_user_cover(data: bytes, name: str = "cover") -> CoverImage:
    """Check and convert the user's cover image; raises :class:`CoverError` (one line)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            opened = Image.open(io.BytesIO(data))
        with opened:
            if opened.format not in ("JPEG", "PNG", "GIF", "WEBP"):
                raise CoverError(f"{name}: {opened.format or 'this'} images are not supported "
                                 "as covers (use JPEG, PNG, GIF or WebP)")
            if opened.width * opened.height > MAX_USER_PIXELS:
                raise CoverError(f"{name}: image is too large ({opened.width}×{opened.height};"
                                 f" at most {MAX_USER_PIXELS:,} pixels)")
            opened.seek(0)
            img = ImageOps.exif_transpose(opened)
            img.load()
    except CoverError:
        raise
    except Image.DecompressionBombError as exc:
        raise CoverError(f"{name}: image is too large") from exc
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
        raise CoverError(f"{name}: not a readable image (JPEG, PNG, GIF or WebP)") from exc
    if min(img.size) < MIN_USER_SIDE:
        raise CoverError(f"{name}: image is too small ({img.width}×{img.height}); "
                         f"a cover needs at least {MIN_USER_SIDE} pixels on each side")
    if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
        rgba = img.convert("RGBA")
        flat = Image.new("RGB", rgba.size, (255, 255, 255))
        flat.paste(rgba, mask=rgba.getchannel("A"))
        img = flat
    else:
        img = img.convert("RGB")
    if img.width > MAX_USER[0] or img.height > MAX_USER[1]:
        img.thumbnail(MAX_USER, Image.Resampling.LANCZOS)
    out = io.BytesIO()
    img.save(out, format="JPEG", quality=88, optimize=True, progressive=False)
    return CoverImage(out.getvalue(), "image/jpeg", img.width, img.height)


def read_user_cover(path: Path) -> CoverImage:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise CoverError(f"{path}: cannot read ({exc.strerror or exc})") from exc
    return load_user_cover(data, str(path))
