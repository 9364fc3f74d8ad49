"""Word data the offline checkers use, loaded once per process.

* Hunspell dictionaries (``.aff``/``.dic``) read by spylls, a pure-Python Hunspell:
  Debian's ``hunspell-en-us`` etc. install them under /usr/share/hunspell.
* English word and word-pair frequencies that symspellpy ships as data files
  (``frequency_dictionary_en_82_765.txt``, ``frequency_bigramdictionary_en_243_342.txt``):
  a fast first test for common words, the ranking of suggestions, and the context
  statistics of the real-word checker.
"""

from __future__ import annotations

import gc
import math
import os
import warnings
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

HUNSPELL_DIRS = [Path(p) for p in os.environ.get("FIC2EPUB_HUNSPELL_PATH", "").split(":") if p]
HUNSPELL_DIRS += [Path("/usr/share/hunspell"), Path("/usr/share/myspell/dicts"),
                  Path("/usr/share/myspell")]

_DEFAULT_REGION = {"en": "en_US", "de": "de_DE", "fr": "fr_FR", "es": "es_ES", "it": "it_IT",
                   "pt": "pt_PT", "nl": "nl_NL", "ru": "ru_RU", "pl": "pl_PL", "sv": "sv_SE"}


def dictionary_path(language: str) -> Path | None:
    """The Hunspell dictionary (path without suffix) for a BCP 47 tag, if one is installed."""
    parts = language.replace("_", "-").split("-")
    base = parts[0].lower()
    names = []
    if len(parts) > 1:
        names.append(f"{base}_{parts[1].upper()}")
    names.append(_DEFAULT_REGION.get(base, base))
    names.append(base)
    for folder in HUNSPELL_DIRS:
        for name in names:
            if (folder / f"{name}.aff").is_file() and (folder / f"{name}.dic").is_file():
                return folder / name
        if folder.is_dir():
            found = sorted(folder.glob(f"{base}_*.aff"))
            if found:
                return found[0].with_suffix("")
    return None


class Hunspell:
    """A Hunspell dictionary with a per-word cache (each distinct word is looked up once)."""

    def __init__(self, path: Path) -> None:
        from spylls.hunspell import Dictionary

        self.path = path
        with warnings.catch_warnings():
            # spylls leaves its .aff file for the garbage collector to close
            warnings.simplefilter("ignore", ResourceWarning)
            self._dic: Any = Dictionary.from_files(str(path))
            gc.collect()
        self._cache: dict[str, bool] = {}

    def lookup(self, word: str) -> bool:
        hit = self._cache.get(word)
        if hit is None:
            try:
                hit = bool(self._dic.lookup(word))
            except Exception:  # spylls can trip over odd input; treat as unknown
                hit = False
            self._cache[word] = hit
        return hit


@lru_cache(maxsize=8)
def hunspell(language: str) -> Hunspell | None:
    path = dictionary_path(language)
    return Hunspell(path) if path else None


def _data_file(name: str) -> Path:
    return Path(str(resources.files("symspellpy").joinpath(name)))


@lru_cache(maxsize=1)
def unigrams() -> dict[str, int]:
    """English word -> count (82,765 words, lower case)."""
    counts: dict[str, int] = {}
    with _data_file("frequency_dictionary_en_82_765.txt").open(encoding="utf-8") as f:
        for line in f:
            word, _, count = line.rstrip("\n").partition(" ")
            if count:
                counts[word] = int(count)
    return counts


@lru_cache(maxsize=1)
def bigrams() -> dict[str, int]:
    """"w1 w2" -> count (243,342 pairs, lower case; pairs rarer than the cut-off absent)."""
    return _read_bigrams()


def _read_bigrams() -> dict[str, int]:
    counts: dict[str, int] = {}
    with _data_file("frequency_bigramdictionary_en_243_342.txt").open(encoding="utf-8") as f:
        for line in f:
            pair, _, count = line.rstrip("\n").rpartition(" ")
            if pair:
                counts[pair] = int(count)
    return counts


BIGRAM_FLOOR = 3_000_000.0
"""Stand-in count for a pair missing from the bigram list (its smallest count is 6.4M)."""


class Suggester:
    """Ranked corrections for a misspelled word: candidates within two edits found through
    a single-deletion index of the word list (the symmetric-delete idea), ranked by edit
    distance, then by how common the word is."""

    def __init__(self, words: dict[str, int]) -> None:
        self.words = words
        self.index = self._build(words)

    @staticmethod
    def _build(words: dict[str, int]) -> dict[str, list[str]]:
        index: dict[str, list[str]] = {}
        for w in words:
            if len(w) < 2 or not w.isalpha():
                continue
            for i in range(len(w)):
                key = w[:i] + w[i + 1:]
                bucket = index.get(key)
                if bucket is None:
                    index[key] = [w]
                else:
                    bucket.append(w)
        return index

    def _freq(self, c: str) -> int:
        if " " in c:
            return min(self.words.get(p, 0) for p in c.split())
        return self.words.get(c, 0)

    def suggest(self, word: str, limit: int = 5) -> list[str]:
        lw = word.lower().replace("’", "'")
        keys = {lw, *(lw[:i] + lw[i + 1:] for i in range(len(lw)))}
        cands: set[str] = set()
        for k in keys:
            if k in self.words:
                cands.add(k)
            cands.update(self.index.get(k, ()))
        # the word with one letter dropped, then matched through a deletion: two edits
        if len(cands) < limit:
            for k in list(keys):
                for i in range(len(k)):
                    cands.update(self.index.get(k[:i] + k[i + 1:], ()))
        cands.discard(lw)
        for i in range(1, len(lw)):  # a missing space: alot -> a lot
            a, b = lw[:i], lw[i:]
            if self.words.get(a, 0) > 1e8 and self.words.get(b, 0) > 1e8 and (
                    len(a) > 1 or a in "ai") and (len(b) > 1 or b in "ai"):
                cands.add(f"{a} {b}")
        ranked = sorted((distance(lw, c), -self._freq(c), c) for c in cands)
        out = [c for d, _f, c in ranked if d <= 2][:limit]
        return [match_case(word, c) for c in out]


def distance(a: str, b: str) -> int:
    """Damerau-Levenshtein distance (optimal string alignment)."""
    if a == b:
        return 0
    la, lb = len(a), len(b)
    prev2: list[int] = []
    prev = list(range(lb + 1))
    for i in range(1, la + 1):
        cur = [i] + [0] * lb
        for j in range(1, lb + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            v = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                v = min(v, prev2[j - 2] + 1)
            cur[j] = v
        prev2, prev = prev, cur
    return prev[lb]


def match_case(model: str, word: str) -> str:
    if model.isupper() and len(model) > 1:
        return word.upper()
    if model[:1].isupper():
        return word[:1].upper() + word[1:]
    return word


@lru_cache(maxsize=1)
def suggester() -> Suggester:
    return Suggester(unigrams())


def log_count(n: float) -> float:
    return math.log(n)
