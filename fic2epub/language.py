"""Language detection with py3langid, with its model loaded fast.

py3langid ships its model as an LZMA-compressed npz (4.5 MB, 68 MB unpacked). Unpacking
it takes about 0.5 s, the largest fixed cost of a ``fic2epub`` run: more than all other
imports together, and about as long as converting 25 stories. So the first run unpacks it
once into the user's cache folder (``$XDG_CACHE_HOME/fic2epub`` or ``~/.cache/fic2epub``)
as plain ``.npy`` arrays; later runs map the big ones into memory (about 0.03 s, and batch
workers share those pages through the page cache). The cache is keyed on py3langid's
version and its model file's size and time; any problem with it (no home, read-only
disk, a py3langid whose internals differ) falls back to py3langid's own loader, which
gives the same answers.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import shutil
import tempfile
from importlib import metadata
from pathlib import Path
from typing import Any, Literal

_ARRAYS = ("ptc", "pc", "nextmove", "nextmove_row", "out_feat")
_TYPECODE: dict[int, Literal["H", "I", "Q"]] = {2: "H", 4: "I", 8: "Q"}


def classify(text: str) -> str:
    """The language code py3langid gives ``text`` (e.g. ``en``, ``de``, ``ja``)."""
    return str(_identifier().classify(text)[0])


def cache_root() -> Path | None:
    base = os.environ.get("XDG_CACHE_HOME") or (
        str(Path.home() / ".cache") if Path.home() != Path("/") else "")
    return Path(base) / "fic2epub" if base else None


@functools.cache
def _identifier() -> Any:
    try:
        return _cached_identifier()
    except Exception:  # any failure: the library's own loader
        import py3langid.langid

        return py3langid.langid.LanguageIdentifier.from_model_file(py3langid.langid.MODEL_FILE)


def _model_file() -> Path:
    import py3langid.langid

    return Path(py3langid.langid.MODEL_DIR) / str(py3langid.langid.MODEL_FILE)


def _cache_dir() -> Path:
    root = cache_root()
    if root is None:
        raise OSError("no cache folder")
    model = _model_file()
    st = model.stat()
    return root / f"langid-{metadata.version('py3langid')}-{st.st_size}-{st.st_mtime_ns}"


def _cached_identifier() -> Any:
    import numpy as np
    from py3langid.langid import LanguageIdentifier

    folder = _cache_dir()
    if not (folder / "classes.json").is_file():
        _unpack(folder)
    ptc = np.load(folder / "ptc.npy", mmap_mode="r")
    pc = np.load(folder / "pc.npy")
    classes = json.loads((folder / "classes.json").read_text(encoding="utf-8"))
    nextmove = _as_ints(np.load(folder / "nextmove.npy", mmap_mode="r"))
    rows = _as_ints(np.load(folder / "nextmove_row.npy"))
    out_feat = np.load(folder / "out_feat.npy").tolist()
    return LanguageIdentifier(ptc, pc, classes, nextmove, out_feat, tk_row=rows)


def _as_ints(values: Any) -> memoryview:
    """A numpy array of unsigned integers as a flat sequence of ints that py3langid can
    index, without a copy: the state table (39 MB) stays mapped from the cache file,
    its pages shared through the page cache, instead of being read into every process."""
    import numpy as np

    data: memoryview = np.ascontiguousarray(values).data
    return data.cast("B").cast(_TYPECODE[values.dtype.itemsize])


def _unpack(folder: Path) -> None:
    """Unpack py3langid's model into ``folder``, atomically (a temporary folder renamed:
    two processes unpacking at once both succeed, one of them keeps its copy)."""
    import lzma

    import numpy as np

    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".langid-", dir=folder.parent))
    try:
        with tempfile.TemporaryFile(dir=tmp) as raw:
            with lzma.open(_model_file()) as src:
                shutil.copyfileobj(src, raw, length=1 << 20)
            raw.seek(0)
            with np.load(raw, allow_pickle=False) as data:
                for name in _ARRAYS:
                    np.save(tmp / f"{name}.npy", data[name], allow_pickle=False)
                (tmp / "classes.json").write_text(json.dumps(data["classes"].tolist()),
                                                  encoding="utf-8")
        with contextlib.suppress(OSError):  # another process got there first: fine
            os.replace(tmp, folder)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
