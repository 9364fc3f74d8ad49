"""Folder configuration: ``fic2epub.toml`` (or ``[tool.fic2epub]`` in ``pyproject.toml``)
sets defaults for its folder and every folder below it; a nearer file wins over a farther
one, and command-line options win over both. Unknown keys are an error.

Example ``fic2epub.toml``::

    author = "Jane Doe"
    language = "en"
    series = "Harbor Lights"
    stylesheet = "my.css"          # relative to this file
    no_fix = ["quotes"]            # cleaning fixers to switch off
    verify = true

    [proof]
    words = ["words.txt"]          # personal word lists, relative to this file
"""

from __future__ import annotations

import os
import re
import stat
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

from .errors import ConfigError
from .model import CHECKER_NAMES, FIXER_NAMES, CleanOptions, Config

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

CONFIG_FILE = "fic2epub.toml"
KEYS = {"title", "author", "language", "series", "series_index", "stylesheet", "no_fix",
        "verify", "proof"}
PROOF_KEYS = {"checkers", "disable", "words", "ignore_rules", "ignore_words", "fail_on",
              "languagetool", "language"}
_PATH_KEYS = {"stylesheet"}
_ADDED_UP = ("words", "ignore_words", "ignore_rules")
"""[proof] keys whose lists add up from folder to folder (the others: nearer wins)."""
LANG_TAG = re.compile(r"^[A-Za-z]{2,3}(?:-[A-Za-z0-9]{2,8})*$")
"""A BCP 47 language tag as fic2epub accepts it: ``en``, ``de``, ``pt-BR``, ``zh-Hant``."""


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            data: dict[str, Any] = tomllib.load(fh)  # typed here: tomli's stubs may be absent
        return data
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from exc
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror or exc}") from exc


