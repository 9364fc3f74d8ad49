"""How long a sample the language classifier needs: time per call and agreement with a
1,500-character sample, on windows of ../shared/corpus/files and ../shared/samples.

    python3 benchmarks/bench_language.py

fic2epub gives its classifier (fastText's lid.176, :mod:`fic2epub.language`) the first
``pipeline._LANG_SAMPLE`` characters of the story's paragraphs. Each file here gives up to
8 windows (at different offsets) of prose.
"""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path

from fic2epub.decode import decode
from fic2epub.errors import Fic2EpubError
from fic2epub.language import classify

SHARED = Path(__file__).resolve().parent.parent.parent / "shared"
SIZES = (300, 500, 800, 1500)


def windows() -> list[str]:
    out = []
    sources = sorted((SHARED / "corpus" / "files").glob("*")) + sorted(
        (SHARED / "samples").glob("*.txt"))
    for src in sources:
        try:
            text = " ".join(decode(src.read_bytes()).text.split())
        except Fic2EpubError:
            continue
        step = max(1500, len(text) // 8)
        out.extend(text[i:i + 1500] for i in range(0, len(text) - 1500, step))
    return out


def main() -> None:
    texts = windows()
    classify("warm up the model")
    reference = [classify(t) for t in texts]
    print(f"{len(texts)} windows; languages at 1,500 characters: "
          f"{dict(Counter(reference).most_common())}")
    print(f"{'chars':>6} {'ms/call':>8} {'agree':>12}")
    for size in SIZES:
        start = time.process_time()
        got = [classify(t[:size]) for t in texts]
        ms = (time.process_time() - start) * 1000 / len(texts)
        agree = sum(a == b for a, b in zip(got, reference, strict=True))
        print(f"{size:>6} {ms:>8.3f} {agree:>5}/{len(texts):<6}")


if __name__ == "__main__":
    main()
