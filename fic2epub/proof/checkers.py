"""The checkers. Each has a ``name`` and ``check(doc) -> list[Finding]``; the engine runs
the ones switched on and merges what they find."""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Protocol, runtime_checkable

from ..model import Finding
from . import lexicon
from .document import WORD, Chunk, Document


class Checker(Protocol):
    name: str

    def check(self, doc: Document) -> list[Finding]: ...


@runtime_checkable
class ChunkedChecker(Protocol):
    """A checker that reads the body one tokenised chunk at a time, so that the engine
    tokenises each chunk once for all of them: ``begin``, ``chunk`` for each chunk in
    order, then ``finish`` returns the findings."""

    name: str

    def begin(self, doc: Document) -> None: ...

    def chunk(self, doc: Document, chunk: Chunk) -> None: ...

    def finish(self, doc: Document) -> list[Finding]: ...


class ChunkedBase:
    """What a chunked checker needs to run on its own: ``check`` drives ``begin``,
    ``chunk`` for each of the document's chunks, then ``finish``."""

    def begin(self, doc: Document) -> None:
        raise NotImplementedError

    def chunk(self, doc: Document, chunk: Chunk) -> None:
        raise NotImplementedError

    def finish(self, doc: Document) -> list[Finding]:
        raise NotImplementedError

    def check(self, doc: Document) -> list[Finding]:
        self.begin(doc)
        for chunk in doc.chunks():
            self.chunk(doc, chunk)
        return self.finish(doc)


@dataclass
class Notes:
    """One-line messages for the author about the run itself (not about the story)."""

    lines: list[str] = field(default_factory=list)

    def add(self, line: str) -> None:
        if line not in self.lines:
            self.lines.append(line)


# --------------------------------------------------------------------------- spelling

_MIDCAP = re.compile(r"(?<=[a-z,;] )[A-Z][^\W\d_]*(?:['’][^\W\d_]+)*")
"""A capitalised word after a lower-case word or a comma: not the start of a sentence."""


_COMMON = 1_000_000
"""Count in the English word list from which a word is common (22,129 of its 82,765
words are)."""
_CLITICS = {"s", "ve", "ll", "re", "d", "t", "n't", "m", "em", "st"}
_ARCHAIC = {"tis", "twas", "twere", "twill", "twould", "ye", "thee", "thou", "thy", "thine"}


_JOINS = frozenset({"", ",", ";", "-", "--", "—", "–"})
_TITLES = frozenset({"Mr", "Mrs", "Ms", "Dr", "St", "Mme", "Mlle", "Messrs", "Capt", "Col",
                     "Gen", "Lt", "Sgt", "Prof", "Rev"})


def _name_place(prev: str, gap: str) -> bool:
    """Whether a capitalised word after the word ``prev`` and the ``gap`` between them
    stands where only a name is capitalised: mid-sentence, after a lower-case word, a
    comma or a dash (a line break in wrapped text counts as a space), or after a title
    or an initial (Mrs. Quinby, B. Schley)."""
    if "\n\n" in gap:
        return False
    core = gap.strip()
    if core in _JOINS:
        return core in (",", ";") or "a" <= prev[-1] <= "z"
    return core == "." and (prev in _TITLES or (len(prev) == 1 and prev.isupper()))


_PREFIXES = ("un", "non", "mis", "re", "inter", "over", "under", "out")
_SUFFIXES = ("ful", "ness", "ment", "like", "less", "ly", "ward", "wards", "est", "st",
             "ish")
"""Word building that needs no dictionary entry of its own."""


def _base(word: str) -> str:
    """Buffy's -> Buffy; Xanders' stays (rare)."""
    if len(word) > 3 and word[-2] in "'’" and word[-1] in "sS":
        return word[:-2]
    return word


