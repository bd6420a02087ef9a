"""Text out of the user's documents: txt, md, pdf (PDFium), html (lxml) and docx (defusedxml).

The indexer opens the file (regular files only) and hands its bytes over; every failure becomes
a DocumentError with a plain message naming the file; nothing here is fatal to an indexing
run. PDFs are read with PDFium (pypdfium2), chosen by measurement on real PDFs of four
producers and a scan (bench/pdf_text.py): it keeps the spaces TeX's xdvipdfmx leaves implicit
(pypdf lost them: "wordsrantogether"), and is ten to twenty times faster than pypdf and
pdfminer.six. Where PDFium leaves out spaces between words (groff through Ghostscript: "as
theyare read") they are put back from where the characters sit (_Respacer); the pages are
then joined into running text by app.core.page_text. A page with no text but images (a scan)
is read by OCR, page by page, with progress. DOCX is a zip of XML: it is read with the zip
size checked first and XML parsed by defusedxml with DTDs refused (no entity expansion,
nothing fetched).
"""

from __future__ import annotations

import io
import logging
import re
import threading
import zipfile
from pathlib import Path
from typing import Any
from xml.etree.ElementTree import ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

from app.core.cancel import CancelToken
from app.core.documents import DocumentError, PageProgress
from app.core.errors import OcrError
from app.core.page_text import join_pages
from app.core.ports import Ocr

log = logging.getLogger(__name__)

MAX_DOCX_XML_BYTES = 100 * 1024 * 1024
_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


PDF_READER = 2
"""Version of the PDF reading: 0 was pypdf, 1 PDFium without the lost spaces put back and with
any line at a page edge on three pages taken for a running header; files indexed with an older
one are read again."""
OCR_SCALE = 300 / 72
"""Scanned pages are rendered at 300 dpi for OCR: RapidOCR drops the spaces between words less
often there than at 100-200 dpi (word recall 0.89 against 0.72-0.81 on a real scan)."""
OCR_MAX_SIDE = 3600
_PDFIUM = threading.Lock()
"""PDFium is not thread-safe: one document at a time in this process."""


class LocalDocumentReader:
    def __init__(self, ocr: Ocr | None = None) -> None:
        self.ocr = ocr
        """Reads scanned pages; without it a PDF with no text layer is reported as such."""

    def version(self, name: str) -> int:
        return PDF_READER if Path(name).suffix.lower() == ".pdf" else 0

    def read(
        self,
        name: str,
        data: bytes,
        *,
        progress: PageProgress | None = None,
        cancel: CancelToken | None = None,
    ) -> str:
        suffix = Path(name).suffix.lower()
        if suffix in (".txt", ".md", ".markdown"):
            text = _decode(data)
        elif suffix == ".pdf":
            text = self._pdf(name, data, progress, cancel or CancelToken())
        elif suffix in (".html", ".htm"):
            text = _html(name, _decode(data))
        elif suffix == ".docx":
            text = _docx(name, data)
        else:
            raise DocumentError(f"{name}: Hearth does not read {suffix} files.")
        if not text.strip():
            raise DocumentError(f"{name} has no text Hearth can read.")
        return text

    def _pdf(
        self, name: str, data: bytes, progress: PageProgress | None, cancel: CancelToken
    ) -> str:
        import pypdfium2 as pdfium

        with _PDFIUM:
            try:
                document = pdfium.PdfDocument(data)
            except pdfium.PdfiumError as exc:
                if "password" in str(exc).lower():
                    raise DocumentError(
                        f"{name} is password-protected; Hearth cannot read it."
                    ) from exc
                raise DocumentError(
                    f"{name} is not a readable PDF (damaged or incomplete)."
                ) from exc
            try:
                pages, scanned = _pdf_pages(name, document)
                if scanned:
                    self._ocr_pages(
                        name,
                        document=document,
                        pages=pages,
                        scanned=scanned,
                        progress=progress,
                        cancel=cancel,
                    )
            finally:
                document.close()
        return join_pages(pages)

    def _ocr_pages(
        self,
        name: str,
        *,
        document: Any,
        pages: list[str],
        scanned: list[int],
        progress: PageProgress | None,
        cancel: CancelToken,
    ) -> None:
        """Fill in the text of the pages that are only images, by OCR."""
        if self.ocr is None:
            if not any(page.strip() for page in pages):
                raise DocumentError(
                    f"{name} is a scan without a text layer, and Hearth's OCR is not available."
                )
            return
        for done, number in enumerate(scanned):
            if cancel.is_cancelled():
                raise DocumentError(f"Reading {name} was stopped.")
            if progress is not None:
                progress(done, len(scanned))
            try:
                page = document[number]
                try:
                    scale = min(OCR_SCALE, OCR_MAX_SIDE / max(page.get_size()))
                    image = page.render(scale=scale).to_pil()
                finally:
                    page.close()
                buffer = io.BytesIO()
                image.convert("RGB").save(buffer, format="PNG")
                pages[number] = self.ocr.read(buffer.getvalue(), cancel=cancel).text
            except (OcrError, ValueError, OSError) as exc:
                log.warning("%s: page %d could not be read by OCR (%s)", name, number + 1, exc)
        if progress is not None:
            progress(len(scanned), len(scanned))


