"""Many files: tasks, executors, incremental skips, streaming results.

The per-file work is :func:`run_task`, a plain function of a picklable :class:`Task`,
so any executor can map it: a local process pool (default, ``jobs`` workers), or a Dask
cluster. Results stream back as they finish; at most a few tasks per worker are in
flight, so memory stays flat however many files there are.
"""

from __future__ import annotations

import contextlib
import dataclasses
import gc
import hashlib
import itertools
import json
import os
import stat
import sys
import time
from collections.abc import Callable, Collection, Generator, Iterable, Iterator, Sized
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeGuard

from . import __version__
from .files import convert_file, prepare_file, recordable_stat, write_book
from .model import Config, Result
from .usercache import write_file

if TYPE_CHECKING:
    from concurrent.futures import Future
    from multiprocessing.context import BaseContext

# multiprocessing and concurrent.futures (~30 ms to import) are imported where a batch
# converts, not with this module: a build with every book up to date does not need them.

CACHE_FILE = ".fic2epub-cache.json"


@dataclass(frozen=True)
class Task:
    source: str
    output: str | None
    config: Config
    key: str = ""
    """Fingerprint of the settings (for the incremental cache)."""
    proof: bool = False
    """Also proofread the story (``build --check``), with ``config.proof``."""


def run_task(task: Task) -> Result:
    """Convert one file. Never raises for a problem with that file."""
    try:
        return convert_file(Path(task.source), Path(task.output) if task.output else None,
                            task.config, task.proof)
    except Exception as exc:
        return internal_error(task, exc)


def internal_error(task: Task, exc: Exception) -> Result:
    """The Result of a task that raised past the guards of :func:`convert_file` (a bug in
    fic2epub): that file fails, on one line, and the batch goes on."""
    return Result(input=task.source, output=None, ok=False,
                  error=f"internal error ({type(exc).__name__}: {exc}); please report it")


