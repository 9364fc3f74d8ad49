"""Batch conversion benchmark: fic2epub vs pandoc vs calibre, plus a floor, memory and
incremental figures.

    python3 benchmarks/bench_batch.py     # 1,000 stories; pandoc on all, calibre on 100
    python3 benchmarks/bench_batch.py --stories 10000 --peer-sample 0 --big-file-mb 50
    python3 benchmarks/bench_batch.py --build-options '--no-cover --no-verify'

Peers (Debian packages): `apt-get install pandoc calibre`. A missing peer is skipped.
pandoc and calibre start one process per story, as users run them, and each share of
stories is converted twice (--peer-jobs, default "1,JOBS"): one process at a time, the
way issue #4 quotes their rates (calibre 0.65 s a story = 1.5 stories/s, pandoc 0.063 s
= 16 stories/s, "each one process per story"), and JOBS processes at a time, using every
core as fic2epub does (a user with ``xargs -P``). Both ratios are printed, and fic2epub's
rate against the issue's own figures (20 x 16 = 320 and 200 x 1.5 = 300 stories/s).
pandoc converts the first --peer-sample stories (default: all of them), calibre the
first --calibre-sample (default 100: at ~0.7 s a story all 1,000 would take ~6 minutes
on 2 cores); both are the same files fic2epub converts, and rates are per story. Their
samples are split into one share per round (every third story with --repeat 3), each
converted after that round's fic2epub build (pandoc's share first, then calibre's), and
each ratio is fic2epub's rate in a round over the peer's rate in that round's share: the
median of those is the figure printed against the target.
fic2epub runs as its CLI, `fic2epub build DIR -o OUT -j JOBS -q --force`, over the whole
corpus. The floor is one process reading each file and writing it deflated into a zip.
Memory is measured in a separate build (sampling every process's RSS and PSS costs CPU
and slowed the timed build by up to 2x when they were one run). fic2epub's one-time
set-up on a machine (checking its cover glyphs and coding its blank covers into the user
cache, here a folder of the work directory) is done and timed by a one-story run before
the timed builds.

This machine's speed can change by 2x from one minute to the next (a VM sharing its
cores), and a rate measured a minute apart from another says little about their ratio.
So the floor and fic2epub's first build run --repeat times (default 3), one after the
other in turn, each followed by a share of the peers' stories (above), and the ratios of
each round are compared, their median printed; every run is printed. Before each timed
run the disk is synced, so that no run pays for writing back what the one before wrote.

The corpus is deterministic: story-sized pieces (1,500-4,500 words) cut from
../shared/corpus/files and ../shared/samples, each given a header block.
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"


def build_corpus(dest: Path, count: int) -> list[Path]:
    sys.path.insert(0, str(ROOT))
    from fic2epub.decode import decode

    sources = sorted((SHARED / "corpus" / "files").glob("*")) + sorted(
        (SHARED / "samples").glob("*.txt"))
    paragraphs: list[str] = []
    for src in sources:
        text = decode(src.read_bytes()).text
        paragraphs.extend(p.strip() for p in text.split("\n\n") if len(p.split()) >= 5)
    rng = random.Random(20261121)
    dest.mkdir(parents=True, exist_ok=True)
    files = []
    pos = 0
    for n in range(count):
        target = rng.randint(1500, 4500)
        body: list[str] = []
        words = 0
        while words < target:
            para = paragraphs[pos % len(paragraphs)]
            pos += 1
            body.append(para)
            words += len(para.split())
            if rng.random() < 0.03:
                body.append(rng.choice(["* * *", "~*~", "oOo", "***"]))
        header = (f"Title: Bench Story {n:05d}\nAuthor: Author {n % 97}\nRating: T\n"
                  f"Summary: Story number {n} of the benchmark corpus.\n"
                  f"Disclaimer: Test data.\n\n")
        path = dest / f"{n // 1000:02d}" / f"story_{n:05d}.txt"
        path.parent.mkdir(exist_ok=True)
        path.write_text(header + "\n\n".join(body) + "\n", encoding="utf-8")
        files.append(path)
    return files


def _pss_kb(pid: int) -> int:
    """PSS of one process from /proc/PID/smaps_rollup (cheap to read, unlike smaps)."""
    with open(f"/proc/{pid}/smaps_rollup", encoding="ascii") as fh:
        for line in fh:
            if line.startswith("Pss:"):
                return int(line.split()[1])
    return 0


class PeakRSS:
    """Peak memory of a process and all its children (sampled every 100 ms): the sum of
    RSS (counts pages that forked workers share with their parent once per process), the
    sum of PSS (shared pages split between the processes sharing them: what the tree
    really uses), and the largest single RSS. Sampling costs CPU, so the timed runs are
    separate runs without it."""

    def __init__(self, pid: int) -> None:
        import psutil

        self.proc = psutil.Process(pid)
        self.peak = 0
        self.peak_pss = 0
        self.peak_single = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        import psutil

        while not self._stop.is_set():
            try:
                procs = [self.proc, *self.proc.children(recursive=True)]
                rss = [p.memory_info().rss for p in procs]
                self.peak = max(self.peak, sum(rss))
                self.peak_single = max(self.peak_single, max(rss))
                try:
                    pss = sum(_pss_kb(p.pid) for p in procs) * 1024
                    self.peak_pss = max(self.peak_pss, pss)
                except OSError:
                    pass
            except psutil.Error:
                pass
            time.sleep(0.1)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_fic2epub(src: Path, out: Path, jobs: int, force: bool = True,
                 memory: bool = False) -> tuple[float, int, int, int, float]:
    """Wall seconds, peak RSS summed, peak PSS summed, peak single RSS (0 unless
    ``memory``), CPU seconds of the whole process tree (user + system)."""
    cmd = [sys.executable, "-m", "fic2epub", "build", str(src), "-o", str(out), "-j", str(jobs),
           "-q", *BUILD_OPTIONS]
    if force:
        cmd.append("--force")
    cpu = _children_cpu()
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=ENV)
    peak = PeakRSS(proc.pid) if memory else None
    _, err = proc.communicate()
    elapsed = time.perf_counter() - start
    if peak is not None:
        peak.stop()
    if proc.returncode != 0:
        sys.exit(f"fic2epub failed ({proc.returncode}): {err.decode()[-2000:]}")
    if peak is None:
        return elapsed, 0, 0, 0, _children_cpu() - cpu
    return elapsed, peak.peak, peak.peak_pss, peak.peak_single, _children_cpu() - cpu


BUILD_OPTIONS: list[str] = []
"""More options for every fic2epub build (``--build-options``), e.g. ``--no-cover``."""

ENV = dict(os.environ)
"""Environment of the fic2epub runs: main() points XDG_CACHE_HOME into the work folder.
PYTHONDONTWRITEBYTECODE is dropped: where it is set (this sandbox sets it), every run
compiles fic2epub's modules from source again (~0.3 s of CPU at each start), while an
installed fic2epub has its byte code cached (pip compiles it at install; an editable
install caches it at the first run, here the untimed set-up run)."""
ENV.pop("PYTHONDONTWRITEBYTECODE", None)


PEERS = {"pandoc": "pandoc", "calibre": "ebook-convert"}
"""Each peer's command (Debian packages ``pandoc`` and ``calibre``)."""