class SpellingChecker(ChunkedBase):
    """Words that are in no dictionary: Hunspell for the story's language, the English
    word list, the author's own words, the names the story itself keeps using, and the
    story's own vocabulary (a word it uses again and again, when no dictionary word close
    to it is used as often: *gayety*, *talers*, dialect spellings)."""

    name = "spelling"
    repeats = 3
    """Uses of an unknown word after which it counts as the story's own vocabulary."""

    def __init__(self, words: set[str] | None = None, notes: Notes | None = None) -> None:
        self.personal = {w.lower() for w in (words or set())}
        self.notes = notes or Notes()

    def begin(self, doc: Document) -> None:
        self._dic = lexicon.hunspell(doc.language)
        self._english = doc.language.lower().split("-")[0] == "en"
        self._active = True
        if self._dic is None:
            if not self._english:
                self.notes.add(f"spelling: no Hunspell dictionary installed for language "
                               f"{doc.language!r}; spelling not checked")
                self._active = False
            else:
                self.notes.add("spelling: no Hunspell en_US dictionary found (install "
                               "Debian's hunspell-en-us); using the built-in English word "
                               "list only")
        self._freq = lexicon.unigrams() if self._english else {}
        self._alt = lexicon.hunspell("en-GB") if self._english else None
        self._counts: Counter[str] = Counter()
        self._verdict: dict[str, bool] = {}
        """word -> True when it may be a misspelling (in no dictionary)."""
        self._suspects: list[tuple[int, str]] = []
        self._midcap: set[str] = set()

    def chunk(self, doc: Document, chunk: Chunk) -> None:
        if not self._active:
            return
        words = chunk.words
        self._counts.update(words)
        verdict = self._verdict
        for w in set(words).difference(verdict):
            verdict[w] = self._suspect(w)
        hits = [j for j, w in enumerate(words) if verdict[w]]
        if not hits:
            return
        parts = chunk.parts
        for j, pos in zip(hits, chunk.offsets(hits), strict=True):
            w = words[j]
            self._suspects.append((pos, w))
            if j and w[0].isupper() and _name_place(words[j - 1], parts[2 * j]):
                self._midcap.add(w)  # capitalised mid-sentence or within a name: a name

    def _known(self, w: str) -> bool:
        freq, personal = self._freq, self.personal
        lw = w.lower().replace("’", "'")
        if lw in freq or lw in personal or lw in _ARCHAIC:
            return True
        if "'" in lw:  # ye've, comb'd, sha'n't: a known word and a clitic
            head, _, tail = lw.partition("'")
            if tail in _CLITICS and (head in freq or head in personal or head in _ARCHAIC):
                return True
        if lw.endswith("in") and len(lw) > 3 and lw + "g" in freq:
            return True  # dialogue drops the g: goin', thinkin', dyin
        b = _base(lw)
        if b != lw and (b in freq or b in personal):
            return True
        if self._derived(lw) or self._archaic(lw):
            return True
        dic = self._dic
        if dic is None:
            return False
        w2 = w.replace("’", "'")
        if dic.lookup(w2) or (b != lw and dic.lookup(_base(w2))):
            return True
        alt = self._alt  # British spellings too
        if alt is not None and alt is not dic and alt.lookup(w2):
            return True
        return self._inflected(lw)

    def _in_dictionary(self, lw: str) -> bool:
        if lw in self._freq or lw in self.personal:
            return True
        dic, alt = self._dic, self._alt
        return (dic is not None and dic.lookup(lw)) or (alt is not None and alt.lookup(lw))

    def _built(self, lw: str) -> bool:
        """A dictionary word of four letters or more with an English prefix or suffix
        (cellarful, sacksful, misprisement, gaminlike, lonesomest)."""
        if not lw.isalpha():
            return False
        for pre in _PREFIXES:
            if lw.startswith(pre) and len(lw) - len(pre) >= 4 and \
                    self._in_dictionary(lw[len(pre):]):
                return True
        for suf in _SUFFIXES:
            if lw.endswith(suf) and len(lw) - len(suf) >= 4:
                stem = lw[:-len(suf)]
                if self._in_dictionary(stem) or (
                        suf == "ment" and self._in_dictionary(stem + "e")):
                    return True
        return False

    def _archaic(self, lw: str) -> bool:
        """Old verb endings on a common word of four letters or more: thou hangest,
        comest, shinest, he endureth."""
        freq = self._freq
        if len(lw) < 6 or not lw.isalpha():
            return False
        for suf in ("est", "eth", "st", "th"):
            if lw.endswith(suf):
                stem = lw[:-len(suf)]
                if len(suf) == 2 and not stem.endswith("e"):
                    continue
                if len(stem) >= 4 and freq.get(stem, 0) >= _COMMON:
                    return True
        return False

    def _inflected(self, lw: str) -> bool:
        """Forms a dictionary leaves out of a word it has: an old past tense with an
        apostrophe (frolick'd: frolicked), a plural of a noun in -ing (demandings),
        un-/non- before a dictionary word of five letters or more (undejected)."""
        if lw.endswith("'d") and len(lw) > 4:
            return self._in_dictionary(lw[:-2] + "ed") or self._in_dictionary(lw[:-2] + "d")
        if not lw.isalpha():
            return False
        if lw.endswith("ings") and len(lw) > 6:
            return self._in_dictionary(lw[:-1])
        for pre in ("un", "non"):
            if lw.startswith(pre) and len(lw) - len(pre) >= 5:
                return self._in_dictionary(lw[len(pre):])
        return False

    def _derived(self, lw: str) -> bool:
        """Regular word building from common words, which no dictionary lists in full:
        un-/re-/mis- + a word (unworded, rereadings), a word + -ly/-ness/-less/-like/-ward
        (hiddenly, monkeylike, hillward), two words run together (lefthand, sugarloaf).
        Parts are common words of four letters or more, so that slips like *allready*
        or *untill* stay unknown."""
        freq = self._freq

        def common(part: str) -> bool:
            return len(part) >= 4 and freq.get(part, 0) >= _COMMON

        if len(lw) < 7 or not lw.isalpha():
            return False
        for pre in ("un", "re", "mis"):
            if lw.startswith(pre) and len(lw) - len(pre) >= 5 and (
                    common(lw[len(pre):]) or self._derived(lw[len(pre):])):
                return True
        for suf in ("ly", "ness", "less", "like", "ward", "wards"):
            if lw.endswith(suf) and common(lw[:-len(suf)]):
                return True
        return any(common(lw[:i]) and common(lw[i:]) for i in range(4, len(lw) - 3))

    def _suspect(self, w: str) -> bool:
        if len(w) < 3 or w.isupper() or any(c.isupper() for c in w[1:]):
            return False  # short words, acronyms, shouting, eBook/iPhone forms
        if self._english and not w.replace("’", "").isascii():
            return False  # curé, mädchen: a loanword or a name in English prose
        lw = w.lower()
        if len(lw) <= 5 and not any(c in "aeiouy" for c in lw) and \
                any(a == b for a, b in pairwise(lw)):
            return False  # short, no vowel and a doubled letter: a sound (brr, krr, shh)
        return not self._known(w)

    def finish(self, doc: Document) -> list[Finding]:
        if not self._active or not self._suspects:
            return []
        counts = self._counts
        lower_seen = {w.lower() for w in counts if w[:1].islower()}
        lower_counts: Counter[str] = Counter()
        for w, n in counts.items():
            lower_counts[w.lower()] += n
        base_counts: Counter[str] = Counter()
        for w, n in counts.items():
            base_counts[_base(w)] += n
        midcap = self._midcap

        def is_name(w: str) -> bool:
            b = _base(w)
            if not b[:1].isupper() or b.lower() in lower_seen:
                return False
            return base_counts[b] >= 2 or b in midcap or w in midcap

        sugg = lexicon.suggester() if self._english else None
        cache: dict[str, list[str]] = {}

        def suggestions(w: str) -> list[str]:
            if w not in cache:
                cache[w] = sugg.suggest(w) if sugg else []
            return cache[w]

        def own_word(w: str) -> bool:
            """Used again and again, and no dictionary word a slip away is used as often:
            the story's own spelling, not a slip."""
            lw = w.lower()
            n = lower_counts[lw]
            if n < self.repeats:
                return False
            return all(lower_counts[c.lower()] < n for c in suggestions(w)[:3])

        def far(w: str) -> bool:
            """No word of the English list within two edits, and regularly built from a
            dictionary word (barrowful, interwovenness): not a slip of the keys but a
            word the dictionaries lack. An invented word (glimmerwick) is still shown."""
            return self._english and not suggestions(w) and self._built(w.lower())

        bad = {w for w in {w for _p, w in self._suspects}
               if not is_name(w) and not own_word(w) and not far(w)}
        findings = []
        for pos, w in self._suspects:
            if w not in bad:
                continue
            s = suggestions(w)
            msg = f"unknown word {w!r}" + (f"; did you mean {s[0]!r}?" if s else "")
            findings.append(doc.finding(pos, pos + len(w), msg, "unknown-word", "spelling", s))
        return findings


