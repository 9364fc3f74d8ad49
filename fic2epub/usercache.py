"""fic2epub's cache folder and how its files are written.

The folder is ``$FIC2EPUB_CACHE_DIR`` when that is set (set but empty: no cache at all),
else ``$XDG_CACHE_HOME/fic2epub``, else ``~/.cache/fic2epub``. It holds what may be
recomputed at any time and is kept to start faster: the cover glyph check and coded blank
covers (:mod:`fic2epub.cover`), parsed Hunspell dictionaries and the suggestion index
(:mod:`fic2epub.proof.lexicon`).

Entries are named by what they depend on (versions, source files), so an upgrade or a
changed dictionary leaves the old ones unused. An entry is marked as used (its
modification time) when it is read, at most once a day, and writing a new entry removes
the entries of its folder that have not been used for :data:`STALE_AFTER` seconds: the
cache keeps what is in use, however many versions come and go. Entries live in
subfolders (``covers/``, ``proof/``); only those are pruned, and only of files named as
their entries are.
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
import time
from pathlib import Path

STALE_AFTER = 30 * 24 * 3600
"""An entry not used for this long (30 days) is removed when another is written."""
_MARK_EVERY = 24 * 3600
_pruned: set[Path] = set()


def cache_root() -> Path | None:
    """The cache folder, or None when caching is off or there is no home to put it in."""
    override = os.environ.get("FIC2EPUB_CACHE_DIR")
    if override is not None:
        return Path(override) if override else None
    base = os.environ.get("XDG_CACHE_HOME") or (
        str(Path.home() / ".cache") if Path.home() != Path("/") else "")
    return Path(base) / "fic2epub" if base else None


def write_file(path: Path, data: bytes, mode: int | None = None) -> bool:
    """Write a file that may be lost (a cache): under a temporary name in the same folder,
    then renamed, so that readers see the whole file or none. Creates the folder. Any
    failure is ignored (False) and leaves no temporary file behind. Unlike the books
    (:func:`fic2epub.package.write_atomic`) nothing is forced to disk: after a crash
    such a file may be missing or damaged, and is then worked out again."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name.lstrip('.')}-", suffix=".tmp",
                                   dir=path.parent)
    except OSError:
        return False
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        if mode is not None:  # mkstemp's file is private (0600)
            os.chmod(tmp, mode)
        os.replace(tmp, path)
        return True
    except OSError:
        return False
    finally:
        with contextlib.suppress(OSError):
            os.unlink(tmp)  # gone already when the rename succeeded


_TEMP = re.compile(r"\.(.+)-[a-z0-9_]+\.tmp")
"""A temporary file of :func:`write_file` (``.NAME-RANDOM.tmp``), left by a crash."""


def used(path: Path) -> None:
    """Mark a cache entry just read as in use (its modification time), at most once a
    day; any failure is ignored."""
    with contextlib.suppress(OSError):
        if time.time() - path.stat().st_mtime > _MARK_EVERY:
            os.utime(path)


def write_entry(path: Path, data: bytes, entries: re.Pattern[str]) -> bool:
    """:func:`write_file` for an entry of a folder inside the cache folder; the first write
    into a folder in a process also removes that folder's stale entries
    (:func:`prune`): files whose names ``entries`` matches in full (and their leftover
    temporary files) not used for :data:`STALE_AFTER` seconds."""
    written = write_file(path, data)
    folder = path.parent
    if written and folder not in _pruned:
        _pruned.add(folder)
        prune(folder, entries)
    return written


def prune(folder: Path, entries: re.Pattern[str], now: float | None = None) -> int:
    """Remove the files in ``folder`` that are cache entries (names ``entries`` matches in
    full, or a temporary file of such a name) and have not been used for
    :data:`STALE_AFTER` seconds; how many were removed. Only in a folder strictly inside
    :func:`cache_root` (its real path, symbolic links resolved), never in the cache folder
    itself: that may be any folder the user named (``FIC2EPUB_CACHE_DIR=~``), and nothing
    but fic2epub's own entries is ever removed."""
    root = cache_root()
    try:
        if root is None:
            return 0
        real, real_root = folder.resolve(), root.resolve()
        if real == real_root or not real.is_relative_to(real_root):
            return 0
        found = list(os.scandir(real))
    except (OSError, RuntimeError):  # RuntimeError: a loop of symbolic links
        return 0
    limit = (time.time() if now is None else now) - STALE_AFTER
    removed = 0
    for entry in found:
        temp = _TEMP.fullmatch(entry.name)
        if not entries.fullmatch(temp.group(1) if temp else entry.name):
            continue
        with contextlib.suppress(OSError):
            if entry.is_file(follow_symlinks=False) and entry.stat(
                    follow_symlinks=False).st_mtime < limit:
                os.unlink(entry.path)
                removed += 1
    return removed

