"""Proofing speed and memory on a 1-million-word input built from ../shared/corpus.

The English corpus files are decoded, parsed and concatenated (repeated as needed) in
memory until the body holds 1,000,000 words; nothing is written to disk. Reported:
words per second of the offline checkers (dictionary loading included), words per second
end to end (parsing included), and peak memory (ru_maxrss). Runs on one core.

Usage: python3 benchmarks/proof_speed.py [--words N]
"""

from __future__ import annotations

import argparse
import csv
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from fic2epub.pipeline import parse  # noqa: E402
from fic2epub.proof import ProofOptions, document_from_story, proof_document  # noqa: E402

SHARED = ROOT.parent / "shared"


def english_text() -> str:
    rows = csv.DictReader((SHARED / "corpus" / "MANIFEST.tsv").open(encoding="utf-8"),
                          delimiter="\t")
    parts = []
    for row in rows:
        if row["language"].startswith("en"):
            data = (SHARED / "corpus" / "files" / row["file"]).read_bytes()
            parts.append(parse(data, row["file"]).text)
    return "\n\n".join(parts)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--words", type=int, default=1_000_000)
    args = ap.parse_args()
    base = english_text()
    per = len(base.split())
    text = "\n\n".join([base] * (args.words // per + 1))
    t0 = time.perf_counter()
    story = parse(text.encode("utf-8"), "million.txt")
    t1 = time.perf_counter()
    result = proof_document(document_from_story(story, "en"),
                            ProofOptions(checkers=("spelling", "real-word", "typography")))
    t2 = time.perf_counter()
    words = result.words
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"input: {words} words ({len(text)} characters), {len(result.findings)} findings")
    print(f"parse: {t1 - t0:.2f} s")
    print(f"proof (offline checkers, dictionaries loaded): {t2 - t1:.2f} s = "
          f"{words / (t2 - t1):,.0f} words/s")
    print(f"end to end (parse + proof): {words / (t2 - t0):,.0f} words/s")
    print(f"peak memory (ru_maxrss): {peak:.0f} MB")


if __name__ == "__main__":
    main()
