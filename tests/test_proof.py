"""Proofing: checkers on the real sample, reports, CLI, LanguageTool against a fake server,
and the HTML report in a real headless browser."""

from __future__ import annotations

import json
import os
import shutil
import threading
import urllib.parse
import zlib
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import ROOT, SHARED

from fic2epub.cli import cli
from fic2epub.preview import screenshot
from fic2epub.proof import ProofOptions, document_from_text, proof_document, proof_file
from fic2epub.proof.languagetool import NOT_CONFIGURED
from fic2epub.proof.reports import GITHUB_CAP, render

RED_OMEGA = SHARED / "samples" / "red_omega_part15.txt"
LANTERN = ROOT / "input" / "the_lantern_keeper.txt"
NAMES = ["Xander", "Giles", "D'Hoffryn", "Willow", "Buffy", "Spike", "Anya", "Dawn", "Clem",
         "Rack", "Warren", "Tara", "Sunnydale"]
OFFLINE = ProofOptions(checkers=("spelling", "real-word", "typography"))

needs_sample = pytest.mark.skipif(not RED_OMEGA.exists(), reason="../shared sample missing")


def proof_text(text: str, **kw: object) -> list:  # type: ignore[type-arg]
    lines = text.split("\n")
    paras, start = [], None
    for i, ln in enumerate([*lines, ""], 1):
        if ln.strip() and start is None:
            start = i
        elif not ln.strip() and start is not None:
            paras.append((start, i - 1))
            start = None
    doc = document_from_text(text, "t.txt", paras)
    return proof_document(doc, ProofOptions(**kw)).findings  # type: ignore[arg-type]


@needs_sample
def test_red_omega_thrown_is_flagged_with_throne_first() -> None:
    result = proof_file(RED_OMEGA, OFFLINE)
    lines = RED_OMEGA.read_text(encoding="utf-8").split("\n")
    hits = [f for f in result.findings if f.text == "thrown"]
    assert len(hits) == 1
    f = hits[0]
    assert f.suggestions[0] == "throne"
    assert f.category == "real-word"
    assert lines[f.line - 1][f.column - 1:f.end_column - 1] == "thrown"
    assert "took his seat at the thrown of her morality" in lines[f.line - 1]
    # "He had been thrown clear" is right and stays unflagged
    assert not any("thrown clear" in lines[g.line - 1] and g.text == "thrown"
                   for g in result.findings)


@needs_sample
def test_red_omega_names_never_flagged_and_few_findings() -> None:
    result = proof_file(RED_OMEGA, OFFLINE)
    flagged = {f.text for f in result.findings}
    for name in NAMES:
        assert not any(name in t for t in flagged), name
    assert len(result.findings) <= 12
    rules = {(f.rule, f.text.strip()) for f in result.findings}
    assert ("its-after-preposition", "it's") in rules
    assert ("space-after-quote", '"') in rules
    assert any(r == "unbalanced-quotes" for r, _ in rules)
    for f in result.findings:  # every position points at the flagged text in the file
        src = RED_OMEGA.read_text(encoding="utf-8").split("\n")[f.line - 1]
        if f.end_line == f.line:
            assert src[f.column - 1:f.end_column - 1] == f.text


def test_lantern_keeper_slips() -> None:
    result = proof_file(LANTERN, OFFLINE)
    got = {(f.rule, f.text) for f in result.findings}
    assert ("confusion", "thrown") in got
    assert ("doubled-word", "the the") in got
    assert ("space-after-quote", '" ') in got
    assert any(r == "unbalanced-quotes" for r, _ in got)


def test_spelling_suggestions_ranked_and_names_learned() -> None:
    text = ("Marguerite walked to the markit. She said she would recieve it.\n\n"
            "Later, Marguerite and Tobiah came back. Tobiah was tired.\n")
    found = proof_text(text, checkers=("spelling",))
    assert [f.text for f in found] == ["markit", "recieve"]
    assert found[1].suggestions[0] == "receive"
    assert found[0].suggestions[0] == "market"
    assert (found[1].line, found[1].column) == (1, text.index("recieve") + 1)


