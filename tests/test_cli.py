"""The CLI contract, driven in-process with click's CliRunner."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import ROOT, SAMPLES

from fic2epub.cli import cli

INPUT = ROOT / "input"


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def test_build_json_contract(runner: CliRunner, tmp_path: Path, epubcheck) -> None:
    res = runner.invoke(cli, ["build", str(INPUT), "-o", str(tmp_path), "--json"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert set(data) == {"results", "summary"}
    assert len(data["results"]) == len(list(INPUT.glob("*.txt"))) >= 4
    for r in data["results"]:
        assert set(r) >= {"input", "output", "ok", "error", "title", "author", "words",
                          "scenes", "warnings"}
        assert r["ok"] and r["error"] is None and Path(r["output"]).is_file()
        assert r["words"] > 300
    assert data["summary"]["failed"] == 0
    titles = {r["title"] for r in data["results"]}
    assert {"The Lantern Keeper", "Salt and Iron", "Winter Letters"} <= titles
    reports = epubcheck(sorted(tmp_path.glob("*.epub")))
    assert [r.messages for r in reports if not r.clean] == []


def test_bad_file_in_the_middle_of_a_batch(runner: CliRunner, tmp_path: Path,
                                           epubcheck) -> None:
    src = tmp_path / "in"
    src.mkdir()
    shutil.copy(SAMPLES[0], src / "a_story.txt")
    (src / "b_broken.txt").write_bytes(b"PK\x03\x04" + bytes(range(256)) * 4)
    (src / "c_empty.txt").write_bytes(b"")
    shutil.copy(INPUT / "salt_and_iron.txt", src / "d_story.txt")
    out = tmp_path / "out"
    res = runner.invoke(cli, ["build", str(src), "-o", str(out), "--json"])
    assert res.exit_code == 1
    data = json.loads(res.stdout)
    ok = {Path(r["input"]).name: r["ok"] for r in data["results"]}
    assert ok == {"a_story.txt": True, "b_broken.txt": False, "c_empty.txt": False,
                  "d_story.txt": True}
    errors = [line for line in res.stderr.splitlines() if line.strip()]
    assert any(e.startswith(str(src / "b_broken.txt")) and "not a text file" in e for e in errors)
    assert any(e.startswith(str(src / "c_empty.txt")) and "empty" in e for e in errors)
    assert sorted(p.name for p in out.glob("*.epub")) == ["a_story.epub", "d_story.epub"]
    assert all(r.clean for r in epubcheck(sorted(out.glob("*.epub"))))
    assert not list(out.glob("*.part"))  # no partial files left behind


def test_usage_errors_exit_2(runner: CliRunner, tmp_path: Path) -> None:
    assert runner.invoke(cli, ["build", str(tmp_path / "nope")]).exit_code == 2
    assert runner.invoke(cli, ["build", "--no-fix", "bogus", str(INPUT)]).exit_code == 2
    empty = tmp_path / "empty_dir"
    empty.mkdir()
    res = runner.invoke(cli, ["build", str(empty)])
    assert res.exit_code == 2 and "no .txt files" in res.stderr
    assert runner.invoke(cli, ["frobnicate"]).exit_code == 2


def test_metadata_overrides(runner: CliRunner, tmp_path: Path, epubcheck) -> None:
    res = runner.invoke(cli, ["build", str(INPUT / "salt_and_iron.txt"), "-o", str(tmp_path),
                              "--json", "--title", "New Name", "--author", "Some Body",
                              "--language", "en-GB"])
    assert res.exit_code == 0, res.output
    r = json.loads(res.stdout)["results"][0]
    assert (r["title"], r["author"]) == ("New Name", "Some Body")
    assert all(rep.clean for rep in epubcheck([Path(r["output"])]))


@pytest.mark.parametrize("option", ["--title", "--author", "--series", "--series-index",
                                    "--language"])
def test_an_empty_metadata_option_is_a_usage_error(runner: CliRunner, tmp_path: Path,
                                                   option: str) -> None:
    res = runner.invoke(cli, ["build", str(INPUT / "salt_and_iron.txt"), "-o", str(tmp_path),
                              option, " \t"])
    assert res.exit_code == 2 and f"Invalid value for {option}: must not be empty" in res.stderr
    assert not list(tmp_path.glob("*.epub"))


def test_an_empty_value_in_a_folder_config_is_an_error(runner: CliRunner,
                                                       tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    shutil.copy(INPUT / "salt_and_iron.txt", folder)
    (folder / "fic2epub.toml").write_text('author = "  "\n', encoding="utf-8")
    res = runner.invoke(cli, ["build", str(folder), "-o", str(tmp_path / "out")])
    assert res.exit_code == 2 and "author must not be empty" in res.stderr


def test_blank_overrides_in_the_library_are_ignored(tmp_path: Path, epubcheck) -> None:
    # a Config built in code: white space is no title (an empty dc:title is invalid EPUB)
    from fic2epub.model import Config
    from fic2epub.pipeline import convert

    data = (INPUT / "salt_and_iron.txt").read_bytes()
    plain = convert(data, "salt_and_iron.txt")
    blank = convert(data, "salt_and_iron.txt",
                    Config(title=" ", author="\t", series=" ", series_index=" "))
    assert blank.story.metadata == plain.story.metadata
    book = tmp_path / "blank.epub"
    book.write_bytes(blank.epub)
    assert all(rep.clean for rep in epubcheck([book]))


def test_inspect_json_has_structure_and_changes(runner: CliRunner) -> None:
    res = runner.invoke(cli, ["inspect", str(INPUT / "the_lantern_keeper.txt"), "--json"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert data["metadata"]["title"] == "The Lantern Keeper"
    assert data["metadata"]["series"] == "Harbor Lights"
    assert data["metadata"]["series_index"] == "2"
    fixers = {c["fixer"] for c in data["changes"]}
    assert {"quotes", "dashes", "ellipses", "emphasis"} <= fixers
    first = data["chapters"][0]["scenes"][0]["paragraphs"][0]
    assert first["start_line"] > 20  # after the header block, in source lines
    assert sum(len(ch["scenes"]) for ch in data["chapters"]) == 6


def test_inspect_no_fix_switches_a_fixer_off(runner: CliRunner) -> None:
    res = runner.invoke(cli, ["inspect", str(INPUT / "the_lantern_keeper.txt"), "--json",
                              "--no-fix", "quotes"])
    data = json.loads(res.stdout)
    assert "quotes" not in {c["fixer"] for c in data["changes"]}
    text = " ".join(p["text"] for ch in data["chapters"] for s in ch["scenes"]
                    for p in s["paragraphs"])
    assert '"' in text and "“" not in text


def test_inspect_text_and_bad_file(runner: CliRunner, tmp_path: Path) -> None:
    res = runner.invoke(cli, ["inspect", str(SAMPLES[0])])
    assert res.exit_code == 0 and "Red Omega" in res.stdout and "changes:" in res.stdout
    bad = tmp_path / "x.txt"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(300))
    res = runner.invoke(cli, ["inspect", str(bad)])
    assert res.exit_code == 1 and res.stderr.strip().count("\n") == 0 and "PNG" in res.stderr


@pytest.mark.parametrize("error", [ModuleNotFoundError, FileNotFoundError])
def test_stylesheet_found_without_the_installed_styles_package(
        monkeypatch: pytest.MonkeyPatch, error: type[Exception]) -> None:
    """Run from a source checkout that is not installed (or with an install that points
    elsewhere), ``fic2epub.styles`` cannot be imported (or lacks the file): the
    stylesheet then comes from the checkout's ``styles/`` folder instead of every build
    failing."""
    from importlib import resources

    from fic2epub import pipeline

    def missing(name: str) -> object:
        raise error(f"No module named {name!r}")

    monkeypatch.setattr(resources, "files", missing)
    pipeline.default_css.cache_clear()
    try:
        assert pipeline.default_css() == (ROOT / "styles" / "default.css").read_bytes()
    finally:
        pipeline.default_css.cache_clear()
