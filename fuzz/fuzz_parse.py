"""Coverage-guided fuzz target (atheris) for decoding, header parsing and cleaning.

Any bytes must either parse into a Story whose paragraphs keep every source word in
order, or raise a fic2epub error (a clean one-line message). Anything else is a crash.

Run:  python3 fuzz/fuzz_parse.py fuzz/corpus -max_total_time=1800
      (or scripts/fuzz SECONDS, which seeds the corpus and prints the figures)
"""

from __future__ import annotations

import sys

import atheris

with atheris.instrument_imports():
    from fic2epub.errors import Fic2EpubError
    from fic2epub.pipeline import parse
    from fic2epub.verify import words


def check(data: bytes) -> None:
    try:
        story = parse(data, "fuzz.txt")
    except Fic2EpubError as exc:
        message = str(exc)
        if not message or "\n" in message:
            raise AssertionError(f"error message must be one line: {message!r}") from exc
        return
    omitted = {n for o in story.omissions for n in range(o.start_line, o.end_line + 1)}
    expected = [w for no, line in enumerate(story.text.split("\n"), 1) if no not in omitted
                for w in words(line)]
    headings = [ch.title for ch in story.chapters if ch.title and ch.title_line is not None]
    actual: list[str] = []
    for ch in story.chapters:
        if ch.title and ch.title_line is not None:
            actual.extend(words(ch.title))
        for scene in ch.scenes:
            for p in scene.paragraphs:
                actual.extend(words(p.text))
    if actual != expected:
        raise AssertionError(f"words changed: headings={headings!r}")


def main() -> None:
    atheris.Setup(sys.argv, check)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