def test_spelling_word_building_accepted_slips_still_flagged() -> None:
    # each rule: a word it accepts, beside a misspelling it must still flag
    cases = [
        ("Thou hangest the lamp and he endureth the cold. Thou allways knew.", "allways"),
        ("He frolick'd in the yard. She did not recieve it.", "recieve"),
        ("Their demandings were loud, and undejected they left untill dawn.", "untill"),
        ("The curé met the Mädchen by the seperate gate.", "seperate"),
        ("Krr went the mill. Krr it went again, and it was wierd.", "wierd"),
        ("He ate a cellarful of apples and an ovenful of bread, beleive me.", "beleive"),
        ("They met Mrs. Quinby and Grant B. Schley on the way home from Pont-Aven, "
         "and at the\nQuinby house it was greatful to sit.", "greatful"),
    ]
    for text, slip in cases:
        assert [f.text for f in proof_text(text, checkers=("spelling",))] == [slip], text


def test_url_blanking_same_as_whole_body_regex() -> None:
    from fic2epub.proof import document

    text = ("See http://a.example/x, mail me at foo@bar.com (or www.site.de) or "
            "b.example.org/page.\nNo address here. end.com\u00a0and  x@y.z")

    def whole(body: str) -> str:
        return document._URL.sub(lambda m: document._blank(m.group()), body)

    assert document._blank_urls(text) == whole(text)
    assert "foo@bar.com" not in document._blank_urls(text)


def test_personal_words_and_ignores() -> None:
    text = "The glimmerwick shone. It was a glimmerwick of note, the the end.\n"
    assert {f.text for f in proof_text(text)} >= {"glimmerwick", "the the"}
    assert proof_text(text, words=frozenset({"Glimmerwick"}), checkers=("spelling",)) == []
    left = proof_text(text, ignore_rules=frozenset({"doubled-word"}),
                      ignore_words=frozenset({"GLIMMERWICK"}))
    assert left == []


def test_grammar_patterns() -> None:
    text = ("The dog wagged of it's tail. You could of come. She was taller then him. "
            "Its been a long day.\n")
    got = {(f.text, f.suggestions[0]) for f in proof_text(text, checkers=("real-word",))}
    assert got == {("it's", "its"), ("of", "have"), ("then", "than"), ("Its", "It's")}


def test_typography_rules() -> None:
    text = ('She ran.. then stopped. he turned.\n\n'
            'I know how to stop her," Spike said.\n\n'
            '"Wait," she said, " Because I can."\n\n'
            '"This speech goes on\n\n'
            '"and ends here."\n')
    got = {f.rule for f in proof_text(text, checkers=("typography",))}
    assert got == {"doubled-period", "lowercase-sentence-start", "unbalanced-quotes",
                   "space-after-quote"}


# ------------------------------------------------------------------ CLI and reports