def _pdf_pages(name: str, document: Any) -> tuple[list[str], list[int]]:
    """Each page's text layer (spaces PDFium left out put back while they are found: see
    _Respacer), and the numbers of the pages that have none but hold images."""
    import pypdfium2 as pdfium
    import pypdfium2.raw as pdfium_c

    pages: list[str] = []
    scanned: list[int] = []
    respacer = _Respacer()
    for number in range(len(document)):
        try:
            page = document[number]
        except pdfium.PdfiumError as exc:
            log.warning("%s: page %d unreadable (%s)", name, number + 1, exc)
            pages.append("")
            continue
        try:
            textpage = page.get_textpage()
            try:
                text = respacer.page_text(textpage)
            finally:
                textpage.close()
            if not text.strip() and any(
                True for _ in page.get_objects(filter=(pdfium_c.FPDF_PAGEOBJ_IMAGE,))
            ):
                scanned.append(number)
            pages.append(text)
        except pdfium.PdfiumError as exc:
            log.warning("%s: page %d unreadable (%s)", name, number + 1, exc)
            pages.append("")
        finally:
            page.close()
    return pages, scanned


RESPACE_GAP = 0.12
"""Two characters of a line with more room between them than this share of the font size are
two words, whether or not the PDF has a space there. PDFium leaves some such spaces out (groff
through Ghostscript: "as theyare read"): measured between letters on the corpus
(bench/pdf_text.py), those lost spaces are 0.18 of the font size and more, the room TeX leaves
inside words (kerning) at most 0.045; every gap from 0.08 to 0.15 gave the same words."""
RESPACE_SAMPLE = 12_000
"""Characters looked at before deciding whether the rest of the document is looked at too."""
RESPACE_SAMPLE_FOUND = 2
"""Words split in the sample (a space put back between two letters or digits), fewer than
this: the PDF's producer writes its spaces and the rest of the document is read as PDFium gives
it. On the corpus: none in 12,000 characters of the pdfTeX, xdvipdfmx and LibreOffice PDFs
(where the spaces put back are only before punctuation: "Quotes . . . 6"), 38 in groff's."""
_RUN = re.compile(r"[^\s\x00-\x1f\u00ad\ufffe\uffff]{2,}")
"""Two or more characters with no space, line break or hyphen mark between them (PDFium marks
a typesetter's hyphen U+0002 or U+FFFE, the line break after it gone): where a space may be
lost."""
_RTL = re.compile(r"[\u0590-\u08ff\ufb1d-\ufdff\ufe70-\ufefc]")
_NO_SPACES = re.compile(
    r"[\u0e00-\u0eff\u1000-\u109f\u1780-\u17ff\u2e80-\u2fdf\u3000-\u30ff\u3100-\u31ff"
    r"\u3200-\u9fff\uf900-\ufaff\ufe30-\ufe4f\uff00-\uffef]"
)
"""Scripts written without spaces between words (Chinese, Japanese, Thai, Lao, Burmese, Khmer)
and full-width forms: room between their characters is not a lost space."""


