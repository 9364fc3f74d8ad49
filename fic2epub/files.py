"""The only place that reads inputs and writes EPUBs: files in, results out.

A failure of one file becomes a :class:`~fic2epub.model.Result` with ``ok=False`` and a
plain one-line reason; the batch goes on.
"""

from __future__ import annotations

import functools
import hashlib
import os
import re
import stat
import time
import unicodedata
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from .errors import Fic2EpubError, InputError
from .model import Config, Finding, Result, Story

if TYPE_CHECKING:
    from collections.abc import Callable

    from .cover import CoverImage
    from .pipeline import Converted

# The conversion stages (pipeline, cover, package and their libraries) are imported when
# a file is converted, not with this module: a build with nothing to convert (every book
# up to date) then starts in about half the time.

MAX_NAME = 120
_RESERVED = re.compile(r"^(con|prn|aux|nul|com[0-9]|lpt[0-9])(\..*)?$", re.IGNORECASE)


def find_inputs(paths: list[Path],
                skipped: list[tuple[Path, str]] | None = None) -> list[tuple[Path, Path]]:
    """(file, root) for each input: files as given, folders walked for ``*.txt``.

    ``root`` is the folder a file was found under (its own folder for a named file), so
    output can mirror the input layout. Symlinks that lead outside a folder, hidden
    files and the files of hidden folders are skipped; ``skipped`` (when given) gets
    each skipped ``.txt`` file found and why (hidden folders are not walked)."""
    _resolved_abs.cache_clear()
    _out_folder.cache_clear()
    found: list[tuple[Path, Path]] = []
    seen: set[str] = set()
    for path in paths:
        if path.is_dir():
            root = path.resolve()
            for dirpath, dirnames, filenames in os.walk(path):
                dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
                folder = Path(dirpath)
                real_dir = folder.resolve()  # once per folder, not per file
                inside = real_dir.is_relative_to(root)
                for name in sorted(filenames):
                    if not name.lower().endswith(".txt"):
                        continue
                    f = folder / name
                    if name.startswith("."):
                        if skipped is not None:
                            skipped.append((f, "a hidden file"))
                        continue
                    if os.path.islink(f):
                        real = _real(f)
                        if real is None:  # a loop: its read fails, on one line
                            key = str(f)
                        elif not real.is_relative_to(root):
                            if skipped is not None:
                                skipped.append((f, f"a symlink to {real}, outside {path}"))
                            continue
                        else:
                            key = str(real)
                    elif inside:
                        key = os.path.join(real_dir, name)
                    else:
                        continue
                    if key not in seen:
                        seen.add(key)
                        found.append((f, path))
        else:
            real = _real(path)
            key = str(real) if real is not None else str(path)
            if key not in seen:
                seen.add(key)
                found.append((path, path.parent))
    return found


def _real(path: Path) -> Path | None:
    """``path.resolve()``, or None for a symlink loop (which resolve() raises on)."""
    try:
        return path.resolve()
    except (OSError, RuntimeError):
        return None


def safe_stem(name: str) -> str:
    """A file name stem that is legal on every file system and e-reader."""
    s = name
    if not s.isascii():  # ASCII has nothing to decompose (and most names are ASCII)
        s = unicodedata.normalize("NFKD", s)
        s = "".join(c for c in s if not unicodedata.combining(c))
    s = re.sub(r"[^A-Za-z0-9._-]+", "_", s)
    s = re.sub(r"_{2,}", "_", s).strip("._-")
    s = s[:MAX_NAME].rstrip(" ._-")
    if not s or _RESERVED.match(s):
        s = f"story_{s}" if s else "story"
    return s


def output_path(source: Path, root: Path, out_dir: Path, taken: set[str],
                suffix: str = ".epub") -> Path:
    """Where the EPUB for ``source`` goes: mirrors the input folders, unique, safe.
    ``suffix`` is ``.kepub.epub`` for Kobo books."""
    folder, real_folder, _rel = _out_folder(str(source.parent), str(root), str(out_dir),
                                            os.getcwd())
    return folder / unique_name(real_folder, safe_stem(_TXT.sub("", source.name)), suffix,
                                taken)


