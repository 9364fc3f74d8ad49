"""The decoder's shortcut around ftfy's badness test gives ftfy's answer."""

from __future__ import annotations

import re

import ftfy.badness
from hypothesis import given, settings
from hypothesis import strategies as st

from fic2epub.decode import _badness_reach, _looks_bad

# ASCII around the characters ftfy's badness pattern is made of (every one of its
# categories, and the literal characters of its alternatives)
_PATTERN_CHARS = sorted({c for c in ftfy.badness.BADNESS_RE.pattern if ord(c) >= 128}
                        | {chr(n) for n in range(0x80, 0x250)})
_ALPHABET = st.sampled_from([*"aZ .,?!-'\"\t0", *_PATTERN_CHARS])


@settings(max_examples=3000, deadline=None)
@given(st.lists(_ALPHABET, max_size=60).map("".join))
def test_looks_bad_is_ftfys_is_bad(line: str) -> None:
    assert _looks_bad(line) == ftfy.badness.is_bad(line)


def test_far_matches_are_found() -> None:
    # ftfy's longest alternatives, far from the start and after long ASCII runs
    for bad in ("ГўВЂВ”x", "a Ã ", "ØŸØŸ", "‚Äì", "x Â “"):
        for pad in ("", "plain words " * 3):
            line = f"{pad}{bad}{pad}"
            assert ftfy.badness.is_bad(line) and _looks_bad(line), line
    assert not _looks_bad("café au lait, naïve résumé") and \
        not ftfy.badness.is_bad("café au lait, naïve résumé")


def test_the_reach_is_read_from_the_pattern() -> None:
    assert _badness_reach(ftfy.badness.BADNESS_RE) is not None  # the shortcut is on
    assert _badness_reach(re.compile("é.{0,3}|[à-ö]x")) == 3  # longest match 4
    assert _badness_reach(re.compile("[é]x|ab")) is None  # an alternative of ASCII only
    assert _badness_reach(re.compile("[^a-z]é|x")) is None
    assert _badness_reach(re.compile("é+|à")) is None  # no bound on its length
    assert _badness_reach(re.compile("é|à", re.IGNORECASE)) is None
    assert _badness_reach(re.compile("éx")) is None  # not a list of alternatives
