"""Golden-file tests, one folder per stage: ``golden/<stage>/<case>.<ext>`` is the input,
``<case>.expected.json`` (or ``.expected.xhtml``) the output. After a deliberate change,
``pytest tests/test_golden.py --update-golden`` rewrites them; review the diff."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from fic2epub.clean import clean_paragraph
from fic2epub.decode import decode
from fic2epub.header import parse_front
from fic2epub.model import CleanOptions
from fic2epub.pipeline import parse
from fic2epub.render import render
from fic2epub.structure import build_body

GOLDEN = Path(__file__).parent / "golden"


def stage_decode(path: Path) -> Any:
    d = decode(path.read_bytes())
    return {"encoding": d.encoding, "lines": d.text.split("\n"),
            "changes": [dataclasses.asdict(c) for c in d.changes]}


def stage_front(path: Path) -> Any:
    front = parse_front(path.read_text(encoding="utf-8").split("\n"))
    meta = {k: v for k, v in dataclasses.asdict(front.metadata).items() if v not in (None, [])}
    return {"metadata": meta, "omissions": [[o.start_line, o.end_line, o.reason]
                                            for o in front.omissions]}


def stage_clean(path: Path) -> Any:
    out = []
    for no, line in enumerate(path.read_text(encoding="utf-8").split("\n"), 1):
        if line:
            cp = clean_paragraph(line, [(no, k + 1) for k in range(len(line))], CleanOptions())
            out.append({"text": cp.text,
                        "emphasis": [cp.text[s:e] for s, e in cp.emphasis],
                        "changes": [f"{c.line}:{c.column} {c.fixer} {c.before!r}->{c.after!r}"
                                    for c in cp.changes]})
    return out


def stage_structure(path: Path) -> Any:
    lines = path.read_text(encoding="utf-8").split("\n")
    body = build_body(lines, set(), {}, CleanOptions())
    return [{"title": ch.title, "scenes": [
        {"break": s.marker, "paragraphs": [[p.start_line, p.end_line, p.kind, p.text]
                                           for p in s.paragraphs]} for s in ch.scenes]}
        for ch in body.chapters]


def stage_render(path: Path) -> Any:
    story = parse(path.read_bytes(), path.name)
    docs = render(story, "en")
    return "\n".join(f"<!-- {d.file_name} -->\n{d.content.decode()}" for d in docs)


STAGES: dict[str, Callable[[Path], Any]] = {
    "decode": stage_decode, "front": stage_front, "clean": stage_clean,
    "structure": stage_structure, "render": stage_render,
}
CASES = [(stage, p) for stage in STAGES for p in sorted((GOLDEN / stage).iterdir())
         if ".expected." not in p.name]


@pytest.mark.parametrize(("stage", "case"), CASES, ids=[f"{s}/{p.stem}" for s, p in CASES])
def test_golden(stage: str, case: Path, update_golden: bool) -> None:
    actual = STAGES[stage](case)
    if isinstance(actual, str):
        expected_path = case.with_name(f"{case.stem}.expected.xhtml")
        text = actual
    else:
        expected_path = case.with_name(f"{case.stem}.expected.json")
        text = json.dumps(actual, ensure_ascii=False, indent=2) + "\n"
    if update_golden or not expected_path.exists():
        if not update_golden:
            pytest.fail(f"no expected output for {case.name}: run with --update-golden")
        expected_path.write_text(text, encoding="utf-8")
    assert text == expected_path.read_text(encoding="utf-8")
