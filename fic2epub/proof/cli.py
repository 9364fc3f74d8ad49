"""``fic2epub proof``: the proofing command, and the helper ``build --proof`` uses."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from ..errors import ConfigError, Fic2EpubError
from ..files import find_inputs
from ..model import DEFAULT_CONFIG, Config, Result
from ..settings import FolderSettings, read_word_list
from .engine import (
    CHECKERS,
    ProofOptions,
    ProofResult,
    fail_on_error,
    fail_on_of,
    options_from_settings,
    proof_file,
    record,
    should_fail,
)
from .reports import FORMATS, render

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


@click.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="text",
              show_default=True, help="Report format.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the report to FILE instead of standard output.")
@click.option("--checker", "checkers", multiple=True, type=click.Choice(CHECKERS),
              help="Run only these checkers (repeatable). Default: spelling, real-word, "
                   "typography, and languagetool when configured.")
@click.option("--no-checker", "disabled", multiple=True, type=click.Choice(CHECKERS),
              help="Switch a checker off (repeatable).")
@click.option("--words", "word_files", multiple=True,
              type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Personal word list, one word a line (repeatable).")
@click.option("--ignore", "ignore_rules", multiple=True, metavar="RULE",
              help="Leave out findings of this rule or category (repeatable).")
@click.option("--ignore-word", "ignore_words", multiple=True, metavar="WORD",
              help="Leave out findings on this exact text (repeatable).")
@click.option("--languagetool", metavar="URL",
              help="LanguageTool server to ask as well (e.g. http://localhost:8081).")
@click.option("--language", help="Language of the stories (BCP 47), instead of detecting it.")
@click.option("--fail-on", "fail_on", multiple=True, metavar="LEVEL|CATEGORY",
              help="Exit with status 1 when a finding of this level or worse, or of this "
                   "category or rule, is reported (repeatable).")
def proof(paths: tuple[Path, ...], fmt: str, output: Path | None, checkers: tuple[str, ...],
          disabled: tuple[str, ...], word_files: tuple[Path, ...],
          ignore_rules: tuple[str, ...], ignore_words: tuple[str, ...],
          languagetool: str | None, language: str | None, fail_on: tuple[str, ...]) -> None:
    """Proofread story files (or folders of .txt files; default: input/).

    Reports each finding with its line and column in the file, the flagged text, and
    ranked suggestions. Exit status: 0 done, 1 a --fail-on finding or an unreadable file,
    2 usage error. A LanguageTool server that does not answer is reported in one line
    and does not change the exit status.
    """
    inputs = list(paths) or [Path("input")]
    for p in inputs:
        if not p.exists():
            _usage(f"{p}: no such file or folder")
    found = [f for f, _root in find_inputs(inputs)]
    if not found:
        _usage(f"no .txt files found in {', '.join(str(p) for p in inputs)}")
    if fail_on and (why := fail_on_error(fail_on)):
        _usage(f"--{why.replace('_', '-')}")
    words: set[str] = set()
    try:
        for wf in word_files:
            words |= read_word_list(wf)
    except ConfigError as exc:
        _usage(str(exc))
    given = ProofOptions(
        checkers=checkers or None, disabled=frozenset(disabled), words=frozenset(words),
        ignore_rules=frozenset(ignore_rules), ignore_words=frozenset(ignore_words),
        languagetool=languagetool, language=language)
    results, failed, proof_failed = run(found, given, fail_on)
    report = render(results, fmt)
    if output is not None:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(report, encoding="utf-8")
    else:
        click.echo(report, nl=False)
    for note in dict.fromkeys(n for r in results for n in r.notes):
        click.echo(f"fic2epub: {note}", err=True)
    sys.exit(EXIT_FAILED if failed or proof_failed else EXIT_OK)


def merged_options(config: Config, given: ProofOptions) -> ProofOptions:
    """The folder's proofing settings (``[proof]`` of its settings files) with the
    command line's over them: ``--checker`` and ``--languagetool``/``--language`` replace
    the settings' values (a checker named with ``--checker`` runs even if the settings
    disable it); word lists, ``--no-checker`` and the ``--ignore`` options add to them."""
    folder = options_from_settings(config.proof)
    disabled = folder.disabled - set(given.checkers or ()) | given.disabled
    return ProofOptions(
        checkers=given.checkers if given.checkers is not None else folder.checkers,
        disabled=disabled, words=folder.words | given.words,
        ignore_rules=folder.ignore_rules | given.ignore_rules,
        ignore_words=folder.ignore_words | given.ignore_words,
        languagetool=given.languagetool or folder.languagetool,
        language=given.language or folder.language or config.language)


def run(files: list[Path], given: ProofOptions,
        fail_on: tuple[str, ...] = ()) -> tuple[list[ProofResult], int, int]:
    """Proofread ``files``, each with its folder's settings under ``given``: the
    results, the files that could not be read, and the files with a finding that
    ``fail_on`` (else the settings' ``fail_on``) names."""
    settings = FolderSettings(DEFAULT_CONFIG, {})
    try:
        files = settings.stories(files)  # without the word lists
    except ConfigError as exc:
        _usage(str(exc))
    results: list[ProofResult] = []
    failed = proof_failed = 0
    for f in files:
        try:
            config = settings.config_for(f)
            result = proof_file(f, merged_options(config, given), config)
        except ConfigError as exc:
            _usage(f"{f}: {exc}" if str(f) not in str(exc) else str(exc))
        except Fic2EpubError as exc:
            click.echo(f"{f}: {exc}", err=True)
            failed += 1
            continue
        results.append(result)
        proof_failed += should_fail(result.findings, fail_on or fail_on_of(config.proof))
    return results, failed, proof_failed


def proof_beside(source: Path, epub: Path, config: Config = DEFAULT_CONFIG,
                 result: Result | None = None) -> str:
    """``build --proof``: proof ``source`` with ``config``'s proofing settings and write
    ``<book>.proof.html`` and ``<book>.proof.json`` beside its EPUB; returns a one-line
    summary. The findings (and whether the settings' ``fail_on`` names one) go into the
    book's ``result`` when given."""
    proofed = proof_file(source, merged_options(config, ProofOptions()), config)
    base = epub.with_suffix("")
    html_path = base.with_name(base.name + ".proof.html")
    json_path = base.with_name(base.name + ".proof.json")
    html_path.write_text(render([proofed], "html"), encoding="utf-8")
    json_path.write_text(render([proofed], "json"), encoding="utf-8")
    if result is not None:
        record(result, proofed, config.proof)
    return f"{len(proofed.findings)} proofing finding(s) -> {html_path}"


def _usage(message: str) -> None:
    click.echo(f"fic2epub: {message}", err=True)
    sys.exit(EXIT_USAGE)