# --------------------------------------------------------------------------- real words

CONFUSION_SETS: list[tuple[str, ...]] = [
    ("throne", "thrown"), ("than", "then"), ("lose", "loose"), ("affect", "effect"),
    ("accept", "except"), ("advice", "advise"), ("breath", "breathe"), ("brake", "break"),
    ("complement", "compliment"), ("desert", "dessert"),
    ("peace", "piece"), ("principal", "principle"),
    ("weather", "whether"), ("bare", "bear"), ("waist", "waste"), ("wander", "wonder"),
    ("allowed", "aloud"), ("board", "bored"), ("course", "coarse"), ("grate", "great"),
    ("hole", "whole"), ("mourning", "morning"), ("pail", "pale"), ("plain", "plane"),
    ("reign", "rein"), ("sole", "soul"), ("tail", "tale"),
    ("weak", "week"), ("which", "witch"), ("led", "lead"), ("stationary", "stationery"),
    ("dual", "duel"), ("heal", "heel"),
    ("loan", "lone"), ("meat", "meet"), ("role", "roll"), ("steal", "steel"),
    ("cereal", "serial"), ("higher", "hire"), ("idle", "idol"), ("lightning", "lightening"),
    ("naval", "navel"), ("pedal", "peddle"), ("personal", "personnel"), ("poured", "pored"),
    ("discreet", "discrete"), ("elicit", "illicit"), ("bridal", "bridle"),
]
"""Words often typed for one another. Contractions (its/it's, your/you're) are not here:
the pair statistics have no apostrophes, so grammar patterns handle them."""

