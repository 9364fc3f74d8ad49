"""Front matter: the header block, mail/Usenet headers, Project Gutenberg headers, or a
title (and byline) found without any of them.

``parse_front(lines)`` is pure: the decoded lines in, a :class:`Front` out. It never
changes the body; it only says which source lines are front matter (``omissions``) and
what they mean (``fields`` and ``metadata``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .model import Field, Metadata, Omission

# Canonical key for each label an author may write (lower case, spaces collapsed).
KEYS: dict[str, str] = {}
for _canon, _labels in {
    "title": ["title", "story title", "story", "fic title", "name of story"],
    "author": ["author", "authors", "author(s)", "written by", "writer", "pen name", "by"],
    "rating": ["rating", "rated", "ratings"],
    "fandom": ["fandom", "fandoms", "fandom(s)", "show", "universe", "crossover"],
    "relationships": ["pairing", "pairings", "pairing(s)", "relationship", "relationships",
                      "relationship(s)", "ship", "ships"],
    "characters": ["characters", "character", "character(s)", "main characters"],
    "category": ["category", "categories", "genre", "genres", "type"],
    "warnings": ["warning", "warnings", "archive warning", "archive warnings", "content warning",
                 "content warnings", "trigger warnings"],
    "tags": ["tags", "keywords", "additional tags", "freeform tags"],
    "series": ["series"],
    "summary": ["summary", "synopsis", "description", "blurb", "abstract"],
    "disclaimer": ["disclaimer", "disclaimers", "legal", "copyright"],
    "feedback": ["feedback", "comments", "c&c", "reviews", "feedback welcome"],
    "notes": ["notes", "note", "author's note", "author's notes", "authors note",
              "authors notes", "author note", "author notes", "a/n", "an", "a/ns",
              "dedication", "thanks", "acknowledgments", "acknowledgements"],
    "archive": ["archive", "archiving", "archive permission", "archived at"],
    "email": ["email", "e-mail", "mail", "contact"],
    "word_count": ["word count", "wordcount", "words", "length"],
    "language": ["language"],
    "date": ["date", "release date", "posted", "written", "date posted", "completed"],
    "translator": ["translator", "translated by", "translation"],
}.items():
    for _label in _labels:
        KEYS[_label] = _canon

# Keys whose values are a short single item; a following line is never continuation.
_SHORT_KEYS = {"title", "author", "rating", "email", "word_count", "language", "date", "archive"}
# Keys whose value may be prose written below them after a blank line ("Summary:", a blank
# line, the summary). Any other key with nothing after its colon takes only the line
# right below it: after a blank line comes the story ("Fandom:", a blank line, and the
# first paragraph is not the fandom).
_PROSE_KEYS = {"summary", "disclaimer", "feedback", "notes", "warnings"}

MAIL_KEYS = {
    "path", "from", "newsgroups", "subject", "date", "message-id", "organization", "lines",
    "sender", "distribution", "references", "reply-to", "nntp-posting-host", "article-i.d.",
    "news-software", "followup-to", "approved", "expires", "xref", "to", "cc", "mime-version",
    "content-type", "content-transfer-encoding", "status", "received", "return-path",
    "in-reply-to", "keywords", "summary", "x-newsreader", "x-mailer", "user-agent",
    "originator", "reply", "x-posted-by", "posted-by", "newsgroup", "apparently-to",
}
_MAIL_KEPT = {"subject", "from", "date", "newsgroups"}

LANGUAGE_NAMES = {
    "english": "en", "german": "de", "deutsch": "de", "french": "fr", "français": "fr",
    "spanish": "es", "español": "es", "italian": "it", "dutch": "nl", "portuguese": "pt",
    "japanese": "ja", "chinese": "zh", "korean": "ko", "russian": "ru", "finnish": "fi",
    "swedish": "sv", "danish": "da", "norwegian": "no", "polish": "pl", "latin": "la",
    "greek": "el", "hungarian": "hu", "czech": "cs", "esperanto": "eo", "tagalog": "tl",
}

_KEY_LINE = re.compile(r"^[ \t]{0,12}([A-Za-z][A-Za-z0-9'’&()/ .\-]{0,30}?)[ \t]*:[ \t]*(.*)$")
_MAIL_LINE = re.compile(r"^([A-Za-z][A-Za-z0-9.\-]*):[ \t]*(.*)$")
_MBOX_FROM = re.compile(r"^From \S+ .*\d{4}\s*$")
_BYLINE = re.compile(r"^\W{0,12}(?:by|written by|von|par|por|di)[:\s]\s*(\S.{0,60}?)\W{0,3}$",
                     re.IGNORECASE)
_NUMBER_WORDS = {w: i for i, w in enumerate([
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
    "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen",
    "nineteen", "twenty"])}
_PART = re.compile(r"\(?\b(?:part|pt\.?|chapter|ch\.?|book|vol\.?|volume|episode)\s*"
                   r"(\d+|[ivxlc]+|" + "|".join(_NUMBER_WORDS) + r")\b[^)]*\)?", re.IGNORECASE)
_PART_OF = re.compile(r"\(\s*(\d+)\s*/\s*(\d+)\s*\)")
_SUBJECT_NOISE = re.compile(
    r"^\s*(?:(?:re|fwd?|new|new story|story|repost|fic|fanfic|fan fic)\s*:\s*|\[[^\]]*\]\s*|"
    r"\([^)]*\)\s*(?=\S))+", re.IGNORECASE)
_EMAIL = re.compile(r"[\w.+\-]+@[\w\-]+(?:\.[\w\-]+)+")
_SMALL_WORDS = {"a", "an", "and", "as", "at", "but", "by", "for", "in", "nor", "of", "on",
                "or", "the", "to", "up", "via", "vs", "with", "from", "into"}


@dataclass
class Front:
    metadata: Metadata
    fields: list[Field] = field(default_factory=list)
    omissions: list[Omission] = field(default_factory=list)
    chapter_starts: dict[int, str] = field(default_factory=dict)
    """Later mail posts in the same file (line number -> subject): each starts a chapter."""

    def omitted_lines(self) -> set[int]:
        return {n for o in self.omissions for n in range(o.start_line, o.end_line + 1)}


def canonical_key(label: str) -> str | None:
    norm = re.sub(r"\s+", " ", label.strip().lower().replace("’", "'"))
    return KEYS.get(norm)


def smart_title_case(text: str) -> str:
    """``THE METTLE OF OUR LLAMAS`` -> ``The Mettle of Our Llamas`` (only for all-caps text)."""
    letters = [c for c in text if c.isalpha()]
    if not letters or any(c.islower() for c in letters) or len(letters) < 4:
        return text
    words = text.lower().split(" ")
    out = []
    for i, w in enumerate(words):
        if i and w in _SMALL_WORDS:
            out.append(w)
        else:
            out.append(w[:1].upper() + w[1:])
    return " ".join(out)


def _title_like(line: str) -> bool:
    s = line.strip().strip("#*_ ").strip()
    if not s or len(s) > 90 or len(s.split()) > 14:
        return False
    if s[0] in "\"“'‘([<{" or s.endswith((",", ";", ":", "\"", "”")):
        return False
    if s.endswith(".") and not s.endswith("...") and len(s.split()) > 6:
        return False
    return any(c.isalpha() for c in s) and not s.startswith("\\")


def _clean_title(line: str) -> str:
    s = line.strip()
    s = re.sub(r"^#{1,6}\s+", "", s)
    s = re.sub(r"^(\*\*|__|\*|_)(.+)\1$", r"\2", s).strip()
    # letter-spaced titles: "B O O K  'E M" -> "BOOK 'EM"
    groups = re.split(r"\s{2,}", s)
    if all((re.fullmatch(r"(\S ?)+", g) and all(len(t) == 1 for t in g.split(" "))) or
           (re.fullmatch(r"'?\S", g.replace(" ", "")[:2])
            and all(len(t) <= 2 for t in g.split(" ")))
           for g in groups) and len(s.replace(" ", "")) >= 3:
        s = " ".join(g.replace(" ", "") for g in groups)
    s = re.sub(r"\s{2,}", " ", s)
    s = s.strip("/\\=~-+|<> \t")
    return smart_title_case(s)


def _series_from(text: str, meta: Metadata) -> None:
    """'Red Omega (part 15 NA)' -> series 'Red Omega', index 15; '(1/4)' -> part 1."""
    if meta.series_index:
        return
    m = _PART_OF.search(text) or _PART.search(text)
    if not m:
        return
    num = m.group(1)
    if num.isdigit():
        index = str(int(num))
    elif num.lower() in _NUMBER_WORDS:
        index = str(_NUMBER_WORDS[num.lower()])
    else:
        index = str(_roman(num))
    base = text[: m.start()].strip(" ,:;-–—(")
    if base:
        meta.series = meta.series or base
        meta.series_index = index


def _roman(s: str) -> int:
    vals = {"i": 1, "v": 5, "x": 10, "l": 50, "c": 100}
    total = 0
    s = s.lower()
    for i, ch in enumerate(s):
        v = vals[ch]
        total += -v if i + 1 < len(s) and vals[s[i + 1]] > v else v
    return total


def _parse_from(value: str) -> tuple[str | None, str | None]:
    email_m = _EMAIL.search(value)
    email = email_m.group() if email_m else None
    name = None
    m = re.search(r"\(([^)]+)\)", value) or re.search(r'^\s*"?([^"<]+?)"?\s*<', value)
    if m:
        name = m.group(1).strip()
    elif email is None and value.strip():
        name = value.strip()
    elif email:
        rest = value.replace(email, "").strip(" <>()\"")
        name = rest or None
    return name, email


def _mail_block(lines: list[str], start: int) -> int:
    """End (exclusive) of a mail/Usenet header block starting at ``start``, or ``start``."""
    i = start
    keys = 0
    if i < len(lines) and _MBOX_FROM.match(lines[i]):
        i += 1
        keys += 1
    while i < len(lines):
        line = lines[i]
        m = _MAIL_LINE.match(line)
        if m and m.group(1).lower() in MAIL_KEYS:
            keys += 1
            i += 1
        elif m and m.group(1).lower().startswith("x-") and keys:
            i += 1
        elif keys and line[:1] in (" ", "\t") and line.strip():
            i += 1  # folded header line
        else:
            break
    return i if keys >= 2 else start


def _skip_blank(lines: list[str], i: int) -> int:
    while i < len(lines) and not lines[i].strip():
        i += 1
    return i


def _apply_field(meta: Metadata, fld: Field) -> None:
    key, value = fld.key, fld.value
    if key == "series":
        m = re.search(r"[,;(]?\s*(?:part|book|no\.?|#|volume|vol\.?)\s*(\d+)\)?\s*$", value, re.I)
        if m:
            meta.series = value[: m.start()].strip(" ,;:-")
            meta.series_index = m.group(1)
        else:
            meta.series = value
        return
    if key == "language":
        meta.language = LANGUAGE_NAMES.get(value.lower().split()[0] if value else "",
                                           value if re.fullmatch(r"[a-z]{2,3}(-\w+)?", value)
                                           else None)
        return
    if key == "author":
        name, email = _parse_from(value) if _EMAIL.search(value) else (value, None)
        meta.author = meta.author or name
        meta.author_email = meta.author_email or email
        return
    if key == "title":
        meta.title = meta.title or value
        return
    if hasattr(meta, key) and key not in ("extra", "title_source"):
        old = getattr(meta, key)
        setattr(meta, key, f"{old}\n{value}" if old else value)
    else:
        meta.extra.append((fld.label, value))


def _header_block(lines: list[str], start: int, meta: Metadata,
                  fields: list[Field], omissions: list[Omission], strict: bool = False) -> int:
    """Parse a ``Key: value`` header block at ``start``; return the first body line.

    ``strict``: a value that ends a sentence does not run on to a line below it that
    starts one: the block ends there (an empty field still takes the line below it)."""
    i = start
    current: list[object] | None = None  # [key, label, [values], start, end]
    block: list[list[object]] = []
    known = 0
    last_content = start - 1
    blank_run = 0
    while i < len(lines):
        raw = lines[i]
        line = raw.strip()
        if not line:
            blank_run += 1
            i += 1
            continue
        m = _KEY_LINE.match(raw)
        label = m.group(1).strip() if m else ""
        value = m.group(2).strip() if m else ""
        canon = canonical_key(label) if m else None
        is_key = bool(m) and not value.startswith("//") and (
            canon is not None or (known > 0 and len(label.split()) <= 3 and label[0].isupper()))
        if is_key and canon is None and "(" in label:
            is_key = False
        if is_key:
            if blank_run >= 3 and known:
                break
            current = [canon or "", label, [value] if value else [], i + 1, i + 1]
            block.append(current)
            known += canon is not None
            blank_run = 0
            last_content = i
            i += 1
            continue
        if current is None:
            break
        prev_vals = current[2]
        assert isinstance(prev_vals, list)
        if strict and prev_vals and re.search(r"[.!?…)\"”’]$", str(prev_vals[-1])) and \
                re.match(r"[\"“‘'(*_]*[A-Z0-9]", line):
            break  # a value that ended a sentence, and a sentence starting below it
        cont_after_blank = (blank_run == 0 and current[0] not in _SHORT_KEYS) or (
            blank_run == 1 and prev_vals and not re.search(r"[.!?)\"”]$", str(prev_vals[-1]))
            and line[:1].islower())
        if (not prev_vals and (blank_run == 0 or (blank_run == 1 and current[0] in _PROSE_KEYS))) \
                or cont_after_blank:
            prev_vals.append(line)
            current[4] = i + 1
            blank_run = 0
            last_content = i
            i += 1
            continue
        break
    if known == 0:
        return start
    new: list[Field] = []
    for key, label, values, s, e in block:
        assert isinstance(values, list) and isinstance(s, int) and isinstance(e, int)
        value = " ".join(str(v) for v in values).strip()
        value = re.sub(r"\s{2,}", " ", value)
        key_s = str(key) if key else "extra"
        # "Author: Jane Doe    e-mail: jane@example.org" — two fields on one line
        parts = re.split(r"\s{2,}(?=[A-Za-z][\w' -]{0,20}:\s)", " ".join(str(v) for v in values))
        if len(parts) > 1 and all(canonical_key(p.split(":", 1)[0]) for p in parts[1:]):
            value = parts[0].strip()
            for extra in parts[1:]:
                k, v = extra.split(":", 1)
                new.append(Field(canonical_key(k) or "extra", k.strip(), v.strip(), s, e))
        new.insert(len(new) - (len(parts) - 1 if len(parts) > 1 else 0),
                   Field(key_s, str(label), value, s, e))
    fields.extend(new)
    for fld in new:
        if fld.value or fld.key != "extra":
            _apply_field(meta, fld)
    omissions.append(Omission(start + 1, last_content + 1, "header block",
                              "\n".join(lines[start: last_content + 1])))
    return last_content + 1


def _parse_mail(lines: list[str], start: int, end: int, meta: Metadata,
                fields: list[Field]) -> None:
    for n in range(start, end):
        m = _MAIL_LINE.match(lines[n])
        if not m:
            continue
        key, value = m.group(1).lower(), m.group(2).strip()
        if key not in _MAIL_KEPT or not value:
            continue
        fields.append(Field(f"mail-{key}", m.group(1), value, n + 1, n + 1))
        if key == "subject" and not meta.title:
            title = _SUBJECT_NOISE.sub("", value).strip()
            lead = re.match(r"^(?:part|pt\.?)\s*(\d+|[ivx]+|" + "|".join(_NUMBER_WORDS) +
                            r")\s*[,:;\-]\s*(.+?)\s*(?:\([^)]*\))?\s*$", title, re.I)
            if lead:  # "part 2, bizarre trek (also easy-to-read!)"
                num = lead.group(1).lower()
                meta.series = lead.group(2).strip(" <>-:")
                meta.series_index = (num if num.isdigit() else
                                     str(_NUMBER_WORDS.get(num) or _roman(num)))
            _series_from(title, meta)
            if meta.series and meta.series_index:
                title = meta.series
            title = title.strip(" <>-:")
            if title:
                meta.title = smart_title_case(title)
                meta.title_source = "mail"
        elif key == "from" and not meta.author:
            name, email = _parse_from(value)
            meta.author = name or (email.split("@")[0] if email else None)
            meta.author_email = email
        elif key == "date" and not meta.date:
            meta.date = value
        elif key == "newsgroups":
            meta.extra.append(("Newsgroups", value))


def _gutenberg(lines: list[str], meta: Metadata, fields: list[Field],
               omissions: list[Omission]) -> None:
    """Title, author and language from a Project Gutenberg header (before *** START)."""
    limit = min(len(lines), 120)
    head = "\n".join(lines[:limit])
    if "project gutenberg" not in head.lower():
        return
    for n in range(limit):
        if re.match(r"^\*{3}\s*START OF", lines[n]):
            break
        m = re.match(r"^(Title|Author|Language|Translator|Release Date|Editor|Illustrator):"
                     r"\s*(.+)$", lines[n])
        if not m:
            continue
        label, value = m.group(1), m.group(2).strip()
        key = canonical_key(label) or "extra"
        fld = Field(key, label, value, n + 1, n + 1)
        fields.append(fld)
        _apply_field(meta, fld)
        omissions.append(Omission(n + 1, n + 1, "gutenberg header", lines[n]))
        if key == "title":
            meta.title_source = "gutenberg"


def _find_title(lines: list[str], start: int, meta: Metadata,
                omissions: list[Omission], omitted: set[int]) -> None:
    """Find the title (and byline) in the body when no header gave one."""
    limit = min(len(lines), start + 80)
    # 1. A byline ("by Jane Doe") under a short title line, within the first lines.
    for n in range(start, limit):
        if n in omitted:
            continue
        bm = _BYLINE.match(lines[n].strip())
        if not bm:
            continue
        k = n - 1
        while k >= start and not lines[k].strip() and n - k <= 3:
            k -= 1
        if k < start or not _title_like(lines[k]) or k in omitted or \
                len(lines[k].split()) > 10 or len(bm.group(1).split()) > 6:
            continue
        top = k
        while top - 1 >= start and lines[top - 1].strip() and _title_like(lines[top - 1]) \
                and top - 1 not in omitted:
            top -= 1
        if not meta.title:
            meta.title = _clean_title(lines[top])
            meta.title_source = "first-line"
            for sub in range(top + 1, k + 1):
                if lines[sub].strip():
                    meta.extra.append(("Subtitle", _clean_title(lines[sub])))
            omissions.append(Omission(top + 1, k + 1, "title", "\n".join(lines[top:k + 1])))
        elif _same_title(lines[top], meta.title):
            omissions.append(Omission(top + 1, k + 1, "repeated title",
                                      "\n".join(lines[top:k + 1])))
        else:
            return
        byline = bm.group(1).strip()
        name, email = _parse_from(byline) if _EMAIL.search(byline) else (byline, None)
        if not meta.author:
            meta.author = name
            meta.author_email = meta.author_email or email
        if _same_text(name or "", meta.author or ""):
            meta.byline = lines[n].strip(" \t=-~*_#/")
            omissions.append(Omission(n + 1, n + 1, "byline", lines[n]))
        return
    # 2. The first line, when it looks like a title.
    first = _skip_blank(lines, start)
    while first < len(lines) and first in omitted:
        first = _skip_blank(lines, first + 1)
    if first >= len(lines):
        return
    line = lines[first]
    if re.fullmatch(r"\s*\[[^\]]*\]\s*", line):  # [Illustration] and the like
        return
    if meta.title:
        if _same_title(line, meta.title):
            omissions.append(Omission(first + 1, first + 1, "repeated title", line))
        return
    nxt = _skip_blank(lines, first + 1)
    followed_by_text = nxt < len(lines) and nxt - first >= 2
    if _title_like(line) and followed_by_text and \
            not re.match(r"^\s*(chapter|part|prologue|epilogue)\b", line, re.I):
        meta.title = _clean_title(line)
        meta.title_source = "first-line"
        omissions.append(Omission(first + 1, first + 1, "title", line))


def _norm(s: str) -> str:
    return re.sub(r"[^\w]+", " ", s.lower().replace("_", " ")).strip()


def _same_text(a: str, b: str) -> bool:
    return bool(_norm(a)) and _norm(a) == _norm(b)


def _same_title(line: str, title: str) -> bool:
    """True when ``line`` repeats the title (possibly without its '(part N)' suffix)."""
    a = _norm(_clean_title(line))
    if not a:
        return False
    b = _norm(title)
    base = _norm(_PART_OF.sub("", _PART.sub("", title)))
    return a in (b, base)


def parse_front(lines: list[str], strict: bool = False) -> Front:
    """Metadata and omitted lines of the front matter. ``strict`` reads a header block
    narrowly (see :func:`_header_block`): for a story that the usual reading would leave
    with no text, as when its only line runs on from ``Summary:``."""
    meta = Metadata()
    fields: list[Field] = []
    omissions: list[Omission] = []
    chapter_starts: dict[int, str] = {}

    i = _skip_blank(lines, 0)
    end = _mail_block(lines, i)
    if end > i:
        _parse_mail(lines, i, end, meta, fields)
        omissions.append(Omission(i + 1, end, "mail header", "\n".join(lines[i:end])))
        i = _skip_blank(lines, end)
        # a second routing block (e.g. a BBS "Path:" after "From:/Subject:")
        end2 = _mail_block(lines, i)
        if end2 == i and i < len(lines) and _MAIL_LINE.match(lines[i]) and \
                lines[i].split(":", 1)[0].lower() in MAIL_KEYS - {"summary", "keywords"}:
            end2 = i + 1
            while end2 < len(lines) and lines[end2][:1] in (" ", "\t") and lines[end2].strip():
                end2 += 1
        if end2 > i:
            _parse_mail(lines, i, end2, meta, fields)
            omissions.append(Omission(i + 1, end2, "mail header", "\n".join(lines[i:end2])))
            i = _skip_blank(lines, end2)

    body = _header_block(lines, i, meta, fields, omissions, strict)
    if body == i:
        _gutenberg(lines, meta, fields, omissions)
    if meta.title:
        meta.title_source = meta.title_source if meta.title_source != "none" else "header"
        _series_from(meta.title, meta)

    # later posts of a multi-part file: each mail block starts a chapter (its first line
    # is a "Key: value" header or an mbox "From " line, so others need no closer look)
    n = body  # the first line not yet looked at
    for start in [k for k, line in enumerate(lines[body:], body)
                  if ":" in line or line.startswith("From ")]:
        if start < n or start == 0 or lines[start - 1].strip():
            continue
        e = _mail_block(lines, start)
        if e > start:
            subject = ""
            for k in range(start, e):
                m = _MAIL_LINE.match(lines[k])
                if m and m.group(1).lower() == "subject":
                    subject = _SUBJECT_NOISE.sub("", m.group(2)).strip()
            omissions.append(Omission(start + 1, e, "mail header", "\n".join(lines[start:e])))
            chapter_starts[e + 1] = subject
            n = e

    omitted = {k - 1 for o in omissions for k in range(o.start_line, o.end_line + 1)}
    _find_title(lines, body, meta, omissions, omitted)
    omissions.sort(key=lambda o: o.start_line)
    return Front(meta, fields, omissions, chapter_starts)
