"""The checkers. Each has a ``name`` and ``check(doc) -> list[Finding]``; the engine runs
the ones switched on and merges what they find."""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Protocol

from ..model import Finding
from . import lexicon
from .document import WORD, Document


class Checker(Protocol):
    name: str

    def check(self, doc: Document) -> list[Finding]: ...


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


_CLITICS = {"s", "ve", "ll", "re", "d", "t", "n't", "m", "em", "st"}
_ARCHAIC = {"tis", "twas", "twere", "twill", "twould", "ye", "thee", "thou", "thy", "thine"}


def _base(word: str) -> str:
    """Buffy's -> Buffy; Xanders' stays (rare)."""
    if len(word) > 3 and word[-2] in "'’" and word[-1] in "sS":
        return word[:-2]
    return word


class SpellingChecker:
    """Words that are in no dictionary: Hunspell for the story's language, the English
    word list, the author's own words, and the names the story itself keeps using."""

    name = "spelling"

    def __init__(self, words: set[str] | None = None, notes: Notes | None = None) -> None:
        self.personal = {w.lower() for w in (words or set())}
        self.notes = notes or Notes()

    def check(self, doc: Document) -> list[Finding]:
        dic = lexicon.hunspell(doc.language)
        english = doc.language.lower().split("-")[0] == "en"
        if dic is None:
            if not english:
                self.notes.add(f"spelling: no Hunspell dictionary installed for language "
                               f"{doc.language!r}; spelling not checked")
                return []
            self.notes.add("spelling: no Hunspell en_US dictionary found (install Debian's "
                           "hunspell-en-us); using the built-in English word list only")
        freq = lexicon.unigrams() if english else {}
        counts = Counter(WORD.findall(doc.body))
        lower_seen = {w.lower() for w in counts if w[:1].islower()}
        midcap = set(_MIDCAP.findall(doc.body))
        base_counts: Counter[str] = Counter()
        for w, n in counts.items():
            base_counts[_base(w)] += n

        def known(w: str) -> bool:
            lw = w.lower().replace("’", "'")
            if lw in freq or lw in self.personal or lw in _ARCHAIC:
                return True
            if "'" in lw:  # ye've, comb'd, sha'n't: a known word and a clitic
                head, _, tail = lw.partition("'")
                if tail in _CLITICS and (head in freq or head in self.personal
                                         or head in _ARCHAIC):
                    return True
            if lw.endswith("in") and len(lw) > 4 and lw + "g" in freq:
                return True  # dialogue drops the g: goin', thinkin'

            b = _base(lw)
            if b != lw and (b in freq or b in self.personal):
                return True
            if dic is None:
                return False
            w2 = w.replace("’", "'")
            if dic.lookup(w2) or (b != lw and dic.lookup(_base(w2))):
                return True
            alt = lexicon.hunspell("en-GB") if english else None  # British spellings too
            return alt is not None and alt is not dic and alt.lookup(w2)

        def is_name(w: str) -> bool:
            b = _base(w)
            if not b[:1].isupper() or b.lower() in lower_seen:
                return False
            return base_counts[b] >= 2 or b in midcap or w in midcap

        bad: set[str] = set()
        for w in counts:
            if len(w) < 3 or w.isupper() or any(c.isupper() for c in w[1:]):
                continue  # short words, acronyms, shouting, eBook/iPhone forms
            if is_name(w) or known(w):  # names first: cheaper than Hunspell
                continue
            bad.add(w)
        if not bad:
            return []
        sugg = lexicon.suggester() if english else None
        cache: dict[str, list[str]] = {}
        findings = []
        for m in WORD.finditer(doc.body):
            w = m.group()
            if w not in bad:
                continue
            if w not in cache:
                cache[w] = sugg.suggest(w) if sugg else []
            s = cache[w]
            msg = f"unknown word {w!r}" + (f"; did you mean {s[0]!r}?" if s else "")
            findings.append(doc.finding(m.start(), m.end(), msg, "unknown-word", "spelling", s))
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
_CONFUSABLE = re.compile(r"\b(?:" + "|".join(sorted(_ALTS, key=len, reverse=True)) + r")\b",
                         re.IGNORECASE)