_ALTS: dict[str, tuple[str, ...]] = {}
for _set in CONFUSION_SETS:
    for _w in _set:
        _ALTS[_w] = tuple(a for a in _set if a != _w)
_FORMS = frozenset(f for w in _ALTS for f in (w, w.capitalize(), w.upper()))
"""The confusable words as they are written (one set lookup per word)."""
_GAP = re.compile(r"[ \t]*\n?[ \t]*")
_ASCII_WORD = re.compile(r"[A-Za-z]+")

_PREPS = ("of|in|on|at|with|from|by|for|into|onto|about|under|over|through|against|"
          "around|across|toward|towards|upon|without|within|behind|beneath|inside")
_COMPARATIVES = ("more|less|better|worse|rather|bigger|smaller|older|younger|faster|slower|"
                 "larger|greater|higher|lower|longer|shorter|stronger|weaker|further|"
                 "farther|other|sooner|easier|harder|later|earlier|louder|quieter|"
                 "happier|darker|brighter|taller|closer|fewer")

def _words(alternation: str) -> frozenset[str]:
    return frozenset(alternation.split("|"))


_ITS_FOLLOW = _words("a|an|the|been|not|going|just|very|so|too|only|never|always|getting|"
                     "gonna|okay|fine|true|over|because")
PAIR_RULES: list[tuple[frozenset[str], frozenset[str], bool, int, str, str, str,
                       frozenset[str]]] = [
    # first words, second words, case-insensitive, flagged word (0/1), fix, rule, why,
    # words that may not follow the flagged pair
    (_words(_PREPS), frozenset({"it's", "it’s"}), True, 1, "its", "its-after-preposition",
     "\"it's\" means \"it is\"; after a preposition the possessive is \"its\"",
     _words("a|an|the|not|been|just|all|so")),
    (frozenset({"its", "Its"}), _ITS_FOLLOW, False, 0, "it's", "its-as-it-is",
     "\"its\" is possessive; \"it is\" is written \"it's\"", frozenset()),
    (_words("could|would|should|must|might"), frozenset({"of"}), True, 1, "have",
     "could-of", "\"could of\" is a mishearing of \"could have\" (could've)", frozenset()),
    (frozenset({"your"}), _words("welcome|a|an|the|not|gonna|so|very|too|kidding|joking|"
                                 "lying|crazy"), True, 0, "you're", "your-as-you-are",
     "\"your\" is possessive; \"you are\" is written \"you're\"", frozenset()),
    (_words(_COMPARATIVES), frozenset({"then"}), True, 1, "than", "then-than",
     "comparisons take \"than\"", frozenset()),
    (frozenset({"their"}), _words("is|was|are|were|isn't|wasn't|aren't|weren't"), True, 0,
     "there", "their-there", "\"their\" is possessive; here it should be \"there\"",
     frozenset()),
    (frozenset({"they're", "they’re"}), _words("own|house|room|car|way|eyes|hands|heads|"
                                               "lives"), True, 0, "their", "theyre-their",
     "\"they're\" means \"they are\"; the possessive is \"their\"", frozenset()),
]
"""Grammar patterns: two words side by side, one space between them."""

