"""Command line: options -> Config -> library -> print. Exit codes live in ``ExitStatus``."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import sys
import time
from collections.abc import Iterator
from enum import IntEnum
from pathlib import Path
from typing import Any, ClassVar

import click

from . import __version__, batch
from .errors import ConfigError, CoverError, Fic2EpubError
from .files import (
    combine_files,
    cover_image,
    earlier_output,
    find_inputs,
    output_path,
    read_input,
    safe_stem,
    suffix_for,
    unique_name,
)
from .model import FIXER_NAMES, CleanOptions, Config, Result, Story
from .settings import LANG_TAG, FolderSettings


class ExitStatus(IntEnum):
    OK = 0
    FAILED = 1  # at least one input did not convert (the others did)
    USAGE = 2  # bad options or arguments
    INTERRUPTED = 130


def _config(title: str | None, author: str | None, language: str | None, series: str | None,
            series_index: str | None, stylesheet: Path | None, disable: tuple[str, ...],
            verify: bool, cover: Path | None = None, no_cover: bool = False,
            output_format: str = "epub") -> Config:
    unknown = sorted(set(disable) - set(FIXER_NAMES))
    if unknown:
        raise click.BadParameter(
            f"unknown fixer {', '.join(unknown)}; fixers are: {', '.join(FIXER_NAMES)}",
            param_hint="--no-fix")
    if cover is not None and no_cover:
        raise click.UsageError("--cover and --no-cover cannot be used together")
    for hint, value in (("--title", title), ("--author", author), ("--language", language),
                        ("--series", series), ("--series-index", series_index)):
        if value is not None and not value.strip():
            raise click.BadParameter("must not be empty", param_hint=hint)
    if language is not None and not LANG_TAG.match(language.strip()):
        raise click.BadParameter(f"{language!r} is not a language tag (BCP 47: en, de, pt-BR)",
                                 param_hint="--language")
    return Config(title=title, author=author, language=language, series=series,
                  series_index=series_index, stylesheet=stylesheet,
                  clean=CleanOptions(frozenset(disable)), verify=verify,
                  cover=not no_cover, cover_image=cover,
                  output_format="kepub" if output_format == "kepub" else "epub")


class _Commands(click.Group):
    """The command group; subcommands defined in other modules are imported only when
    they run or help is shown (``proof``: ~20 ms of imports every build would pay)."""

    LAZY: ClassVar[dict[str, tuple[str, str]]] = {"proof": ("fic2epub.proof.cli", "proof")}

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.LAZY})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.LAZY:
            import importlib

            module, name = self.LAZY[cmd_name]
            command = getattr(importlib.import_module(module), name)
            assert isinstance(command, click.Command)
            return command
        return super().get_command(ctx, cmd_name)


@click.group(cls=_Commands, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="fic2epub")
def cli() -> None:
    """Turn plain-text stories into clean, valid EPUBs."""
    _escaping_streams()


def _escaping_streams() -> None:
    """Write what the output's encoding cannot hold as backslash escapes instead of
    stopping with a UnicodeEncodeError: a file name that is not UTF-8 (Python keeps its
    bytes as lone surrogates: ``caf\\udce9.txt``, which is also the JSON escape, so
    ``--json`` stays valid UTF-8 and gives the name back to Python), or a title on a
    console whose code page lacks its letters."""
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            with contextlib.suppress(ValueError, OSError, TypeError):
                reconfigure(errors="backslashreplace")


def _shown(name: str) -> str:
    """A file name for a line of output: characters that are not printable (control
    characters, line and paragraph separators, a terminal's escape introducers: a newline
    in a name would split the line, or forge one) as escapes."""
    if name.isprintable():
        return name
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii")
                   if ord(c) < 0xD800 or ord(c) > 0xDFFF else f"\\u{ord(c):04x}"
                   for c in name)


@cli.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("-o", "--output", "out_dir", type=click.Path(file_okay=False, path_type=Path),
              default=Path("out"), show_default=True,
              help="Folder for the EPUBs (mirrors the input folders).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object with all results.")
@click.option("--title", help="Override the title.")
@click.option("--author", help="Override the author.")
@click.option("--language", help="Override the language (BCP 47 tag, e.g. en, de, pt-BR).")
@click.option("--series", help="Override the series name.")
@click.option("--series-index", help="Override the part number in the series.")
@click.option("--stylesheet", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="CSS file to use instead of the default stylesheet.")
@click.option("--no-fix", "disable", multiple=True, metavar="FIXER",
              help=f"Switch a cleaning fixer off (repeatable): {', '.join(FIXER_NAMES)}.")
@click.option("--no-verify", is_flag=True, help="Skip reading each book back to check its words.")
@click.option("--cover", type=click.Path(dir_okay=False, path_type=Path),
              help="Cover image (JPEG, PNG, GIF, WebP) instead of the generated cover.")
@click.option("--no-cover", is_flag=True, help="No cover at all.")
@click.option("--format", "output_format", type=click.Choice(["epub", "kepub"]), default="epub",
              show_default=True, help="kepub: Kobo's markup, written as NAME.kepub.epub.")
@click.option("-j", "--jobs", type=click.IntRange(min=1), default=None,
              help="Worker processes (default: the CPUs this process may use).")
@click.option("--force", is_flag=True, help="Rebuild books even when their input is unchanged.")
@click.option("--prune", is_flag=True,
              help="Delete the books of inputs that are gone (deleted or renamed) from the "
                   "folders given: only books this tool made and recorded.")
@click.option("--combine", is_flag=True,
              help="Make one EPUB per folder argument, its files being chapters or parts.")
@click.option("--check", is_flag=True,
              help="Convert and proofread without writing books; the exit status tells the "
                   "result.")
@click.option("--fail-on", "fail_on", multiple=True, metavar="LEVEL|CATEGORY",
              help="With --check or --proof: exit with status 1 when a proofing finding of "
                   "this level (note, warning, error) or worse, or of this category or rule, "
                   "is found (repeatable; default: the settings' [proof] fail_on).")
@click.option("--executor", type=click.Choice(["process", "dask"]), default="process",
              show_default=True, help="Where the per-file work runs.")
@click.option("--scheduler", metavar="ADDRESS", help="Dask scheduler address (tcp://host:port).")
@click.option("--max-size", type=click.IntRange(min=1), default=64, show_default=True,
              metavar="MB", help="Refuse input files larger than this many megabytes.")
@click.option("--proof", "with_proof", is_flag=True,
              help="Also proofread each story: <book>.proof.html and .proof.json beside it.")
@click.option("-q", "--quiet", is_flag=True, help="Print only failures and the summary.")
@click.option("-v", "--verbose", is_flag=True,
              help="Also print each book's warnings, and the .txt files skipped (hidden, "
                   "or symlinks to files outside the folder).")
def build(paths: tuple[Path, ...], out_dir: Path, as_json: bool, title: str | None,
          author: str | None, language: str | None, series: str | None,
          series_index: str | None, stylesheet: Path | None, disable: tuple[str, ...],
          no_verify: bool, cover: Path | None, no_cover: bool, output_format: str,
          jobs: int | None, force: bool, prune: bool, combine: bool, check: bool,
          executor: str, scheduler: str | None, max_size: int, with_proof: bool,
          fail_on: tuple[str, ...], quiet: bool, verbose: bool) -> None:
    """Convert story files (or folders of .txt files; default: input/) into EPUBs."""
    ctx = click.get_current_context()
    explicit = {name for name in ("title", "author", "language", "series", "series_index",
                                  "stylesheet")
                if ctx.get_parameter_source(name) == click.core.ParameterSource.COMMANDLINE}
    if ctx.get_parameter_source("no_verify") == click.core.ParameterSource.COMMANDLINE:
        explicit.add("verify")
    if prune and (check or combine):
        _fail_usage("--prune works on the books of a build: not with --check or --combine")
    if fail_on and not (check or with_proof):
        _fail_usage("--fail-on needs --check or --proof (it judges proofing findings)")
    if fail_on:
        from .proof.engine import fail_on_error

        if why := fail_on_error(fail_on):
            _fail_usage(f"--{why.replace('_', '-')}")
    base = dataclasses.replace(
        _config(title, author, language, series, series_index, stylesheet, disable,
                not no_verify, cover, no_cover, output_format), max_bytes=max_size * 2**20,
        proof={"fail_on": list(fail_on)} if fail_on else {})
    try:
        cover_image(base)  # a bad image is one usage error, not one failure per book
    except CoverError as exc:
        _fail_usage(f"--cover {exc}")
    if executor == "dask" and not scheduler:
        _fail_usage("--executor dask needs --scheduler ADDRESS")
    inputs = list(paths) or [Path("input")]
    for p in inputs:
        if not p.exists():
            _fail_usage(f"{p}: no such file or folder")
    if combine and not all(p.is_dir() for p in inputs):
        _fail_usage("--combine takes folders")
    if combine and with_proof:
        _fail_usage("--proof proofs story files one by one: run `fic2epub proof DIR` "
                    "for the files of a --combine book")
    skipped: list[tuple[Path, str]] = []
    found = find_inputs(inputs, skipped)
    if verbose:
        for path, why in skipped:
            click.echo(_shown(f"{path}: skipped ({why})"), err=True)
    if not found:
        _fail_usage(f"no .txt files found in {', '.join(str(p) for p in inputs)}"
                    + (f" ({len(skipped)} skipped: hidden, or symlinks to files outside "
                       "the folder; -v names them)" if skipped else ""))
    settings = FolderSettings(base, {k: True for k in explicit})
    target_dir = None if check else out_dir
    started = time.monotonic()
    cache = None
    pruned: list[tuple[str, str, str | None]] = []
    try:
        found = _stories(found, settings)
        if not found:
            _fail_usage(f"no stories found in {', '.join(str(p) for p in inputs)} (only "
                        "word lists)")
        if combine:
            stream = _combine_stream(inputs, found, target_dir, settings, proof=check)
            total = len(inputs)
        else:
            cache = None if check else batch.Cache(out_dir)
            named = {str(p) for p in inputs if not p.is_dir()}
            tasks = _tasks(found, target_dir, settings, cache, proof=check, named=named)
            total = len(tasks)
            workers = jobs or batch.available_cpus()
            # process_pool caps the workers at the books to make (after skips) itself
            run = (batch.dask_executor(scheduler or "") if executor == "dask" else
                   batch.serial if workers == 1 else batch.process_pool(workers))
            stream = batch.run_batch(tasks, run, cache, force=force)
        results = list(_report(stream, total, as_json, quiet, verbose))
        if prune and cache is not None:
            folders = [str(p) for p in inputs if p.is_dir()]
            if not folders and not quiet:
                click.echo("--prune: no folder given, so nothing to prune", err=True)
            pruned = cache.prune(folders, tasks, {r.input for r in results if r.ok})
            cache.save()
            if not quiet:
                for book, source, now in pruned:
                    why = (f"its input {source} is gone" if now is None else
                           f"an older copy: {source} is built to {now} now")
                    click.echo(_shown(f"removed {book} ({why})"), err=as_json)
        if with_proof and not combine:
            _proof_beside(results, settings, quiet, as_json)
    except ConfigError as exc:
        _fail_usage(str(exc))
    if cache is not None and cache.save_failed:
        click.echo(f"warning: cannot write {_shown(str(cache.path))}: the next build cannot "
                   "skip unchanged books", err=True)
    elapsed = time.monotonic() - started
    failed = sum(not r.ok for r in results)
    summary: dict[str, Any] = {
        "inputs": len(results), "converted": sum(r.ok and not r.skipped for r in results),
        "skipped": sum(r.skipped for r in results), "failed": failed,
        "warnings": sum(len(r.warnings) for r in results),
        "words": sum(r.words for r in results if r.ok), "seconds": round(elapsed, 3)}
    if prune:
        summary["pruned"] = len(pruned)
    proofed = check or with_proof
    if proofed:
        summary["findings"] = sum(len(r.findings) for r in results)
        summary["failed_proofing"] = sum(r.proof_failed for r in results)
        for note in dict.fromkeys(n for r in results for n in r.proof_notes):
            click.echo(f"fic2epub: {note}", err=True)  # once a batch, as `proof` does
    if as_json:
        order = {str(src): n for n, (src, _root) in enumerate(found)}
        results.sort(key=lambda r: order.get(r.input, -1))
        data: dict[str, Any] = {"results": [dataclasses.asdict(r) for r in results]}
        if prune:
            data["pruned"] = [{"book": book, "input": source, "now": now}
                              for book, source, now in pruned]
        data["summary"] = summary
        click.echo(json.dumps(data, indent=2))  # ASCII: valid in any encoding
    bad = failed or summary.get("failed_proofing", 0)
    _summary_table(summary, err=as_json or bool(bad))
    sys.exit(ExitStatus.FAILED if bad else ExitStatus.OK)


def _stories(found: list[tuple[Path, Path]],
             settings: FolderSettings) -> list[tuple[Path, Path]]:
    """``found`` without the personal word lists the settings name."""
    sources = [src for src, _root in found]
    stories = settings.stories(sources)
    if len(stories) == len(sources):
        return found
    kept = set(stories)
    return [(src, root) for src, root in found if src in kept]


def _proof_beside(results: list[Result], settings: FolderSettings, quiet: bool,
                  as_json: bool) -> None:
    """``build --proof``: a report beside each book, with its folder's proofing
    settings; the findings go into the book's Result."""
    from .proof.cli import proof_beside

    for result in results:
        if result.ok and result.output:
            source = Path(result.input)
            note = proof_beside(source, Path(result.output), settings.config_for(source),
                                result)
            if not quiet:
                click.echo(f"{_shown(result.input)}: {note}", err=as_json)
            if result.proof_failed:  # what made the build fail, even with -q
                for line in _finding_lines(result):
                    click.echo(line, err=as_json)


