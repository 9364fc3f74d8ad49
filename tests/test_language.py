"""Language detection: the unpacked-model cache gives py3langid's own answers, is used
on later loads, and any problem with it falls back to py3langid's loader."""

from __future__ import annotations

import lzma
from collections.abc import Iterator
from pathlib import Path

import py3langid
import pytest

from fic2epub import language

TEXTS = {
    "en": "The lantern keeper climbed the stairs and looked out over the grey water, "
          "where the boats were coming home slowly at last.",
    "de": "Der Leuchtturmwärter stieg die Treppe hinauf und sah über das graue Wasser, "
          "wo die Boote endlich langsam heimkehrten.",
    "fr": "Le gardien du phare monta l'escalier et regarda l'eau grise, où les bateaux "
          "rentraient enfin lentement au port.",
    "ru": "Смотритель маяка поднялся по лестнице и посмотрел на серую воду, где лодки "
          "наконец медленно возвращались домой.",
    "ja": "灯台守は階段を上り、灰色の海を見渡した。船がようやくゆっくりと帰ってくるところだった。",
}


@pytest.fixture
def cache_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    language._identifier.cache_clear()
    yield tmp_path
    language._identifier.cache_clear()


def test_cached_model_gives_the_library_answers(cache_home: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    first = {lang: language.classify(text) for lang, text in TEXTS.items()}
    assert first == {lang: py3langid.classify(text)[0] for lang, text in TEXTS.items()}
    assert first == {lang: lang for lang in TEXTS}
    unpacked = list((cache_home / "fic2epub").glob("langid-*/ptc.npy"))
    assert len(unpacked) == 1

    # a later load reads the unpacked arrays and never touches the compressed model
    def no_lzma(*args: object, **kwargs: object) -> None:
        raise AssertionError("the compressed model was read again")

    monkeypatch.setattr(lzma, "open", no_lzma)
    language._identifier.cache_clear()
    assert {lang: language.classify(text) for lang, text in TEXTS.items()} == first


def test_damaged_cache_falls_back_to_the_library(cache_home: Path) -> None:
    language.classify(TEXTS["en"])
    (ptc,) = (cache_home / "fic2epub").glob("langid-*/ptc.npy")
    ptc.write_bytes(b"not an array")
    language._identifier.cache_clear()
    assert language.classify(TEXTS["de"]) == "de"
    assert language._identifier().nb_ptc.shape == py3langid.langid._get_identifier().nb_ptc.shape


def test_unwritable_cache_falls_back_to_the_library(cache_home: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = cache_home / "file"
    blocker.write_text("a file where the cache folder would go")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))
    assert language.classify(TEXTS["fr"]) == "fr"
    assert not (blocker / "fic2epub").exists()
