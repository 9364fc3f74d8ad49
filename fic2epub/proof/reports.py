"""Proofing reports: text, JSON, HTML, GitHub annotations, SARIF 2.1.0."""

from __future__ import annotations

import dataclasses
import html
import json
from collections import Counter
from typing import Any

from .. import __version__
from ..model import Finding
from .engine import LEVELS, ProofResult, level_of

FORMATS = ("text", "json", "html", "github", "sarif")
GITHUB_CAP = 10
"""GitHub shows at most 10 annotations of each type per step."""


def summary(results: list[ProofResult]) -> dict[str, Any]:
    findings = [f for r in results for f in r.findings]
    return {
        "files": len(results),
        "words": sum(r.words for r in results),
        "findings": len(findings),
        "by_category": dict(sorted(Counter(f.category for f in findings).items())),
        "by_level": {lv: sum(level_of(f) == lv for f in findings) for lv in LEVELS},
        "notes": [n for r in results for n in r.notes],
    }


def render(results: list[ProofResult], fmt: str) -> str:
    if fmt == "json":
        return to_json(results)
    if fmt == "html":
        return to_html(results)
    if fmt == "github":
        return to_github(results)
    if fmt == "sarif":
        return to_sarif(results)
    return to_text(results)


def to_json(results: list[ProofResult]) -> str:
    data = {"findings": [dataclasses.asdict(f) for r in results for f in r.findings],
            "summary": summary(results)}
    return json.dumps(data, indent=2) + "\n"  # ASCII: valid JSON on any console


def _line_of(text: str, line: int) -> str:
    lines = text.split("\n")
    return lines[line - 1] if 0 < line <= len(lines) else ""


def context(text: str, f: Finding, width: int = 36) -> tuple[str, str, str]:
    """(before, flagged, after) on the finding's first line, trimmed to ``width``."""
    src = _line_of(text, f.line)
    a = f.column - 1
    b = f.end_column - 1 if f.end_line == f.line else len(src)
    before, mid, after = src[max(0, a - width):a], src[a:b], src[b:b + width]
    if a - width > 0:
        before = "…" + before.lstrip()
    if b + width < len(src):
        after = after.rstrip() + "…"
    return before, mid, after


def to_text(results: list[ProofResult]) -> str:
    out: list[str] = []
    for r in results:
        out.append(f"{r.file}: {len(r.findings)} finding(s) in {r.words} words")
        by_cat: dict[str, list[Finding]] = {}
        for f in r.findings:
            by_cat.setdefault(f.category, []).append(f)
        for cat in sorted(by_cat):
            out.append(f"\n  {cat} ({len(by_cat[cat])})")
            for f in by_cat[cat]:
                b, m, a = context(r.text, f)
                out.append(f"    {f.line}:{f.column}  {f.message}  [{f.rule}]")
                out.append(f"        {b}[{m}]{a}")
                if f.suggestions:
                    out.append(f"        → {', '.join(f.suggestions)}")
        out.append("")
    s = summary(results)
    cats = ", ".join(f"{k} {v}" for k, v in s["by_category"].items()) or "none"
    out.append(f"{s['findings']} finding(s) in {s['files']} file(s), {s['words']} words "
               f"({cats})")
    return "\n".join(out) + "\n"


def _escape_property(s: str) -> str:
    return (s.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
            .replace(":", "%3A").replace(",", "%2C"))


def _escape_data(s: str) -> str:
    return s.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def to_github(results: list[ProofResult]) -> str:
    """Workflow commands; past GitHub's 10 annotations per type, plain lines."""
    kinds = {"error": "error", "warning": "warning", "note": "notice"}
    used: Counter[str] = Counter()
    out: list[str] = []
    rest: list[str] = []
    for r in results:
        for f in r.findings:
            kind = kinds[level_of(f)]
            msg = f.message + (f" (suggestion: {', '.join(f.suggestions[:3])})"
                               if f.suggestions else "")
            if used[kind] < GITHUB_CAP:
                used[kind] += 1
                out.append(
                    f"::{kind} file={_escape_property(f.file)},line={f.line},col={f.column},"
                    f"endLine={f.end_line},endColumn={f.end_column},"
                    f"title={_escape_property(f.category + '/' + f.rule)}::{_escape_data(msg)}")
            else:
                rest.append(f"{f.file}:{f.line}:{f.column}: {kind}: {msg} [{f.rule}]")
    if rest:
        out.append(f"{len(rest)} more finding(s) beyond GitHub's {GITHUB_CAP} annotations "
                   f"per type:")
        out.extend(rest)
    for r in results:
        for n in r.notes:
            out.append(f"::notice::{_escape_data(n)}")
    s = summary(results)
    out.append(f"{s['findings']} finding(s) in {s['files']} file(s)")
    return "\n".join(out) + "\n"


