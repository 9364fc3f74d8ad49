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
