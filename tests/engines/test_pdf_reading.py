"""Real PDFs of four producers (pdfTeX twice) and a scan, through Hearth's reader, against
their known text.

Word recall: the share of the known text's words the reading has (counted with repeats);
precision: the share of the reading's words that are in the known text (words glued together,
"wordsrantogether", are in neither). Figures measured here with pypdfium2 5.15.2 (and, for
comparison, what pypdf 7.1.0 gave) are in the table of bench/pdf_text.py; the floors below
are a little under them.
"""

from __future__ import annotations

import time
from collections import Counter

import pytest
from app.core.cancel import CancelToken
from app.core.documents import DocumentError, Indexer
from app.engines.document_reader import LocalDocumentReader
from app.engines.rapid_ocr import RapidOcr
from app.store.index_state import SqliteIndexState

from tests.fakes import FakeTextEmbedder, ListMemoryStore
from tests.pdf_corpus import (
    CORPUS,
    SCAN,
    KnownPdf,
    known_text,
    pdf_bytes,
    precision,
    recall,
    words,
)

pytestmark = pytest.mark.model

FLOORS = {
    # producer: (recall, precision); pypdf gave xdvipdfmx 0.49 / 0.80, and groff 0.93 / 0.91
    # (PDFium without its lost spaces put back: 0.96 / 0.98)
    "pdfTeX": (0.94, 0.93),
    "xdvipdfmx": (0.975, 0.945),
    "groff": (0.985, 0.99),
    "LibreOffice": (0.93, 0.99),
}


@pytest.mark.parametrize("item", CORPUS, ids=lambda i: f"{i.producer}-{i.pdf.rsplit('/', 1)[-1]}")
def test_words_of_real_pdfs_match_their_known_text(item: KnownPdf) -> None:
    text = LocalDocumentReader().read(item.pdf.rsplit("/", 1)[-1], pdf_bytes(item))
    known = known_text(item)
    least_recall, least_precision = FLOORS[item.producer]
    assert recall(known, text) >= least_recall
    assert precision(known, text) >= least_precision


def test_a_tex_manual_keeps_the_spaces_between_its_words() -> None:
    """The PDF a user tried: xdvipdfmx leaves the spaces to the glyph positions."""
    [guide] = [i for i in CORPUS if i.producer == "xdvipdfmx"]
    text = LocalDocumentReader().read("maint-guide.en.pdf", pdf_bytes(guide))
    words = text.split()
    glued = [w for w in words if len(w) >= 24 and w.isalpha()]
    assert len(glued) / len(words) < 0.001, glued[:10]
    assert "\ufb01" not in text and "\ufb02" not in text  # ligatures spelled out
    assert "\x02" not in text


def run_together(known: Counter[str], got: Counter[str]) -> int:
    """Words read that are not in the known text but are two of its words with the space
    between them lost ("theyare", "anyother"); as bench/pdf_text.py counts them."""
    found = 0
    for word, n in got.items():
        if word in known or len(word) < 4 or not word.isalpha():
            continue
        cuts = ((word[:cut], word[cut:]) for cut in range(1, len(word)))
        if any(all(p in known and (len(p) > 1 or p in "ai") for p in pair) for pair in cuts):
            found += n
    return found


def test_groff_pdfs_keep_the_spaces_pdfium_leaves_out() -> None:
    """groff through Ghostscript widens some gaps between words with character spacing, and
    PDFium's text has no space there: "as theyare read" (1.4% of the words, 723, before the
    reader put the spaces back; 9 after: compounds broken at a line end, "two-way", whose
    hyphen PDFium takes for the typesetter's)."""
    [manual] = [i for i in CORPUS if i.producer == "groff"]
    text = LocalDocumentReader().read("bash.pdf", pdf_bytes(manual))
    got = words(text)
    assert run_together(words(known_text(manual)), got) / sum(got.values()) < 0.002
    assert "as they are read" in " ".join(text.split())


def test_a_scan_without_a_text_layer_is_read_by_ocr_with_progress() -> None:
    pages: list[tuple[int, int]] = []
    reader = LocalDocumentReader(RapidOcr())
    text = reader.read("linn.pdf", pdf_bytes(SCAN), progress=lambda d, n: pages.append((d, n)))
    assert pages[0] == (0, 1) and pages[-1] == (1, 1)
    assert recall(known_text(SCAN), text) >= 0.8
    assert "LinnSequencer" in text.replace(" ", "")


def test_without_ocr_a_scan_says_so() -> None:
    with pytest.raises(DocumentError, match="scan without a text layer"):
        LocalDocumentReader().read("linn.pdf", pdf_bytes(SCAN))