class _Respacer:
    """Puts back the spaces between words that PDFium's text leaves out, from where the
    characters sit: a space goes between two characters of one line, neither a space nor a
    line break, when the room between their loose boxes (the advance width, not the ink) is
    more than RESPACE_GAP of the font size. PDFium's own text, line breaks, hyphen marks
    (U+0002) and spaces are kept as they are. Only horizontal, upright text is looked at
    (rotated, mirrored and vertical text is left alone); right-to-left letters are measured
    leftwards; no space goes between characters of scripts written without them.

    Looking costs a ctypes call a character (about 1 us; PDFium has no call for many), as much
    again as reading the page: a document whose first RESPACE_SAMPLE characters split no word
    is read on without looking, at PDFium's own speed."""

    def __init__(self) -> None:
        import ctypes

        import pypdfium2.raw as pdfium_c

        self.looked = 0
        self.found = 0
        self.active = True
        # Called once a character: a prototype taking plain addresses costs half of what the
        # binding's type-checked call does.
        prototype = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_int, ctypes.c_void_p)
        function = ctypes.cast(pdfium_c.FPDFText_GetLooseCharBox, ctypes.c_void_p).value
        assert function is not None  # a function of the loaded library
        self._box = prototype(function)
        self._rect = (ctypes.c_float * 4)()  # FS_RECTF: left, top, right, bottom
        self._rect_address = ctypes.addressof(self._rect)
        self._values = memoryview(self._rect).cast("B").cast("f")
        self._matrix = pdfium_c.FS_MATRIX()

    def page_text(self, textpage: Any) -> str:
        """The page's text, its lost spaces put back while the document needs it."""
        text = str(textpage.get_text_range())
        if not self.active:
            return text
        spaced, looked, found = self.respace(textpage, text)
        self.looked += looked
        self.found += found
        if self.looked >= RESPACE_SAMPLE and self.found < RESPACE_SAMPLE_FOUND:
            self.active = False
        return spaced

    def respace(self, textpage: Any, text: str) -> tuple[str, int, int]:
        """The page's text with the lost spaces put back; how many characters were looked at,
        and how many of the spaces put back split a word (two letters or digits apart)."""
        import ctypes

        if len(text) != textpage.count_chars():
            return text, 0, 0  # characters and text do not line up: PDFium's text as it is
        handle = ctypes.cast(textpage.raw, ctypes.c_void_p).value
        box, address, values = self._box, self._rect_address, self._values
        rtl = _RTL.search(text) is not None
        cuts: list[int] = []
        looked = 0
        for run in _RUN.finditer(text):
            start, end = run.span()
            looked += end - start
            box(handle, start, address)
            prev_left, prev_right = values[0], values[2]
            for i in range(start + 1, end):
                box(handle, i, address)
                left, right = values[0], values[2]
                # Cheap first: the font size is at least the box's height, and most
                # neighbours touch or overlap; the few others are measured.
                room = RESPACE_GAP * (values[1] - values[3])
                if (left - prev_right > room or (rtl and prev_left - right > room)) and self._apart(
                    textpage, text, i
                ):
                    cuts.append(i)
                prev_left, prev_right = left, right
        if not cuts:
            return text, looked, 0
        split = sum(1 for cut in cuts if text[cut - 1].isalnum() and text[cut].isalnum())
        pieces = []
        last = 0
        for cut in cuts:
            pieces.append(text[last:cut])
            last = cut
        pieces.append(text[last:])
        return " ".join(pieces), looked, split

    def _apart(self, textpage: Any, text: str, i: int) -> bool:
        """Whether characters i - 1 and i, of one line, are two words: the room between them
        more than RESPACE_GAP of the larger font size, in their direction of writing."""
        import pypdfium2.raw as pdfium_c

        before, after = text[i - 1], text[i]
        if _NO_SPACES.match(before) or _NO_SPACES.match(after):
            return False
        raw = textpage.raw
        boxes = []
        size = 0.0
        for index in (i - 1, i):
            if pdfium_c.FPDFText_IsGenerated(raw, index) != 0:
                return False
            rect = pdfium_c.FS_RECTF()
            if not pdfium_c.FPDFText_GetLooseCharBox(raw, index, rect):
                return False
            matrix = self._matrix
            if not pdfium_c.FPDFText_GetMatrix(raw, index, matrix):
                return False
            scale = matrix.d
            upright = matrix.a > 0 and scale > 0
            if not upright or abs(matrix.b) > 0.01 * matrix.a or abs(matrix.c) > 0.01 * scale:
                return False  # rotated, mirrored or skewed: not measured
            font = pdfium_c.FPDFText_GetFontSize(raw, index) * scale
            size = max(size, font, rect.top - rect.bottom)
            boxes.append(rect)
        first, second = boxes
        lowest = min(first.top - first.bottom, second.top - second.bottom)
        overlap = min(first.top, second.top) - max(first.bottom, second.bottom)
        if size <= 0 or lowest <= 0 or overlap < 0.5 * lowest:
            return False  # not on one line (or no size to measure against)
        if _RTL.match(before) and _RTL.match(after):
            gap = first.left - second.right
        else:
            gap = second.left - first.right
        return bool(gap > RESPACE_GAP * size)