def _tasks(found: list[tuple[Path, Path]], out_dir: Path | None,
           settings: FolderSettings, cache: batch.Cache | None = None,
           proof: bool = False, named: set[str] | None = None) -> list[batch.Task]:
    """One task per input. ``named``: the inputs given as files (not found in a folder
    given), which have no folder layout of their own to mirror."""
    # names the cache gives to books of inputs that still exist but are not in this
    # build: building one of several folders that share an output folder keeps its
    # books' names instead of writing over the others'
    taken = cache.claimed({str(src) for src, _ in found}) if cache is not None else set()
    configs = [(source, root, settings.config_for(source)) for source, root in found]
    # each input's book where a build put it before, when that book is still there: a
    # book keeps its name when another input of the same name comes or goes, and its
    # place when its input is built on its own
    targets = _earlier_books(configs, out_dir, cache, taken, named or set())
    keys: dict[int, str] = {}
    tasks = []
    for n, (source, root, config) in enumerate(configs):
        target = targets.get(n) or (output_path(source, root, out_dir, taken,
                                                suffix_for(config))
                                    if out_dir is not None else None)
        if id(config) not in keys:  # files of one folder share a Config: one key each
            keys[id(config)] = batch.settings_key(config)
        tasks.append(batch.Task(str(source), str(target) if target else None, config,
                                keys[id(config)], proof))
    return tasks