def settings_key(config: Config) -> str:
    """Fingerprint of everything besides the input that shapes the output."""
    data = dataclasses.asdict(config)
    # proofing settings do not shape the book: a word added to a list rebuilds nothing
    del data["proof"]
    data["version"] = __version__
    # files the settings name: their content, not only their path (a cover image or a
    # stylesheet replaced under the same name must rebuild the books)
    for name, path in (("stylesheet", config.stylesheet), ("cover_image", config.cover_image)):
        if path is not None:
            try:
                data[f"{name}_sha256"] = hashlib.sha256(path.read_bytes()).hexdigest()
            except OSError:
                data[f"{name}_sha256"] = "unreadable"
    blob = json.dumps(data, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


CACHE_VERSION = 2
"""1: entries keyed by the output path as given. 2: keyed by the path inside the output
folder, with the input's path relative to the output folder and the book's warnings."""


def _valid_entry(entry: object) -> TypeGuard[dict[str, Any]]:
    """Whether a cache entry read from disk has the shape :meth:`Cache.record` writes (a
    damaged or hand-edited cache costs a rebuild, never a crash). Checked when an entry
    is used, not for all of them when the cache is read."""
    if not isinstance(entry, dict):
        return False
    stat = entry.get("stat")
    warnings = entry.get("warnings")
    return (isinstance(entry.get("key"), str) and isinstance(entry.get("source"), str)
            and isinstance(entry.get("sha256"), str)
            and isinstance(stat, list) and len(stat) == 2
            and all(type(v) is int for v in stat)
            and all(isinstance(entry.get(k), (str, type(None))) for k in ("title", "author"))
            and all(type(entry.get(k)) is int for k in ("words", "scenes"))
            and isinstance(warnings, list) and all(isinstance(w, str) for w in warnings))


class Cache:
    """Which outputs are up to date: book (its path inside the output folder) -> the
    input it was made from (its path relative to the output folder: a project copied or
    moved with its output keeps its cache), that input's fingerprint, and the settings.

    Written atomically (temp file + rename), so an interrupted or concurrent run never
    leaves it corrupt; at worst a book is rebuilt."""

    def __init__(self, out_dir: Path) -> None:
        self.path = out_dir / CACHE_FILE
        self._prefix = os.path.join(str(out_dir), "")
        self._cwd = os.getcwd()
        self._out_abs = os.path.normpath(os.path.join(self._cwd, str(out_dir)))
        self._sources: dict[str, str] = {}
        self._folders: dict[str, str] = {}
        self.entries: dict[str, dict[str, Any]] = {}
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            entries = data.get("entries") if isinstance(data, dict) and \
                data.get("version") == CACHE_VERSION else None
            if isinstance(entries, dict):
                self.entries = entries
        except (OSError, ValueError):
            self.entries = {}
        self.dirty = 0
        self.saved_at = time.monotonic()
        self.save_failed = False

    def _source(self, source: str) -> str:
        """An input's path as the cache records it: relative to the output folder, with
        ``/`` (the absolute path when there is none: another drive on Windows)."""
        key = self._sources.get(source)
        if key is None:
            folder, name = os.path.split(source)
            rel = self._folders.get(folder)
            if rel is None:  # once a folder (relpath is slow), one getcwd a build
                path = os.path.normpath(os.path.join(self._cwd, folder))
                try:
                    rel = os.path.relpath(path, self._out_abs).replace(os.sep, "/")
                except ValueError:
                    rel = path
                self._folders[folder] = rel
            key = self._sources[source] = f"{rel}/{name}"
        return key

    def source_key(self, source: str) -> str:
        """An input's path as the cache records it (see :meth:`_source`)."""
        return self._source(source)

    def books_by_source(self) -> dict[str, list[tuple[str, str]]]:
        """The books the cache records (names in the output folder, ``/``) and their
        formats (``epub``, ``kepub``), by the key of the input each was made from, in name
        order: where a build puts an input's book again
        (:func:`~fic2epub.files.earlier_output`, which checks that it exists), so that it
        keeps its name and place when other inputs come or go or when it is built on its
        own. Only EPUBs inside the output folder (a damaged cache cannot point
        elsewhere)."""
        out: dict[str, list[tuple[str, str]]] = {}
        inside = self._inside_checker()
        for name in sorted(self.entries):
            entry = self.entries[name]
            if isinstance(entry, dict) and isinstance(entry.get("source"), str) and \
                    inside(name) is not None:
                out.setdefault(entry["source"], []).append((name.replace("\\", "/"),
                                                            _format(name, entry)))
        return out

    def by_real_source(self, by_source: dict[str, list[tuple[str, str]]]
                       ) -> dict[str, list[tuple[str, str]]]:
        """:meth:`books_by_source`'s answer keyed by each input's real path: for an input
        reached by another path than the cache records (through a symlinked folder)."""
        realpath = _realpath_by_folder()
        out: dict[str, list[tuple[str, str]]] = {}
        for source, books in by_source.items():
            real = realpath(os.path.normpath(os.path.join(self._out_abs, source)))
            out.setdefault(real, []).extend(books)
        return out

    def _inside_checker(self) -> Callable[[str], str | None]:
        """A function: an entry's name -> the path of its book, if that is an EPUB inside
        the output folder (checked lexically, then on the real path of its folder, once a
        folder: a symlinked subfolder may lead out), else None."""
        real_out = os.path.join(os.path.realpath(self._out_abs), "")
        folders: dict[str, bool] = {}

        def inside(name: str) -> str | None:
            if not name.endswith(".epub") or os.path.isabs(name):
                return None
            folder = name.replace("\\", "/").rpartition("/")[0]
            if folder and {"..", ".", ""} & set(folder.split("/")):
                return None
            ok = folders.get(folder)
            if ok is None:
                real = os.path.realpath(os.path.join(self._out_abs, folder))
                ok = folders[folder] = os.path.join(real, "").startswith(real_out)
            return os.path.normpath(os.path.join(self._out_abs, name)) if ok else None

        return inside

    def claimed(self, sources: set[str]) -> set[str]:
        """The books (as :func:`~fic2epub.files.output_path` marks names taken: real
        path, ``/``, case-folded) that the cache holds for inputs other than ``sources``
        that still exist: another input folder built into the same output folder before.
        An input reached by another path (a symlinked folder) is not another input."""
        mine = {self._source(s) for s in sources}
        others = [(name, os.path.join(self._out_abs, entry["source"]))
                  for name, entry in self.entries.items()
                  if isinstance(entry, dict) and isinstance(entry.get("source"), str)
                  and entry["source"] not in mine]
        if not others:
            return set()
        real_mine = {os.path.realpath(s) for s in sources}
        folder = str(Path(self._out_abs).resolve())
        return {f"{folder}/{name.replace(os.sep, '/')}".casefold() for name, src in others
                if os.path.isfile(src) and os.path.realpath(src) not in real_mine
                and os.path.isfile(os.path.join(self._out_abs, name))}

    def _name(self, output: str) -> str:
        """The book's path inside the output folder: the same however the folder was
        given (``out``, ``./out``, ``/abs/out``) and wherever the build runs from."""
        if output.startswith(self._prefix):
            return output[len(self._prefix):]
        return os.path.relpath(output, self._prefix)

    @staticmethod
    def _stat(source: str) -> tuple[int, int] | None:
        try:
            st = os.stat(source)
        except OSError:
            return None
        return st.st_size, st.st_mtime_ns

    @staticmethod
    def _digest(source: Path) -> str | None:
        try:
            return hashlib.sha256(source.read_bytes()).hexdigest()
        except OSError:
            return None

    def fresh(self, task: Task) -> bool:
        if task.output is None:
            return False
        entry = self.entries.get(self._name(task.output))
        # os.path, not pathlib: this runs for every file of a batch, most often for a
        # build in which nothing changed. The book must have been made from this input:
        # which input gets a name can change when other inputs come or go.
        if not _valid_entry(entry) or entry["key"] != task.key or \
                type(entry.get("size")) is not int or \
                entry["size"] != _file_size(task.output):
            return False  # (a book gone, or replaced or cut short since: its size differs)
        if entry["source"] != self._source(task.source) and \
                os.path.realpath(os.path.join(self._out_abs, entry["source"])) != \
                os.path.realpath(task.source):
            return False  # another input's book (the same file by another path is not)
        stat = self._stat(task.source)
        if stat is None:
            return False
        if [stat[0], stat[1]] == entry.get("stat"):
            return True
        if stat[0] == entry.get("stat", [None])[0] and \
                self._digest(Path(task.source)) == entry.get("sha256"):
            recorded = list(recordable_stat(*stat))  # touched but unchanged
            if recorded != entry["stat"]:
                entry["stat"] = recorded
                self.dirty += 1
            return True
        return False

    def record(self, task: Task, result: Result) -> None:
        """Record a built book with the input's fingerprint as its conversion read it
        (not as the file is now: it may have changed since)."""
        if task.output is None or not result.ok or result.input_stat is None or \
                result.input_sha256 is None:
            return
        self.entries[self._name(task.output)] = {
            "key": task.key, "source": self._source(task.source),
            "size": _file_size(task.output),  # the book's, as written
            "format": task.config.output_format,
            "stat": list(result.input_stat), "sha256": result.input_sha256,
            "title": result.title, "author": result.author, "words": result.words,
            "scenes": result.scenes, "warnings": list(result.warnings)}
        self.dirty += 1
        if self.dirty >= 100 and time.monotonic() - self.saved_at >= 2.0:
            self.save()  # now and then, so an interrupted batch keeps most of its record

    def skipped_result(self, task: Task) -> Result:
        """The Result of a book :meth:`fresh` found up to date: as recorded when it was
        built (title, words, warnings ...)."""
        entry = self.entries[self._name(task.output or "")]
        stat = entry["stat"]
        return Result(input=task.source, output=task.output, ok=True, title=entry["title"],
                      author=entry["author"], words=entry["words"], scenes=entry["scenes"],
                      warnings=list(entry["warnings"]), skipped=True,
                      input_sha256=entry["sha256"], input_stat=(stat[0], stat[1]))

    def prune(self, roots: list[str], tasks: list[Task],
              built: Collection[str] = ()) -> list[tuple[str, str, str | None]]:
        """Delete the books made from inputs that are gone (deleted or renamed since),
        and older copies of the books of this build's inputs (a book the cache records
        for an input that this build wrote, in the same format, under another name: made
        before names were kept from build to build, or by a build of the file on its
        own), with their entries: only books this cache records, inside the output
        folder, only for inputs under one of ``roots`` (the folders a build was given),
        so that the books of another input folder sharing the output folder stay. With
        a book go its proofing reports (``build --proof``) and the output folders it
        leaves empty (never an input folder). An input that cannot be looked at (a
        folder without permission) is not gone; a book of this build's ``tasks`` (the
        same file by another name: a case-insensitive file system, a path through a
        symlink) is never deleted. ``built``: the inputs whose books this build made or
        found up to date; an older copy goes only when its input's book now exists (a
        conversion that failed leaves it). Returns (book, input, None) for a gone input's
        book and (book, input, its book now) for an older copy, for output lines."""
        lexical = [os.path.join(os.path.normpath(os.path.join(self._cwd, r)), "")
                   for r in roots]
        real = [os.path.join(os.path.realpath(r), "") for r in roots]
        realpath = _realpath_by_folder()
        task_real = {t.source: realpath(os.path.join(self._cwd, t.source)) for t in tasks}
        inputs = set(task_real.values())
        made = {_file_id(t.output) for t in tasks if t.output} - {None}
        # (input, format) -> the book this build made of it (or found up to date)
        now_at: dict[tuple[str, str], str] = {
            (task_real[t.source], t.config.output_format):
                os.path.normpath(os.path.join(self._cwd, t.output))
            for t in tasks if t.output and t.source in built and os.path.isfile(t.output)}
        inside = self._inside_checker()
        gone: list[tuple[str, str, str | None]] = []
        for name, entry in list(self.entries.items()):
            if not isinstance(entry, dict) or not isinstance(entry.get("source"), str):
                continue
            source = os.path.normpath(os.path.join(self._out_abs, entry["source"]))
            source_real = realpath(source)
            if not (any(source.startswith(u) for u in lexical)
                    or any(source_real.startswith(u) for u in real)):
                continue
            now: str | None = None
            if source_real in inputs:
                now = now_at.get((source_real, _format(name, entry)))
                if now is None:
                    continue  # its book not made (failed), or a book in the other format
                book = inside(name)
                if book is None or book == now or os.path.realpath(now) == \
                        os.path.realpath(book):
                    continue  # its book (by another path), or a damaged cache's name
            elif not _gone(source):
                continue
            else:
                book = inside(name)
                if book is None:
                    continue  # outside the folder: a damaged cache
            if _file_id(book) in made:
                continue  # this build's book
            if not os.path.lexists(book):  # deleted by hand: only the entry goes
                del self.entries[name]
                self.dirty += 1
                continue
            stem = os.path.splitext(book)[0]  # as build --proof names its reports
            try:
                for path in (book, f"{stem}.proof.html", f"{stem}.proof.json"):
                    with contextlib.suppress(FileNotFoundError):
                        os.remove(path)
            except OSError:
                continue  # kept, with its entry: tried again next time
            folder = os.path.dirname(book)
            while folder.startswith(os.path.join(self._out_abs, "")) and \
                    not any(os.path.join(os.path.realpath(folder), "").startswith(u)
                            for u in real):  # with -o inside an input folder
                try:
                    os.rmdir(folder)
                except OSError:
                    break
                folder = os.path.dirname(folder)
            del self.entries[name]
            self.dirty += 1
            gone.append((self._prefix + name, self._shown(source), now))
        return gone

    def _shown(self, path: str) -> str:
        """An absolute path as a line of output shows it: from the current folder when it
        is below it, else as it is."""
        rel = os.path.relpath(path, self._cwd)
        return path if rel.startswith("..") else rel

    def save(self) -> None:
        if not self.dirty or not self.path.parent.is_dir():
            return
        # dumps, not dump: json.dump encodes in pure Python, dumps in C (~10x)
        data = json.dumps({"version": CACHE_VERSION, "entries": self.entries}).encode("utf-8")
        if write_file(self.path, data, mode=0o644):  # readable as the books are
            self.dirty = 0
            self.saved_at = time.monotonic()
            self.save_failed = False
        else:
            self.save_failed = True


def _realpath_by_folder() -> Callable[[str], str]:
    """``os.path.realpath`` for many files of a few folders: each folder's real path once,
    then one ``lstat`` a file (realpath itself when the file is a symlink)."""
    folders: dict[str, str] = {}

    def realpath(path: str) -> str:
        folder, name = os.path.split(path)
        real = folders.get(folder)
        if real is None:
            real = folders[folder] = os.path.realpath(folder)
        if not name or name in (".", "..") or os.path.islink(path):
            return os.path.realpath(path)
        return os.path.join(real, name)

    return realpath


def _file_size(path: str) -> int | None:
    """The size of a regular file, None when there is none (the check a book exists)."""
    try:
        st = os.stat(path)
    except (OSError, ValueError):
        return None
    return st.st_size if stat.S_ISREG(st.st_mode) else None


def _format(name: str, entry: dict[str, Any]) -> str:
    """A cached book's format (``epub``, ``kepub``) as recorded; by its name for entries
    of caches that did not record it (``story.kepub.txt`` makes ``story.kepub.epub``, an
    EPUB: the name alone can mislead)."""
    recorded = entry.get("format")
    if recorded in ("epub", "kepub"):
        return str(recorded)
    return "kepub" if name.endswith(".kepub.epub") else "epub"


def _gone(path: str) -> bool:
    """Whether ``path`` is known not to exist (not merely unreadable)."""
    try:
        os.lstat(path)
    except (FileNotFoundError, NotADirectoryError):
        return True
    except OSError:
        return False
    return False


def _file_id(path: str) -> tuple[int, int] | None:
    """Device and inode of an existing file: the same file whatever its name."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_dev, st.st_ino


Executor = Callable[[Iterable[Task]], Iterator[Result]]


CGROUP_FILES = (Path("/sys/fs/cgroup/cpu.max"),  # cgroup v2: "QUOTA PERIOD" or "max PERIOD"
                 Path("/sys/fs/cgroup/cpu/cpu.cfs_quota_us"))  # v1 (period beside it)


def _cgroup_cpus(files: tuple[Path, ...] = CGROUP_FILES) -> int | None:
    """CPUs the process's cgroup quota allows (quota / period, rounded up), or None when
    there is no quota or it cannot be read."""
    for path in files:
        try:
            text = path.read_text()
            if path.name == "cpu.max":
                quota, period = text.split()[:2]
            else:
                quota, period = text.strip(), (path.parent / "cpu.cfs_period_us").read_text()
            if quota.strip() in ("max", "-1"):
                return None
            q, p = int(quota), int(period)
        except (OSError, ValueError):
            continue
        if q > 0 and p > 0:
            return max(1, -(-q // p))
    return None


def available_cpus(cgroup_files: tuple[Path, ...] = CGROUP_FILES) -> int:
    """The CPUs this process may use: those its affinity mask allows (``taskset``,
    cpusets), at most its cgroup's CPU quota (a container's ``--cpus``, a Kubernetes CPU
    limit). ``os.cpu_count()`` counts the whole machine: a CI runner limited to 2 CPUs of
    a 64-core node would otherwise start 64 workers, each with its own memory."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not on macOS or Windows
        cpus = os.cpu_count() or 1
    quota = _cgroup_cpus(cgroup_files)
    return max(1, min(cpus, quota) if quota else cpus)


