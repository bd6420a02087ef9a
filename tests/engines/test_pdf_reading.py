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

import pytest
from app.core.cancel import CancelToken
from app.core.documents import DocumentError, Indexer
from app.engines.document_reader import LocalDocumentReader
from app.engines.rapid_ocr import RapidOcr
from app.store.index_state import SqliteIndexState

from tests.fakes import FakeTextEmbedder, ListMemoryStore
from tests.pdf_corpus import CORPUS, SCAN, KnownPdf, known_text, pdf_bytes, precision, recall

pytestmark = pytest.mark.model

FLOORS = {
    # producer: (recall, precision); pypdf gave xdvipdfmx 0.49 / 0.80
    "pdfTeX": (0.93, 0.92),
    "xdvipdfmx": (0.97, 0.94),
    "groff": (0.94, 0.96),
    "LibreOffice": (0.92, 0.98),
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