RULES = frozenset({"unknown-word", "confusion", "doubled-word", "space-after-quote",
                   "doubled-period", "unbalanced-quotes", "lowercase-sentence-start",
                   *(rule[5] for rule in PAIR_RULES)})
"""Every rule the offline checkers report (``--fail-on`` and ``--ignore`` take them);
LanguageTool's are ``LT:<its rule id>``."""
_FIRSTS = frozenset(w for rule in PAIR_RULES for w in rule[0])


class RealWordChecker(ChunkedBase):
    """Right words in the wrong place: confusion sets judged by how often each candidate
    stands beside the same neighbours (English word-pair counts), plus grammar patterns
    where the statistics have nothing to say (its/it's, your/you're, could of)."""

    name = "real-word"

    def __init__(self, ratio: float = 30.0) -> None:
        self.margin = math.log(ratio)

    def begin(self, doc: Document) -> None:
        self._active = doc.language.lower().split("-")[0] == "en"
        self._findings: list[Finding] = []
        if self._active:
            self._uni = lexicon.unigrams()
            self._bi = lexicon.bigrams()

    def finish(self, doc: Document) -> list[Finding]:
        return self._findings

    def chunk(self, doc: Document, chunk: Chunk) -> None:
        if not self._active:
            return
        words, parts = chunk.words, chunk.parts
        low = chunk.low
        n = len(words)
        taken: set[int] = set()
        found: list[tuple[int, str, str, str, str]] = []  # word, fix, rule, message
        pairs = [j for j, w in enumerate(low) if w in _FIRSTS]
        for j in pairs:
            if j + 1 >= n or parts[2 * j + 2] != " ":
                continue
            for firsts, seconds, nocase, which, fix, rule, why, not_after in PAIR_RULES:
                one, two = (low[j], low[j + 1]) if nocase else (words[j], words[j + 1])
                if one not in firsts or two not in seconds:
                    continue
                if not_after and j + 2 < n and parts[2 * j + 4] == " " and \
                        low[j + 2] in not_after:
                    continue
                k = j + which
                if k in taken:
                    continue
                taken.add(k)
                found.append((k, fix, rule, why, ""))
        conf = [j for j, w in enumerate(words) if w in _FORMS and j not in taken]
        for j in conf:
            left = right = None
            if j and _GAP.fullmatch(parts[2 * j]):
                m = _ASCII_WORD.fullmatch(words[j - 1].replace("’", "'").rpartition("'")[2])
                left = m.group().lower() if m else None
            if j + 1 < n and _GAP.fullmatch(parts[2 * j + 2]):
                m = _ASCII_WORD.match(words[j + 1])
                right = m.group().lower() if m else None
            if left is None and right is None:
                continue
            alt = self._better(low[j], left, right)
            if alt is not None:
                found.append((j, alt, "confusion", "", ""))
        if not found:
            return
        found.sort()
        places = chunk.offsets([f[0] for f in found])
        for (j, fix, rule, why, _), pos in zip(found, places, strict=True):
            word = words[j]
            sugg = lexicon.match_case(word, fix)
            if rule == "confusion":
                msg = f"{word!r} is a real word, but {sugg!r} fits here much better"
            else:
                msg = f"{why}: {sugg!r}?"
            self._findings.append(doc.finding(pos, pos + len(word), msg, rule, "real-word",
                                              [sugg]))

    def _better(self, lw: str, left: str | None, right: str | None) -> str | None:
        """The word of the confusion set that fits between these neighbours much better
        than the one written, if there is one."""
        uni, bi = self._uni, self._bi
        floor = lexicon.BIGRAM_FLOOR

        def score(c: str) -> tuple[float, int]:
            s = 0.0
            seen = 0
            if left is not None:
                n = bi.get(f"{left} {c}")
                seen += n is not None
                s += math.log(n or floor)
            if right is not None:
                n = bi.get(f"{c} {right}")
                seen += n is not None
                s += math.log(n or floor)
            if left is not None and right is not None:
                s -= math.log(uni.get(c, 1) or 1)
            return s, seen

        own, own_seen = score(lw)
        best = None
        for alt in _ALTS[lw]:
            sc, seen = score(alt)
            if seen == 0 or seen < own_seen:
                continue
            if sc - own > self.margin and (best is None or sc > best[0]):
                best = (sc, alt)
        return None if best is None else best[1]