def earlier_output(source: Path, root: Path, out_dir: Path, names: list[str],
                   taken: set[str], suffix: str = ".epub",
                   anywhere: bool = False) -> Path | None:
    """Where an earlier build put ``source``'s book, to put it there again: of ``names``
    (books in this build's format that the cache records for it, paths inside
    ``out_dir`` with ``/``), the first that is in the folder :func:`output_path` would
    choose now (or, with ``anywhere``, in any folder: for a file named on its own, which
    has no folder layout to mirror), is not ``taken`` and exists; the name it would be
    given now (with ``suffix``) first. Marked taken as :func:`output_path` marks its
    names. None when there is none: the book is named afresh."""
    folder, real_folder, rel = _out_folder(str(source.parent), str(root), str(out_dir),
                                           os.getcwd())
    base = _named(safe_stem(_TXT.sub("", source.name)), "", suffix)
    natural = f"{rel}/{base}" if rel else base
    here = [n for n in names if n.rpartition("/")[0] == rel]
    ordered = sorted(here, key=lambda n: n != natural)
    if anywhere:
        ordered += [n for n in names if n.rpartition("/")[0] != rel]
    for name in ordered:
        sub, _, book = name.rpartition("/")
        if sub == rel:
            key, path = f"{real_folder}/{book}", folder / book
        else:
            parts = sub.split("/") if sub else []
            key = f"{_resolved(out_dir).joinpath(*parts)}/{book}"
            path = out_dir.joinpath(*parts, book)
        if key.casefold() not in taken and os.path.isfile(path):
            taken.add(key.casefold())
            return path
    return None


def unique_name(real_folder: str, stem: str, suffix: str, taken: set[str]) -> str:
    """``stem + suffix``, or ``stem-2 + suffix`` ... : a name not yet in ``taken`` for
    ``real_folder`` (unique even on case-insensitive file systems: Windows, macOS, FAT
    e-readers), at most MAX_NAME characters; marked taken."""
    name = _named(stem, "", suffix)
    n = 2
    while f"{real_folder}/{name}".casefold() in taken:
        name = _named(stem, f"-{n}", suffix)
        n += 1
    taken.add(f"{real_folder}/{name}".casefold())
    return name


def _named(stem: str, number: str, suffix: str) -> str:
    """``stem + number + suffix``, the stem cut so that the whole name has at most
    MAX_NAME characters."""
    keep = MAX_NAME - len(number) - len(suffix)
    if len(stem) > keep:
        stem = stem[:keep].rstrip(" ._-") or "story"
    return f"{stem}{number}{suffix}"


@functools.lru_cache(maxsize=1024)
def _out_folder(parent: str, root: str, out_dir: str, cwd: str) -> tuple[Path, str, str]:
    """The output folder for inputs in ``parent`` (found under ``root``), its real path,
    and its path inside the output folder (``a/b``, ``""`` for the output folder itself):
    once per folder, not per file. Keyed on the working directory too (the paths
    may be relative); emptied by :func:`find_inputs` (a folder replaced by a symlink is
    seen)."""
    try:
        rel = _resolved(Path(parent)).relative_to(_resolved(Path(root)))
    except ValueError:
        rel = Path()
    parts = [safe_stem(p) for p in rel.parts if p not in ("", ".", "..")]
    return (Path(out_dir).joinpath(*parts), str(_resolved(Path(out_dir)).joinpath(*parts)),
            "/".join(parts))


_TXT = re.compile(r"\.txt$", re.IGNORECASE)


def _resolved(folder: Path) -> Path:
    """A folder's real path; cached, because a batch asks for the same few folders for
    every one of thousands of files. Keyed on the absolute path (a change of working
    directory cannot return another folder's answer) and emptied by :func:`find_inputs`
    at the start of every batch (a folder replaced by a symlink is seen)."""
    return _resolved_abs(os.path.abspath(folder))


