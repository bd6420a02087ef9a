"""Text out of the user's documents: txt, md, pdf (pypdf), html (lxml) and docx (defusedxml).

The indexer opens the file (regular files only) and hands its bytes over; every failure becomes
a DocumentError with a plain message naming the file; nothing here is fatal to an indexing
run. DOCX is a zip of XML: it is read with the zip size checked first and XML parsed by
defusedxml with DTDs refused (no entity expansion, nothing fetched).
"""

from __future__ import annotations

import io
import logging
import re
import zipfile
from pathlib import Path
from xml.etree.ElementTree import ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

from app.core.documents import DocumentError

log = logging.getLogger(__name__)

MAX_DOCX_XML_BYTES = 100 * 1024 * 1024
_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


class LocalDocumentReader:
    def read(self, name: str, data: bytes) -> str:
        suffix = Path(name).suffix.lower()
        if suffix in (".txt", ".md", ".markdown"):
            text = _decode(data)
        elif suffix == ".pdf":
            text = _pdf(name, data)
        elif suffix in (".html", ".htm"):
            text = _html(name, _decode(data))
        elif suffix == ".docx":
            text = _docx(name, data)
        else:
            raise DocumentError(f"{name}: Hearth does not read {suffix} files.")
        if not text.strip():
            raise DocumentError(f"{name} has no text Hearth can read.")
        return text


def _decode(data: bytes) -> str:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16", errors="replace")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def _pdf(name: str, data: bytes) -> str:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted:
            raise DocumentError(f"{name} is password-protected; Hearth cannot read it.")
        pages = []
        for number, page in enumerate(reader.pages, 1):
            try:
                pages.append(page.extract_text() or "")
            except (PdfReadError, ValueError, KeyError, TypeError) as exc:
                log.warning("%s: page %d unreadable (%s)", name, number, exc)
        return "\n\n".join(pages)
    except DocumentError:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, AttributeError, RecursionError) as exc:
        raise DocumentError(f"{name} is not a readable PDF (damaged or incomplete).") from exc


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
