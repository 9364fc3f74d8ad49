"""``build --check``: converts and proofreads without writing books, ``--fail-on`` sets the
exit status; proofing settings of ``fic2epub.toml`` ([proof]) reach ``build --check``,
``build --proof`` and ``fic2epub proof``, and do not make books rebuild."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from fic2epub.cli import cli

SLIPS = ("Title: The Throne\nAuthor: A. Writer\n\n"
         "The king took his seat at the thrown and smiled at Zorblax.\n\n"
         "It was a long day in the the hall, and nobody spoke.\n")
CLEAN = ("Title: Quiet\nAuthor: A. Writer\n\n"
         "Zorblax walked home along the river and slept until noon.\n")


def _run(args: list[str]) -> tuple[int, dict, str, str]:
    res = CliRunner().invoke(cli, args)
    out = res.stdout
    data = json.loads(out) if out.strip().startswith("{") else {}
    return res.exit_code, data, out, res.stderr


@pytest.fixture()
def stories(tmp_path: Path) -> Path:
    root = tmp_path / "stories"
    (root / "sub").mkdir(parents=True)
    (root / "slips.txt").write_text(SLIPS, encoding="utf-8")
    (root / "sub" / "quiet.txt").write_text(CLEAN, encoding="utf-8")
    return root


def _findings(data: dict) -> dict[str, list[tuple[int, int, str, str]]]:
    return {Path(r["input"]).name: [(f["line"], f["column"], f["rule"], f["text"])
                                    for f in r["findings"]] for r in data["results"]}


def test_check_proofreads_each_story_and_writes_nothing(stories: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    code, data, _, _ = _run(["build", str(stories), "--check", "--json", "-j", "1",
                             "-o", str(out)])
    assert code == 0 and not out.exists()
    got = _findings(data)
    # positions are in the author's file: line 4 is the first story line
    assert got["slips.txt"] == [(4, 31, "confusion", "thrown"), (6, 22, "doubled-word", "the the")]
    assert got["quiet.txt"] == [(4, 1, "unknown-word", "Zorblax")]
    first = data["results"][0]["findings"][0]
    assert first["suggestions"][0] == "throne" and first["category"] == "real-word"
    assert data["summary"]["findings"] == 3 and data["summary"]["failed_proofing"] == 0


def test_check_fail_on_sets_the_exit_status(stories: Path) -> None:
    code, data, _, _ = _run(["build", str(stories), "--check", "--json", "-j", "1",
                             "--fail-on", "error"])
    assert code == 1
    assert data["summary"]["failed"] == 0 and data["summary"]["failed_proofing"] == 2
    assert all(r["proof_failed"] for r in data["results"])
    # a category: only the story with a real-word slip fails
    code, data, _, _ = _run(["build", str(stories), "--check", "--json", "-j", "1",
                             "--fail-on", "real-word"])
    assert code == 1 and [Path(r["input"]).name for r in data["results"]
                          if r["proof_failed"]] == ["slips.txt"]
    # a category nothing falls in
    code, data, _, _ = _run(["build", str(stories), "--check", "--json", "-j", "1",
                             "--fail-on", "grammar"])
    assert code == 0 and data["summary"]["failed_proofing"] == 0


def test_check_prints_findings_as_file_line_column(stories: Path) -> None:
    code, _, out, _ = _run(["build", str(stories / "slips.txt"), "--check"])
    assert code == 0
    assert (f"{stories / 'slips.txt'}:4:31: error: 'thrown' is a real word, but 'throne' "
            "fits here much better (suggestion: throne) [real-word/confusion]") in out
    # -q: only the books that fail --fail-on show their findings
    code, _, out, err = _run(["build", str(stories), "--check", "-q", "-j", "1",
                              "--fail-on", "real-word"])
    assert code == 1 and "slips.txt:4:31:" in out and "quiet.txt" not in out
    assert "failed proofing  1" in err


@pytest.mark.skipif(not sys.platform.startswith("linux"),
                    reason="the workers must be forked to inherit the patched function")
def test_check_proofreads_in_the_worker_processes(stories: Path, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """Each story is proofread once, in a worker process (not in the parent)."""
    import fic2epub.files

    real = fic2epub.files._proofread
    log = tmp_path / "pids"

    def logged(*args: object) -> None:
        with log.open("a") as fh:
            fh.write(f"{os.getpid()}\n")
        real(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(fic2epub.files, "_proofread", logged)
    for n in range(4):
        (stories / f"copy{n}.txt").write_text(SLIPS, encoding="utf-8")
    code, data, _, _ = _run(["build", str(stories), "--check", "--json", "-j", "2"])
    assert code == 0 and len(data["results"]) == 6
    assert all(len(f) == 2 for name, f in _findings(data).items() if name != "quiet.txt")
    pids = log.read_text().split()
    assert len(pids) == 6 and str(os.getpid()) not in pids


def test_folder_proof_settings_reach_every_way_of_proofreading(stories: Path,
                                                               tmp_path: Path) -> None:
    (stories / "words.txt").write_text("# names\nZorblax\n", encoding="utf-8")
    (stories / "fic2epub.toml").write_text(
        '[proof]\nwords = ["words.txt"]\nignore_rules = ["doubled-word"]\nfail_on = ["error"]\n')
    # build --check: the word list counts in the subfolder too; the word list itself is
    # not a story; fail_on comes from the settings
    code, data, _, _ = _run(["build", str(stories), "--check", "--json", "-j", "1"])
    assert sorted(Path(r["input"]).name for r in data["results"]) == ["quiet.txt", "slips.txt"]
    assert _findings(data) == {"slips.txt": [(4, 31, "confusion", "thrown")], "quiet.txt": []}
    assert code == 1 and data["summary"]["failed_proofing"] == 1
    # the command line's --fail-on wins over the settings'
    code, _, _, _ = _run(["build", str(stories), "--check", "--json", "-j", "1",
                          "--fail-on", "grammar"])
    assert code == 0
    # fic2epub proof
    code, data, _, _ = _run(["proof", str(stories), "--format", "json"])
    flagged = [(Path(f["file"]).name, f["text"]) for f in data["findings"]]
    assert flagged == [("slips.txt", "thrown")] and code == 1
    code, _, _, _ = _run(["proof", str(stories), "--format", "json", "--fail-on", "grammar"])
    assert code == 0
    # build --proof: the reports beside the books
    out = tmp_path / "out"
    code, data, _, _ = _run(["build", str(stories), "--proof", "--json", "-j", "1",
                             "-o", str(out)])
    assert code == 1 and sorted(p.name for p in out.rglob("*.epub")) == ["quiet.epub",
                                                                        "slips.epub"]
    report = json.loads((out / "slips.proof.json").read_text(encoding="utf-8"))
    assert [f["text"] for f in report["findings"]] == ["thrown"]
    report = json.loads((out / "sub" / "quiet.proof.json").read_text(encoding="utf-8"))
    assert report["findings"] == []


def test_proof_settings_do_not_rebuild_books(stories: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    code, data, _, _ = _run(["build", str(stories), "--json", "-j", "1", "-o", str(out)])
    assert code == 0 and data["summary"]["converted"] == 2
    (stories / "words.txt").write_text("Zorblax\n", encoding="utf-8")
    (stories / "fic2epub.toml").write_text('[proof]\nwords = ["words.txt"]\n')
    code, data, _, _ = _run(["build", str(stories), "--json", "-j", "1", "-o", str(out)])
    assert code == 0 and data["summary"]["skipped"] == 2 and data["summary"]["converted"] == 0
    # a setting that shapes the book still does
    (stories / "words.txt").unlink()
    (stories / "fic2epub.toml").write_text('author = "Someone Else"\n')
    code, data, _, _ = _run(["build", str(stories), "--json", "-j", "1", "-o", str(out)])
    assert data["summary"]["converted"] == 2


@pytest.mark.parametrize(("toml", "message"), [
    ('[proof]\ncheckers = ["speling"]\n', "unknown checker(s) speling"),
    ('[proof]\nwords = ["missing.txt"]\n', "word list"),
    ('[proof]\nwords = 3\n', "words must be a list of strings"),
    ('[proof]\nlanguage = "English!"\n', "is not a language tag"),
    ('[proof]\nlanguagetool = "localhost"\n', "must be a server's URL"),
    ('[proof]\nfail_on = ["error", "no such thing"]\n', "fail_on 'no such thing'"),
])
def test_bad_proof_settings_are_one_usage_error(stories: Path, toml: str,
                                                message: str) -> None:
    (stories / "fic2epub.toml").write_text(toml)
    for args in (["build", str(stories), "--check"], ["proof", str(stories)]):
        code, _, _, err = _run(args)
        assert code == 2, (args, err)
        assert message in err and "fic2epub.toml" in err


def test_fail_on_needs_proofreading(stories: Path, tmp_path: Path) -> None:
    code, _, _, err = _run(["build", str(stories), "-o", str(tmp_path / "o"),
                            "--fail-on", "error"])
    assert code == 2 and "--fail-on needs --check or --proof" in err
    code, _, _, err = _run(["build", str(stories), "--check", "--fail-on", "no such"])
    assert code == 2 and "--fail-on 'no such'" in err


def test_a_word_list_is_read_when_the_settings_are(stories: Path, tmp_path: Path) -> None:
    """An undecodable word list is one usage error before any book is made (before: each
    book failed with --check, and build --proof stopped after writing the books)."""
    (stories / "names.txt").write_bytes(b"na\xefve\n")
    (stories / "fic2epub.toml").write_text('[proof]\nwords = ["names.txt"]\n')
    out = tmp_path / "out"
    for args in (["build", str(stories), "--check", "--json"],
                 ["build", str(stories), "--proof", "--json", "-o", str(out)],
                 ["proof", str(stories)]):
        code, _, _, err = _run(args)
        assert code == 2 and "cannot read word list" in err and "fic2epub.toml" in err
        assert not out.exists()


def test_word_lists_named_anywhere_are_not_stories(stories: Path) -> None:
    """A list in the parent folder, named by a subfolder's settings, is a list too; and
    lists of nested settings add up."""
    (stories / "names.txt").write_text("Zorblax\n", encoding="utf-8")
    (stories / "sub" / "fic2epub.toml").write_text('[proof]\nwords = ["../names.txt"]\n')
    code, data, _, _ = _run(["build", str(stories), "--check", "--json", "-j", "1"])
    assert sorted(Path(r["input"]).name for r in data["results"]) == ["quiet.txt", "slips.txt"]
    assert _findings(data)["quiet.txt"] == []
    (stories / "fic2epub.toml").write_text('[proof]\nwords = ["names.txt"]\n')
    (stories / "sub" / "more.txt").write_text("Quillon\n", encoding="utf-8")
    (stories / "sub" / "fic2epub.toml").write_text('[proof]\nwords = ["more.txt"]\n')
    (stories / "sub" / "quiet.txt").write_text(CLEAN.replace("noon.", "noon with Quillon."))
    code, data, _, _ = _run(["build", str(stories / "sub"), "--check", "--json", "-j", "1"])
    assert [Path(r["input"]).name for r in data["results"]] == ["quiet.txt"]
    assert _findings(data) == {"quiet.txt": []} and code == 0


def test_the_command_line_checker_beats_the_settings_disable(stories: Path) -> None:
    (stories / "fic2epub.toml").write_text('[proof]\ndisable = ["real-word"]\n')
    code, data, _, _ = _run(["proof", str(stories / "slips.txt"), "--format", "json"])
    assert code == 0 and "confusion" not in [f["rule"] for f in data["findings"]]
    code, data, _, _ = _run(["proof", str(stories / "slips.txt"), "--format", "json",
                             "--checker", "real-word"])
    assert code == 0 and [f["rule"] for f in data["findings"]] == ["confusion"]


@pytest.mark.parametrize(("spec", "fails"), [
    ("Error", True), ("ERROR", True), ("spelling", True), ("confusion", True),
    ("real-word/confusion", True), ("repetition/doubled-word", True),
    ("spelling/confusion", False), ("its-as-it-is", False), ("LT:SOME_RULE", False),
])
def test_fail_on_forms(stories: Path, spec: str, fails: bool) -> None:
    code, data, _, _ = _run(["build", str(stories), "--check", "--json", "-j", "1",
                             "--fail-on", spec])
    assert code == (1 if fails else 0) and data["summary"]["failed"] == 0


@pytest.mark.parametrize("spec", ["errors", "spellling", "real-word/no-such-rule",
                                  "no-such-category/confusion", "LT:"])
def test_a_mistyped_fail_on_is_a_usage_error(stories: Path, spec: str) -> None:
    """A name that matches nothing would let every build pass."""
    for args in (["build", str(stories), "--check", "--fail-on", spec],
                 ["proof", str(stories), "--fail-on", spec]):
        code, _, _, err = _run(args)
        assert code == 2 and f"--fail-on {spec!r}" in err, (args, err)
    (stories / "fic2epub.toml").write_text(f'[proof]\nfail_on = ["{spec}"]\n')
    code, _, _, err = _run(["build", str(stories), "--check"])
    assert code == 2 and f"fail_on {spec!r}" in err and "fic2epub.toml" in err


def test_check_combine_proofreads_each_file(stories: Path) -> None:
    """A combined book's proofing: each file's findings at their line and column in that
    file (the work's parts are the author's files), and --fail-on judges the book."""
    code, data, _, err = _run(["build", str(stories), "--check", "--combine", "--json"])
    assert code == 0, err
    (result,) = data["results"]
    assert [(Path(f["file"]).name, f["line"], f["column"], f["text"])
            for f in result["findings"]] == [
        ("slips.txt", 4, 31, "thrown"), ("slips.txt", 6, 22, "the the"),
        ("quiet.txt", 4, 1, "Zorblax")]
    assert data["summary"]["findings"] == 3 and data["summary"]["failed_proofing"] == 0
    code, _, out, _ = _run(["build", str(stories), "--check", "--combine"])
    assert code == 0
    assert f"{stories / 'sub' / 'quiet.txt'}:4:1: " in out
    assert f"{stories / 'slips.txt'}:4:31: " in out
    code, data, _, _ = _run(["build", str(stories), "--check", "--combine", "--json",
                             "--fail-on", "real-word"])
    assert code == 1 and data["summary"]["failed_proofing"] == 1


def test_build_proof_fail_on_names_the_findings_even_for_skipped_books(
        stories: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    code, data, _, _ = _run(["build", str(stories), "-o", str(out), "-j", "1", "--json"])
    assert code == 0
    code, data, out_text, err = _run(["build", str(stories), "-o", str(out), "-j", "1",
                                      "--proof", "--fail-on", "real-word", "-q"])
    assert code == 1
    assert "slips.txt:4:31: error: 'thrown' is a real word" in out_text
    assert "failed proofing  1" in err
    code, data, _, _ = _run(["build", str(stories), "-o", str(out), "-j", "1", "--proof",
                             "--fail-on", "grammar", "--json"])
    assert code == 0 and data["summary"]["skipped"] == 2
    assert data["summary"]["findings"] == 3 and data["summary"]["failed_proofing"] == 0


def test_every_rule_the_offline_checkers_report_is_known() -> None:
    """checkers.RULES (what --fail-on accepts) names every rule checkers.py reports."""
    import re as re_

    from fic2epub.proof import checkers

    source = Path(checkers.__file__).read_text(encoding="utf-8")
    reported = set(re_.findall(r'"([a-z]+(?:-[a-z]+)+)",\s*\n?\s*"(?:spelling|repetition|'
                               r'typography|real-word)"', source))
    reported |= {"confusion"} | {rule[5] for rule in checkers.PAIR_RULES}
    assert len(reported) >= 10 and reported <= checkers.RULES


def test_a_proofing_note_is_shown_once_for_the_batch(stories: Path) -> None:
    """A LanguageTool server that does not answer is said once, on stderr, as `fic2epub
    proof` says it; it is not a warning of every book, and does not fail the build."""
    (stories / "fic2epub.toml").write_text('[proof]\nlanguagetool = "http://127.0.0.1:9"\n')
    code, data, _, err = _run(["build", str(stories), "--check", "--json", "-j", "1"])
    assert code == 0 and data["summary"]["warnings"] == 0
    notes = [line for line in err.splitlines() if "LanguageTool unreachable" in line]
    assert len(notes) == 1 and notes[0].startswith("fic2epub: LanguageTool unreachable at "
                                                   "http://127.0.0.1:9 (Connection refused)")
    assert all(r["proof_notes"] for r in data["results"])
    # the offline checkers still ran
    assert _findings(data)["slips.txt"][0][2] == "confusion"
