"""fic2epub's folder in the user's cache (``$XDG_CACHE_HOME/fic2epub``, else
``~/.cache/fic2epub``): what may be recomputed at any time, kept to start faster."""

from __future__ import annotations

import os
from pathlib import Path


def cache_root() -> Path | None:
    """The folder, or None when there is neither ``XDG_CACHE_HOME`` nor a home."""
    base = os.environ.get("XDG_CACHE_HOME") or (
        str(Path.home() / ".cache") if Path.home() != Path("/") else "")
    return Path(base) / "fic2epub" if base else None
