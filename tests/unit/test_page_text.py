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
        f"Debian Manual\nChapter 2: Installing {n + 40}\nBody text of page {n} goes on.\n"
        f"More of page {n}.\n{n}"
        for n in range(1, 6)
    ]
    text = join_pages(pages)
    assert "Debian Manual" not in text and "Installing" not in text
    assert "Body text of page 3 goes on." in text
    assert not any(line.strip().isdigit() for line in text.splitlines())


def test_headers_of_even_and_odd_pages_and_footers_are_left_out() -> None:
    """A book: its title on even pages, the chapter's on odd ones, a footer at the bottom."""
    pages = []
    for n in range(1, 13):
        header = (
            f"{n} CVS—Concurrent Versions System v1.12" if n % 2 == 0 else f"Chapter 3: Tags {n}"
        )
        pages.append(f"{header}\nText of page {n} goes on.\nAnd ends here.\nPage {n} of 12")
    text = join_pages(pages)
    assert "CVS" not in text and "Tags" not in text and "Page" not in text
    assert text.count("goes on.") == 12


def test_a_running_header_ending_with_an_abbreviation_is_still_a_header() -> None:
    pages = [f"Smith et al.\nResult {n} holds.\nProof of it." for n in range(1, 5)]
    assert "Smith" not in join_pages(pages)


def test_a_line_repeated_at_different_edges_or_places_is_content() -> None:
    """bashref.pdf: the same table row at the top of one page and at the bottom of others."""
    pages = [
        "Header one\n\\b backspace\nbody a.\nbody b.\nend a.",
        "Header two\nbody c.\nbody d.\n\\b backspace\nend b.",
        "Header three\nbody e.\nbody f.\nend c.\n\\b backspace",
    ]
    assert join_pages(pages).count("\\b backspace") == 3


def test_a_sentence_or_cross_reference_at_page_edges_is_content() -> None:
    """cvs.pdf: an option's description cut at "[Recursive", repeated under several commands
    at the same place on three pages; wrapped references "page 97." ending pages."""
    pages = []
    for n in range(1, 7):
        pages.append(
            f"CVS Manual {n}\n-l Local; run only in current working directory. See Chapter 6 "
            f"[Recursive\nbehavior], page {n + 50}. More text.\nSee the options in [Common\n"
            f"options], page {n * 13}."
        )
    text = join_pages(pages)
    assert "CVS Manual" not in text
    assert text.count("See Chapter 6 [Recursive") == 6
    assert text.count("options], page") == 6
    assert "options], page 78." in text


def test_chapter_headings_that_open_pages_are_content() -> None:
    """maint-guide: "Chapter 1" under the running header of each page a chapter opens."""
    pages = []
    for n in range(1, 21):
        opening = f"Chapter {n // 4 + 1}\n" if n % 4 == 0 else ""
        pages.append(f"Debian Guide {n} / 20\n{opening}Text of page {n}.\nMore text.")
    text = join_pages(pages)
    assert "Debian Guide" not in text
    assert [line for line in text.splitlines() if line.startswith("Chapter")] == [
        f"Chapter {n}" for n in range(2, 7)
    ]


def test_a_line_only_now_and_then_at_a_page_edge_is_content() -> None:
    """Three times at the top in a stretch of fifteen pages is not a running header."""
    pages = [
        ("Summary of the results\n" if n in (1, 8, 15) else "") + f"Page {n} text.\nEnd."
        for n in range(1, 16)
    ]
    assert join_pages(pages).count("Summary of the results") == 3


def test_roman_page_numbers_go_but_an_index_letter_stays() -> None:
    pages = [f"Front matter {n}.\n{roman}" for n, roman in enumerate(["i", "ii", "iii", "iv"])]
    assert not any(line in ("i", "ii", "iii", "iv") for line in join_pages(pages).splitlines())
    index = join_pages(["C\ncase, in patterns 12\ncd 45", "D\ndeclare 50\ndirs 61"])
    assert index.splitlines()[0] == "C" and "D" in index.splitlines()


def test_a_sentence_over_a_page_break_is_not_split_by_a_blank_line() -> None:
    text = join_pages(["It begins on one page and", "ends on the next. New paragraph."])
    assert text == "It begins on one page and\nends on the next. New paragraph."
    assert join_pages(["One page ends.", "Another begins."]) == "One page ends.\n\nAnother begins."


def test_two_pages_are_too_few_to_call_a_line_a_running_header() -> None:
    assert "Title" in join_pages(["Title\nfirst page.", "Title\nsecond page."])
