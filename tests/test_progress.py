"""What a batch prints while it runs: a progress bar on a terminal (a real one: a
pseudo-terminal), ``[i/n]`` lines otherwise, ``-q`` and ``-v``, and the closing table."""

from __future__ import annotations

import os
import re
import select
import shutil
import struct
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import ROOT

from fic2epub.cli import cli

fcntl = pytest.importorskip("fcntl")  # pseudo-terminals: not on Windows
pty = pytest.importorskip("pty")
termios = pytest.importorskip("termios")

INPUT = ROOT / "input"
STORIES = ("salt_and_iron.txt", "the_lantern_keeper.txt", "winter_letters_cp1252.txt")


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """Three good stories, one binary file (fails) and one story without a title (a
    warning), in that order by name."""
    src = tmp_path / "in"
    src.mkdir()
    for n, name in enumerate(STORIES, 1):
        shutil.copy(INPUT / name, src / f"{n}_{name}")
    (src / "4_broken.txt").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8)
    (src / "5_untitled.txt").write_text("\n\nshe said it twice and nobody listened.\n\n"
                                        "then the rain came down.\n")
    return src


def _table(text: str) -> dict[str, str]:
    return dict(m.groups() for m in re.finditer(
        r"^(converted|failed|skipped|warnings|words|time) +(\S.*)$", text, re.MULTILINE))


def test_lines_and_a_summary_when_not_a_terminal(folder: Path, tmp_path: Path) -> None:
    res = CliRunner().invoke(cli, ["build", str(folder), "-o", str(tmp_path / "out"), "-j1"])
    assert res.exit_code == 1
    lines = [ln for ln in res.stdout.splitlines() if ln.startswith("[")]
    assert [ln.split()[0] for ln in lines] == ["[1/5]", "[2/5]", "[3/5]", "[5/5]"]
    assert all(" -> " in ln and ln.split()[1].startswith(str(folder)) for ln in lines)
    assert f"{folder / '4_broken.txt'}: not a text file" in res.stderr
    table = _table(res.stderr)  # a failure sends the table to stderr, beside the failure
    assert table["converted"] == "4" and table["failed"] == "1" and table["skipped"] == "0"
    assert table["warnings"] == "1" and int(table["words"]) > 2000
    assert "warning:" not in res.stderr  # only with -v


def test_quiet_prints_only_failures_and_the_summary(folder: Path, tmp_path: Path) -> None:
    res = CliRunner().invoke(cli, ["build", str(folder), "-o", str(tmp_path / "out"), "-j1",
                                   "-q"])
    assert res.exit_code == 1
    assert res.stdout == ""
    assert res.stderr.splitlines()[0] == (f"{folder / '4_broken.txt'}: not a text file: "
                                          "looks like a PNG image")
    assert _table(res.stderr)["converted"] == "4"
    (folder / "4_broken.txt").unlink()
    res = CliRunner().invoke(cli, ["build", str(folder), "-o", str(tmp_path / "out"), "-q"])
    assert res.exit_code == 0 and res.stderr == ""
    table = _table(res.stdout)  # up to date now, and still the table
    assert list(table) == ["converted", "failed", "skipped", "warnings", "words", "time"]
    assert table["skipped"] == "4" and table["converted"] == "0"
    assert len(res.stdout.splitlines()) == 6


def test_verbose_adds_each_books_warnings(folder: Path, tmp_path: Path) -> None:
    res = CliRunner().invoke(cli, ["build", str(folder), "-o", str(tmp_path / "out"), "-j1",
                                   "-v"])
    assert res.exit_code == 1
    assert (f"{folder / '5_untitled.txt'}: warning: no title found: using the file name"
            in res.stderr.splitlines())


def _run_on_terminal(args: list[str], rows: int, cols: int) -> str:
    """Run ``python -m fic2epub ARGS`` with stdout and stderr on a new pseudo-terminal of
    ``rows`` x ``cols`` (0 x 0: a terminal that reports no size) and return what it
    printed, carriage returns as line ends."""
    pid, fd = pty.fork()
    if pid == 0:  # the child: its terminal is the pty
        try:
            fcntl.ioctl(1, termios.TIOCSWINSZ,
                        struct.pack("HHHH", rows, cols, 0, 0))
            env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
            os.execve(sys.executable, [sys.executable, "-m", "fic2epub", *args], env)
        finally:
            os._exit(127)
    out = bytearray()
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 1)
        if not ready:
            continue
        try:
            chunk = os.read(fd, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        out += chunk
    os.close(fd)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 1, out.decode(errors="replace")
    return out.decode(errors="replace").replace("\r\n", "\n").replace("\r", "\n")


@pytest.mark.parametrize("cols", [100, 0], ids=["100 columns", "no size"])
def test_a_progress_bar_on_a_terminal(folder: Path, tmp_path: Path, cols: int) -> None:
    text = _run_on_terminal(["build", str(folder), "-o", str(tmp_path / "out"), "-j2"],
                            rows=24 if cols else 0, cols=cols)
    bars = [ln for ln in text.splitlines() if "story/s" in ln or "?story" in ln]
    assert bars, text
    assert re.search(r"100%\|.*\| 5/5 \[\d\d:\d\d<00:00, +[\d.]+story/s\]", bars[-1]), bars
    assert not re.search(r"^\[\d/5\]", text, re.MULTILINE)  # the bar, not the lines
    assert f"{folder / '4_broken.txt'}: not a text file" in text
    assert _table(text)["converted"] == "4"
    if cols:
        assert all(len(ln) <= cols for ln in bars)