def test_cli_json_contract(tmp_path: Path) -> None:
    res = CliRunner().invoke(cli, ["proof", str(LANTERN), "--format", "json",
                                   "--no-checker", "languagetool"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    keys = {"file", "line", "column", "end_line", "end_column", "text", "message", "rule",
            "category", "suggestions"}
    assert data["findings"] and all(set(f) == keys for f in data["findings"])
    lines = LANTERN.read_text(encoding="utf-8").split("\n")
    for f in data["findings"]:
        if f["line"] == f["end_line"]:
            assert lines[f["line"] - 1][f["column"] - 1:f["end_column"] - 1] == f["text"]
    assert data["summary"]["findings"] == len(data["findings"])


def test_cli_text_fail_on_and_output(tmp_path: Path) -> None:
    runner = CliRunner()
    res = runner.invoke(cli, ["proof", str(LANTERN)])
    assert res.exit_code == 0
    assert "real-word" in res.stdout and "→ throne" in res.stdout
    res = runner.invoke(cli, ["proof", str(LANTERN), "--fail-on", "error"])
    assert res.exit_code == 1
    res = runner.invoke(cli, ["proof", str(LANTERN), "--fail-on", "grammar"])
    assert res.exit_code == 0
    res = runner.invoke(cli, ["proof", str(LANTERN), "--fail-on", "repetition"])
    assert res.exit_code == 1
    out = tmp_path / "r" / "report.sarif"
    res = runner.invoke(cli, ["proof", str(LANTERN), "--format", "sarif", "-o", str(out)])
    assert res.exit_code == 0 and res.stdout == ""
    sarif = json.loads(out.read_text(encoding="utf-8"))
    assert sarif["version"] == "2.1.0"
    results = sarif["runs"][0]["results"]
    assert results and results[0]["locations"][0]["physicalLocation"]["region"]["startLine"]
    res = runner.invoke(cli, ["proof", str(tmp_path / "nope.txt")])
    assert res.exit_code == 2


def test_cli_words_and_checker_switches(tmp_path: Path) -> None:
    words = tmp_path / "words.txt"
    words.write_text("# mine\nrelit\n", encoding="utf-8")
    res = CliRunner().invoke(cli, ["proof", str(LANTERN), "--format", "json",
                                   "--words", str(words), "--checker", "spelling"])
    data = json.loads(res.stdout)
    assert {f["category"] for f in data["findings"]} <= {"spelling"}
    assert not any(f["text"].lower() == "relit" for f in data["findings"])


def test_github_annotations_are_capped(tmp_path: Path) -> None:
    story = tmp_path / "typos.txt"
    story.write_text("Title: Typos\n\n" + " ".join(
        f"The qwzx{chr(97 + i % 26)}{chr(97 + i // 26)}lk walked." for i in range(30))
        + "\n", encoding="utf-8")
    res = CliRunner().invoke(cli, ["proof", str(story), "--format", "github",
                                   "--checker", "spelling", "--language", "en"])
    lines = res.stdout.splitlines()
    assert sum(ln.startswith("::error ") for ln in lines) == GITHUB_CAP
    assert any("more finding(s) beyond GitHub's" in ln for ln in lines)
    assert sum(": error: " in ln for ln in lines) == 20
    first = next(ln for ln in lines if ln.startswith("::error "))
    assert ",line=" in first and ",col=" in first


def test_build_proof_writes_report_beside_epub(tmp_path: Path) -> None:
    res = CliRunner().invoke(cli, ["build", str(LANTERN), "-o", str(tmp_path), "--proof",
                                   "--no-verify"])
    assert res.exit_code == 0, res.output
    assert (tmp_path / "the_lantern_keeper.epub").exists()
    data = json.loads((tmp_path / "the_lantern_keeper.proof.json").read_text("utf-8"))
    assert any(f["text"] == "thrown" for f in data["findings"])
    assert (tmp_path / "the_lantern_keeper.proof.html").exists()


def test_html_escapes_story_text(tmp_path: Path) -> None:
    story = tmp_path / "evil.txt"
    story.write_text('Title: X\n\nShe wrote <script>alert(1)</script> & the the '
                     '<b>bold</b> recieve.\n', encoding="utf-8")
    page = render([proof_file(story, OFFLINE)], "html")
    assert "<script>alert" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<b>bold" not in page


# ------------------------------------------------------------------ LanguageTool


class _FakeLT(BaseHTTPRequestHandler):
    """The documented LanguageTool HTTP API: GET /v2/languages, POST /v2/check."""

    def log_message(self, *args: object) -> None:  # keep test output clean
        pass

    def _json(self, data: object) -> None:
        body = json.dumps(data).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        if self.path.startswith("/v2/languages"):
            self._json([{"name": "English (US)", "code": "en", "longCode": "en-US"}])
        else:
            self.send_error(404)

    def do_POST(self) -> None:
        form = urllib.parse.parse_qs(self.rfile.read(int(self.headers["Content-Length"]))
                                     .decode())
        text, lang = form["text"][0], form["language"][0]
        self.server.requests.append(lang)  # type: ignore[attr-defined]
        matches = []
        at = text.find("alot")
        if at >= 0:
            matches.append({
                "message": "Did you mean 'a lot'?", "shortMessage": "Spelling",
                "offset": at, "length": 4, "replacements": [{"value": "a lot"}],
                "rule": {"id": "EN_A_LOT", "description": "a lot", "issueType": "misspelling",
                         "category": {"id": "TYPOS", "name": "Possible Typo"}},
                "context": {"text": text[max(0, at - 10):at + 14], "offset": min(at, 10),
                            "length": 4},
                "sentence": text})
        self._json({"software": {"name": "LanguageTool"}, "matches": matches})


@pytest.fixture
def fake_languagetool() -> Iterator[tuple[str, list[str]]]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _FakeLT)
    server.requests = []  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", server.requests  # type: ignore[attr-defined]
    server.shutdown()
    server.server_close()


def test_languagetool_against_fake_server(tmp_path: Path,
                                          fake_languagetool: tuple[str, list[str]]) -> None:
    url, requests = fake_languagetool
    story = tmp_path / "s.txt"
    story.write_text("Title: T\n\nFirst line of the story.\n\nShe liked him alot, "
                     "really.\n", encoding="utf-8")
    res = CliRunner().invoke(cli, ["proof", str(story), "--format", "json",
                                   "--languagetool", url, "--language", "en-US",
                                   "--checker", "languagetool"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    lt = [f for f in data["findings"] if f["rule"] == "LT:EN_A_LOT"]
    assert lt == [{"file": str(story), "line": 5, "column": 15, "end_line": 5,
                   "end_column": 19, "text": "alot", "message": "Did you mean 'a lot'?",
                   "rule": "LT:EN_A_LOT", "category": "spelling", "suggestions": ["a lot"]}]
    assert requests == ["en-US"]


def test_languagetool_unreachable_one_line_and_other_findings(tmp_path: Path) -> None:
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    res = CliRunner().invoke(cli, ["proof", str(LANTERN), "--format", "json",
                                   "--languagetool", f"http://127.0.0.1:{port}"])
    assert res.exit_code == 0
    err = [ln for ln in res.stderr.splitlines() if ln.strip()]
    assert len(err) == 1 and "LanguageTool unreachable" in err[0]
    data = json.loads(res.stdout)
    assert any(f["text"] == "thrown" for f in data["findings"])
    assert data["summary"]["notes"] and "unreachable" in data["summary"]["notes"][0]


def test_languagetool_not_configured_never_downloads(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LTP_PATH", raising=False)
    res = CliRunner().invoke(cli, ["proof", str(LANTERN), "--checker", "languagetool"])
    assert res.exit_code == 0
    assert res.stderr.strip() == f"fic2epub: {NOT_CONFIGURED}"


# ------------------------------------------------------------------ HTML in a browser


def _chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


def _png_pixels_vary(png: bytes) -> bool:
    """Decode an 8-bit RGB/RGBA PNG enough to tell whether it is one flat colour."""
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, width, depth, ctype = 8, b"", 0, 0, 0
    while pos < len(png):
        n = int.from_bytes(png[pos:pos + 4], "big")
        kind, data = png[pos + 4:pos + 8], png[pos + 8:pos + 8 + n]
        if kind == b"IHDR":
            width, depth, ctype = int.from_bytes(data[:4], "big"), data[8], data[9]
        elif kind == b"IDAT":
            idat += data
        pos += 12 + n
    raw = zlib.decompress(idat)
    assert depth == 8 and ctype in (2, 6)
    bpp = 3 if ctype == 2 else 4
    stride = width * bpp + 1
    # filter bytes make rows hard to compare raw; count distinct non-zero bytes instead
    rows = [raw[i * stride + 1:(i + 1) * stride] for i in range(len(raw) // stride)]
    return len({bytes(r) for r in rows}) > 20


@pytest.mark.skipif(_chromium() is None and not os.environ.get("CI"),
                    reason="chromium not installed (scripts/test installs it)")
def test_html_report_renders_in_headless_chromium(tmp_path: Path) -> None:
    browser = _chromium()
    assert browser, "chromium is required in CI"
    page = tmp_path / "report.html"
    page.write_text(render([proof_file(LANTERN, OFFLINE)], "html"), encoding="utf-8")
    png = tmp_path / "shot.png"
    screenshot(browser, page, png, size=(1200, 1600), timeout=120)  # raises on failure
    assert png.exists()
    data = png.read_bytes()
    assert len(data) > 10_000
    assert _png_pixels_vary(data)
    if os.environ.get("FIC2EPUB_UPDATE_EXAMPLES"):
        (ROOT / "examples").mkdir(exist_ok=True)
        shutil.copy(png, ROOT / "examples" / "proof_report.png")
        shutil.copy(page, ROOT / "examples" / "proof_report.html")


def test_json_and_sarif_are_valid_on_a_console_without_the_storys_letters(
        tmp_path: Path) -> None:
    """Output that the console's encoding cannot hold is escaped (the CLI's streams use
    backslashreplace): in JSON only as JSON escapes, so the report stays valid."""
    import os
    import subprocess
    import sys

    story = tmp_path / "smile \U0001f600.txt"  # in every finding's "file"
    story.write_text("Title: Emoji\n\nShe smiled \U0001f600 and said teh word twice twice.\n")
    env = {**os.environ, "PYTHONIOENCODING": "cp1252"}
    for fmt in ("json", "sarif"):
        res = subprocess.run([sys.executable, "-m", "fic2epub", "proof", str(story),
                              "--format", fmt, "--checker", "spelling", "--checker",
                              "typography"],
                             capture_output=True, env=env, timeout=300, check=False)
        assert res.returncode == 0, res.stderr
        data = json.loads(res.stdout.decode("cp1252"))
        assert "\U0001f600" in json.dumps(data, ensure_ascii=False), fmt