# --------------------------------------------------------------------------- typography

_DOUBLE_GAP = re.compile(r"[ \t]+\n?[ \t]*|\n[ \t]*")
_DOUBLE_OK = {"had", "that", "is", "do", "bye", "no", "yes", "very", "so", "ha", "hey",
              "knock", "now", "come", "oh", "ah", "there", "well", "go", "run", "please",
              "chop", "tut", "hush", "okay", "wait", "never", "far", "again", "more",
              "mm", "hmm", "boo", "la", "ho", "yo", "tick", "tock", "dum", "cha", "bang",
              "blah", "nah", "pretty", "really", "long", "out", "round", "away", "on", "over"}
_SPACE_AFTER_OPEN = re.compile(r"(“ +|\" +)(?=[A-Za-z])")
_OPEN_AFTER = frozenset(" \t\n\r\f\v(—–-")
_DOUBLE_PERIOD = re.compile(r"\.\.(?![.…])(?=\s|$|[\"”'’)])")
_ABBREV = {"mr", "mrs", "ms", "dr", "st", "vs", "etc", "jr", "sr", "prof", "capt", "lt",
           "col", "gen", "sgt", "no", "vol", "ch", "pp", "e.g", "i.e", "cf", "ft", "p", "a.m",
           "p.m", "approx", "dept", "fig", "inc", "ltd", "co", "mt", "rev", "hon", "esq"}
_LOWER_START = re.compile(r"[.!?][ \t]+(?:\n[ \t]*)?([a-z])")
_CURLY = re.compile("[“”]")


def _is_letter(c: str) -> bool:
    return c.isalpha()


