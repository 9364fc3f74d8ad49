"""One `fic2epub build`, run in this process: wall time, and CPU time of the parent and of
its worker processes, in all and per story.

    python3 benchmarks/build_cpu.py /tmp/bench1k/corpus -o /tmp/out -j 2 -q --force
    python3 benchmarks/build_cpu.py /tmp/bench1k/corpus -o /tmp/out -j 2 -q --force \\
        --no-cover --no-verify

The arguments are those of `fic2epub build`. Where bench_batch.py compares tools, this
splits fic2epub's own CPU between the parent (finding files, settings, the cache,
printing) and the workers (the conversions), to see what an option or a change costs.
"""

from __future__ import annotations

import contextlib
import io
import json
import resource
import sys
import time


def main() -> None:
    if len(sys.argv) < 2 or {"-h", "--help"} & set(sys.argv[1:]):
        sys.exit(__doc__)
    started = time.perf_counter()
    from fic2epub.cli import cli

    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.suppress(SystemExit):
        cli.main(["build", "--json", *sys.argv[1:]], standalone_mode=False)
    wall = time.perf_counter() - started
    try:
        summary = json.loads(out.getvalue())["summary"]
    except (ValueError, KeyError):  # the build did not run (a usage error, say)
        sys.exit(f"fic2epub build gave no summary:\n{out.getvalue()}")
    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    parent, workers = me.ru_utime + me.ru_stime, kids.ru_utime + kids.ru_stime
    n = max(1, summary["converted"])
    print(f"{summary['converted']} converted, {summary['skipped']} skipped, "
          f"{summary['failed']} failed in {wall:.2f} s; CPU: parent {parent:.2f} s, "
          f"workers {workers:.2f} s = {1000 * (parent + workers) / n:.1f} ms a story "
          f"converted ({1000 * parent / n:.2f} parent, {1000 * workers / n:.1f} workers)")


if __name__ == "__main__":
    main()