@functools.lru_cache(maxsize=1024)
def _resolved_abs(folder: str) -> Path:
    return Path(folder).resolve()


RACY_NS = 3_000_000_000
"""An input modified less than this before it was read (3 s: more than the 2 s of FAT
timestamps) is recorded with an mtime that matches nothing, so that the next build
compares its SHA-256 instead of trusting size and mtime."""

def recordable_stat(size: int, mtime_ns: int) -> tuple[int, int]:
    """(size, mtime) as the incremental cache may record them for a file stat'ed now.
    A file modified just now could be rewritten with the same size within the file
    system's timestamp granularity and keep this mtime: its mtime is recorded as -1, so
    that the next build compares its content (as git does for "racily clean" files)."""
    return (size, -1) if time.time_ns() - mtime_ns < RACY_NS else (size, mtime_ns)


_NONBLOCK = getattr(os, "O_NONBLOCK", 0)
_BINARY = getattr(os, "O_BINARY", 0)  # Windows
MAX_INPUT_BYTES = 64 * 2**20
"""Inputs larger than this are refused (memory stays bounded); see ``--max-size``."""


def read_input(path: Path, max_bytes: int = MAX_INPUT_BYTES) -> bytes:
    return read_input_stat(path, max_bytes)[0]


def _mb(size: int) -> str:
    """A size in MB for a message: 200 MB, 1.22 MB (not "1 MB, larger than the 1 MB")."""
    mb = size / 2**20
    return f"{mb:.0f} MB" if mb.is_integer() else f"{mb:.2f}".rstrip("0").rstrip(".") + " MB"


def _size(size: int, limit: int) -> str:
    """``size`` in MB, or in bytes when MB would not show it is over ``limit``."""
    text = _mb(size)
    return text if text != _mb(limit) else f"{size:,} bytes"


PIPE_WAIT = 2.0
"""Seconds a named pipe may stay silent before its read fails."""


def _await_writer(fd: int) -> None:
    """Wait until the named pipe ``fd`` (opened without blocking) has data or an end, at
    most PIPE_WAIT seconds; then reads wait for its writer as for any pipe."""
    import selectors  # poll or epoll: select() cannot take a descriptor over 1023

    with selectors.DefaultSelector() as sel:
        sel.register(fd, selectors.EVENT_READ)
        if not sel.select(PIPE_WAIT):
            raise InputError(f"a named pipe that nothing wrote to within {PIPE_WAIT:.0f} s")
    os.set_blocking(fd, True)


def read_input_stat(path: Path, max_bytes: int = MAX_INPUT_BYTES) -> tuple[bytes, tuple[int, int]]:
    """The file's bytes, and its size and modification time (ns) taken before reading.

    The read asks for the size the file has (plus one byte, to see it end), not for the
    limit: a read of ``max_bytes + 1`` makes Python allocate a buffer of that size (64 MB)
    for every file, then shrink it. A file that grew since it was stat'ed, or that has no
    size (a pipe), is read on up to the limit. The file is opened without waiting: a named
    pipe (``mkfifo``) that nothing writes to fails after PIPE_WAIT seconds instead of
    hanging the batch."""
    try:
        fd = os.open(path, os.O_RDONLY | _NONBLOCK | _BINARY)
        with open(fd, "rb") as fh:
            st = os.fstat(fd)
            if stat.S_ISDIR(st.st_mode):
                raise IsADirectoryError
            if stat.S_ISFIFO(st.st_mode):
                _await_writer(fd)
            size = st.st_size
            if size > max_bytes:
                raise InputError(f"the file is {_size(size, max_bytes)}, larger than the "
                                 f"{_mb(max_bytes)} limit (--max-size)")
            data = fh.read(size + 1)
            if len(data) > size:
                data += fh.read(max_bytes + 1 - len(data))
        if len(data) > max_bytes:
            raise InputError(f"the file grew past the {_mb(max_bytes)} limit "
                             "while being read (--max-size)")
        return data, (size, st.st_mtime_ns)
    except FileNotFoundError as exc:
        raise InputError("file not found") from exc
    except IsADirectoryError as exc:
        raise InputError("is a folder, not a file") from exc
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror or exc}") from exc


