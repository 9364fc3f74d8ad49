"""The cache folder's rules, and cache files written whole or not at all."""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

import pytest

from fic2epub import usercache
from fic2epub.proof import lexicon


def test_cache_folder_precedence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    monkeypatch.delenv("FIC2EPUB_CACHE_DIR", raising=False)
    assert usercache.cache_root() == tmp_path / "home" / ".cache" / "fic2epub"
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert usercache.cache_root() == tmp_path / "xdg" / "fic2epub"
    monkeypatch.setenv("FIC2EPUB_CACHE_DIR", str(tmp_path / "mine"))
    assert usercache.cache_root() == tmp_path / "mine"
    monkeypatch.setenv("FIC2EPUB_CACHE_DIR", "")
    assert usercache.cache_root() is None


def test_write_file_is_whole_and_leaves_nothing_behind(tmp_path: Path) -> None:
    target = tmp_path / "deep" / "folder" / ".entry"
    assert usercache.write_file(target, b"first")
    assert usercache.write_file(target, b"second, longer")
    assert target.read_bytes() == b"second, longer"
    assert sorted(p.name for p in target.parent.iterdir()) == [".entry"]


def test_write_file_failures_are_quiet(tmp_path: Path) -> None:
    blocked = tmp_path / "a-folder"
    (blocked / "inside").mkdir(parents=True)  # a rename cannot replace a folder
    assert not usercache.write_file(blocked, b"data")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a-folder"]
    (tmp_path / "file").write_bytes(b"x")
    assert not usercache.write_file(tmp_path / "file" / "below", b"data")  # no folder there


def test_proofing_data_is_cached_in_the_same_folder(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FIC2EPUB_CACHE_DIR", str(tmp_path / "c"))
    source = tmp_path / "words.txt"
    source.write_text("alpha beta\n", encoding="utf-8")
    built: list[int] = []

    def build() -> list[str]:
        built.append(1)
        return source.read_text(encoding="utf-8").split()

    assert lexicon._cached("words", (source,), build) == ["alpha", "beta"]
    assert lexicon._cached("words", (source,), build) == ["alpha", "beta"]
    assert len(built) == 1 and len(list((tmp_path / "c" / "proof").glob("words_*.marshal"))) == 1
    monkeypatch.setenv("FIC2EPUB_CACHE_DIR", "")  # caching off: built every time
    assert lexicon._cached("words", (source,), build) == ["alpha", "beta"]
    assert len(built) == 2


DAY = 24 * 3600
ENTRY = re.compile(r"(?:blank|check)-[0-9a-f]{4}")


def _age(path: Path, days: float) -> None:
    then = time.time() - days * DAY
    os.utime(path, (then, then))


def _files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A cache folder of this test's own, nothing pruned yet in this process."""
    monkeypatch.setenv("FIC2EPUB_CACHE_DIR", str(tmp_path / "c"))
    monkeypatch.setattr(usercache, "_pruned", set())
    return tmp_path / "c"


def test_writing_an_entry_removes_entries_unused_for_a_month(cache: Path) -> None:
    folder = cache / "covers"
    folder.mkdir(parents=True)
    (folder / "blank-0000").mkdir()  # folders are never removed
    for name, days in (("blank-0001", 31), ("check-0002", 29), (".blank-0003-x1y2.tmp", 40),
                       ("my-notes.txt", 400), ("blank-0004.jpg", 400)):
        (folder / name).write_bytes(b"x")
        _age(folder / name, days)
    assert usercache.write_entry(folder / "blank-0005", b"n", ENTRY)
    # the stale entry and the stale temporary file of one are gone; files not named as
    # entries stay, however old
    assert _files(folder) == ["blank-0000", "blank-0004.jpg", "blank-0005", "check-0002",
                              "my-notes.txt"]
    # once per folder and process: a later write does not scan the folder again
    _age(folder / "check-0002", 40)
    assert usercache.write_entry(folder / "check-0006", b"n", ENTRY)
    assert (folder / "check-0002").exists()


def test_a_failed_write_prunes_nothing(cache: Path) -> None:
    folder = cache / "covers"
    folder.mkdir(parents=True)
    (folder / "blank-0001").write_bytes(b"x")
    _age(folder / "blank-0001", 40)
    (folder / "blank-0002").mkdir()  # a rename cannot replace a folder
    assert not usercache.write_entry(folder / "blank-0002", b"n", ENTRY)
    assert (folder / "blank-0001").exists()


def test_nothing_is_removed_in_the_cache_folder_itself_or_outside_it(
        tmp_path: Path, cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # FIC2EPUB_CACHE_DIR may name any folder, such as the user's home
    cache.mkdir()
    mine = cache / "blank-0001"
    mine.write_bytes(b"the user's own file, named like an entry")
    _age(mine, 400)
    assert usercache.write_entry(cache / "check-0002", b"n", ENTRY)
    assert usercache.prune(cache, ENTRY) == 0 and mine.exists()
    books = tmp_path / "books"
    books.mkdir()
    (books / "blank-0003").write_bytes(b"x")
    _age(books / "blank-0003", 400)
    assert usercache.prune(books, ENTRY) == 0 and (books / "blank-0003").exists()
    # a subfolder of the cache that is a link to a folder elsewhere is not the cache's
    (cache / "covers").symlink_to(books, target_is_directory=True)
    assert usercache.prune(cache / "covers", ENTRY) == 0
    assert (books / "blank-0003").exists()
    monkeypatch.setenv("FIC2EPUB_CACHE_DIR", "")  # no cache folder at all
    assert usercache.prune(books, ENTRY) == 0 and (books / "blank-0003").exists()


def test_an_entry_read_is_marked_as_used(tmp_path: Path, cache: Path) -> None:
    source = tmp_path / "words.txt"
    source.write_text("alpha\n", encoding="utf-8")
    lexicon._cached("words", (source,), lambda: ["alpha"])
    (entry,) = (cache / "proof").glob("words_*.marshal")
    _age(entry, 20)
    assert lexicon._cached("words", (source,), lambda: ["never built"]) == ["alpha"]
    assert time.time() - entry.stat().st_mtime < DAY
    _age(entry, 0.5)  # marked at most once a day: no write on every run
    before = entry.stat().st_mtime
    lexicon._cached("words", (source,), lambda: ["never built"])
    assert entry.stat().st_mtime == before


def test_stale_proofing_entries_are_pruned_and_nothing_else(tmp_path: Path,
                                                            cache: Path) -> None:
    folder = cache / "proof"
    folder.mkdir(parents=True)
    old = folder / "hunspell-en_US_1_en_US.aff-1-2_en_US.dic-3-4.marshal"
    other = folder / "readme.txt"
    for path in (old, other):
        path.write_bytes(b"x")
        _age(path, 60)
    source = tmp_path / "words.txt"
    source.write_text("alpha\n", encoding="utf-8")
    lexicon._cached("words", (source,), lambda: ["alpha"])
    assert not old.exists() and other.exists()


def test_cover_cache_entries_are_marked_and_stale_ones_pruned(cache: Path) -> None:
    from fic2epub import cover

    folder = cache / "covers"
    folder.mkdir(parents=True)
    stale = folder / f"blank-{'ab' * 16}"
    stale.write_bytes(b"old")
    _age(stale, 60)
    entry = cover._remembered("test", lambda: "detail")
    assert entry is not None and entry.body is None
    entry.store(b"body")
    assert not stale.exists()
    _age(entry.path, 10)
    again = cover._remembered("test", lambda: "detail")
    assert again is not None and again.body == b"body"
    assert time.time() - entry.path.stat().st_mtime < DAY
