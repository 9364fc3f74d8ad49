"""Where a story's CPU time goes: each stage of the pipeline, timed on the bench corpus.

    python3 benchmarks/bench_stages.py                    # 300 stories after 100 warm-up
    python3 benchmarks/bench_stages.py --profile          # + whose code the time is in
    python3 benchmarks/bench_stages.py --rates 650,8.7,1.4
        # + the CPU budget a story has for fic2epub to be within 5x of a floor of 650
        #   stories/s and 20x / 200x of peers at 8.7 and 1.4 stories/s (bench_batch.py's
        #   figures) on this machine's cores

The stages are the ones :func:`fic2epub.pipeline.convert` runs, called one by one in one
process (no batch, no writing): decode; the rest of parsing (front matter, paragraphs,
cleaning, scenes); language detection; rendering the pages; the generated cover;
packaging (ebooklib and the ZIP); the read-back check. Times are CPU seconds of this
process (``time.process_time``), so they do not include waiting for a disk.

With ``--profile`` the same loop runs under cProfile and each stage's time is split by
whose code it was in: fic2epub's own Python, C built-ins (``str`` and ``re`` methods,
``zlib``, ... whoever called them), and third-party Python packages (ebooklib, lxml's
Python parts, Pillow's Python parts, ftfy, ...). cProfile slows Python code more than C
code, so these shares lean towards fic2epub's own code.

With ``--sampled`` the loop runs again in a child process under the sampling profiler
py-spy (``pip install py-spy``; it needs permission to trace a process: root, or
``/proc/sys/kernel/yama/ptrace_scope`` 0), which does not slow the code it watches. Each
sample is put down to the outermost library that fic2epub's code had called at that
moment (ebooklib, the standard library's zipfile, Pillow, fastText, ...; below the
innermost frame of fic2epub's, so a wrapper that calls back into fic2epub does not count),
or to fic2epub itself when it was in its own code or in a C built-in that its code called
directly (``str.replace``, a regex, lxml's parser): what a faster fic2epub could save at
most, and what it could not save while it calls the same libraries.

The corpus is the one ``bench_batch.py`` builds (same seed), in --workdir.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_batch import build_corpus

STAGES = ("decode", "parse", "language", "render", "cover", "package", "verify")


def stage_calls() -> Callable[[bytes, str], list[tuple[str, Callable[[], object]]]]:
    from fic2epub import pipeline
    from fic2epub.cover import generate_cover
    from fic2epub.decode import decode
    from fic2epub.model import Config
    from fic2epub.package import package
    from fic2epub.render import render
    from fic2epub.verify import check_words

    config = Config()
    css = pipeline.default_css()

    def run(data: bytes, name: str) -> list[tuple[str, Callable[[], object]]]:
        state: dict[str, Any] = {}

        def parse() -> None:
            state["story"] = pipeline.parse(data, name, config)

        def language() -> None:
            story = state["story"]
            story.metadata.language = state["lang"] = pipeline.detect_language(story)

        def render_() -> None:
            state["docs"] = render(state["story"], state["lang"])

        def cover() -> None:
            story = state["story"]
            state["cover"] = generate_cover(story.metadata, story.identifier)

        def package_() -> None:
            state["book"] = package(state["story"], state["docs"], css,
                                    state["lang"], state["cover"])

        def verify() -> None:
            check_words(state["story"], state["book"])

        # parse() decodes again: its "parse" time is measured minus a separate decode
        return [("decode", lambda: decode(data)), ("parse", parse), ("language", language),
                ("render", render_), ("cover", cover), ("package", package_),
                ("verify", verify)]

    return run


def owner(filename: str) -> str:
    import fic2epub

    if filename.startswith("~") or filename.startswith("<"):
        return "C built-ins"
    if filename.startswith(str(Path(fic2epub.__file__).resolve().parent) + os.sep):
        return "fic2epub's Python"
    if filename == str(Path(__file__).resolve()):
        return "fic2epub's Python"  # this script's own glue around each stage's call
    if "site-packages" in filename or "dist-packages" in filename:
        return "third-party Python"
    return "Python's standard library"


def _measure(run: Callable[[bytes, str], list[tuple[str, Callable[[], object]]]],
             inputs: list[tuple[bytes, str]],
             profiles: dict[str, cProfile.Profile]) -> dict[str, float]:
    """CPU seconds of each stage over ``inputs`` (the frame ``--sampled`` looks for)."""
    spent = dict.fromkeys(STAGES, 0.0)
    for data, name in inputs:
        for stage, call in run(data, name):
            prof = profiles.get(stage)
            start = time.process_time()
            if prof is not None:
                prof.runcall(call)
            else:
                call()
            spent[stage] += time.process_time() - start
    spent["parse"] = max(0.0, spent["parse"] - spent["decode"])  # parse() decodes too
    return spent


def stage_of_call() -> dict[str, str]:
    """The stage of each of :func:`stage_calls`' closures, by the function name py-spy
    shows for it (``parse``, ``render_``, ``<lambda>``, ...)."""
    return {call.__name__: stage for stage, call in stage_calls()(b"", "x.txt")}


_FRAME = re.compile(r"^(?P<func>.*) \((?P<file>[^()]*?)(?::\d+)?\)$")


def library_of(filename: str) -> str | None:
    """The library a frame of py-spy's raw output is in (``zipfile``, ``ebooklib``, ...);
    None for fic2epub and this script; "" for frames that count as their caller's: code
    generated at run time (``<string>``: dataclasses' ``__init__``) and the ``re``
    module's functions (``re.sub(pattern, ...)`` is the regex engine, reached through a
    pattern cache, like a compiled pattern's method)."""
    if filename.startswith("<frozen "):
        return filename[len("<frozen "):-1].split(".")[0]
    if filename.startswith("<"):
        return ""
    if filename == Path(__file__).name:
        return None
    top = Path(filename).parts[0].removesuffix(".py")
    if top in ("fic2epub", "bench_stages"):
        return None
    return "" if top == "re" else top


def classify_samples(raw: str,
                     stage_of: dict[str, str]) -> tuple[dict[str, dict[str, int]], int]:
    """Samples of the measured loop in py-spy's raw output, counted by stage and by the
    outermost library on the stack below fic2epub's code ("fic2epub" when there is none).
    The separate decode stage is left out: ``pipeline.parse`` decodes again, so the parse
    row holds decoding and the total counts it once."""
    table: dict[str, dict[str, int]] = {}
    total = 0
    for line in raw.splitlines():
        stack, _, count = line.rpartition(" ")
        frames = stack.split(";")
        names = [(m.group("func"), m.group("file")) if (m := _FRAME.match(f)) else (f, f)
                 for f in frames]
        at = next((i for i, (func, _f) in enumerate(names) if func == "_measure"), None)
        if at is None or at + 1 >= len(names):
            continue
        # the stage's closure, named by its qualified name ("stage_calls.<locals>.run.
        # <locals>.parse") or its plain name, by py-spy's version
        stage = stage_of.get(names[at + 1][0].rpartition(".<locals>.")[2] or
                             names[at + 1][0], "other")
        if stage == "decode":
            continue
        # the first library called after fic2epub's innermost frame: a library that
        # calls back into fic2epub (functools.cached_property, say) does not own what
        # runs inside the call, and the standard library helpers a library uses count
        # as that library's
        libs = [library_of(file) for _func, file in names[at + 1:]]
        own = [i for i, lib in enumerate(libs) if lib is None]
        after = libs[own[-1] + 1:] if own else libs
        who = next((lib for lib in after if lib), "fic2epub")
        row = table.setdefault(stage, {})
        row[who] = row.get(who, 0) + int(count)
        total += int(count)
    return table, total


def sampled(work: Path, stories: int, warm_up: int) -> None:
    spy = shutil.which("py-spy")
    if spy is None:
        print("\n--sampled: py-spy is not installed (pip install py-spy); skipped")
        return
    out = work / "py-spy.txt"
    cmd = [spy, "record", "--rate", "250", "--format", "raw", "--output", str(out), "--",
           sys.executable, __file__, "--only-loop", "--stories", str(stories),
           "--warm-up", str(warm_up), "--workdir", str(work)]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0 or not out.is_file():
        print(f"\n--sampled: py-spy failed: {proc.stderr.strip()[-500:]}")
        return
    table, total = classify_samples(out.read_text(encoding="utf-8"), stage_of_call())
    if not total:
        print("\n--sampled: no samples of the measured loop")
        return
    libs: dict[str, int] = {}
    for row in table.values():
        for who, n in row.items():
            libs[who] = libs.get(who, 0) + n
    print(f"\nwhose code the time is in (py-spy, {total} samples of the measured loop, the"
          " separate decode stage left out: parse decodes again; a library's share includes"
          " the C code it calls):")
    for who, n in sorted(libs.items(), key=lambda kv: -kv[1]):
        label = ("fic2epub (its Python and the C built-ins it calls)" if who == "fic2epub"
                 else who)
        print(f"  {label:<52} {100 * n / total:5.1f}%")
    print("  by stage (share of all samples; fic2epub's part of the stage; the libraries):")
    for stage, row in sorted(table.items(), key=lambda kv: -sum(kv[1].values())):
        n = sum(row.values())
        others = ", ".join(f"{who} {100 * k / n:.0f}%" for who, k in
                           sorted(row.items(), key=lambda kv: -kv[1])
                           if who != "fic2epub" and 100 * k / n >= 1)
        label = "parse (+decode)" if stage == "parse" else stage
        print(f"    {label:<16} {100 * n / total:5.1f}%  fic2epub "
              f"{100 * row.get('fic2epub', 0) / n:3.0f}%  {others}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--stories", type=int, default=300)
    ap.add_argument("--warm-up", type=int, default=100)
    ap.add_argument("--workdir", type=Path, default=None)
    ap.add_argument("--profile", action="store_true")
    ap.add_argument("--rates", default=None,
                    help="FLOOR,PANDOC,CALIBRE stories/s from bench_batch.py: print the "
                         "CPU budget a story has to meet the targets")
    ap.add_argument("--cores", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--sampled", action="store_true",
                    help="also run the loop under py-spy and say whose code the time is in")
    ap.add_argument("--only-loop", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()

    work = args.workdir or Path(tempfile.mkdtemp(prefix="fic2epub-stages-"))
    files = build_corpus(work / "corpus-stages", args.stories + args.warm_up)
    os.environ.setdefault("XDG_CACHE_HOME", str(work / "cache"))
    from fic2epub.pipeline import warm_up

    warm_up()
    run = stage_calls()
    inputs = [(p.read_bytes(), p.name) for p in files]
    for data, name in inputs[args.stories:]:
        for _stage, call in run(data, name):
            call()

    profiles = {s: cProfile.Profile() for s in STAGES} if args.profile else {}
    spent = _measure(run, inputs[:args.stories], profiles)
    if args.only_loop:
        return

    n = args.stories
    total = sum(spent.values())
    print(f"{n} stories from {work / 'corpus-stages'}, after {args.warm_up} to warm up;"
          f" CPU ms a story{' (under cProfile: slower than without)' if args.profile else ''}")
    for stage in STAGES:
        print(f"  {stage:<9} {1000 * spent[stage] / n:7.2f} ms  {100 * spent[stage] / total:5.1f}%")
    print(f"  {'total':<9} {1000 * total / n:7.2f} ms")

    if args.profile:
        print("\nwhose code the time is in (cProfile's own time of each function; the parse"
              " row includes decoding again, as pipeline.parse decodes):")
        kinds = ["fic2epub's Python", "C built-ins", "third-party Python",
                 "Python's standard library"]
        print(f"  {'stage':<9}" + "".join(f"{k:>27}" for k in kinds))
        sums = dict.fromkeys(kinds, 0.0)
        for stage in STAGES:
            stats = pstats.Stats(profiles[stage]).stats  # type: ignore[attr-defined]
            by = dict.fromkeys(kinds, 0.0)
            for (filename, _line, _func), (_cc, _nc, tottime, _ct, _callers) in stats.items():
                by[owner(filename)] += tottime
            whole = sum(by.values()) or 1.0
            for k in kinds:
                sums[k] += by[k]
            print(f"  {stage:<9}" + "".join(f"{100 * by[k] / whole:26.0f}%" for k in kinds))
        whole = sum(sums.values()) or 1.0
        print(f"  {'all':<9}" + "".join(f"{100 * sums[k] / whole:26.0f}%" for k in kinds))

    if args.sampled:
        sampled(work, args.stories, args.warm_up)

    if args.rates:
        floor, pandoc, calibre = (float(x) for x in args.rates.split(","))
        print(f"\nCPU budget a story, on {args.cores} cores, for each target "
              f"(now: {1000 * total / n:.1f} ms in these stages alone):")
        for label, rate in ((f"within 5x of the floor ({floor:g}/s)", floor / 5),
                            (f">= 20x pandoc ({pandoc:g}/s)", pandoc * 20),
                            (f">= 200x calibre ({calibre:g}/s)", calibre * 200)):
            print(f"  {label:<34} needs {rate:6.1f} stories/s = "
                  f"{1000 * args.cores / rate:5.1f} ms CPU a story")


if __name__ == "__main__":
    main()
