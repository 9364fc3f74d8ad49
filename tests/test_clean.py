"""The cleaner's fast paths give what the plain code would."""

from __future__ import annotations

import dataclasses
import pickle

from fic2epub.clean import _change
from fic2epub.model import Change


def test_fast_change_is_a_change() -> None:
    args = ("quotes", 12, 7, '"', "“")
    fast, plain = _change(*args), Change(*args)
    assert type(fast) is Change
    assert fast == plain and hash(fast) == hash(plain) and repr(fast) == repr(plain)
    assert vars(fast) == vars(plain)  # every field, so a field added to Change fails here
    assert dataclasses.asdict(fast) == dataclasses.asdict(plain)
    assert pickle.loads(pickle.dumps(fast)) == plain
