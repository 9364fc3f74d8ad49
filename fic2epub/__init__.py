"""fic2epub: turn raw plain-text stories into clean, valid EPUBs.

Library use::

    from fic2epub import convert, Config
    result = convert(Path("story.txt").read_bytes(), "story.txt", Config())
    Path("story.epub").write_bytes(result.epub)
"""

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
from .pipeline import Converted, convert, parse

__version__ = "0.1.0"

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
