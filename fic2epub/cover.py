"""Cover images: a generated typographic cover for every book, or the user's own image.

:func:`generate_cover` draws title, author, series and part, and fandom on a flat colour
chosen from the story's identifier, as a PNG. The same story always gives the same bytes:
nothing time-dependent is drawn and the PNG carries no metadata chunks.

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
import warnings
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont, ImageOps, UnidentifiedImageError

from .errors import ConfigError
from .model import Metadata

WIDTH, HEIGHT = 1600, 2400  # 2:3, the shape of a paperback and of most e-reader screens
MAX_USER = (1600, 2560)
MIN_USER_SIDE = 200
MAX_USER_PIXELS = 60_000_000

AnyFont = ImageFont.FreeTypeFont | ImageFont.ImageFont | ImageFont.TransposedFont


class CoverError(ConfigError):
    """The image given as a cover cannot be used."""


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


def _width(font: AnyFont, text: str, tracked: bool = False) -> float:
    if not tracked:
        return float(font.getlength(text))
    size = float(getattr(font, "size", 10))
    return sum(float(font.getlength(c)) for c in text) + TRACK * size * (len(text) - 1)


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
            cut = len(word) - 1
            while cut > 1 and _width(font, word[:cut], tracked) > width:
                cut -= 1
            lines.append(word[:cut])
            word = word[cut:]
        current = word
    if current:
        lines.append(current)
    return lines


def fit(text: str, role: str, width: float, height: float, start: int, smallest: int,
        max_lines: int, spacing: float = 1.15,
        tracked: bool = False) -> tuple[AnyFont, list[str], int]:
    """The largest size (from ``start`` down) at which ``text`` fits the box."""
    size = start
    while True:
        font = pick_font(role, text, size)
        lines = wrap(text, font, width, tracked)
        if (len(lines) <= max_lines and len(lines) * size * spacing <= height) \
                or size <= smallest:
            if len(lines) > max_lines:
                rest = " ".join(lines[max_lines - 1:])
                lines = [*lines[:max_lines - 1], _ellipsize(rest, font, width, tracked)]
            return font, lines, size
        size = max(smallest, int(size * 0.92))


def _ellipsize(text: str, font: AnyFont, width: float, tracked: bool) -> str:
    while text and _width(font, text + "…", tracked) > width:
        text = text[:-1].rstrip()
    return text + "…"


def _centred(draw: ImageDraw.ImageDraw, lines: list[str], font: AnyFont, size: int,
             top: float, fill: tuple[int, int, int], spacing: float = 1.15) -> float:
    y = top
    for line in lines:
        draw.text((WIDTH / 2, y + size * 0.8), line, font=font, fill=fill, anchor="ms")
        y += size * spacing
    return y


def _tracked_lines(draw: ImageDraw.ImageDraw, lines: list[str], font: AnyFont, size: int,
                   top: float, fill: tuple[int, int, int]) -> None:
    """Letter-spaced capitals (the fandom label), drawn a character at a time."""
    y = top
    for line in lines:
        x = (WIDTH - _width(font, line, True)) / 2
        for ch in line:
            draw.text((x, y + size * 0.8), ch, font=font, fill=fill, anchor="ls")
            x += float(font.getlength(ch)) + TRACK * size
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


def generate_cover(meta: Metadata, key: str) -> CoverImage:
    """A typographic cover for the story; ``key`` (the story id) picks the colours."""
    bg, fg, accent = palette_for(key)
    img = Image.new("RGB", (WIDTH, HEIGHT), bg)
    draw = ImageDraw.Draw(img)
    margin = 150
    inner = WIDTH - 2 * margin
    # a thin double frame, like a cloth binding
    draw.rectangle((70, 70, WIDTH - 71, HEIGHT - 71), outline=accent, width=6)
    draw.rectangle((92, 92, WIDTH - 93, HEIGHT - 93), outline=accent, width=2)

    if meta.fandom:
        fandom = meta.fandom.split("\n")[0].strip()
        font, lines, size = fit(fandom.upper(), "text", inner, 200, 58, 36, 2, spacing=1.5,
                                tracked=True)
        _tracked_lines(draw, lines, font, size, 250, accent)

    title = " ".join((meta.title or "Untitled").split())
    tfont, tlines, tsize = fit(title, "title", inner, 1000, 190, 70, 6, spacing=1.12)
    block = len(tlines) * tsize * 1.12
    top = max(520, 1050 - block / 2)
    bottom = _centred(draw, tlines, tfont, tsize, top, fg, spacing=1.12)

    rule_y = bottom + 70
    draw.line((WIDTH / 2 - 160, rule_y, WIDTH / 2 + 160, rule_y), fill=accent, width=5)
    draw.ellipse((WIDTH / 2 - 14, rule_y - 14, WIDTH / 2 + 14, rule_y + 14), fill=accent)

    if meta.author:
        author = " ".join(meta.author.split())
        afont, alines, asize = fit(author, "text", inner, 260, 110, 54, 2)
        _centred(draw, alines, afont, asize, rule_y + 90, fg)

    series = series_text(meta)
    if series:
        sfont, slines, ssize = fit(series, "italic", inner, 240, 84, 44, 2)
        height = len(slines) * ssize * 1.15
        _centred(draw, slines, sfont, ssize, HEIGHT - 230 - height, accent)

    # JPEG: what e-readers and Send-to-Kindle expect for covers, and ~15x faster to encode
    # than PNG at this size (PNG took ~150 ms a book, which dominated batch time).
    # 4:4:4 chroma keeps the small text crisp; no EXIF or comment segments are written.
    out = io.BytesIO()
    img.save(out, format="JPEG", quality=90, subsampling=0, optimize=False)
    return CoverImage(out.getvalue(), "image/jpeg", WIDTH, HEIGHT)


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
