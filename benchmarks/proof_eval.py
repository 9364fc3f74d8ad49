"""Precision and recall of the proofing checkers on a labelled set built on the fly.

The set: clean public-domain English texts from ../shared/corpus (Project Gutenberg
files), with errors injected deterministically (fixed seed) into copies held in memory:
common misspellings and random one-letter typos (non-word errors), homophone swaps
(real-word errors) and doubled words. Nothing from the corpus is written to disk.
The sample's real slips (red_omega_part15.txt, input/the_lantern_keeper.txt) are
reported separately.

Usage: python3 benchmarks/proof_eval.py [--per-file N]
"""

from __future__ import annotations

import argparse
import random
import re
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from fic2epub.pipeline import parse  # noqa: E402
from fic2epub.proof import ProofOptions, document_from_story, proof_document  # noqa: E402

SHARED = ROOT.parent / "shared"
TEXTS = ["051_pg_alice_11-0_utf8.txt", "053_pg_katrine_14263-8_latin1.txt",
         "059_pg_grimm10_headerless.txt"]

# correct -> common misspelling (a list of well-known English slips)
MISSPELLINGS = {
    "receive": "recieve", "definitely": "definately", "separate": "seperate",
    "occurred": "occured", "until": "untill", "weird": "wierd", "believe": "beleive",
    "tomorrow": "tommorow", "beginning": "begining", "beautiful": "beautifull",
    "coming": "comming", "existence": "existance", "foreign": "foriegn", "friend": "freind",
    "guard": "gaurd", "happened": "happend", "immediately": "immediatly",
    "knowledge": "knowlege", "length": "lenght", "necessary": "neccessary",
    "really": "realy", "surprise": "suprise", "tongue": "tounge", "truly": "truely",
    "which": "wich", "their": "thier", "because": "becuase", "business": "buisness",
    "completely": "completly", "disappear": "dissapear", "finally": "finaly",
    "grateful": "greatful", "height": "hieght", "piece": "peice", "remember": "rember",
    "seize": "sieze", "similar": "similiar", "speech": "speach", "stopped": "stoped",
    "successful": "succesful", "visible": "visable", "withhold": "withold",
    "yield": "yeild", "niece": "neice", "writing": "writting", "always": "allways",
    "again": "agian", "thought": "thougth", "strength": "strenght", "through": "throught",
    "could": "coudl", "people": "poeple", "little": "littel", "answered": "answerd",
    "himself": "himslef", "already": "allready", "around": "arround", "across": "accross",
    "address": "adress", "among": "amoung", "argument": "arguement", "except": "excpet",
    "interest": "intrest", "minute": "minite", "probably": "probly", "pretty": "prety",
}
# right word -> the word it is often mistyped as (real-word errors)
SWAPS = {
    "than": "then", "throne": "thrown", "lose": "loose", "quite": "quiet",
    "whether": "weather", "piece": "peace", "whole": "hole", "through": "threw",
    "break": "brake", "breath": "breathe", "great": "grate", "week": "weak",
    "past": "passed", "there": "their", "its": "it's", "could have": "could of",
    "advice": "advise", "effect": "affect", "principal": "principle", "course": "coarse",
    "wonder": "wander", "tale": "tail", "soul": "sole", "pale": "pail", "plain": "plane",
}
CATEGORY = {"nonword": "spelling", "realword": "real-word", "doubled": "repetition"}


@dataclass
class Injected:
    kind: str
    line: int
    column: int


def typo(word: str, rnd: random.Random) -> str:
    i = rnd.randrange(1, len(word) - 1)
    op = rnd.choice("dts")
    if op == "d":
        return word[:i] + word[i + 1:]
    if op == "t":
        return word[:i] + word[i + 1] + word[i] + word[i + 2:]
    return word[:i] + word[i] + word[i:]  # doubled letter