def _describe(result: Result, converted: Converted) -> None:
    """Fill ``result`` from a converted (not yet written) book."""
    story = converted.story
    result.title = story.metadata.title
    result.author = story.metadata.author
    result.words = sum(len(p.text.split()) for p in story.paragraphs())
    result.scenes = story.scene_count
    result.warnings = list(story.warnings)


def write_book(result: Result, output: Path | None, book: bytes) -> None:
    """Write a converted book (unless ``output`` is None) and mark ``result`` done, or
    record why it could not be written. Never raises for a problem with this file."""
    try:
        if output is not None:
            from .package import write_atomic

            write_atomic(output, book)
            result.output = str(output)
        result.ok = True
    except Fic2EpubError as exc:
        result.error = str(exc)
    except Exception as exc:  # a bug must not stop the batch: report it on one line
        result.error = f"internal error ({type(exc).__name__}: {exc}); please report it"


def _finish(result: Result, converted: Converted, output: Path | None) -> None:
    _describe(result, converted)
    write_book(result, output, converted.epub)


def convert_file(source: Path, output: Path | None, config: Config,
                 proof: bool = False) -> Result:
    """Convert one file; write the EPUB to ``output`` unless it is None. Never raises
    for problems with this one file: they become ``Result.error``. ``proof``: see
    :func:`prepare_file`."""
    result, book = prepare_file(source, config, proof)
    if book is not None:
        write_book(result, output, book)
    return result


def _proofread(result: Result, parts: list[tuple[str, Story]], language: str,
               config: Config) -> None:
    """A book's proofing with ``config.proof``'s settings, in the book's language: the
    story of each of its files (one, or a combined book's parts) on its own, each
    finding placed in its file (line and column in it), in file order."""
    from .proof.engine import ProofResult, options_from_settings, proof_story, record

    options = options_from_settings(config.proof)
    findings: list[Finding] = []
    notes: list[str] = []
    for source, story in parts:
        proofed = proof_story(story, options, language)
        findings.extend(replace(f, file=source) for f in proofed.findings)
        earlier = set(notes)  # a note every part gives (no dictionary) once
        notes.extend(n for n in proofed.notes if n not in earlier)
    record(result, ProofResult(file=result.input, findings=findings, notes=notes),
           config.proof)


def prepare_file(source: Path, config: Config,
                 proof: bool = False) -> tuple[Result, bytes | None]:
    """Convert one file without writing it: its Result (not yet ``ok``) and the book's
    bytes, or a Result with the error and None. Then :func:`write_book`.

    ``proof``: also proofread the story with ``config.proof``'s settings: the Result's
    ``findings`` and ``proof_failed``."""
    result = Result(input=str(source), output=None, ok=False)
    try:
        from .pipeline import convert

        data, stat = read_input_stat(source, config.max_bytes)
        result.input_stat = recordable_stat(*stat)
        result.input_sha256 = hashlib.sha256(data).hexdigest()
        converted = convert(data, source.name, config, css=_css(config),
                            cover=cover_image(config))
        _describe(result, converted)
        if proof:
            _proofread(result, [(str(source), converted.story)], converted.language,
                       config)
        return result, converted.epub
    except Fic2EpubError as exc:
        result.error = str(exc)
    except RecursionError:
        result.error = "the file is too deeply nested to process"
    except MemoryError:
        result.error = "out of memory while converting this file"
    except Exception as exc:  # a bug must not stop the batch: report it on one line
        result.error = f"internal error ({type(exc).__name__}: {exc}); please report it"
    return result, None


