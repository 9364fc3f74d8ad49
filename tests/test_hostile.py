"""Hostile and broken input: one test per case. Nothing crashes, nothing is lost,
nothing gets in; every EPUB these tests write passes EPUBCheck."""

from __future__ import annotations

import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest
from bookreader import Book, words
from click.testing import CliRunner
from conftest import CORPUS, ROOT, SAMPLES

from fic2epub import convert
from fic2epub.cli import cli
from fic2epub.files import convert_file, find_inputs
from fic2epub.model import Config

INPUT = ROOT / "input"


def build(args: list[str]) -> tuple[int, dict, str]:
    res = CliRunner().invoke(cli, ["build", "--json", *args])
    data = json.loads(res.stdout) if res.stdout.strip().startswith("{") else {}
    return res.exit_code, data, res.stderr


def all_xml(path: Path) -> dict[str, str]:
    with zipfile.ZipFile(path) as zf:
        return {n: zf.read(n).decode("utf-8") for n in zf.namelist()
                if n.endswith((".xhtml", ".opf", ".ncx"))}


def test_markup_in_text_and_header_is_text(tmp_path: Path, epubcheck) -> None:
    src = tmp_path / "x.txt"
    src.write_text('Title: <script>alert("t")</script> & ]]> "Q"\nAuthor: <b>A</b> & B\n'
                   "Summary: <img src=x onerror=alert(1)>\n\n"
                   "Body <script>alert(1)</script> & <a href=\"javascript:alert(1)\">x</a> "
                   "]]> <!-- c --> words.\n", encoding="utf-8")
    code, data, _ = build([str(src), "-o", str(tmp_path / "out")])
    assert code == 0
    out = Path(data["results"][0]["output"])
    for name, xml in all_xml(out).items():
        assert "<script" not in xml and "<b>" not in xml, name
        imgs = xml.count("<img")
        assert imgs == (1 if name.endswith("cover.xhtml") else 0), name
        if imgs:  # only the cover image, its alt text escaped
            assert 'src="../images/cover.' in xml and "alt=\"Cover: &lt;script&gt;" in xml
        assert 'href="javascript' not in xml.replace(" ", ""), name
        if "chapter-" in name or "titlepage" in name:
            assert "<a " not in xml, name
    page = all_xml(out)["EPUB/text/chapter-001.xhtml"]
    assert "&lt;script&gt;" in page and "javascript:alert" in page  # shown as text
    book = Book(out)
    assert book.dc("title") == ['<script>alert("t")</script> & ]]> "Q"']
    assert all(r.clean for r in epubcheck([out]))


def test_quotes_in_attributes(tmp_path: Path, epubcheck) -> None:
    src = tmp_path / "q.txt"
    src.write_text('Chapter 1: "Quoted" <&> \'x\'\n\nSome words of the chapter.\n\n'
                   'Chapter 2\n\nMore words.\n', encoding="utf-8")
    result = convert(src.read_bytes(), "q.txt")
    out = tmp_path / "q.epub"
    out.write_bytes(result.epub)
    page = all_xml(out)["EPUB/text/chapter-001.xhtml"]
    assert 'aria-label="Chapter 1: &quot;Quoted&quot; &lt;&amp;&gt; &#x27;x&#x27;"' in page
    assert all(r.clean for r in epubcheck([out]))


