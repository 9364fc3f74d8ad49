"""CPU instructions a bench story costs: a figure that, unlike seconds, hardly changes
with the speed of a shared machine.

    python3 benchmarks/count_instructions.py              # fic2epub as installed
    python3 benchmarks/count_instructions.py --source DIR  # a checkout or a copy of it

Runs ``prepare_file`` (the whole conversion of one file, without writing the book) in a
fresh process over 100 bench stories to warm up and then N stories (default 300), under
``perf stat -e instructions``, and again over the warm-up alone; the difference divided
by N is printed. ``PYTHONHASHSEED=0`` (string hashing changes the work of sets and dicts
from run to run: up to 1.5 M instructions a story without it), a user cache in the work
folder. Needs Linux ``perf`` (Debian: ``apt-get install linux-perf``) and permission to
count (``/proc/sys/kernel/perf_event_paranoid`` <= 2, or root).

The corpus is the one ``bench_batch.py`` builds (same seed), in --workdir.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_batch import build_corpus

_LOOP = """
import sys
from pathlib import Path
from fic2epub.files import prepare_file
from fic2epub.model import Config
files = [Path(p) for p in sys.argv[1].split(",")]
warm, count = int(sys.argv[2]), int(sys.argv[3])
config = Config()
for f in files[len(files) - warm:] + files[:count]:
    result, _book = prepare_file(f, config)
    if result.error:
        sys.exit(f"{f}: {result.error}")
"""


def instructions(files: list[Path], warm: int, count: int, env: dict[str, str],
                 cwd: Path) -> int:
    """Run in ``cwd`` (not the project folder, whose ``fic2epub/`` would be imported
    instead of --source's)."""
    proc = subprocess.run(
        ["perf", "stat", "-x,", "-e", "instructions", sys.executable, "-c", _LOOP,
         ",".join(map(str, files)), str(warm), str(count)],
        env=env, cwd=cwd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        sys.exit(f"perf stat failed: {proc.stderr.strip()[-500:]}")
    counts = []  # one line, or one per kind of core (cpu_core/instructions/, cpu_atom/...)
    for line in proc.stderr.splitlines():
        fields = line.split(",")
        if len(fields) > 2 and "instructions" in fields[2] and fields[0].isdigit():
            counts.append(int(fields[0]))
    if not counts:
        sys.exit(f"perf stat printed no instruction count: {proc.stderr.strip()[-500:]}")
    return sum(counts)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--stories", type=int, default=300)
    ap.add_argument("--warm-up", type=int, default=100)
    ap.add_argument("--source", type=Path, default=None,
                    help="import fic2epub from this folder (PYTHONPATH) instead")
    ap.add_argument("--workdir", type=Path, default=None)
    args = ap.parse_args()
    if shutil.which("perf") is None:
        sys.exit("perf is not installed (Debian: apt-get install linux-perf)")

    work = args.workdir or Path(tempfile.mkdtemp(prefix="fic2epub-instructions-"))
    files = build_corpus(work / "corpus-stages", args.stories + args.warm_up)
    env = {**os.environ, "PYTHONHASHSEED": "0", "XDG_CACHE_HOME": str(work / "cache")}
    if args.source is not None:
        env["PYTHONPATH"] = str(args.source.resolve())
        probe = subprocess.run([sys.executable, "-c", "import fic2epub; print(fic2epub.__file__)"],
                               env=env, cwd=work, capture_output=True, text=True, check=True)
        print(f"fic2epub imported from {probe.stdout.strip()}")
    instructions(files, args.warm_up, 1, env, work)  # fills the user cache (untimed)
    base = instructions(files, args.warm_up, 0, env, work)
    full = instructions(files, args.warm_up, args.stories, env, work)
    print(f"{(full - base) / args.stories / 1e6:.2f} M instructions a story "
          f"({args.stories} bench stories after {args.warm_up}; fic2epub from "
          f"{args.source or 'the installed package'})")


if __name__ == "__main__":
    main()