Stamp = tuple[int, int, int, int]


def _stamp(path: Path) -> Stamp | None:
    """Size, modification and change times, and inode of a file (None when it cannot be
    stat'ed). The change time and inode catch a file replaced with the same size and a
    restored modification time (``cp -p``, ``rsync -t``, unpacking an archive)."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino


T = TypeVar("T")


def _by_stamp(cache: dict[Path, tuple[Stamp, T]], path: Path, load: Callable[[Path], T]) -> T:
    """``load(path)``, kept per process by path with the file's stamp: a file replaced
    under the same name (a long-lived process: a Dask worker, a library user) is loaded
    again. A file that can no longer be stat'ed (deleted during a batch) keeps its last
    copy: the books of a batch still get the file their settings were checked with."""
    stamp = _stamp(path)
    cached = cache.get(path)
    if cached is not None and (stamp is None or cached[0] == stamp):
        return cached[1]
    value = load(path)
    if stamp is not None:
        cache[path] = (stamp, value)
    return value


_CSS_CACHE: dict[Path, tuple[Stamp, bytes]] = {}


def _read_css(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read stylesheet {path}: {exc}") from exc


def _css(config: Config) -> bytes | None:
    if config.stylesheet is None:
        return None
    return _by_stamp(_CSS_CACHE, config.stylesheet, _read_css)


_COVER_CACHE: dict[Path, tuple[Stamp, CoverImage]] = {}


def cover_image(config: Config) -> CoverImage | None:
    """The user's cover (checked and converted once per path and version of the file),
    or None."""
    if config.cover_image is None or not config.cover:
        return None
    from .cover import read_user_cover

    return _by_stamp(_COVER_CACHE, config.cover_image, read_user_cover)


def suffix_for(config: Config) -> str:
    return ".kepub.epub" if config.output_format == "kepub" else ".epub"


def natural_key(path: Path) -> list[list[object]]:
    """'part2' < 'part10': digits compare as numbers, folder by folder ('vol1/ch2' <
    'vol1/ch10' < 'vol2/ch1')."""
    return [[int(t) if t.isdigit() else t.lower() for t in re.split(r"(\d+)", part)]
            for part in path.parts]


def _part_name(src: Path, folder: str) -> str:
    """A combined book's file as the error about it names it: its path in the folder."""
    try:
        return str(src.relative_to(folder))
    except ValueError:
        return str(src)


def combine_files(sources: list[Path], name: str, output: Path | None,
                  config: Config, proof: bool = False) -> Result:
    """One EPUB from files that are chapters or parts of one work. Order: the part numbers
    of their headers when every file has one, else natural file-name order. ``proof``:
    also proofread each file with ``config.proof``'s settings, its findings placed in
    that file (line and column in it), in the book's Result."""
    result = Result(input=name, output=None, ok=False)
    try:
        from .pipeline import build_epub, combine, parse

        stories = []
        for src in sorted(sources, key=natural_key):
            try:
                stories.append((src, parse(read_input(src, config.max_bytes), src.name,
                                           config)))
            except Fic2EpubError as exc:  # say which of the files it is
                raise type(exc)(f"{_part_name(src, name)}: {exc}") from exc
        indexes = [s.metadata.series_index for _, s in stories]
        if all(i and i.isdigit() for i in indexes):  # stable: ties keep the path order
            stories.sort(key=lambda pair: int(pair[1].metadata.series_index or 0))
        story = combine([s for _, s in stories], name, Path(name).resolve().name)
        converted = build_epub(story, config, css=_css(config), cover=cover_image(config))
        if proof:
            _proofread(result, [(str(src), part) for src, part in stories],
                       converted.language, config)
        _finish(result, converted, output)
    except Fic2EpubError as exc:
        result.error = str(exc)
    except Exception as exc:  # a bug must not stop the batch: report it on one line
        result.error = f"internal error ({type(exc).__name__}: {exc}); please report it"
    return result
