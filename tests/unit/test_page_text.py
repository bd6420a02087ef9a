"""Pages of a PDF made into running text: hyphens, ligatures, running headers and footers."""

from __future__ import annotations

from app.core.page_text import join_pages, page_lines


def test_a_word_the_typesetter_split_over_a_line_end_is_whole_again() -> None:
    assert page_lines("the exam\x02\r\nple shows") == ["the example shows"]
    assert page_lines("a soft\u00ad\nhyphen") == ["a softhyphen"]
    assert page_lines("a well-\nknown name") == ["a well-known name"]
    assert page_lines("in 1999-\n2004") == ["in 1999-", "2004"]  # numbers: left as they are


def test_ligatures_are_letters_and_control_characters_go() -> None:
    assert page_lines("the \ufb01le and the \ufb02oor, e\ufb03cient\x00") == [
        "the file and the floor, efficient"
    ]


def test_running_headers_footers_and_page_numbers_are_left_out() -> None:
    pages = [
        f"Debian Manual\nChapter {n}\nBody text of page {n} goes on.\nMore of page {n}.\n{n}"
        for n in range(1, 6)
    ]
    text = join_pages(pages)
    assert "Debian Manual" not in text and "Chapter" not in text
    assert "Body text of page 3 goes on." in text
    assert not any(line.strip().isdigit() for line in text.splitlines())


def test_a_sentence_over_a_page_break_is_not_split_by_a_blank_line() -> None:
    text = join_pages(["It begins on one page and", "ends on the next. New paragraph."])
    assert text == "It begins on one page and\nends on the next. New paragraph."
    assert join_pages(["One page ends.", "Another begins."]) == "One page ends.\n\nAnother begins."


def test_two_pages_are_too_few_to_call_a_line_a_running_header() -> None:
    assert "Title" in join_pages(["Title\nfirst page.", "Title\nsecond page."])
