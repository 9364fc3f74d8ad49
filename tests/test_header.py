"""Header fields with nothing after the colon."""

from __future__ import annotations

import pytest

from fic2epub.pipeline import parse

STORY = "The first paragraph of the story, which is not metadata."


@pytest.mark.parametrize("key", ["Fandom", "Series", "Author", "Rating", "Pairing", "Spoilers"])
def test_an_empty_field_does_not_take_the_story_after_a_blank_line(key: str) -> None:
    text = f"Title: Kept\nAuthor: Someone\n{key}:\n\n{STORY}\n\nThe second one.\n"
    story = parse(text.encode(), "s.txt")
    assert [p.text for p in story.paragraphs()] == [STORY, "The second one."]
    assert all(STORY not in str(f.value) for f in story.fields)


@pytest.mark.parametrize("key", ["Summary", "Disclaimer", "Notes", "Warnings", "Feedback"])
def test_a_prose_field_takes_its_text_after_a_blank_line(key: str) -> None:
    text = f"Title: Kept\nAuthor: Someone\n{key}:\n\nWhat the field says.\n\n{STORY}\n"
    story = parse(text.encode(), "s.txt")
    assert [p.text for p in story.paragraphs()] == [STORY]
    field = next(f for f in story.fields if f.label == key)
    assert field.value == "What the field says."


def test_an_empty_field_takes_the_line_right_below_it() -> None:
    story = parse(f"Title:\nRight Below\nAuthor: Someone\n\n{STORY}\n".encode(), "s.txt")
    assert story.metadata.title == "Right Below"
    assert [p.text for p in story.paragraphs()] == [STORY]