TARGETS = {"pandoc": 20, "calibre": 200}
"""Issue #4's goals: fic2epub at least this many times as fast as the peer."""

ISSUE_RATES = {"pandoc": 16.0, "calibre": 1.5}
"""The peers' rates issue #4 quotes (stories a second, one process per story: pandoc
0.063 s a story, calibre 0.65 s), measured on the issue writer's 2-core machine."""


def run_peer(name: str, files: list[Path], out: Path, jobs: int) -> tuple[float, float]:
    """Wall seconds and CPU seconds (user + system, all its processes) for ``name`` (which
    must be installed) to convert ``files``, JOBS processes at a time."""
    exe = PEERS[name]
    out.mkdir(parents=True, exist_ok=True)

    def one(path: Path) -> bool:
        target = out / f"{path.stem}.epub"
        cmd = ([exe, str(path), "-f", "markdown", "-o", str(target)] if name == "pandoc"
               else [exe, str(path), str(target)])
        proc = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              check=False)
        return proc.returncode == 0

    from concurrent.futures import ThreadPoolExecutor

    cpu = _children_cpu()
    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        ok = list(pool.map(one, files))
    elapsed = time.perf_counter() - start
    if not all(ok):
        print(f"{name}: {ok.count(False)} of {len(files)} stories failed to convert")
    return elapsed, _children_cpu() - cpu


