"""fic2epub's cache folder and how its files are written.

The folder is ``$FIC2EPUB_CACHE_DIR`` when that is set (set but empty: no cache at all),
else ``$XDG_CACHE_HOME/fic2epub``, else ``~/.cache/fic2epub``. It holds what may be
recomputed at any time and is kept to start faster: the cover glyph check and coded blank
covers (:mod:`fic2epub.cover`), parsed Hunspell dictionaries and the suggestion index
(:mod:`fic2epub.proof.lexicon`).
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path


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