def _earlier_books(configs: list[tuple[Path, Path, Config]], out_dir: Path | None,
                   cache: batch.Cache | None, taken: set[str],
                   named: set[str]) -> dict[int, Path]:
    """For each input (by its index) that the cache records a book of: where
    :func:`~fic2epub.files.earlier_output` finds it, marked taken."""
    if out_dir is None or cache is None:
        return {}
    earlier = cache.books_by_source()
    if not earlier:
        return {}
    by_real: dict[str, list[tuple[str, str]]] | None = None
    targets: dict[int, Path] = {}
    for n, (source, root, config) in enumerate(configs):
        books = earlier.get(cache.source_key(str(source)))
        if books is None:  # new, or reached by another path (a symlinked folder)
            if by_real is None:  # once a build that has a new input
                by_real = cache.by_real_source(earlier)
            books = by_real.get(os.path.realpath(source), [])
        names = [name for name, fmt in books if fmt == config.output_format]
        if names and (path := earlier_output(source, root, out_dir, names, taken,
                                             suffix_for(config),
                                             anywhere=str(source) in named)) is not None:
            targets[n] = path
    return targets


def _combine_stream(inputs: list[Path], found: list[tuple[Path, Path]], out_dir: Path | None,
                    settings: FolderSettings, proof: bool = False) -> Iterator[Result]:
    taken: set[str] = set()
    for folder in inputs:
        files = [src for src, root in found if root == folder]
        config = settings.config_for(folder / "x.txt")
        # two folders of the same name: book, book-2
        name = unique_name("", safe_stem(folder.resolve().name), suffix_for(config), taken)
        target = out_dir / name if out_dir is not None else None
        yield combine_files(files, str(folder), target, config, proof)


