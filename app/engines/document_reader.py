"""Text out of the user's documents: txt, md, pdf (PDFium), html (lxml) and docx (defusedxml).

The indexer opens the file (regular files only) and hands its bytes over; every failure becomes
a DocumentError with a plain message naming the file; nothing here is fatal to an indexing
run. PDFs are read with PDFium (pypdfium2), chosen by measurement on real PDFs of four
producers and a scan (bench/pdf_text.py): it keeps the spaces TeX's xdvipdfmx leaves implicit
(pypdf lost them: "wordsrantogether"), and is ten to twenty times faster than pypdf and
pdfminer.six; the pages are then joined into running text by app.core.page_text. A page
with no text but images (a scan) is read by OCR, page by page, with progress. DOCX is a zip
of XML: it is read with the zip size checked first and XML parsed by defusedxml with DTDs
refused (no entity expansion, nothing fetched).
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


PDF_READER = 1
"""Version of the PDF reading: 0 was pypdf; files indexed with an older one are read again."""
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
    """Each page's text layer, and the numbers of the pages that have none but hold images."""
    import pypdfium2 as pdfium
    import pypdfium2.raw as pdfium_c

    pages: list[str] = []
    scanned: list[int] = []
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
                text = textpage.get_text_range()
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
