"""The cache folder's rules, and cache files written whole or not at all."""

from __future__ import annotations

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
    assert len(built) == 1 and len(list((tmp_path / "c").glob("words_*.marshal"))) == 1
    monkeypatch.setenv("FIC2EPUB_CACHE_DIR", "")  # caching off: built every time
    assert lexicon._cached("words", (source,), build) == ["alpha", "beta"]
    assert len(built) == 2


DAY = 24 * 3600


def _age(path: Path, days: float) -> None:
    import os
    import time

    then = time.time() - days * DAY
    os.utime(path, (then, then))


def test_writing_an_entry_removes_entries_unused_for_a_month(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FIC2EPUB_CACHE_DIR", str(tmp_path / "c"))
    monkeypatch.setattr(usercache, "_pruned", set())
    folder = tmp_path / "c" / "covers"
    folder.mkdir(parents=True)
    (folder / "keep-me").mkdir()  # folders are never removed
    old, recent = folder / "blank-old-version", folder / "blank-in-use"
    old.write_bytes(b"o")
    recent.write_bytes(b"r")
    _age(old, 31)
    _age(recent, 29)
    assert usercache.write_entry(folder / "blank-new", b"n")
    assert sorted(p.name for p in folder.iterdir()) == ["blank-in-use", "blank-new",
                                                         "keep-me"]
    # once per folder and process: a later write does not scan the folder again
    again = folder / "check-old"
    again.write_bytes(b"x")
    _age(again, 40)
    assert usercache.write_entry(folder / "check-new", b"n")
    assert again.exists()


def test_nothing_is_removed_outside_the_cache_folder(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FIC2EPUB_CACHE_DIR", str(tmp_path / "c"))
    monkeypatch.setattr(usercache, "_pruned", set())
    books = tmp_path / "books"
    books.mkdir()
    story = books / "old-story.txt"
    story.write_bytes(b"a story")
    _age(story, 400)
    assert usercache.write_entry(books / ".entry", b"data")
    assert usercache.prune(books) == 0
    assert story.exists()
    monkeypatch.setenv("FIC2EPUB_CACHE_DIR", "")  # no cache folder at all
    assert usercache.prune(books) == 0 and story.exists()


def test_an_entry_read_is_marked_as_used(tmp_path: Path,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    import time

    monkeypatch.setenv("FIC2EPUB_CACHE_DIR", str(tmp_path / "c"))
    source = tmp_path / "words.txt"
    source.write_text("alpha\n", encoding="utf-8")
    lexicon._cached("words", (source,), lambda: ["alpha"])
    (entry,) = (tmp_path / "c").glob("words_*.marshal")
    _age(entry, 20)
    assert lexicon._cached("words", (source,), lambda: ["never built"]) == ["alpha"]
    assert time.time() - entry.stat().st_mtime < DAY
    _age(entry, 0.5)  # marked at most once a day: no write on every run
    before = entry.stat().st_mtime
    lexicon._cached("words", (source,), lambda: ["never built"])
    assert entry.stat().st_mtime == before


def test_cover_cache_entries_are_marked_and_stale_ones_pruned(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import time

    from fic2epub import cover

    monkeypatch.setenv("FIC2EPUB_CACHE_DIR", str(tmp_path / "c"))
    monkeypatch.setattr(usercache, "_pruned", set())
    folder = tmp_path / "c" / "covers"
    folder.mkdir(parents=True)
    stale = folder / "blank-from-an-older-version"
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