def _report(stream: Iterator[Result], total: int, as_json: bool, quiet: bool,
            verbose: bool) -> Iterator[Result]:
    """Pass results through, showing progress: a bar on a terminal, else log lines."""
    bar = None
    if not quiet and sys.stderr.isatty() and total > 1:
        from tqdm import tqdm

        tqdm.monitor_interval = 0  # no monitor thread: batch workers are forked
        cols, rows = _terminal_size()
        sized = cols > 0 and rows > 0
        bar = tqdm(total=total, unit="story", file=sys.stderr, dynamic_ncols=sized,
                   ncols=None if sized else cols if cols > 0 else 80,
                   nrows=None if sized else rows if rows > 0 else 24)
    for done, result in enumerate(stream, 1):
        line = None
        if not result.ok:
            line = _shown(f"{result.input}: {result.error}")
            if bar is not None:
                bar.write(line, file=sys.stderr)
            else:
                click.echo(line, err=True)
        elif not quiet and not as_json and bar is None:
            state = "unchanged" if result.skipped else f"-> {result.output or '(checked)'}"
            click.echo(f"[{done}/{total}] {_shown(result.input)} {state}  ({result.title!r}, "
                       f"{result.words} words, {result.scenes} scenes)")
        if verbose:
            for w in result.warnings:
                click.echo(f"{_shown(result.input)}: warning: {w}", err=True)
        if result.findings and not as_json and (result.proof_failed or not quiet):
            for text in _finding_lines(result):
                if bar is not None:
                    bar.write(text, file=sys.stdout)
                else:
                    click.echo(text)
        if bar is not None:
            bar.update(1)
        yield result
    if bar is not None:
        bar.close()