_LEFT = re.compile(r"([A-Za-z]+)[ \t]*\n?[ \t]*$")
_RIGHT = re.compile(r"[ \t]*\n?[ \t]*([A-Za-z]+)")

_PREPS = ("of|in|on|at|with|from|by|for|into|onto|about|under|over|through|against|"
          "around|across|toward|towards|upon|without|within|behind|beneath|inside")
_COMPARATIVES = ("more|less|better|worse|rather|bigger|smaller|older|younger|faster|slower|"
                 "larger|greater|higher|lower|longer|shorter|stronger|weaker|further|"
                 "farther|other|sooner|easier|harder|later|earlier|louder|quieter|"
                 "happier|darker|brighter|taller|closer|fewer")
PATTERNS: list[tuple[re.Pattern[str], str, str, str]] = [
    (re.compile(rf"\b(?:{_PREPS}) (?P<w>it['’]s)\b(?! (?:a|an|the|not|been|just|all|so)\b)",
                re.IGNORECASE), "its", "its-after-preposition",
     "\"it's\" means \"it is\"; after a preposition the possessive is \"its\""),
    (re.compile(r"\b[Ii]ts(?= (?:a|an|the|been|not|going|just|very|so|too|only|never|always|"
                r"getting|gonna|okay|fine|true|over|because)\b)"), "it's", "its-as-it-is",
     "\"its\" is possessive; \"it is\" is written \"it's\""),
    (re.compile(r"\b(?:could|would|should|must|might) (?P<w>of)\b", re.IGNORECASE), "have",
     "could-of", "\"could of\" is a mishearing of \"could have\" (could've)"),
    (re.compile(r"\byour(?= (?:welcome|a|an|the|not|gonna|so|very|too|"
                r"kidding|joking|lying|crazy)\b)", re.IGNORECASE), "you're", "your-as-you-are",
     "\"your\" is possessive; \"you are\" is written \"you're\""),
    (re.compile(rf"\b(?:{_COMPARATIVES}) (?P<w>then)\b", re.IGNORECASE), "than", "then-than",
     "comparisons take \"than\""),
    (re.compile(r"\btheir(?= (?:is|was|are|were|isn't|wasn't|aren't|weren't|'s)\b)",
                re.IGNORECASE), "there", "their-there",
     "\"their\" is possessive; here it should be \"there\""),
    (re.compile(r"\bthey['’]re(?= (?:own|house|room|car|way|eyes|hands|heads|lives)\b)",
                re.IGNORECASE), "their", "theyre-their",
     "\"they're\" means \"they are\"; the possessive is \"their\""),
]


class RealWordChecker:
    """Right words in the wrong place: confusion sets judged by how often each candidate
    stands beside the same neighbours (English word-pair counts), plus grammar patterns
    where the statistics have nothing to say (its/it's, your/you're, could of)."""

    name = "real-word"

    def __init__(self, ratio: float = 30.0) -> None:
        self.margin = math.log(ratio)

    def check(self, doc: Document) -> list[Finding]:
        if doc.language.lower().split("-")[0] != "en":
            return []
        findings: list[Finding] = []
        taken: set[int] = set()
        for pattern, fix, rule, why in PATTERNS:
            for m in pattern.finditer(doc.body):
                a, b = m.span("w") if "w" in pattern.groupindex else m.span()
                taken.add(a)
                sugg = lexicon.match_case(doc.body[a:b], fix)
                findings.append(doc.finding(a, b, f"{why}: {sugg!r}?", rule, "real-word",
                                            [sugg]))
        uni = lexicon.unigrams()
        bi = lexicon.bigrams()
        floor = lexicon.BIGRAM_FLOOR
        body = doc.body
        for m in _CONFUSABLE.finditer(body):
            if m.start() in taken:
                continue
            word = m.group()
            lw = word.lower()
            lm = _LEFT.search(body, max(0, m.start() - 40), m.start())
            rm = _RIGHT.match(body, m.end(), m.end() + 40)
            left = lm.group(1).lower() if lm else None
            right = rm.group(1).lower() if rm else None
            if left is None and right is None:
                continue

            def score(c: str, left: str | None = left, right: str | None = right
                      ) -> tuple[float, int]:
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
            if best is None:
                continue
            alt = lexicon.match_case(word, best[1])
            findings.append(doc.finding(
                m.start(), m.end(),
                f"{word!r} is a real word, but {alt!r} fits here much better", "confusion",
                "real-word", [alt]))
        return findings


