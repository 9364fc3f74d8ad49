"""The suite's own guarantee: every EPUB a test leaves in its ``tmp_path`` goes through
EPUBCheck (tests/conftest.py, ``every_epub_checked``), asked for or not."""

from __future__ import annotations

import pytest
from conftest import ROOT, java_available

pytest_plugins = ["pytester"]


def test_a_broken_epub_a_test_left_behind_fails_that_test(pytester: pytest.Pytester) -> None:
    if not java_available():
        pytest.skip("Java is not installed: EPUBCheck cannot run")
    pytester.makeconftest((ROOT / "tests" / "conftest.py").read_text(encoding="utf-8"))
    pytester.makeini("[pytest]\nmarkers =\n    broken_epubs: broken on purpose\n")
    pytester.makepyfile(test_writes="""
import pytest

def test_leaves_a_broken_epub(tmp_path):
    (tmp_path / "deep").mkdir()
    (tmp_path / "deep" / "book.epub").write_bytes(b"not a zip at all")

@pytest.mark.broken_epubs
def test_says_it_writes_broken_epubs(tmp_path):
    (tmp_path / "book.epub").write_bytes(b"not a zip at all")

def test_writes_no_epub(tmp_path):
    (tmp_path / "notes.txt").write_text("no book here")

def test_leaves_a_good_book(tmp_path):
    from fic2epub.pipeline import convert
    story = b"Title: Good\\n\\nA short story, with a few words in it, and an end.\\n"
    (tmp_path / "good.epub").write_bytes(convert(story, "good.txt").epub)

def test_leaves_the_same_broken_bytes_twice(tmp_path):
    (tmp_path / "a.epub").write_bytes(b"broken twice")
    (tmp_path / "b.epub").write_bytes(b"broken twice")

def test_leaves_bytes_already_found_broken(tmp_path):
    (tmp_path / "again.epub").write_bytes(b"broken twice")
""")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    # a test whose teardown fails counts as passed (its call) and as an error
    result.assert_outcomes(passed=6, errors=3)
    result.stdout.fnmatch_lines([
        "*ERROR at teardown of test_leaves_a_broken_epub*",
        "*EPUBCheck on the EPUBs this test wrote: deep/book.epub*",
        "*EPUBCheck on the EPUBs this test wrote: a.epub*b.epub*",
        "*EPUBCheck on the EPUBs this test wrote: again.epub*",
        "EPUBCheck: 3 different EPUBs checked in this session, 3 of them by the sweep*"])
