"""Pages of text, as a PDF reader gives them, made into running text a person would read.

What a PDF holds is glyphs placed on pages, not sentences: a line-end hyphen the typesetter
added, ligature glyphs (ﬁ, ﬂ) instead of letters, the running header, footer and page number
repeated on every page. Left in, they split words ("exam- ple"), make words no search finds
("ﬁle" is not "file") and glue "Chapter 3 Installing 41" into the middle of a sentence that
runs over a page break. This module takes each page's lines and returns the text without them;
nothing here knows which library read the PDF.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

LIGATURES = str.maketrans(
    {
        "\ufb00": "ff",
        "\ufb01": "fi",
        "\ufb02": "fl",
        "\ufb03": "ffi",
        "\ufb04": "ffl",
        "\ufb05": "st",
        "\ufb06": "st",
    }
)
SOFT_HYPHENS = "\u0002\u00ad"
"""PDFium reports a hyphen the typesetter added at a line end as U+0002; some producers write
a soft hyphen (U+00AD). Either way the word goes on on the next line."""
_CONTROL = re.compile(r"[\x00\x01\x03-\x08\x0b\x0c\x0e-\x1f\x7f\ufffe\uffff]")
_SPLIT_WORD = re.compile(rf"[{SOFT_HYPHENS}][ \t]*\n[ \t]*")
_HARD_HYPHEN = re.compile(r"(?<=[^\W\d_])-[ \t]*\n[ \t]*(?=[^\W\d_])")
_PAGE_NUMBER = re.compile(
    r"^[\s\-–—]*(?:(?i:page)\s+)?(?:\d{1,5}|[ivxl]{1,7}|[IVXL]{2,7})"
    r"(?:\s*(?:/|(?i:of))\s*\d{1,5})?[\s\-–—]*$"
)
"""A page number alone on a line: "12", "- 12 -", "Page 3 of 10", "iv" (Roman numerals of front
matter; a capital letter alone, "C", is more often an index's heading than page 100)."""
EDGE_LINES = 2
"""How many lines at the top and at the bottom of a page may be a running header or footer."""
RUNNING_PAGES = 3
"""A running header or footer is on this many pages or more, at the same edge and place..."""
RUNNING_SHARE = 0.25
"""...and on at least this share of the pages from the first to the last it is on: a header
is on every page of its chapter, or every other one (cvs.pdf: 0.41 and more), where a line
that is only now and then at a page edge is spread thin (maint-guide's "Chapter 3": 0.18)."""
_CHAPTER = re.compile(r"(?i)^(?:chapter|appendix|part)\s+(?:\d{1,3}|[ivxlc]{1,7}|[a-z])\.?$")
"""A chapter's heading alone on its line: content, on whichever page a chapter opens."""
_ABBREVIATION = re.compile(r"(?i)\b(?:al|etc|inc|ltd|co|corp|vol|no|pp|eds?)\.$")
"""Ends with a full stop that ends a name, not a sentence: "Smith et al." is a header."""


def page_lines(raw: str) -> list[str]:
    """One page's text as lines: line ends unified, ligatures spelled out, control characters
    gone, a word split over a line end by the typesetter's hyphen joined again."""
    text = raw.replace("\r\n", "\n").replace("\r", "\n").translate(LIGATURES)
    text = _SPLIT_WORD.sub("", text)
    for mark in SOFT_HYPHENS:
        text = text.replace(mark, "")
    # A hyphen that is part of the word ("well-\nknown") stays, and the word is whole again.
    text = _HARD_HYPHEN.sub("-", text)
    text = _CONTROL.sub("", text)
    return [" ".join(line.split()) for line in text.split("\n")]


def _shape(line: str) -> str:
    """A line as a running header or footer is recognised: case and numbers aside."""
    return re.sub(r"\d+", "#", line.lower())


Slot = tuple[str, int]
"""Where a line is at a page's edge: ("top", 0) is the first line, ("bottom", 1) the one
before the last."""


def _edges(lines: Sequence[str]) -> list[tuple[int, Slot]]:
    """The first and last few non-empty lines of a page: index and place (a line of a short
    page can be both at the top and at the bottom)."""
    filled = [i for i, line in enumerate(lines) if line]
    top = [(i, ("top", place)) for place, i in enumerate(filled[:EDGE_LINES])]
    bottom = [(i, ("bottom", place)) for place, i in enumerate(filled[::-1][:EDGE_LINES])]
    return top + bottom


def _may_run(line: str) -> bool:
    """Whether a line can be a running header or footer at all: not when it reads as part of
    the text, however often the same shape comes back at a page edge. A line that goes on
    like a sentence (ends with , ; : - or a full stop, "options], page 97.") or a cross
    reference cut at the line end ("See Chapter 6 [Recursive"), and a chapter's heading alone
    ("Chapter 3", which opens a page wherever a chapter begins) are content."""
    if len(_shape(line)) <= 1 or _CHAPTER.match(line):
        return False
    if line.endswith((",", ";", ":", "-", "!", "?")):
        return False
    if line.endswith(".") and not _ABBREVIATION.search(line):
        return False
    return line.count("[") <= line.count("]") and line.count("(") <= line.count(")")


def _running(pages: Sequence[int]) -> bool:
    """Whether a line found at one place at a page edge, on these pages (in order), is a
    running header or footer: on RUNNING_PAGES or more, and on RUNNING_SHARE of the pages
    they span."""
    if len(pages) < RUNNING_PAGES:
        return False
    return len(pages) >= RUNNING_SHARE * (pages[-1] - pages[0] + 1)


def join_pages(pages: Sequence[str]) -> str:
    """The running text of a document's pages (each as its reader gave it): running headers
    and footers and bare page numbers at a page edge are left out, and a sentence that goes
    on over a page break is not split by a blank line. A running header or footer is a line
    of one shape (numbers aside: the page number changes) at the same edge and the same
    place among its lines (first, second; last, last but one) on three or more pages and on
    a good share of the pages between (see RUNNING_SHARE, _may_run)."""
    split = [page_lines(page) for page in pages]
    found: dict[tuple[str, int, str], list[int]] = {}
    for number, lines in enumerate(split):
        for i, (edge, place) in _edges(lines):
            if _may_run(lines[i]):
                found.setdefault((edge, place, _shape(lines[i])), []).append(number)
    running = {key for key, on in found.items() if _running(on)}
    out: list[str] = []
    for lines in split:
        drop = {
            i
            for i, (edge, place) in _edges(lines)
            if (edge, place, _shape(lines[i])) in running or _PAGE_NUMBER.match(lines[i])
        }
        kept = "\n".join(line for i, line in enumerate(lines) if i not in drop)
        kept = re.sub(r"\n{3,}", "\n\n", kept).strip()
        if not kept:
            continue
        if out:
            # A page that ends mid-sentence goes on in the next one.
            out.append("\n\n" if out[-1].endswith((".", "!", "?", ":", '"', "”")) else "\n")
        out.append(kept)
    return "".join(out)
