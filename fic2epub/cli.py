"""Command line: options -> Config -> library -> print. Exit codes live in ``ExitStatus``."""

from __future__ import annotations

import dataclasses
import json
import sys
from enum import IntEnum
from pathlib import Path
from typing import Any

import click

from . import __version__
from .clean import FIXER_NAMES
from .cover import CoverError
from .errors import ConfigError, Fic2EpubError
from .files import convert_all, cover_image, find_inputs, read_input
from .model import CleanOptions, Config, Result, Story
from .pipeline import detect_language, parse


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
    return Config(title=title, author=author, language=language, series=series,
                  series_index=series_index, stylesheet=stylesheet,
                  clean=CleanOptions(frozenset(disable)), verify=verify,
                  cover=not no_cover, cover_image=cover,
                  output_format="kepub" if output_format == "kepub" else "epub")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="fic2epub")
def cli() -> None:
    """Turn plain-text stories into clean, valid EPUBs."""


@cli.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("-o", "--output", "out_dir", type=click.Path(file_okay=False, path_type=Path),
              default=Path("out"), show_default=True, help="Folder for the EPUBs.")
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
def build(paths: tuple[Path, ...], out_dir: Path, as_json: bool, title: str | None,
          author: str | None, language: str | None, series: str | None,
          series_index: str | None, stylesheet: Path | None, disable: tuple[str, ...],
          no_verify: bool, cover: Path | None, no_cover: bool, output_format: str) -> None:
    """Convert story files (or folders of .txt files; default: input/) into EPUBs."""
    config = _config(title, author, language, series, series_index, stylesheet, disable,
                     not no_verify, cover, no_cover, output_format)
    try:
        cover_image(config)  # a bad image is one usage error, not one failure per book
    except CoverError as exc:
        _fail_usage(f"--cover {exc}")
    inputs = list(paths) or [Path("input")]
    for p in inputs:
        if not p.exists():
            _fail_usage(f"{p}: no such file or folder")
    found = find_inputs(inputs)
    if not found:
        _fail_usage(f"no .txt files found in {', '.join(str(p) for p in inputs)}")
    results: list[Result] = []
    for result in convert_all(found, out_dir, config):
        results.append(result)
        if not result.ok:
            click.echo(f"{result.input}: {result.error}", err=True)
        elif not as_json:
            click.echo(f"{result.input} -> {result.output}  ({result.title!r}, "
                       f"{result.words} words, {result.scenes} scenes)")
    failed = sum(not r.ok for r in results)
    summary = {"inputs": len(results), "converted": len(results) - failed, "failed": failed,
               "words": sum(r.words for r in results),
               "warnings": sum(len(r.warnings) for r in results)}
    if as_json:
        click.echo(json.dumps({"results": [dataclasses.asdict(r) for r in results],
                               "summary": summary}, ensure_ascii=False, indent=2))
    else:
        click.echo(f"{summary['converted']} converted, {failed} failed", err=bool(failed))
    sys.exit(ExitStatus.FAILED if failed else ExitStatus.OK)


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
        story = parse(read_input(file), file.name, config)
        language = detect_language(story)
    except ConfigError as exc:
        _fail_usage(f"{file}: {exc}")
    except Fic2EpubError as exc:
        click.echo(f"{file}: {exc}", err=True)
        sys.exit(ExitStatus.FAILED)
    data = story_dict(story, language)
    if as_json:
        click.echo(json.dumps(data, ensure_ascii=False, indent=2))
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