def read_word_list(path: Path) -> frozenset[str]:
    """A personal word list: UTF-8, one word a line; blank lines and lines starting with
    # are skipped."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read word list {path}: {exc}") from exc
    return frozenset(ln.strip() for ln in text.splitlines()
                     if ln.strip() and not ln.startswith("#"))


_WORD_LISTS: dict[Path, Any] = {}


def word_list(path: Path) -> frozenset[str]:
    """:func:`read_word_list`, read once a process while the file is unchanged: the
    check of the settings reads it in the parent, and forked batch workers inherit it."""
    from .files import _by_stamp

    words: frozenset[str] = _by_stamp(_WORD_LISTS, path, read_word_list)
    return words


def _validate(data: dict[str, Any], source: Path) -> dict[str, Any]:
    unknown = sorted(set(data) - KEYS)
    if unknown:
        raise ConfigError(f"{source}: unknown key(s) {', '.join(unknown)}; "
                          f"known keys: {', '.join(sorted(KEYS))}")
    proof = data.get("proof", {})
    if not isinstance(proof, dict):
        raise ConfigError(f"{source}: [proof] must be a table")
    bad = sorted(set(proof) - PROOF_KEYS)
    if bad:
        raise ConfigError(f"{source}: unknown key(s) in [proof]: {', '.join(bad)}; "
                          f"known keys: {', '.join(sorted(PROOF_KEYS))}")
    for key in ("title", "author", "language", "series", "series_index", *_PATH_KEYS):
        # numbers are fine for a series index or a title ("1984"), not for a path; bool is
        # an int to Python: author = true would become "True"
        allowed = (str,) if key in _PATH_KEYS else (str, int)
        if key in data and (not isinstance(data[key], allowed)
                            or isinstance(data[key], bool)):
            raise ConfigError(f"{source}: {key} must be a string")
        if key in data and not str(data[key]).strip():
            raise ConfigError(f"{source}: {key} must not be empty")
    if "language" in data and not LANG_TAG.match(str(data["language"]).strip()):
        raise ConfigError(f"{source}: language {data['language']!r} is not a language tag "
                          "(BCP 47: en, de, pt-BR)")
    if "verify" in data and not isinstance(data["verify"], bool):
        raise ConfigError(f"{source}: verify must be true or false")
    no_fix = data.get("no_fix", [])
    if not isinstance(no_fix, list) or any(f not in FIXER_NAMES for f in no_fix):
        raise ConfigError(f"{source}: no_fix must be a list of: {', '.join(FIXER_NAMES)}")
    out = dict(data)
    base = source.parent
    for key in _PATH_KEYS:
        if key in out:
            out[key] = str((base / str(out[key])).resolve())
            if not Path(out[key]).is_file():
                raise ConfigError(f"{source}: {key} {out[key]} is not a file")
    if proof:
        out["proof"] = _validate_proof(proof, source)
    return out


def _string_list(value: object) -> list[str] | None:
    """A list of non-empty strings (one string is a list of one), else None."""
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not all(isinstance(v, str) and v.strip() for v in items):
        return None
    return [v.strip() for v in items]


def _validate_proof(proof: dict[str, Any], source: Path) -> dict[str, Any]:
    """The ``[proof]`` table checked (a bad value is one usage error before any book, not
    a failure in every book), with word-list paths made absolute."""
    out: dict[str, Any] = {}
    for key, value in proof.items():
        if key in ("languagetool", "language"):
            if not isinstance(value, str) or not value.strip():
                raise ConfigError(f"{source}: [proof] {key} must be a string")
            out[key] = value.strip()
            continue
        items = _string_list(value)
        if items is None:
            raise ConfigError(f"{source}: [proof] {key} must be a list of strings")
        out[key] = items
    for key in ("checkers", "disable"):
        unknown = sorted(set(out.get(key, ())) - set(CHECKER_NAMES))
        if unknown:
            raise ConfigError(f"{source}: [proof] {key}: unknown checker(s) "
                              f"{', '.join(unknown)}; checkers are: {', '.join(CHECKER_NAMES)}")
    if "language" in out and not LANG_TAG.match(out["language"]):
        raise ConfigError(f"{source}: [proof] language {out['language']!r} is not a language "
                          "tag (BCP 47: en, de, pt-BR)")
    if "languagetool" in out and not re.match(r"^https?://[^\s/]+", out["languagetool"]):
        raise ConfigError(f"{source}: [proof] languagetool must be a server's URL "
                          "(http://localhost:8081)")
    if "words" in out:
        words = [str((source.parent / w).resolve()) for w in out["words"]]
        for w in words:
            if not Path(w).is_file():
                raise ConfigError(f"{source}: [proof] word list {w} is not a file")
            try:
                word_list(Path(w))  # now, not in every book's proofing
            except ConfigError as exc:
                raise ConfigError(f"{source}: [proof] {exc}") from exc
        out["words"] = words
    if "fail_on" in out:
        from .proof.engine import fail_on_error  # only then: ~20 ms of imports

        if why := fail_on_error(out["fail_on"]):
            raise ConfigError(f"{source}: [proof] {why}")
    return out


def read_folder_config(folder: Path) -> dict[str, Any]:
    """The settings a single folder declares (empty when it has none)."""
    toml = folder / CONFIG_FILE
    if toml.is_file():
        return _validate(_read_toml(toml), toml)
    pyproject = folder / "pyproject.toml"
    if pyproject.is_file():
        tool = _read_toml(pyproject).get("tool")
        ours = tool.get("fic2epub") if isinstance(tool, dict) else None
        if isinstance(ours, dict):
            return _validate(ours, pyproject)
        if ours is not None:
            raise ConfigError(f"{pyproject}: [tool.fic2epub] must be a table")
    return {}


class FolderSettings:
    """Settings for files under a root folder, with per-folder files cached."""

    def __init__(self, base: Config, explicit: dict[str, Any]) -> None:
        self.base = base
        self.explicit = explicit  # options given on the command line: they win
        self._cache: dict[Path, dict[str, Any]] = {}
        self._configs: dict[Path, Config] = {}

    def _chain(self, folder: Path) -> dict[str, Any]:
        """The settings for files in ``folder``: its own file's over those of the folders
        above it, whichever folder the build was given (a subfolder built alone gets the
        same books as when its parent is built), up to the first that is a repository's
        root (holds ``.git``), the home folder or the file system's root. A folder that
        anyone may write to (sticky and world-writable: ``/tmp``) is not read, nor any
        folder above it."""
        if folder in self._cache:
            return self._cache[folder]
        real = folder.resolve()
        merged = self._chain_real(real)
        self._cache[folder] = merged
        return merged

    def _chain_real(self, folder: Path) -> dict[str, Any]:
        if folder in self._cache:
            return self._cache[folder]
        if _shared(folder):  # /tmp: anyone could have put a file there
            self._cache[folder] = {}
            return {}
        merged = {} if _top(folder) else dict(self._chain_real(folder.parent))
        own = read_folder_config(folder)
        above, here = merged.get("proof", {}), own.get("proof", {})
        proof = {**above, **here}
        for key in _ADDED_UP:  # a nearer file's lists add to the farther ones'
            if key in above and key in here:
                proof[key] = list(dict.fromkeys([*above[key], *here[key]]))
        merged.update(own)
        if proof:
            merged["proof"] = proof
        self._cache[folder] = merged
        return merged

    def stories(self, sources: list[Path]) -> list[Path]:
        """``sources`` without the personal word lists the settings of any of them name:
        a ``names.txt`` beside ``fic2epub.toml`` is a list, not a story to convert or
        proofread, wherever the file that names it is."""
        lists = {w for src in sources for w in self.config_for(src).proof.get("words", ())}
        if not lists:
            return sources
        return [src for src in sources if str(src.resolve()) not in lists]

    def config_for(self, source: Path) -> Config:
        """The settings for one file; files of one folder share one Config object."""
        folder = source.parent
        if folder not in self._configs:
            self._configs[folder] = apply(self.base, self._chain(folder), self.explicit)
        return self._configs[folder]


def _top(folder: Path) -> bool:
    """Whether the settings chain stops at ``folder`` (it is still read)."""
    try:
        repository = (folder / ".git").exists()
    except OSError:  # a folder that may be read but not searched (mode 444)
        repository = False
    return folder.parent == folder or repository or str(folder) == os.path.expanduser("~")


def _shared(folder: Path) -> bool:
    try:
        mode = folder.stat().st_mode
    except OSError:
        return False
    return bool(mode & stat.S_ISVTX and mode & stat.S_IWOTH)


def apply(base: Config, settings: dict[str, Any], explicit: dict[str, Any]) -> Config:
    changes: dict[str, Any] = {}
    for key in ("title", "author", "language", "series", "series_index"):
        if key in settings and key not in explicit:
            changes[key] = str(settings[key])
    if "stylesheet" in settings and "stylesheet" not in explicit:
        changes["stylesheet"] = Path(settings["stylesheet"])
    if "verify" in settings and "verify" not in explicit:
        changes["verify"] = bool(settings["verify"])
    if "no_fix" in settings:
        changes["clean"] = CleanOptions(base.clean.disabled | frozenset(settings["no_fix"]))
    if "proof" in settings:
        changes["proof"] = {**settings["proof"], **base.proof}
    return replace(base, **changes) if changes else base