def floor(files: list[Path], out: Path) -> float:
    """Read each file and write it deflated into a zip: the least any converter does."""
    out.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    for path in files:
        data = path.read_bytes()
        with zipfile.ZipFile(out / f"{path.stem}.zip", "w", zipfile.ZIP_DEFLATED) as zf:
            zf.writestr("story.txt", data)
    return time.perf_counter() - start


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--stories", type=int, default=1000)
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--peer-sample", type=int, default=None,
                    help="stories for pandoc (default: all; 0 = skip the peers)")
    ap.add_argument("--calibre-sample", type=int, default=100,
                    help="stories for calibre (default 100)")
    ap.add_argument("--peer-jobs", default=None,
                    help="comma-separated processes at a time for the peers, each a "
                         "separate conversion of every share (default: 1 and --jobs)")
    ap.add_argument("--big-file-mb", type=int, default=0,
                    help="also convert one story file of this many MB and report its memory")
    ap.add_argument("--workdir", type=Path, default=None)
    ap.add_argument("--repeat", type=int, default=3,
                    help="timed runs of the floor and of fic2epub, in turn (medians compared)")
    ap.add_argument("--build-options", default="",
                    help="more options for fic2epub build, in one string (e.g. "
                         "'--no-cover --no-verify', to see what a feature costs)")
    args = ap.parse_args()
    BUILD_OPTIONS.extend(shlex.split(args.build_options))
    try:
        peer_jobs = sorted({int(j) for j in (args.peer_jobs or f"1,{args.jobs}").split(",")})
    except ValueError:
        ap.error(f"--peer-jobs: not a list of numbers: {args.peer_jobs!r}")
    if not peer_jobs or min(peer_jobs) < 1:
        ap.error("--peer-jobs: each number must be at least 1")

    work = args.workdir or Path(tempfile.mkdtemp(prefix="fic2epub-bench-"))
    src = work / "corpus"
    if src.exists():
        shutil.rmtree(src)
    files = build_corpus(src, args.stories)
    words = sum(len(p.read_text(encoding="utf-8").split()) for p in files)
    print(f"corpus: {len(files)} stories, {words:,} words, "
          f"{sum(p.stat().st_size for p in files) / 1e6:.1f} MB, in {src}")
    print(f"machine: {os.cpu_count()} cores; jobs={args.jobs}"
          + (f"; fic2epub build {' '.join(BUILD_OPTIONS)}" if BUILD_OPTIONS else ""))

    # One story with an empty user cache: the first run of fic2epub on a machine fills it
    # (cover glyph check, coded blank covers); then one story with it, as every run after.
    ENV["XDG_CACHE_HOME"] = str(work / "cache")
    shutil.rmtree(work / "cache", ignore_errors=True)
    t_setup = run_fic2epub(files[0], work / "out-one", 1)[0]
    t_one = run_fic2epub(files[0], work / "out-one", 1)[0]

    out = work / "out"
    shutil.rmtree(work / "out-memory", ignore_errors=True)
    rounds = max(1, args.repeat)
    peer_sample = len(files) if args.peer_sample is None else min(args.peer_sample, len(files))
    peers = {"pandoc": peer_sample, "calibre": min(args.calibre_sample, peer_sample)}
    for name in list(peers):
        if peers[name] and shutil.which(PEERS[name]) is None:
            print(f"{name}: not installed, skipped (apt-get install {name})")
            peers[name] = 0
    floors: list[float] = []
    firsts: list[tuple[float, float]] = []  # (seconds, CPU seconds)
    # (name, processes at a time) -> (round, stories, wall seconds, CPU seconds) of each
    # share
    peer_runs: dict[tuple[str, int], list[tuple[int, int, float, float]]] = {
        (n, j): [] for n in peers for j in peer_jobs}
    for k in range(rounds):
        shutil.rmtree(work / "floor", ignore_errors=True)
        os.sync()
        floors.append(floor(files, work / "floor"))
        shutil.rmtree(out, ignore_errors=True)
        os.sync()
        t, _, _, _, cpu = run_fic2epub(src, out, args.jobs)
        firsts.append((t, cpu))
        rate_k = len(files) / t
        line = (f"run {k + 1}: floor {floors[-1]:.2f} s ({len(files) / floors[-1]:.1f}/s), "
                f"fic2epub {t:.2f} s ({rate_k:.1f}/s, {1000 * cpu / len(files):.1f} ms "
                f"CPU a story)")
        for name, n in peers.items():
            # each round converts its own share of the sample (every ROUNDS-th story)
            # after fic2epub's run, so that the rates compared share the machine's mood
            share = files[:n][k::rounds]
            if not share:
                continue
            for jobs in peer_jobs:
                shutil.rmtree(work / name, ignore_errors=True)
                os.sync()
                secs, cpu_peer = run_peer(name, share, work / name, jobs)
                peer_runs[name, jobs].append((k, len(share), secs, cpu_peer))
                peer_rate = len(share) / secs
                line += (f", {name} -j{jobs} {len(share)} in {secs:.2f} s "
                         f"({peer_rate:.2f}/s: fic2epub {rate_k / peer_rate:.1f}x)")
        print(line)
    t_floor = statistics.median(floors)
    rate_floor = len(files) / t_floor
    t_first = statistics.median(t for t, _ in firsts)
    cpu_first = statistics.median(cpu for _, cpu in firsts)
    rate = len(files) / t_first
    os.sync()
    t_second, _, _, _, _ = run_fic2epub(src, out, args.jobs, force=False)
    # memory: a separate full build, sampled (the sampling would slow the timed run)
    _, peak_all, peak_pss, peak_one, _ = run_fic2epub(src, work / "out-memory", args.jobs,
                                                      memory=True)

    print()
    print(f"{'tool':<10} {'stories':>8} {'seconds':>9} {'stories/s':>10} {'CPU ms a story':>15}")
    print(f"{'floor':<10} {len(files):>8} {t_floor:>9.2f} {rate_floor:>10.1f} {'':>15}"
          + (f"  (median of {len(floors)} runs)" if len(floors) > 1 else ""))
    print(f"{'fic2epub':<10} {len(files):>8} {t_first:>9.2f} {rate:>10.1f} "
          f"{1000 * cpu_first / len(files):>15.1f}"
          + (f"  (median of {len(firsts)} runs)" if len(firsts) > 1 else ""))
    ratios: dict[tuple[str, int], list[float]] = {}
    for (name, jobs), runs in peer_runs.items():
        if not runs:
            continue
        n = sum(r[1] for r in runs)
        secs = sum(r[2] for r in runs)
        cpu = sum(r[3] for r in runs)
        label = f"{name} -j{jobs}"
        print(f"{label:<10} {n:>8} {secs:>9.2f} {n / secs:>10.2f} {1000 * cpu / n:>15.1f}"
              + (f"  (in {len(runs)} shares, one after each fic2epub run)" if len(runs) > 1
                 else ""))
        # each fic2epub run against the share converted right after it
        ratios[name, jobs] = [(len(files) / firsts[k][0]) / (count / secs_k)
                              for k, count, secs_k, _ in runs]
    print()
    for (name, jobs), rs in ratios.items():
        target = TARGETS[name]
        median = statistics.median(rs)
        how = ("one process at a time, as issue #4 quotes the peers' rates" if jobs == 1
               else f"{jobs} processes at a time")
        print(f"fic2epub / {name} ({how}): {median:.1f}x (median of the runs: "
              f"{', '.join(f'{r:.1f}x' for r in rs)}); target {target}x: "
              f"{'met' if median >= target else 'not met'}")
    for name, target in TARGETS.items():
        quoted = ISSUE_RATES[name]
        print(f"fic2epub against issue #4's own {name} figure ({quoted} stories/s, "
              f"measured elsewhere): {rate / quoted:.1f}x = {rate:.1f} of the "
              f"{target * quoted:.0f} stories/s that {target}x asks for")
    floor_ratios = [(len(files) / f) / (len(files) / t) for f, (t, _) in zip(floors, firsts,
                                                                          strict=True)]
    print(f"fic2epub vs floor: {statistics.median(floor_ratios):.1f}x slower than reading + "
          f"zipping (median of the runs: {', '.join(f'{r:.1f}x' for r in floor_ratios)}); "
          f"target 5x")
    print(f"peak memory, fic2epub over {len(files)} stories: {peak_pss / 2**20:.0f} MB PSS "
          f"(all processes, shared pages counted once), {peak_all / 2**20:.0f} MB RSS summed "
          f"over processes, {peak_one / 2**20:.0f} MB largest single process")
    print(f"CPU time, fic2epub: {1000 * cpu_first / len(files):.1f} ms a story "
          f"(all processes, user + system)")
    print(f"second build (unchanged): {t_second:.2f} s = {100 * t_second / t_first:.1f}% "
          f"of the first")
    print(f"one story, whole command: {t_one:.2f} s; the very first run on a machine "
          f"(fills the user cache, untimed above): {t_setup:.2f} s")

    if args.big_file_mb:
        big = work / "big" / "huge_story.txt"
        big.parent.mkdir(exist_ok=True)
        with big.open("w", encoding="utf-8") as fh:
            fh.write("Title: A Very Long Story\nAuthor: Bench\n\n")
            k = 0
            while fh.tell() < args.big_file_mb * 2**20:
                fh.write(files[k % len(files)].read_text(encoding="utf-8").split("\n\n", 1)[1])
                fh.write("\n\n")
                k += 1
        t_big, _, _, _, _ = run_fic2epub(big, work / "big_out", 1)
        _, peak_big, pss_big, _, _ = run_fic2epub(big, work / "big_out", 1, memory=True)
        print(f"{big.stat().st_size / 2**20:.0f} MB story: {t_big:.1f} s, peak memory "
              f"{peak_big / 2**20:.0f} MB RSS ({pss_big / 2**20:.0f} MB PSS)")


if __name__ == "__main__":
    main()