def _finding_lines(result: Result) -> Iterator[str]:
    """A book's proofing findings, one line each, as compilers print theirs (editors and
    CI log parsers take ``FILE:LINE:COLUMN: LEVEL: MESSAGE``)."""
    from .proof.engine import level_of

    for f in result.findings:
        name = _shown(f.file or result.input)  # a combined book's: the file it is in
        hint = f" (suggestion: {', '.join(f.suggestions[:3])})" if f.suggestions else ""
        yield (f"{name}:{f.line}:{f.column}: {level_of(f)}: {_shown(f.message)}{hint} "
               f"[{f.category}/{f.rule}]")


def _terminal_size() -> tuple[int, int]:
    """Columns and lines of the terminal on stderr; 0 for a size it does not report (a
    pseudo-terminal no one sized: some CI runners and editor shells). tqdm would take
    those as they are and draw nothing at all, so then the bar gets 80 x 24."""
    try:
        size = os.get_terminal_size(sys.stderr.fileno())
    except (OSError, ValueError):
        return 0, 0
    return size.columns, size.lines


def _summary_table(summary: dict[str, Any], err: bool) -> None:
    rows: list[tuple[str, object]] = [("converted", summary["converted"]),
                                      ("failed", summary["failed"]),
                                      ("skipped", summary["skipped"])]
    if "pruned" in summary:
        rows.append(("pruned", summary["pruned"]))
    rows.append(("warnings", summary["warnings"]))
    if "findings" in summary:
        rows += [("findings", summary["findings"]),
                 ("failed proofing", summary["failed_proofing"])]
    rows += [("words", summary["words"]), ("time", f"{summary['seconds']:.2f} s")]
    width = max(len(k) for k, _ in rows)
    for k, v in rows:
        click.echo(f"{k:<{width}}  {v}", err=err)


def story_dict(story: Story, language: str) -> dict[str, Any]:
    """What ``inspect --json`` prints: metadata, structure with source lines, changes."""
    return {
        "source": story.source_name,
        "encoding": story.encoding,
        "language": language,
        "identifier": story.identifier,
        "metadata": dataclasses.asdict(story.metadata),
        "fields": [dataclasses.asdict(f) for f in story.fields],
        "chapters": [
            {"title": ch.title, "title_line": ch.title_line,
             "scenes": [{"start_line": s.start_line, "break": s.marker,
                         "paragraphs": [dataclasses.asdict(p) for p in s.paragraphs]}
                        for s in ch.scenes]}
            for ch in story.chapters],
        "omitted": [dataclasses.asdict(o) for o in story.omissions],
        "changes": [dataclasses.asdict(c) for c in story.changes],
        "warnings": story.warnings,
    }


