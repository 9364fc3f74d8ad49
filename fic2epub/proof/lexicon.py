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
import marshal
import math
import os
import re
import warnings
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from ..usercache import cache_root, used, write_entry

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


CACHE_VERSION = 1


def _cache_key(*paths: Path) -> str:
    parts = [str(CACHE_VERSION)]
    for p in paths:
        st = p.stat()
        parts.append(f"{p.name}-{st.st_size}-{st.st_mtime_ns}")
    return "_".join(parts)


_ENTRY_NAME = re.compile(r"[\w-]+_\d+_.+\.marshal")
"""How this cache's entry files are named (``NAME_VERSION_SOURCES.marshal``)."""


def _cached(name: str, sources: tuple[Path, ...], build: Any) -> Any:
    """``build()``'s result, kept as a marshal file keyed by the source files' size and
    modification time; rebuilt when they change or the cache cannot be read."""
    root = cache_root()
    target = None
    if root is not None:
        try:
            target = root / "proof" / f"{name}_{_cache_key(*sources)}.marshal"
            with target.open("rb") as f:
                value = marshal.load(f)
            used(target)
            return value
        except (OSError, ValueError, EOFError, TypeError):
            pass
    value = build()
    if target is not None:
        write_entry(target, marshal.dumps(value), _ENTRY_NAME)
    return value


def _load_spylls(path: Path) -> Any:
    from spylls.hunspell import Dictionary

    with warnings.catch_warnings():
        # spylls leaves its .aff file for the garbage collector to close
        warnings.simplefilter("ignore", ResourceWarning)
        dic = Dictionary.from_files(str(path))
        gc.collect()
    return dic


def expand_dictionary(dic: Any) -> tuple[list[str], bool]:
    """Every word form a Hunspell dictionary accepts through its affix rules (stems, with
    suffixes, prefixes, both when they cross, and continuation suffixes), and whether that
    list is the whole story: True when the dictionary compounds nothing but digit strings
    (the English ones: numerals like 21st), so a letter-only word outside the list is one
    Hunspell would reject too."""
    aff = dic.aff
    skip = {f for f in (aff.FORBIDDENWORD, aff.ONLYINCOMPOUND) if f}
    need = aff.NEEDAFFIX

    def sfx(stem: str, s: Any) -> str | None:
        if s.strip and not stem.endswith(s.strip):
            return None
        if not s.cond_regexp.search(stem):
            return None
        return str(stem[:len(stem) - len(s.strip)] + s.add)

    def pfx(stem: str, p: Any) -> str | None:
        if p.strip and not stem.startswith(p.strip):
            return None
        if not p.cond_regexp.search(stem):
            return None
        return str(p.add + stem[len(p.strip):])

    out: set[str] = set()
    forbidden: set[str] = set()
    compound_flags: set[str] = set()
    for rule in aff.COMPOUNDRULE or ():
        compound_flags.update(c for c in rule.text if c not in "*?()")
    complete = not (aff.COMPOUNDFLAG or aff.COMPOUNDBEGIN or aff.COMPOUNDMIDDLE
                    or aff.COMPOUNDEND)
    for word in dic.dic.words:
        flags = word.flags
        stem = word.stem
        if compound_flags & flags and not any(c.isdigit() for c in stem):
            complete = False
        if flags & skip:
            if aff.FORBIDDENWORD in flags:
                forbidden.add(stem)
            continue
        if not need or need not in flags:
            out.add(stem)
        suffixed: list[tuple[str, Any]] = []
        for f in flags:
            for s in aff.SFX.get(f, ()):
                form = sfx(stem, s)
                if form is None:
                    continue
                if not need or need not in s.flags:
                    out.add(form)
                suffixed.append((form, s))
                for f2 in s.flags:  # continuation: a suffix after the suffix
                    for s2 in aff.SFX.get(f2, ()):
                        form2 = sfx(form, s2)
                        if form2 is not None:
                            out.add(form2)
        for f in flags:
            for p in aff.PFX.get(f, ()):
                form = pfx(stem, p)
                if form is None:
                    continue
                out.add(form)
                if p.crossproduct:
                    for sform, s in suffixed:
                        if s.crossproduct:
                            both = pfx(sform, p)
                            if both is not None:
                                out.add(both)
    out -= forbidden
    return sorted(out), complete