def inject(text: str, per_file: int, seed: int) -> tuple[str, list[Injected]]:
    """Errors in prose lines only, at most one per line, fixed positions by seed."""
    rnd = random.Random(seed)
    lines = text.split("\n")
    candidates = [i for i, ln in enumerate(lines) if len(ln.split()) >= 8
                  and not ln.lstrip().startswith(("[", "*", "CHAPTER"))]
    rnd.shuffle(candidates)
    truth: list[Injected] = []
    kinds = ["nonword"] * 5 + ["typo"] * 3 + ["realword"] * 3 + ["doubled"]
    for i in candidates:
        if len(truth) >= per_file:
            break
        line = lines[i]
        kind = rnd.choice(kinds)
        words = list(re.finditer(r"(?<![\w'’])[a-z]+(?![\w'’])", line))
        if kind == "nonword":
            hits = [m for m in words if m.group() in MISSPELLINGS]
            if not hits:
                continue
            m = rnd.choice(hits)
            new = MISSPELLINGS[m.group()]
        elif kind == "typo":
            hits = [m for m in words if len(m.group()) >= 6]
            if not hits:
                continue
            m = rnd.choice(hits)
            new = typo(m.group(), rnd)
            kind = "nonword"
        elif kind == "realword":
            found = [(re.search(rf"(?<![\w'’]){re.escape(k)}(?![\w'’])", line), k)
                     for k in SWAPS]
            hits2 = [(m2, k) for m2, k in found if m2]
            if not hits2:
                continue
            m2, k = rnd.choice(hits2)
            start = m2.start() + (len(k) - len(k.split()[-1]) if " " in k else 0)
            new_word = SWAPS[k].split()[-1]
            old_len = len(k.split()[-1])
            lines[i] = line[:start] + new_word + line[start + old_len:]
            truth.append(Injected("realword", i + 1, start + 1))
            continue
        else:
            hits = [m for m in words if len(m.group()) >= 3]
            if not hits:
                continue
            m = rnd.choice(hits)
            new = f"{m.group()} {m.group()}"
        lines[i] = line[:m.start()] + new + line[m.end():]
        truth.append(Injected(kind, i + 1, m.start() + 1))
    return "\n".join(lines), truth


def evaluate(per_file: int) -> dict[str, list[int]]:
    """kind -> [true positives, false positives, false negatives]."""
    scores = {k: [0, 0, 0] for k in CATEGORY}
    options = ProofOptions(checkers=("spelling", "real-word", "typography"))
    for n, name in enumerate(TEXTS):
        path = SHARED / "corpus" / "files" / name
        story = parse(path.read_bytes(), name)
        text, truth = inject(story.text, per_file, seed=1000 + n)
        story = parse(text.encode("utf-8"), name)
        found = proof_document(document_from_story(story, "en"), options).findings
        for kind, cat in CATEGORY.items():
            want = {(t.line, t.column) for t in truth if t.kind == kind}
            got = {(f.line, f.column) for f in found if f.category == cat}
            tp = len(want & got)
            scores[kind][0] += tp
            scores[kind][1] += len(got - want)
            scores[kind][2] += len(want - got)
    return scores


def sample_slips() -> list[str]:
    from fic2epub.proof import proof_file

    out = []
    options = ProofOptions(checkers=("spelling", "real-word", "typography"))
    for path, expected in [(SHARED / "samples" / "red_omega_part15.txt",
                            ["thrown", "it's", '" ', "I", "nya", ".."]),
                           (ROOT / "input" / "the_lantern_keeper.txt",
                            ["thrown", "the the", '" ', "I'll"])]:
        if not path.exists():
            continue
        got = {f.text for f in proof_file(path, options).findings}
        hit = [e for e in expected if e in got]
        out.append(f"{path.name}: {len(hit)}/{len(expected)} known slips found "
                   f"(missed: {[e for e in expected if e not in got]})")
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--per-file", type=int, default=150)
    args = ap.parse_args()
    scores = evaluate(args.per_file)
    print(f"{'checker':<26}{'injected':>9}{'TP':>6}{'FP':>6}{'FN':>6}"
          f"{'precision':>11}{'recall':>8}")
    for kind, (tp, fp, fn) in scores.items():
        p = tp / (tp + fp) if tp + fp else 0.0
        r = tp / (tp + fn) if tp + fn else 0.0
        label = {"nonword": "spelling (non-word)", "realword": "real-word",
                 "doubled": "repetition (doubled word)"}[kind]
        print(f"{label:<26}{tp + fn:>9}{tp:>6}{fp:>6}{fn:>6}{p:>11.3f}{r:>8.3f}")
    for line in sample_slips():
        print(line)


if __name__ == "__main__":
    main()