def _decode(data: bytes) -> str:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16", errors="replace")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("latin-1")


SKIP = frozenset({"script", "style", "noscript", "template", "svg", "head"})
BLOCK = frozenset(
    {"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "section", "pre"}
)


def _html(name: str, source: str) -> str:
    """The visible text of a web page, a line break around each block.

    libxml2 (lxml) parses it in linear time whatever the markup; the standard library's
    html.parser rescans from every unclosed tag ('<a b="' repeated: quadratic, hours for a few
    MB). The tree is walked without recursion, so deep nesting costs nothing extra."""
    from lxml import etree
    from lxml import html as lxml_html

    parser = lxml_html.HTMLParser(no_network=True, remove_comments=True, remove_pis=True)
    try:
        root = lxml_html.document_fromstring(source, parser=parser)
    except (etree.ParserError, ValueError) as exc:  # "Document is empty"
        raise DocumentError(f"{name} has no text Hearth can read.") from exc
    parts: list[str] = []
    skipping = 0
    for event, element in etree.iterwalk(root, events=("start", "end")):
        tag = element.tag if isinstance(element.tag, str) else ""
        if event == "start":
            if tag in SKIP:
                skipping += 1
            elif tag in BLOCK:
                parts.append("\n")
            if not skipping and element.text:
                parts.append(element.text)
        else:
            if tag in SKIP:
                skipping -= 1
            elif tag in BLOCK:
                parts.append("\n")
            if not skipping and element.tail:
                parts.append(element.tail)
    text = re.sub(r"[ \t]+", " ", "".join(parts))
    return re.sub(r"\n\s*\n+", "\n\n", text).strip()


def _docx(name: str, data: bytes) -> str:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            info = archive.getinfo("word/document.xml")
            if info.file_size > MAX_DOCX_XML_BYTES:
                raise DocumentError(f"{name} is too large to read safely.")
            root = fromstring(archive.read(info), forbid_dtd=True)
    except DocumentError:
        raise
    except (zipfile.BadZipFile, KeyError, ParseError, DefusedXmlException, EOFError) as exc:
        raise DocumentError(f"{name} is not a readable Word document.") from exc
    paragraphs = []
    for paragraph in root.iter(f"{_W}p"):
        pieces = []
        for node in paragraph.iter():
            if node.tag == f"{_W}t" and node.text:
                pieces.append(node.text)
            elif node.tag == f"{_W}tab":
                pieces.append("\t")
            elif node.tag == f"{_W}br":
                pieces.append("\n")
        paragraphs.append("".join(pieces))
    return "\n".join(paragraphs)
