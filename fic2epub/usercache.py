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
cache keeps what is in use, however many versions come and go.
"""

from __future__ import annotations

import contextlib
import os
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


def write_file(path: Path, data: bytes) -> bool:
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
        os.replace(tmp, path)
        return True
    except OSError:
        return False
    finally:
        with contextlib.suppress(OSError):
            os.unlink(tmp)  # gone already when the rename succeeded


def used(path: Path) -> None:
    """Mark a cache entry just read as in use (its modification time), at most once a
    day; any failure is ignored."""
    with contextlib.suppress(OSError):
        if time.time() - path.stat().st_mtime > _MARK_EVERY:
            os.utime(path)


def write_entry(path: Path, data: bytes) -> bool:
    """:func:`write_file` for an entry of the cache folder; the first write into a folder
    in a process also removes that folder's files not used for :data:`STALE_AFTER`
    seconds. Nothing is ever removed outside :func:`cache_root`."""
    written = write_file(path, data)
    folder = path.parent
    if written and folder not in _pruned:
        _pruned.add(folder)
        prune(folder)
    return written


def prune(folder: Path, now: float | None = None) -> int:
    """Remove the files (not folders) in ``folder`` not used for :data:`STALE_AFTER`
    seconds, if ``folder`` is the cache folder or inside it; how many were removed."""
    root = cache_root()
    try:
        if root is None or not folder.resolve().is_relative_to(root.resolve()):
            return 0
        entries = list(os.scandir(folder))
    except OSError:
        return 0
    limit = (time.time() if now is None else now) - STALE_AFTER
    removed = 0
    for entry in entries:
        with contextlib.suppress(OSError):
            if entry.is_file(follow_symlinks=False) and entry.stat(
                    follow_symlinks=False).st_mtime < limit:
                os.unlink(entry.path)
                removed += 1
    return removed