def serial(tasks: Iterable[Task]) -> Iterator[Result]:
    for task in tasks:
        yield run_task(task)


def _fork_context() -> BaseContext | None:
    """Fork on Linux: workers then share the parent's loaded modules and models
    (copy-on-write) instead of each loading its own copy. Elsewhere the platform's
    default (spawn on macOS and Windows, where forking a process that has loaded system
    frameworks is unsafe)."""
    import multiprocessing

    if sys.platform != "linux" or "fork" not in multiprocessing.get_all_start_methods():
        return None
    return multiprocessing.get_context("fork")


def _warm_up(proof: bool = False) -> bool:
    """Before forking: load everything a conversion needs (the language model, the cover
    fonts and backgrounds, the lazily imported libraries) once in the parent, then move
    the parent's objects out of the garbage collector's reach (``gc.freeze``), so that
    collections in the workers do not touch, and so copy, the shared pages. Measured on
    300 stories with 2 workers: 186 MB PSS in all instead of 269 MB. Only an
    optimisation: if it fails, the workers load what they need themselves."""
    try:
        from .pipeline import warm_up

        warm_up()
        if proof:  # the dictionaries and word models (~60 MB) shared too
            from .proof.engine import warm_up as warm_up_proofing

            warm_up_proofing()
    except Exception:
        return False
    gc.collect()
    gc.freeze()
    return True