class Hunspell:
    """A Hunspell dictionary as a set of every word form it accepts (built once with
    spylls, a pure-Python Hunspell, then cached on disk), with Hunspell's case rules.
    Where the set cannot be the whole answer (compounding languages), a word missing from
    it is asked of spylls itself. Each distinct word is looked up once."""

    def __init__(self, path: Path) -> None:
        self.path = path
        aff, dic = path.with_suffix(".aff"), path.with_suffix(".dic")
        self._spylls: Any = None

        def build() -> tuple[list[str], bool]:
            self._spylls = _load_spylls(path)
            return expand_dictionary(self._spylls)

        words, complete = _cached(f"hunspell-{path.name}", (aff, dic), build)
        self.words: frozenset[str] = frozenset(words)
        self.complete: bool = complete
        if complete:
            self._spylls = None  # the set is the whole answer: let the parsed dictionary go
        self._cache: dict[str, bool] = {}
        self._upper: frozenset[str] | None = None

    def _in_set(self, word: str) -> bool:
        words = self.words
        if word in words:
            return True
        if word[:1].isupper():
            rest = word[1:]
            if rest.islower() or not rest:  # Initial capital: also the lower-case word
                return word.lower() in words
            if word.isupper():  # ALL CAPS: the word in any case (KATRINE'S, MCDERMOTT)
                if self._upper is None:
                    self._upper = frozenset(w.upper() for w in words)
                return word in self._upper
        return False

    def lookup(self, word: str) -> bool:
        hit = self._cache.get(word)
        if hit is None:
            w = word.replace("’", "'")
            hit = self._in_set(w)
            if not hit and not (self.complete and w.replace("'", "").isalpha()):
                hit = self._spylls_lookup(w)
            self._cache[word] = hit
        return hit

    def _spylls_lookup(self, word: str) -> bool:
        if self._spylls is None:
            self._spylls = _load_spylls(self.path)
        try:
            return bool(self._spylls.lookup(word))
        except Exception:  # spylls can trip over odd input; treat as unknown
            return False


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

    def __init__(self, words: dict[str, int], index: dict[str, str] | None = None) -> None:
        self.words = words
        self.index = index if index is not None else self.build_index(words)

    @staticmethod
    def build_index(words: dict[str, int]) -> dict[str, str]:
        """Each word with one letter deleted -> the words it comes from (space-separated:
        one string per key keeps the index small and quick to load from the cache)."""
        index: dict[str, list[str]] = {}
        for w in words:
            if len(w) < 2 or not w.isalpha():
                continue
            for i in range(len(w)):
                key = w[:i] + w[i + 1:]
                bucket = index.get(key)
                if bucket is None:
                    index[key] = [w]
                elif bucket[-1] != w:
                    bucket.append(w)
        return {k: " ".join(v) for k, v in index.items()}

    def _bucket(self, key: str) -> list[str]:
        hit = self.index.get(key)
        return hit.split(" ") if hit else []

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
            cands.update(self._bucket(k))
        # the word with one letter dropped, then matched through a deletion: two edits
        if len(cands) < limit:
            for k in list(keys):
                for i in range(len(k)):
                    cands.update(self._bucket(k[:i] + k[i + 1:]))
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
    words = unigrams()
    source = _data_file("frequency_dictionary_en_82_765.txt")
    return Suggester(words, _cached("suggest-index", (source,),
                                    lambda: Suggester.build_index(words)))


def log_count(n: float) -> float:
    return math.log(n)