def to_sarif(results: list[ProofResult]) -> str:
    rules: dict[str, dict[str, Any]] = {}
    sarif_results = []
    levels = {"error": "error", "warning": "warning", "note": "note"}
    for r in results:
        for f in r.findings:
            rid = f"{f.category}/{f.rule}"
            if rid not in rules:
                rules[rid] = {"id": rid, "name": f.rule,
                              "shortDescription": {"text": f"{f.category}: {f.rule}"},
                              "properties": {"category": f.category}}
            res: dict[str, Any] = {
                "ruleId": rid,
                "level": levels[level_of(f)],
                "message": {"text": f.message},
                "locations": [{"physicalLocation": {
                    "artifactLocation": {"uri": f.file},
                    "region": {"startLine": f.line, "startColumn": f.column,
                               "endLine": f.end_line, "endColumn": f.end_column,
                               "snippet": {"text": f.text}}}}],
            }
            if f.suggestions:
                res["fixes"] = [{
                    "description": {"text": f"replace with {s!r}"},
                    "artifactChanges": [{
                        "artifactLocation": {"uri": f.file},
                        "replacements": [{
                            "deletedRegion": {"startLine": f.line, "startColumn": f.column,
                                              "endLine": f.end_line,
                                              "endColumn": f.end_column},
                            "insertedContent": {"text": s}}]}]} for s in f.suggestions[:3]]
            sarif_results.append(res)
    notes = [n for r in results for n in r.notes]
    run: dict[str, Any] = {
        "tool": {"driver": {"name": "fic2epub-proof", "version": __version__,
                            "informationUri": "https://example.invalid/fic2epub",
                            "rules": list(rules.values())}},
        "columnKind": "unicodeCodePoints",
        "results": sarif_results,
    }
    if notes:
        run["invocations"] = [{"executionSuccessful": True, "toolExecutionNotifications": [
            {"level": "warning", "message": {"text": n}} for n in notes]}]
    doc = {"$schema": "https://json.schemastore.org/sarif-2.1.0.json", "version": "2.1.0",
           "runs": [run]}
    return json.dumps(doc, indent=2) + "\n"  # ASCII: valid JSON on any console


_CSS = """
body{font:16px/1.5 Georgia,serif;margin:0;background:#fbfaf7;color:#222}
header{position:sticky;top:0;background:#fff;border-bottom:1px solid #ccc;padding:.6em 1em;
 font-family:system-ui,sans-serif;font-size:14px;z-index:2}
header h1{font-size:18px;margin:0 0 .3em}
label{margin-right:1em;white-space:nowrap}
main{max-width:52em;margin:1em auto;padding:0 1em}
section.file{margin-bottom:3em}
pre.story{white-space:pre-wrap;word-wrap:break-word;font:inherit;margin:0}
.ln{color:#aaa;font:12px monospace;user-select:none;display:inline-block;width:4em}
mark{border-radius:2px;padding:0 1px;cursor:help}
mark.spelling{background:#ffc9c9;border-bottom:2px solid #d00}
mark.real-word{background:#ffe0a8;border-bottom:2px solid #c60}
mark.repetition{background:#d9c9ff;border-bottom:2px solid #63c}
mark.typography{background:#c9e6ff;border-bottom:2px solid #06c}
mark.grammar{background:#c9ffd5;border-bottom:2px solid #090}
mark.style{background:#eee;border-bottom:2px dotted #666}
.tip{font:13px system-ui,sans-serif;color:#333;background:#fff8d6;border:1px solid #e5d67a;
 padding:0 .3em;margin-left:.3em}
ol.findings{font:14px system-ui,sans-serif}
body.hide-spelling .c-spelling,body.hide-real-word .c-real-word,
body.hide-repetition .c-repetition,body.hide-typography .c-typography,
body.hide-grammar .c-grammar,body.hide-style .c-style{display:none}
body.hide-spelling mark.spelling,body.hide-real-word mark.real-word,
body.hide-repetition mark.repetition,body.hide-typography mark.typography,
body.hide-grammar mark.grammar,body.hide-style mark.style{background:none;border:0}
"""