def test_a_scan_in_a_folder_is_indexed_through_ocr(tmp_path: pytest.TempPathFactory) -> None:
    from pathlib import Path

    root = Path(str(tmp_path))
    folder = root / "scans"
    folder.mkdir()
    (folder / "linn.pdf").write_bytes(pdf_bytes(SCAN))
    store = ListMemoryStore()
    state = SqliteIndexState(root / "index.sqlite3")
    state.add_folder(str(folder))
    indexer = Indexer(LocalDocumentReader(RapidOcr()), FakeTextEmbedder(), store, state)
    seen: list[str] = []
    started = time.monotonic()
    report = indexer.run(progress=lambda p: seen.append(p.describe()), cancel=CancelToken())
    assert report.indexed == [str(folder / "linn.pdf")], (report.failed, time.monotonic() - started)
    assert any("linn.pdf reading scanned page 1 of 1" in line for line in seen)
    stored = " ".join(r.text for r, _ in store.records.values())
    assert "100 sequences" in stored


def one_page_pdf(content: str, to_unicode: dict[str, str] | None = None) -> bytes:
    """A PDF of one page whose content stream is `content`, in Helvetica (F1); `to_unicode`
    maps its letters to other characters (Hebrew, Chinese) for text extraction."""
    font = "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica"
    streams = [content]
    if to_unicode:
        pairs = " ".join(f"<{ord(a):02X}> <{ord(b):04X}>" for a, b in to_unicode.items())
        streams.append(
            "/CIDInit /ProcSet findresource begin 12 dict begin begincmap /CMapName /U def "
            "1 begincodespacerange <00> <FF> endcodespacerange "
            f"{len(to_unicode)} beginbfchar {pairs} endbfchar "
            "endcmap CMapName currentdict /CMap defineresource pop end end"
        )
        font += " /ToUnicode 6 0 R"
    bodies = [
        "<< /Type /Catalog /Pages 2 0 R >>",
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
        "/Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>",
        font + " >>",
        *(f"<< /Length {len(stream)} >>\nstream\n{stream}\nendstream" for stream in streams),
    ]
    out = "%PDF-1.4\n"
    offsets = []
    for number, body in enumerate(bodies, 1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n{body}\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(bodies) + 1}\n0000000000 65535 f \n"
    out += "".join(f"{offset:010d} 00000 n \n" for offset in offsets)
    out += f"trailer\n<< /Size {len(bodies) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n"
    return out.encode("latin-1")


def read_pdf(content: str, to_unicode: dict[str, str] | None = None) -> str:
    return LocalDocumentReader().read("made.pdf", one_page_pdf(content, to_unicode))


def test_a_space_left_out_where_character_spacing_widens_the_gap_is_put_back() -> None:
    """As groff and Ghostscript write "as they are read": "y" and "a" 2.5 pt apart by
    character spacing, no space character, and PDFium reads "theyare"."""
    text = read_pdf(
        "BT /F1 10 Tf 1 0 0 1 72 700 Tm (as the) Tj 2.5 Tc (ya) Tj 0 Tc "
        "1 0 0 1 112.3 700 Tm (re read.) Tj ET"
    )
    assert text == "as they are read."


def test_letter_spacing_and_kerning_inside_a_word_add_no_space() -> None:
    assert read_pdf("BT /F1 10 Tf 72 700 Td 1.0 Tc (TRACKED) Tj ET") == "TRACKED"
    assert read_pdf("BT /F1 10 Tf 72 700 Td [(W)80(ord)-60(s)] TJ ET") == "Words"


def test_rotated_mirrored_and_zero_size_text_is_read_as_pdfium_gives_it() -> None:
    for matrix in ("0 1 -1 0 300 300", "-1 0 0 -1 300 300", "0.7 0.7 -0.7 0.7 300 300"):
        assert read_pdf(f"BT /F1 10 Tf {matrix} Tm 2.5 Tc (abc) Tj ET") == "abc"
    # Glyphs of size 0, spaced apart: no size to measure the room against.
    assert read_pdf("BT /F1 0 Tf 72 700 Td 2.5 Tc (tiny) Tj ET") == "tiny"


def test_right_to_left_gaps_are_measured_leftwards_and_chinese_gets_no_spaces() -> None:
    content = "BT /F1 10 Tf 72 700 Td (ab) Tj 2.5 Tc (cd) Tj 0 Tc (ef) Tj ET"
    hebrew = read_pdf(content, dict(zip("abcdef", "אבגדהו", strict=True)))
    assert hebrew.split() == ["וה", "ד", "גבא"]  # in reading order, right to left
    chinese = read_pdf(content, dict(zip("abcdef", "一二三四五六", strict=True)))
    assert "一二三四" in chinese
