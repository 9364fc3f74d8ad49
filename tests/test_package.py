"""The EPUB container: entry order, storage methods and times, and who deflates it."""

from __future__ import annotations

import zipfile
from pathlib import Path

from click.testing import CliRunner
from isal import isal_zlib

from fic2epub.cli import cli
from fic2epub.package import ISAL_LEVEL, ZIP_TIME

INPUT = Path(__file__).resolve().parent.parent / "input"


def _raw_deflate(data: bytes) -> bytes:
    compressor = isal_zlib.compressobj(ISAL_LEVEL, isal_zlib.DEFLATED, -15)
    return compressor.compress(data) + compressor.flush()


def test_container_layout_and_isal_deflate(tmp_path: Path) -> None:
    """``mimetype`` first, stored, no extra field; the cover image stored; every other
    entry deflated with ISA-L's bytes (not zlib's: a fall-back to zlib would give other
    compressed bytes and fail here); all at the fixed 1980 time. The book is also checked
    by EPUBCheck (conftest's every_epub_checked)."""
    out = tmp_path / "out"
    result = CliRunner().invoke(cli, ["build", str(INPUT / "the_lantern_keeper.txt"),
                                       "-o", str(out), "-q"])
    assert result.exit_code == 0, result.output
    (book,) = out.glob("*.epub")
    with zipfile.ZipFile(book) as zf:
        infos = zf.infolist()
        assert infos[0].filename == "mimetype"
        assert infos[0].compress_type == zipfile.ZIP_STORED and infos[0].extra == b""
        assert zf.read("mimetype") == b"application/epub+zip"
        assert zf.testzip() is None
        raw = book.read_bytes()
        deflated = 0
        for info in infos:
            assert info.date_time == ZIP_TIME
            data = zf.read(info)
            if info.filename == "mimetype" or info.filename.endswith(".jpg"):
                assert info.compress_type == zipfile.ZIP_STORED, info.filename
                continue
            assert info.compress_type == zipfile.ZIP_DEFLATED, info.filename
            # the entry's compressed bytes follow its local header (30 bytes + name)
            start = info.header_offset + 30 + len(info.filename.encode())
            assert raw[start:start + info.compress_size] == _raw_deflate(data), info.filename
            deflated += 1
        assert deflated >= 6  # OPF, NCX, nav, CSS, title page, a chapter, ...
