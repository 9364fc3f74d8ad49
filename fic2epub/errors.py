"""The library's exceptions. The CLI maps them to exit codes in one place."""

from __future__ import annotations


class Fic2EpubError(Exception):
    """Base class: a problem with one input or output, reported as one plain line."""


class InputError(Fic2EpubError):
    """The input file cannot be read or is not a story (binary, empty, unreadable)."""


class BinaryFileError(InputError):
    """The file holds binary data, not text."""


class EmptyStoryError(InputError):
    """Nothing to convert: the file is empty or has no words."""


class OutputError(Fic2EpubError):
    """The EPUB could not be written."""


class VerificationError(Fic2EpubError):
    """The written book does not hold every word of the story, in order."""


class ConfigError(Fic2EpubError):
    """Bad options or configuration (a usage error)."""


class CoverError(ConfigError):
    """The image given as a cover cannot be used."""