def test_bidi_controls_and_lone_surrogates(tmp_path: Path, epubcheck) -> None:
    data = ("Plain words \u202eevil\u202c and \u2066isolated\u2069 text.\n").encode() + \
        b"Broken \xed\xa0\x80 surrogate and \xff bytes here.\n"
    result = convert(data, "b.txt")
    out = tmp_path / "b.epub"
    out.write_bytes(result.epub)
    for xml in all_xml(out).values():
        assert not any(c in xml for c in "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
        assert not any("\ud800" <= c <= "\udfff" for c in xml)
    assert all(r.clean for r in epubcheck([out]))


def test_hostile_title_never_escapes_the_output_folder(tmp_path: Path, epubcheck) -> None:
    out = tmp_path / "out"
    code, data, _ = build([str(INPUT / "salt_and_iron.txt"), "-o", str(out),
                           "--title", "../../etc/passwd"])
    assert code == 0
    written = Path(data["results"][0]["output"]).resolve()
    assert written.parent == out.resolve()
    assert Book(written).dc("title") == ["../../etc/passwd"]
    assert all(r.clean for r in epubcheck([written]))


@pytest.mark.parametrize(("name", "expected"), [
    ("CON.txt", "story_CON.epub"),
    ("aux.TXT", "story_aux.epub"),
    ("x" * 250 + ".txt", "x" * 115 + ".epub"),  # 120 characters in all
    ("Déjà vu — “quoted” 💥.txt", "Deja_vu_quoted.epub"),
    ("..hidden..txt", "hidden.epub"),
    ("a:b*c?d|e<f>g.txt", "a_b_c_d_e_f_g.epub"),
])
def test_file_names_are_legal_everywhere(tmp_path: Path, name: str, expected: str,
                                        epubcheck) -> None:
    src = tmp_path / "in"
    src.mkdir()
    shutil.copy(INPUT / "salt_and_iron.txt", src / name)
    code, data, err = build([str(src / name), "-o", str(tmp_path / "out")])
    assert code == 0, err
    assert Path(data["results"][0]["output"]).name == expected
    assert all(r.clean for r in epubcheck([Path(data["results"][0]["output"])]))


def test_case_insensitive_duplicates_get_unique_names(tmp_path: Path, epubcheck) -> None:
    src = tmp_path / "in"
    src.mkdir()
    shutil.copy(INPUT / "salt_and_iron.txt", src / "Story.txt")
    shutil.copy(INPUT / "salt_and_iron.txt", src / "story.txt")
    _, data, _ = build([str(src), "-o", str(tmp_path / "out")])
    names = sorted(Path(r["output"]).name for r in data["results"])
    assert names == ["Story.epub", "story-2.epub"] or names == ["story-2.epub", "story.epub"]
    assert all(r.clean for r in epubcheck([Path(r["output"]) for r in data["results"]]))


def test_symlink_out_of_the_input_folder_is_not_followed(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    shutil.copy(INPUT / "salt_and_iron.txt", outside / "secret.txt")
    src = tmp_path / "in"
    src.mkdir()
    shutil.copy(INPUT / "winter_letters_cp1252.txt", src / "ok.txt")
    (src / "link.txt").symlink_to(outside / "secret.txt")
    (src / "dirlink").symlink_to(outside, target_is_directory=True)
    found = [p.name for p, _ in find_inputs([src])]
    assert found == ["ok.txt"]


@pytest.mark.parametrize(("content", "message"), [
    (b"", "the file is empty"),
    (b"   \r\n\t\n\n  \n", "the file holds no text"),
    (b"\x00\x01\x02\x03" * 300, "not a text file"),
    (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n", "a PDF document"),
    (b"Title: Only a header\nAuthor: Me\n", "no story text found"),
])
def test_bad_files_give_one_line(tmp_path: Path, content: bytes, message: str) -> None:
    src = tmp_path / "bad.txt"
    src.write_bytes(content)
    code, _, err = build([str(src), "-o", str(tmp_path / "out")])
    lines = [line for line in err.splitlines() if line.startswith(str(src))]
    assert code == 1 and len(lines) == 1 and message in lines[0]
    assert "Traceback" not in err


def test_one_megabyte_line(tmp_path: Path, epubcheck) -> None:
    text = ("word " * 210_000).strip() + "\n"
    src = tmp_path / "long.txt"
    src.write_text(text, encoding="utf-8")
    code, data, err = build([str(src), "-o", str(tmp_path / "out")])
    assert code == 0, err
    out = Path(data["results"][0]["output"])
    book = Book(out)
    assert len([w for p in book.story_pages() for w in words(book.text(p))]) == 210_000
    assert all(r.clean for r in epubcheck([out]))


def test_200_megabyte_file_is_refused_without_reading_it(tmp_path: Path) -> None:
    src = tmp_path / "huge.txt"
    with src.open("wb") as fh:
        fh.truncate(200 * 2**20)  # sparse: no disk used
    code, _, err = build([str(src), "-o", str(tmp_path / "out")])
    assert code == 1 and "200 MB, larger than the 64 MB limit" in err


def test_file_that_vanishes_mid_batch(tmp_path: Path) -> None:
    src = tmp_path / "in"
    src.mkdir()
    shutil.copy(INPUT / "salt_and_iron.txt", src / "gone.txt")
    found = find_inputs([src])
    (src / "gone.txt").unlink()
    result = convert_file(found[0][0], tmp_path / "out" / "gone.epub", Config())
    assert not result.ok and result.error == "file not found"
    (src / "dangling.txt").symlink_to(src / "nowhere.txt")
    result = convert_file(src / "dangling.txt", None, Config())
    assert not result.ok and result.error == "file not found"


def test_output_folder_that_is_a_file(tmp_path: Path) -> None:
    blocker = tmp_path / "out"
    blocker.write_text("not a folder")
    code, _, err = build([str(INPUT / "salt_and_iron.txt"), "-o", str(blocker / "sub")])
    assert code == 1 and "cannot write" in err and "Traceback" not in err


def test_full_disk_leaves_no_partial_file(tmp_path: Path) -> None:
    """RLIMIT_FSIZE makes writes past 4 kB fail as on a full disk (EFBIG)."""
    out = tmp_path / "out"
    out.mkdir()

    def limit() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (4_000, 4_000))

    proc = subprocess.run([sys.executable, "-m", "fic2epub", "build", str(SAMPLES[0]), "-o",
                           str(out)], capture_output=True, text=True, preexec_fn=limit,
                          timeout=120, check=False)
    assert proc.returncode == 1
    assert "cannot write" in proc.stderr and "Traceback" not in proc.stderr
    assert [p.name for p in out.iterdir() if p.suffix in (".epub", ".part")] == []


def _many(tmp_path: Path, n: int) -> Path:
    src = tmp_path / "many"
    src.mkdir()
    for k in range(n):
        shutil.copy(SAMPLES[0], src / f"s{k:03d}.txt")
    return src


def _valid_books(out: Path) -> list[Path]:
    """Every book is a whole ZIP; all are byte-identical (same story, same bytes), so
    EPUBCheck on one of them stands for all."""
    books = sorted(out.glob("*.epub"))
    for b in books:
        with zipfile.ZipFile(b) as zf:
            assert zf.testzip() is None
            assert zf.namelist()[0] == "mimetype"
    assert len({b.read_bytes() for b in books}) <= 1
    return books


def test_interrupted_batch_resumes(tmp_path: Path, epubcheck) -> None:
    src = _many(tmp_path, 40)
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "fic2epub", "build", str(src), "-o", str(out), "-j", "2"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and len(list(out.glob("*.epub"))) < 5:
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode != 0 and b"Traceback" not in err, err
    done_before = _valid_books(out)
    assert 5 <= len(done_before) < 40
    assert not list(out.glob("*.part")) and not list(out.glob(".*.part"))
    res = subprocess.run([*cmd, "--json", "-q"], capture_output=True, text=True, timeout=600,
                         check=False)
    assert res.returncode == 0, res.stderr
    summary = json.loads(res.stdout)["summary"]
    assert summary["skipped"] >= 1 and summary["skipped"] + summary["converted"] == 40
    books = _valid_books(out)
    assert len(books) == 40
    assert all(r.clean for r in epubcheck(books[:1]))


def test_two_runs_into_the_same_folder(tmp_path: Path, epubcheck) -> None:
    src = _many(tmp_path, 12)
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "fic2epub", "build", str(src), "-o", str(out), "-j", "1",
           "--force", "-q"]
    a = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    b = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    a.communicate(timeout=600)
    b.communicate(timeout=600)
    assert a.returncode == 0 and b.returncode == 0
    books = _valid_books(out)
    assert len(books) == 12
    assert all(r.clean for r in epubcheck(books[:1]))
    json.loads((out / ".fic2epub-cache.json").read_text())  # never corrupt
    assert not list(out.glob(".*.part"))


def test_corpus_with_hostile_files_mixed_in(tmp_path: Path, epubcheck) -> None:
    src = tmp_path / "mixed"
    src.mkdir()
    good = [*SAMPLES, *CORPUS]
    for k, f in enumerate(good):
        shutil.copy(f, src / f"{k:02d}_{f.stem}.txt")
    hostile = {"zz_binary.txt": b"\x7fELF\x02\x01" + bytes(500), "zz_empty.txt": b"",
               "zz_zip.txt": b"PK\x03\x04" + bytes(100), "zz_blank.txt": b"\n\n  \n"}
    for name, data in hostile.items():
        (src / name).write_bytes(data)
    out = tmp_path / "out"
    code, data, err = build([str(src), "-o", str(out)])
    assert code == 1
    ok = [r for r in data["results"] if r["ok"]]
    bad = {Path(r["input"]).name for r in data["results"] if not r["ok"]}
    assert len(ok) == len(good) and bad == set(hostile)
    assert all(f"{src / name}: " in err for name in hostile)
    books = sorted(out.glob("*.epub"))
    assert len(books) == len(good)
    reports = epubcheck(books)
    assert [(r.path.name, r.messages) for r in reports if not r.clean] == []


def test_read_input_stat_reads_a_file_whole_up_to_the_limit(tmp_path: Path) -> None:
    import tracemalloc

    from fic2epub.errors import InputError
    from fic2epub.files import read_input_stat

    src = tmp_path / "s.txt"
    body = os.urandom(50_000)
    src.write_bytes(body)
    data, (size, mtime) = read_input_stat(src, max_bytes=50_000)
    assert data == body and size == 50_000 and mtime == src.stat().st_mtime_ns
    with pytest.raises(InputError, match="larger than"):
        read_input_stat(src, max_bytes=49_999)
    # a buffer of the file's size, not of the 64 MB limit
    tracemalloc.start()
    try:
        read_input_stat(src)
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 1_000_000
    over = tmp_path / "over.txt"
    over.write_bytes(b"x" * (2**20 + 100))
    with pytest.raises(InputError) as err:
        read_input_stat(over, max_bytes=2**20)
    assert str(err.value) == ("the file is 1,048,676 bytes, larger than the 1 MB limit "
                              "(--max-size)")


def test_read_input_stat_reads_on_past_the_stat_size_of_a_pipe(tmp_path: Path) -> None:
    """A FIFO has size 0 when stat'ed: what a writer puts in it is still read whole, and
    the limit still holds."""
    import threading

    from fic2epub.errors import InputError
    from fic2epub.files import read_input_stat

    fifo = tmp_path / "pipe.txt"
    os.mkfifo(fifo)
    body = b"Title: Piped\n\n" + b"word " * 20_000

    def feed() -> None:
        try:
            with fifo.open("wb") as fh:
                fh.write(body)
        except BrokenPipeError:  # the reader stopped at the limit
            pass

    writer = threading.Thread(target=feed)
    writer.start()
    data, (size, _mtime) = read_input_stat(fifo)
    writer.join()
    assert data == body and size == 0
    writer = threading.Thread(target=feed)
    writer.start()
    with pytest.raises(InputError, match="grew past"):
        read_input_stat(fifo, max_bytes=1000)
    writer.join()


def test_a_named_pipe_in_a_folder_fails_alone_instead_of_hanging(tmp_path: Path) -> None:
    """Run in a child process with a time limit: a regression fails, it does not hang."""
    src = tmp_path / "in"
    src.mkdir()
    shutil.copy(INPUT / "salt_and_iron.txt", src / "a.txt")
    os.mkfifo(src / "m_pipe.txt")
    shutil.copy(INPUT / "the_lantern_keeper.txt", src / "z.txt")
    res = subprocess.run([sys.executable, "-m", "fic2epub", "build", str(src), "-o",
                          str(tmp_path / "out"), "-j2", "--json"],
                         capture_output=True, text=True, timeout=120, check=False)
    assert res.returncode == 1, res.stderr
    assert [r["ok"] for r in json.loads(res.stdout)["results"]] == [True, False, True]
    assert f"{src / 'm_pipe.txt'}: a named pipe that nothing wrote to within 2 s" in res.stderr


def test_a_symlink_loop_fails_alone(tmp_path: Path) -> None:
    src = tmp_path / "in"
    src.mkdir()
    shutil.copy(INPUT / "salt_and_iron.txt", src / "good.txt")
    (src / "loop.txt").symlink_to("loop.txt")
    code, data, err = build([str(src), "-o", str(tmp_path / "out")])
    assert code == 1
    assert [(Path(r["input"]).name, r["ok"]) for r in data["results"]] == [
        ("good.txt", True), ("loop.txt", False)]
    assert f"{src / 'loop.txt'}: cannot read: Too many levels of symbolic links" in err
    (tmp_path / "top.txt").symlink_to("top.txt")  # named on the command line: a usage error
    code, data, err = build([str(tmp_path / "top.txt"), "-o", str(tmp_path / "out")])
    assert code == 2 and f"{tmp_path / 'top.txt'}: no such file or folder" in err


def test_file_names_that_are_not_utf8(tmp_path: Path, epubcheck) -> None:
    """Names from old archives (Windows-1252 bytes) under a strict UTF-8 output: every
    file converts, lines and JSON name them with escapes (valid UTF-8, and the JSON gives
    the name back), and a title taken from such a name reads the bytes as Windows-1252."""
    src = tmp_path / "in"
    src.mkdir()
    shutil.copy(INPUT / "salt_and_iron.txt", src / "a.txt")
    with open(os.path.join(os.fsencode(src), b"caf\xe9.txt"), "wb") as fh:
        fh.write((INPUT / "the_lantern_keeper.txt").read_bytes())
    with open(os.path.join(os.fsencode(src), b"caf\xe9 au lait.txt"), "wb") as fh:
        fh.write(b"The rain came down on the roof all night, and nobody slept.\n")
    env = {**os.environ, "PYTHONIOENCODING": "utf-8:strict"}
    cmd = [sys.executable, "-m", "fic2epub", "build", str(src), "-o", str(tmp_path / "out"),
           "-j2"]
    res = subprocess.run(cmd, capture_output=True, env=env, timeout=600, check=False)
    assert res.returncode == 0, res.stderr.decode(errors="replace")
    lines = res.stdout.decode("utf-8").splitlines()  # strict: valid UTF-8
    assert sum(ln.startswith("[") for ln in lines) == 3
    assert any(f"{src}/caf\\udce9.txt ->" in ln for ln in lines)
    res = subprocess.run([*cmd, "--json", "--force"], capture_output=True, env=env,
                         timeout=600, check=False)
    assert res.returncode == 0, res.stderr.decode(errors="replace")
    data = json.loads(res.stdout.decode("utf-8"))
    by_name = {os.fsencode(Path(r["input"]).name): r for r in data["results"]}
    assert set(by_name) == {b"a.txt", b"caf\xe9.txt", b"caf\xe9 au lait.txt"}
    assert all(r["ok"] for r in data["results"])
    assert by_name[b"caf\xe9 au lait.txt"]["title"] == "café au lait"
    books = sorted((tmp_path / "out").glob("*.epub"))
    assert len(books) == 3
    assert all(r.clean for r in epubcheck(books))


def test_json_is_valid_whatever_the_output_encoding(tmp_path: Path) -> None:
    """A title the console's code page lacks (an emoji on cp1252) and a file name with a
    line separator: --json is still valid JSON, and lines keep to one line."""
    src = tmp_path / "in"
    src.mkdir()
    (src / "a\u2028b.txt").write_text("Title: Caf\u00e9 \U0001f600 Story\n\n"
                                       "The story has its own words in it.\n")
    env = {**os.environ, "PYTHONIOENCODING": "cp1252"}
    cmd = [sys.executable, "-m", "fic2epub", "build", str(src), "-o", str(tmp_path / "out")]
    res = subprocess.run([*cmd, "--json"], capture_output=True, env=env, timeout=300,
                         check=False)
    assert res.returncode == 0, res.stderr
    (result,) = json.loads(res.stdout.decode("cp1252"))["results"]
    assert result["title"] == "Caf\u00e9 \U0001f600 Story"
    assert Path(result["input"]).name == "a\u2028b.txt"
    res = subprocess.run([*cmd, "--force"], capture_output=True, env=env, timeout=300,
                         check=False)
    lines = res.stdout.decode("cp1252").splitlines()
    assert any(ln.startswith("[1/1]") and "a\\u2028b.txt" in ln for ln in lines), lines
