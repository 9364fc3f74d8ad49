"""The example GitHub Actions workflow's fic2epub commands run as written, with the exit
status and outputs the workflow relies on."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import ROOT

from fic2epub.cli import cli

WORKFLOW = ROOT / "examples" / "github-actions" / "fic2epub.yml"


def _commands() -> list[tuple[list[str], str | None]]:
    """``run: fic2epub ...`` lines: arguments, and the file stdout goes to (``> F``)."""
    found = []
    for line in WORKFLOW.read_text(encoding="utf-8").splitlines():
        m = re.match(r"\s*run: fic2epub (.*)$", line)
        if m:
            args, _, target = m.group(1).partition(">")
            found.append((shlex.split(args), target.strip() or None))
    return found


def test_the_workflow_commands_run_as_written(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                              epubcheck) -> None:
    commands = _commands()
    assert [args[0] for args, _ in commands] == ["build", "proof"]
    stories = tmp_path / "stories"
    (stories / "part").mkdir(parents=True)
    (stories / "clean.txt").write_text(
        "Title: Clean\nAuthor: A. Writer\n\nThe boat came home in the evening.\n")
    (stories / "part" / "slip.txt").write_text(
        "Title: Slip\nAuthor: A. Writer\n\n"
        "The king took his seat at the thrown and smiled at the crowd.\n")
    monkeypatch.chdir(tmp_path)
    (build, build_out), (proof, _) = commands
    res = CliRunner().invoke(cli, build)
    assert res.exit_code == 0, res.stderr
    assert build_out == "build.json"
    data = json.loads(res.stdout)
    assert data["summary"]["converted"] == 2
    books = sorted((tmp_path / "out").rglob("*.epub"))
    assert [b.relative_to(tmp_path / "out").as_posix() for b in books] == ["clean.epub",
                                                                          "part/slip.epub"]
    assert all(r.clean for r in epubcheck(books))
    # a story deleted before the next run (the workflow restores out/ from its cache)
    (stories / "clean.txt").unlink()
    res = CliRunner().invoke(cli, build)
    assert res.exit_code == 0 and not (tmp_path / "out" / "clean.epub").exists()
    # the proof step: an annotation on the slip, and a failed job
    res = CliRunner().invoke(cli, proof)
    assert res.exit_code == 1
    assert "::error file=stories/part/slip.txt,line=4,col=31," in res.stdout