# --------------------------------------------------------------------------- typography

_DOUBLED = re.compile(r"\b([^\W\d_]+)([ \t]+\n?[ \t]*|\n[ \t]*)(\1)\b", re.IGNORECASE)
_DOUBLE_OK = {"had", "that", "is", "do", "bye", "no", "yes", "very", "so", "ha", "hey",
              "knock", "now", "come", "oh", "ah", "there", "well", "go", "run", "please",
              "chop", "tut", "hush", "okay", "wait", "never", "far", "again", "more",
              "mm", "hmm", "boo", "la", "ho", "yo", "tick", "tock", "dum", "cha", "bang",
              "blah", "nah", "pretty", "really", "long", "out", "round", "away", "on", "over"}
_SPACE_AFTER_OPEN = re.compile(r"(?:(?<=^)|(?<=[\s(—–-]))(“ +|\" +)(?=[A-Za-z])",
                               re.MULTILINE)
_DOUBLE_PERIOD = re.compile(r"(?<![.…])[^\W\d_]\.\.(?![.…])(?=\s|$|[\"”'’)])")
_ABBREV = {"mr", "mrs", "ms", "dr", "st", "vs", "etc", "jr", "sr", "prof", "capt", "lt",
           "col", "gen", "sgt", "no", "vol", "ch", "pp", "e.g", "i.e", "cf", "ft", "p", "a.m",
           "p.m", "approx", "dept", "fig", "inc", "ltd", "co", "mt", "rev", "hon", "esq"}
_LOWER_START = re.compile(r"(?<![.…])([^\W\d_][^\W\d_.]*)([.!?])[ \t]+(?:\n[ \t]*)?([a-z])")


class TypographyChecker:
    """Repeated words, quotes that don't pair up, a space after an opening quote, two
    full stops, and sentences that begin in lower case."""

    name = "typography"

    def check(self, doc: Document) -> list[Finding]:
        body = doc.body
        out: list[Finding] = []
        for m in _DOUBLED.finditer(body):
            w = m.group(1)
            if w.lower() in _DOUBLE_OK:
                continue
            out.append(doc.finding(m.start(1), m.end(3), f"{w!r} is written twice",
                                   "doubled-word", "repetition", [w]))
        for m in _SPACE_AFTER_OPEN.finditer(body):
            q = m.group(1)
            if q.startswith('"') and body.count('"', self._para_start(doc, m.start()),
                                               m.start()) % 2:
                continue  # an odd quote before it: this one closes, not opens
            out.append(doc.finding(m.start(1), m.end(1), "space after an opening quote",
                                   "space-after-quote", "typography", [q[0]]))
        for m in _DOUBLE_PERIOD.finditer(body):
            out.append(doc.finding(m.start() + 1, m.end(), "two full stops",
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
            depth = 0
            for i, ch in enumerate(para):
                if ch == "“":
                    depth += 1
                elif ch == "”":
                    depth -= 1
                    if depth < 0:
                        out.append(doc.finding(
                            start, start + i + 1,
                            "quotes don't balance: this closing quote has no opening quote",
                            "unbalanced-quotes", "typography", []))
                        break
        return out

    @staticmethod
    def _lower_starts(doc: Document) -> list[Finding]:
        out: list[Finding] = []
        for m in _LOWER_START.finditer(doc.body):
            prev = m.group(1).lower()
            if prev in _ABBREV or len(prev) == 1 or "." in prev:
                continue
            pos = m.start(3)
            out.append(doc.finding(pos, pos + 1, "sentence starts with a lower-case letter",
                                   "lowercase-sentence-start", "typography",
                                   [m.group(3).upper()]))
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