class TypographyChecker(ChunkedBase):
    """Repeated words, quotes that don't pair up, a space after an opening quote, two
    full stops, and sentences that begin in lower case."""

    name = "typography"

    def begin(self, doc: Document) -> None:
        self._doubled: list[Finding] = []

    def chunk(self, doc: Document, chunk: Chunk) -> None:
        low, parts = chunk.low, chunk.parts
        hits = [j for j in range(len(low) - 1) if low[j] == low[j + 1]]
        hits = [j for j in hits if _DOUBLE_GAP.fullmatch(parts[2 * j + 2])
                and low[j] not in _DOUBLE_OK]
        words = chunk.words
        for j, pos in zip(hits, chunk.offsets(hits), strict=True):
            w = words[j]
            end = pos + len(w) + len(parts[2 * j + 2]) + len(words[j + 1])
            self._doubled.append(doc.finding(pos, end, f"{w!r} is written twice",
                                             "doubled-word", "repetition", [w]))

    def finish(self, doc: Document) -> list[Finding]:
        body = doc.body
        out = self._doubled
        for m in _SPACE_AFTER_OPEN.finditer(body):
            if m.start() and body[m.start() - 1] not in _OPEN_AFTER:
                continue
            q = m.group(1)
            if q.startswith('"') and body.count('"', self._para_start(doc, m.start()),
                                               m.start()) % 2:
                continue  # an odd quote before it: this one closes, not opens
            out.append(doc.finding(m.start(1), m.end(1), "space after an opening quote",
                                   "space-after-quote", "typography", [q[0]]))
        for m in _DOUBLE_PERIOD.finditer(body):
            p = m.start()
            if not (p and _is_letter(body[p - 1])) or (p > 1 and body[p - 2] in ".…"):
                continue  # two full stops after a word (not part of an ellipsis)
            out.append(doc.finding(p, m.end(), "two full stops",
                                   "doubled-period", "typography", ["."]))
        out.extend(self._quotes(doc))
        out.extend(self._lower_starts(doc))
        return out

    @staticmethod
    def _para_start(doc: Document, offset: int) -> int:
        from bisect import bisect_right

        i = bisect_right(doc.paragraphs, (offset, len(doc.text) + 1)) - 1
        return doc.paragraphs[i][0] if i >= 0 else 0

    @staticmethod
    def _quotes(doc: Document) -> list[Finding]:
        out: list[Finding] = []
        text = doc.text
        for start, end in doc.paragraphs:
            para = text[start:end]
            straight = para.count('"')
            if straight % 2 == 1:
                first = para.index('"')
                lead = para[:first].strip()
                if lead == "":
                    continue  # speech running on into the next paragraph: opens, no close
                # the first quote closes speech that was never opened: flag the
                # paragraph's first word, where the opening quote most often went missing
                pos = start + first
                line, col = doc.position(pos)
                w = WORD.search(text, start, end)
                a, b = (w.start(), w.end()) if w and w.start() < pos else (start, start + 1)
                out.append(doc.finding(
                    a, b,
                    f"quotes don't balance: the closing quote at {line}:{col} has no "
                    f"opening quote (add \" where the speech begins)", "unbalanced-quotes",
                    "typography", ['"' + text[a:b]]))
                continue
            if "”" not in para:
                continue
            depth = 0
            for q in _CURLY.finditer(para):
                if q.group() == "“":
                    depth += 1
                else:
                    depth -= 1
                    if depth < 0:
                        out.append(doc.finding(
                            start, start + q.start() + 1,
                            "quotes don't balance: this closing quote has no opening quote",
                            "unbalanced-quotes", "typography", []))
                        break
        return out

    @staticmethod
    def _lower_starts(doc: Document) -> list[Finding]:
        out: list[Finding] = []
        body = doc.body
        last = 0  # where the previous match ended: a word is not read twice
        for m in _LOWER_START.finditer(body):
            p = m.start()
            start = p
            while start > last and _is_letter(body[start - 1]):
                start -= 1
            if start < p and start > 0 and body[start - 1] in ".…":
                start += 1  # the word must not follow a full stop (e.g., i.e.)
            if start >= p:
                continue
            last = m.end()
            prev = body[start:p].lower()
            if prev in _ABBREV or len(prev) == 1:
                continue
            pos = m.start(1)
            out.append(doc.finding(pos, pos + 1, "sentence starts with a lower-case letter",
                                   "lowercase-sentence-start", "typography",
                                   [m.group(1).upper()]))
        if len(out) > 50:
            sentences = len(re.findall(r"[.!?][ \t\n]+\S", doc.body)) or 1
            if len(out) > 0.2 * sentences:
                first = out[0]
                return [Finding(first.file, first.line, first.column, first.end_line,
                                first.end_column, first.text,
                                f"{len(out)} sentences start in lower case (the story seems "
                                f"to be written in lower case on purpose; shown once)",
                                "lowercase-sentence-start", "typography", first.suggestions)]
        return out