@cli.command()
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
@click.option("--no-fix", "disable", multiple=True, metavar="FIXER",
              help="Switch a cleaning fixer off (repeatable).")
def inspect(file: Path, as_json: bool, disable: tuple[str, ...]) -> None:
    """Show what was parsed from FILE and every change the cleaner made; writes nothing."""
    config = _config(None, None, None, None, None, None, disable, False)
    try:
        from .pipeline import detect_language, parse

        story = parse(read_input(file), file.name, config)
        language = detect_language(story)
    except ConfigError as exc:
        _fail_usage(f"{file}: {exc}")
    except Fic2EpubError as exc:
        click.echo(f"{file}: {exc}", err=True)
        sys.exit(ExitStatus.FAILED)
    data = story_dict(story, language)
    if as_json:
        click.echo(json.dumps(data, indent=2))
        return
    m = story.metadata
    click.echo(f"{file}  ({story.encoding}, language {language})")
    click.echo(f"  title:  {m.title}  [{m.title_source}]")
    click.echo(f"  author: {m.author}")
    if m.series:
        click.echo(f"  series: {m.series} #{m.series_index or '?'}")
    for f in story.fields:
        click.echo(f"  field   line {f.start_line}: {f.label} = {f.value[:70]}")
    for o in story.omissions:
        click.echo(f"  omitted lines {o.start_line}-{o.end_line}: {o.reason}")
    for ch in story.chapters:
        click.echo(f"  chapter {ch.title or '(untitled)'}: {len(ch.scenes)} scene(s)")
        for s in ch.scenes:
            click.echo(f"    scene from line {s.start_line} ({s.marker or 'start'}): "
                       f"{len(s.paragraphs)} paragraph(s)")
    click.echo(f"  changes: {len(story.changes)}")
    for c in story.changes:
        click.echo(f"    {c.line}:{c.column} {c.fixer}: {c.before!r} -> {c.after!r}")


@cli.command()
@click.argument("epub", type=click.Path(dir_okay=False, path_type=Path))
@click.argument("source", required=False, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--no-epubcheck", is_flag=True, help="Do not run EPUBCheck even if Java is here.")
def verify(epub: Path, source: Path | None, no_epubcheck: bool) -> None:
    """Check an EPUB: readable, every word of SOURCE in order, and EPUBCheck (with Java)."""
    try:
        from .checkbook import check_book

        report = check_book(epub, source, run_epubcheck=not no_epubcheck)
    except Fic2EpubError as exc:
        click.echo(f"{epub}: {exc}", err=True)
        sys.exit(ExitStatus.FAILED)
    if source is not None:
        if report.word_problem:
            click.echo(f"{epub}: {report.word_problem}", err=True)
        else:
            click.echo(f"{epub}: all {report.words} words of {source} present, in order")
    else:
        click.echo(f"{epub}: readable, {report.words} words in the story pages")
    click.echo(f"{epub}: EPUBCheck {report.epubcheck}")
    for m in report.epubcheck_messages:
        click.echo(f"  {m}", err=True)
    sys.exit(ExitStatus.OK if report.ok else ExitStatus.FAILED)


@cli.command()
@click.argument("epub", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("-o", "--output", "out_dir", type=click.Path(file_okay=False, path_type=Path),
              default=Path("preview"), show_default=True, help="Folder for the PNGs.")
def preview(epub: Path, out_dir: Path) -> None:
    """Render EPUB's cover, title page, disclaimer and first story page to PNG (Chromium)."""
    from .preview import PreviewError
    from .preview import preview as render_preview

    try:
        for png in render_preview(epub, out_dir):
            click.echo(str(png))
    except PreviewError as exc:
        click.echo(f"{epub}: {exc}", err=True)
        sys.exit(ExitStatus.FAILED)


def _fail_usage(message: str) -> None:
    click.echo(f"fic2epub: {message}", err=True)
    sys.exit(ExitStatus.USAGE)


def main() -> None:
    try:
        cli.main(standalone_mode=False)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        sys.exit(ExitStatus.USAGE)
    except click.exceptions.Abort:
        click.echo("interrupted", err=True)
        sys.exit(ExitStatus.INTERRUPTED)
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        sys.exit(ExitStatus.INTERRUPTED)
