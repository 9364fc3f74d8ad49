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
""")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=3, errors=1)
    result.stdout.fnmatch_lines(["*ERROR at teardown of test_leaves_a_broken_epub*",
                                 "*EPUBCheck on the EPUBs this test wrote: deep/book.epub*"])
