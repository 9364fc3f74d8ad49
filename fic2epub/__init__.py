"""fic2epub: turn raw plain-text stories into clean, valid EPUBs.

Library use::

    from fic2epub import convert, Config
    result = convert(Path("story.txt").read_bytes(), "story.txt", Config())
    Path("story.epub").write_bytes(result.epub)
"""

from typing import TYPE_CHECKING, Any

from .errors import (
    BinaryFileError,
    ConfigError,
    EmptyStoryError,
    Fic2EpubError,
    InputError,
    OutputError,
    VerificationError,
)
from .model import CleanOptions, Config, Metadata, Result, Story

if TYPE_CHECKING:
    from .pipeline import Converted, convert, parse

__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    """``convert``, ``parse`` and ``Converted`` load the conversion stages (and their
    libraries) on first use, so that commands with nothing to convert start fast."""
    if name in ("Converted", "convert", "parse"):
        from . import pipeline

        return getattr(pipeline, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

__all__ = [
    "BinaryFileError",
    "CleanOptions",
    "Config",
    "ConfigError",
    "Converted",
    "EmptyStoryError",
    "Fic2EpubError",
    "InputError",
    "Metadata",
    "OutputError",
    "Result",
    "Story",
    "VerificationError",
    "__version__",
    "convert",
    "parse",
]
