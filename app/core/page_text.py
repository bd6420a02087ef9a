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
from collections import Counter
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
    r"(?i)^[\s\-–—]*(?:page\s+)?(?:\d{1,5}|[ivxlcdm]{1,8})(?:\s*(?:/|of)\s*\d{1,5})?[\s\-–—]*$"
)
EDGE_LINES = 2
"""How many lines at the top and at the bottom of a page may be a running header or footer."""


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


def _edges(lines: Sequence[str]) -> list[int]:
    """Indexes of the first and last few non-empty lines of a page."""
    filled = [i for i, line in enumerate(lines) if line]
    if len(filled) <= 2 * EDGE_LINES:
        return filled
    return filled[:EDGE_LINES] + filled[-EDGE_LINES:]


def join_pages(pages: Sequence[str]) -> str:
    """The running text of a document's pages (each as its reader gave it): running headers
    and footers (the same line at a page edge on three or more pages, page numbers aside) and
    bare page numbers at a page edge are left out, and a sentence that goes on over a page
    break is not split by a blank line."""
    split = [page_lines(page) for page in pages]
    seen: Counter[str] = Counter()
    for lines in split:
        seen.update({_shape(lines[i]) for i in _edges(lines)})
    running = {shape for shape, count in seen.items() if count >= 3 and len(shape) > 1}
    out: list[str] = []
    for lines in split:
        drop = {
            i for i in _edges(lines) if _shape(lines[i]) in running or _PAGE_NUMBER.match(lines[i])
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