def run_tasks(tasks: list[Task]) -> list[Result]:
    """Several tasks in one call (fewer round trips to the worker processes), each book
    written by a writer thread while the next one is converted. Writing a book waits on
    the disk (the fsync of :func:`~fic2epub.package.write_atomic`: 1-5 ms measured here,
    a third of a conversion's CPU time), and the waits now overlap with CPU work. At most
    one book waits to be written, so memory stays bounded; every write has finished, and
    its outcome is in its Result, before the results are returned."""
    from concurrent.futures import ThreadPoolExecutor

    results: list[Result] = []
    writing: Future[None] | None = None
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="fic2epub-writer") as writer:
        for task in tasks:
            try:
                result, book = prepare_file(Path(task.source), task.config, task.proof)
            except Exception as exc:  # guarded inside; this is for a bug around it
                results.append(internal_error(task, exc))
                continue
            results.append(result)
            if book is not None:
                if writing is not None:
                    writing.result()
                writing = writer.submit(write_book, result,
                                        Path(task.output) if task.output else None, book)
    if writing is not None:
        writing.result()
    return results


def chunk_size(remaining: int, jobs: int) -> int:
    """Tasks sent to a worker at a time: up to 8 while many remain (each round trip costs
    the parent ~1 ms), down to 1 for the last ones and in small batches, so that the work
    still spreads over all workers to the end."""
    return max(1, min(8, remaining // (max(1, jobs) * 16)))


def _chunks(tasks: Iterable[Task], jobs: int) -> Iterator[list[Task]]:
    remaining = len(tasks) if isinstance(tasks, Sized) else 0
    it = iter(tasks)
    while True:
        chunk = list(itertools.islice(it, chunk_size(remaining, jobs)))
        if not chunk:
            return
        remaining -= len(chunk)
        yield chunk


WORKER_DIED = ("the worker process converting this file died (killed by the system, for "
               "example when out of memory, or crashed)")


def process_pool(jobs: int) -> Executor:
    def run(tasks: Iterable[Task]) -> Iterator[Result]:
        workers = min(jobs, len(tasks)) if isinstance(tasks, Sized) else jobs
        if workers < 2:
            yield from serial(tasks)  # one book to make (the rest up to date): no pool
            return
        yield from _pooled(tasks, workers)
    return run


def _pooled(tasks: Iterable[Task], jobs: int) -> Iterator[Result]:
    """Convert ``tasks`` in a pool of ``jobs`` worker processes."""
    chunks = _chunks(tasks, jobs)
    first = next(chunks, None)
    if first is None:
        return  # nothing to convert: no workers, no warm-up
    context = _fork_context()
    frozen = context is not None and _warm_up(any(task.proof for task in first))
    queue = itertools.chain([first], chunks)
    while True:
        suspects = yield from _run_pool(queue, jobs, context, frozen)
        if not suspects:
            return
        # A worker died (the OS killed it, or it crashed) and took the pool with it.
        # The tasks in flight are retried one at a time, so the one that kills its
        # worker again is known and reported; then the batch goes on in a new pool.
        yield from _isolate(suspects, context)


def _run_pool(queue: Iterator[list[Task]], jobs: int,
              context: BaseContext | None,
              frozen: bool) -> Generator[Result, None, list[Task]]:
    """Run chunks from ``queue`` in one process pool, yielding results as they finish.
    Returns the tasks that were in flight if a worker died, else an empty list."""
    # run_tasks' writer thread needs concurrent.futures.thread: loaded here, before the
    # workers fork, it is loaded once for all of them instead of once in each
    import concurrent.futures.thread  # noqa: F401
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
    from concurrent.futures.process import BrokenProcessPool

    window = max(1, jobs) * 3
    if frozen:
        gc.freeze()
    with ProcessPoolExecutor(max_workers=jobs, mp_context=context) as pool:
        pending: dict[Future[list[Result]], list[Task]] = {}
        try:
            for chunk in queue:
                pending[pool.submit(run_tasks, chunk)] = chunk
                if frozen and len(pending) == 1:
                    gc.unfreeze()  # with fork, every worker started at the first submit
                if len(pending) >= window:
                    break
            while pending:
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for fut in done:
                    try:
                        results = fut.result()
                    except BrokenProcessPool:
                        return [task for chunk in pending.values() for task in chunk]
                    del pending[fut]
                    yield from results
                    nxt = next(queue, None)
                    if nxt is not None:
                        pending[pool.submit(run_tasks, nxt)] = nxt
        except BaseException:
            # Ctrl-C, or the consumer stopped: drop the queued chunks instead of
            # waiting for them (the books already written stay, whole)
            pool.shutdown(wait=True, cancel_futures=True)
            raise
    return []


def _isolate(tasks: list[Task],
             context: BaseContext | None) -> Iterator[Result]:
    """Each task alone in a fresh one-worker pool: a worker that dies names its file."""
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    for task in tasks:
        with ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
            try:
                yield from pool.submit(run_tasks, [task]).result()
            except BrokenProcessPool:
                yield Result(input=task.source, output=None, ok=False, error=WORKER_DIED)


def dask_executor(scheduler: str) -> Executor:
    """Run tasks on an existing Dask cluster (``distributed`` must be installed)."""
    def run(tasks: Iterable[Task]) -> Iterator[Result]:
        try:
            from distributed import Client, as_completed
        except ImportError as exc:
            from .errors import ConfigError

            raise ConfigError("--executor dask needs the 'distributed' package: "
                              "pip install 'fic2epub[dask]'") from exc
        try:
            _check_address(scheduler)
            client = Client(scheduler, timeout="10s")
        except (OSError, ValueError, TypeError) as exc:  # unreachable, or not an address
            from .errors import ConfigError

            raise ConfigError(f"cannot reach the Dask scheduler at {scheduler}: {exc}") from exc
        with client:
            futures = client.map(run_task, list(tasks), pure=False)
            for fut in as_completed(futures):
                yield fut.result()
    return run


def _check_address(address: str) -> None:
    """Raise ValueError for an address Dask cannot parse, before a Client exists: a
    Client whose constructor fails with anything but OSError is left half started, with
    its event-loop thread running, and when the garbage collector later deletes it while
    another Client starts, that one fails after 10 s with a bare AssertionError (or the
    process hangs: the deleted Client's close waits on the lock the new one holds)."""
    from distributed.comm.addressing import get_address_host_port, parse_address
    from distributed.comm.registry import get_backend

    scheme, _location = parse_address(address)
    if scheme == "inproc":
        raise ValueError("inproc:// addresses a scheduler inside the same process")
    if scheme in ("tls", "wss"):
        from distributed.security import Security

        if Security().get_connection_args("client").get("ssl_context") is None:
            raise ValueError(f"{scheme}:// needs TLS settings in Dask's configuration "
                             "(distributed.comm.tls.*)")
    # ValueError: a scheme no backend serves; TypeError: one that cannot connect here
    get_backend(scheme).get_connector()
    if scheme in ("tcp", "tls", "ws", "wss"):
        get_address_host_port(address)


def run_batch(tasks: list[Task], executor: Executor, cache: Cache | None,
              force: bool = False) -> Iterator[Result]:
    """Yield a Result for every task: skipped ones first, then as conversions finish.
    With ``force`` nothing is skipped, but the cache is still brought up to date."""
    todo: list[Task] = []
    for task in tasks:
        if cache is not None and not force and cache.fresh(task):
            yield cache.skipped_result(task)
        else:
            todo.append(task)
    by_source = {t.source: t for t in todo}
    try:
        for result in executor(todo):
            if cache is not None:
                cache.record(by_source[result.input], result)
            yield result
    finally:
        if cache is not None:
            cache.save()
