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


@pytest.mark.parametrize(("text", "field", "value"), [
    (f"Title: Tiny\nAuthor: Me\nSummary: A drabble.\n{STORY}\n", "summary", "A drabble."),
    (f"Title: Tiny\nAuthor: Me\nDisclaimer: Not mine.\n{STORY}", "disclaimer", "Not mine."),
    # an empty field still takes the line below it
    (f"Title:\nTiny\nAuthor: Me\nSummary: A drabble.\n{STORY}\n", "summary", "A drabble."),
])
def test_a_story_the_header_would_swallow_whole_is_read_as_the_story(
        text: str, field: str, value: str) -> None:
    """Read the usual way, these headers take every line (a value runs on to the lines
    below it), and the file was refused as "no story text found". The header is then
    read again: a value that ends a sentence stops before a line that starts one. The
    story is the rest, whole, with a warning; the fields keep their own values."""
    story = parse(text.encode(), "s.txt")
    assert (story.metadata.title, story.metadata.author) == ("Tiny", "Me")
    assert getattr(story.metadata, field) == value
    assert [p.text for p in story.paragraphs()] == [STORY]
    assert any("header seemed to hold all the text" in w for w in story.warnings)


def test_a_header_with_no_story_is_still_refused() -> None:
    from fic2epub.errors import EmptyStoryError

    for text in ("Title: Only\nAuthor: Me\nSummary: About it.\n",
                 "Title: Only\nAuthor: Me\n\nNotes: none\n\n\n",
                 # a summary over two lines: no sentence ends where the second begins
                 "Title: Only\nAuthor: Me\nSummary: About the story,\nand more to come.\n",
                 "Title: Only\nSummary: About the story.\nand more to come.\n"):
        with pytest.raises(EmptyStoryError):
            parse(text.encode(), "s.txt")


def test_a_summary_that_runs_on_is_still_read_whole_when_a_story_follows() -> None:
    """The narrow reading is only for a header that leaves no text: a summary over two
    lines above the story stays one field."""
    text = f"Title: Tiny\nSummary: Two lines\nof summary.\n\n{STORY}\n"
    story = parse(text.encode(), "s.txt")
    assert story.metadata.summary == "Two lines of summary."
    assert [p.text for p in story.paragraphs()] == [STORY]
    assert story.warnings == []
