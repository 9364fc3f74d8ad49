"""Print a Markdown table: each shared sample/corpus file -> EPUBCheck result, words lost,
scenes, chapters, title. Usage: python3 scripts/corpus_report.py [OUT_DIR]"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from bookreader import Book, words  # noqa: E402
from conftest import CORPUS, SAMPLES, run_epubcheck  # noqa: E402

from fic2epub import convert  # noqa: E402


def main() -> None:
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tempfile.mkdtemp())
    out.mkdir(parents=True, exist_ok=True)
    print("| file | encoding | EPUBCheck (errors/warnings) | source words | words lost |"
          " scenes | chapters | title |")
    print("|---|---|---|---|---|---|---|---|")
    for src in SAMPLES + CORPUS:
        result = convert(src.read_bytes(), src.name)
        path = out / f"{src.name}.epub"
        path.write_bytes(result.epub)
        story = result.story
        omitted = {n for o in story.omissions for n in range(o.start_line, o.end_line + 1)}
        expected = [w for no, line in enumerate(story.text.split("\n"), 1)
                    if no not in omitted for w in words(line)]
        book = Book(path)
        actual = [w for p in book.story_pages() for w in words(book.text(p))]
        # words lost = expected words that do not appear, in order, in the book
        it = iter(actual)
        lost = sum(1 for w in expected if not any(a == w for a in it))
        rep = run_epubcheck(path)
        check = f"{rep.errors}/{rep.warnings}" + (f" fatal {rep.fatals}" if rep.fatals else "")
        print(f"| {src.name} | {story.encoding} | {check} | {len(expected)} | {lost} | "
              f"{story.scene_count} | {len(story.chapters)} | {story.metadata.title} |",
              flush=True)


if __name__ == "__main__":
    main()