_JS = """
document.querySelectorAll('input[data-cat]').forEach(function(box){
  box.addEventListener('change',function(){
    document.body.classList.toggle('hide-'+box.dataset.cat,!box.checked);});});
"""


def _highlight(text: str, findings: list[Finding], prefix: str = "") -> str:
    """The story text, escaped, with each finding in a <mark>, one numbered line at a time.
    Overlapping findings: the later one is listed but not marked."""
    lines = text.split("\n")
    starts = [0]
    for ln in lines:
        starts.append(starts[-1] + len(ln) + 1)
    spans = []
    for i, f in enumerate(findings):
        a = starts[f.line - 1] + f.column - 1
        b = starts[f.end_line - 1] + f.end_column - 1
        spans.append((a, max(b, a + 1), i, f))
    spans.sort(key=lambda s: (s[0], s[1]))
    out: list[str] = []
    pos = 0
    for a, b, i, f in spans:
        if a < pos:
            continue
        out.append(html.escape(text[pos:a]))
        tip = f"{f.message} [{f.rule}]"
        if f.suggestions:
            tip += " → " + ", ".join(f.suggestions)
        out.append(f'<mark class="{html.escape(f.category)}" id="f{prefix}-{i}" '
                   f'title="{html.escape(tip)}">{html.escape(text[a:b])}</mark>'
                   f'<span class="tip c-{html.escape(f.category)}">'
                   f'{html.escape(", ".join(f.suggestions[:2]) or f.rule)}</span>')
        pos = b
    out.append(html.escape(text[pos:]))
    body = "".join(out).split("\n")
    return "\n".join(f'<span class="ln">{n}</span>{line}' for n, line in
                     enumerate(body, 1))


def to_html(results: list[ProofResult]) -> str:
    """One self-contained page: the story text with findings marked in place, the list of
    findings with suggestions, and a checkbox per category to show or hide it."""
    s = summary(results)
    cats = sorted(s["by_category"])
    boxes = "".join(
        f'<label><input type="checkbox" checked data-cat="{html.escape(c)}"> '
        f'<mark class="{html.escape(c)}">{html.escape(c)}</mark> '
        f'({s["by_category"][c]})</label>' for c in cats)
    parts = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
             '<meta name="viewport" content="width=device-width, initial-scale=1">',
             f"<title>Proofing report: {html.escape(', '.join(r.file for r in results))}"
             "</title>", f"<style>{_CSS}</style></head><body>",
             f"<header><h1>Proofing report — {s['findings']} finding(s), {s['words']} "
             f"words</h1>{boxes}</header><main>"]
    for note in s["notes"]:
        parts.append(f'<p class="note">⚠ {html.escape(note)}</p>')
    for k, r in enumerate(results):
        parts.append(f'<section class="file"><h2>{html.escape(r.file)}</h2>')
        parts.append('<ol class="findings">')
        for i, f in enumerate(r.findings):
            sugg = (f" → <b>{html.escape(', '.join(f.suggestions))}</b>"
                    if f.suggestions else "")
            parts.append(f'<li class="c-{html.escape(f.category)}"><a href="#f{k}-{i}">'
                         f"{f.line}:{f.column}</a> <i>{html.escape(f.category)}</i> "
                         f"<q>{html.escape(f.text)}</q>: {html.escape(f.message)}{sugg}</li>")
        parts.append("</ol>")
        parts.append(f'<pre class="story">{_highlight(r.text, r.findings, str(k))}</pre></section>')
    parts.append(f"</main><script>{_JS}</script></body></html>")
    return "\n".join(parts) + "\n"
