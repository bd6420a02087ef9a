#!/usr/bin/env python3
"""Check the evaluation set in questions.json against the documents beside it.

It needs pypdfium2 and Hearth's own document reader (installed in the project's .venv). Run
it as

    python tests/data/eval/check_quotes.py [--dump DIR]

What it checks:
- every document listed exists, is the format it says, and a PDF's /Producer is the one named;
- ids are unique, every document has at least 4 answerable questions;
- every answerable question's quote (5-40 words) occurs in its document's extracted text, and
  holds one of its accepted answers;
- every unanswerable question's answer words occur in none of the documents.

Text is compared as Hearth reads it, reduced to what does not depend on layout: PDF pages are
read with PDFium (pypdfium2) and joined; the line-end hyphen mark PDFium reports (U+0002 or
U+FFFE, as this pypdfium2 gives it) and soft hyphens are dropped so the split word is whole
again; ligature glyphs are spelled out; HTML and plain text are what Hearth's reader gives
(for a page, its visible text with a line break around each block, script, style and head
left out); then all runs of whitespace become one space. The comparison of quotes is
case-sensitive; answers are matched case-insensitively, and a word-like answer only as a whole
word (so "94" is not found in "1994").
--dump DIR writes each document's compared text to DIR/<file>.txt, to pick quotes from.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any

from app.engines.document_reader import LocalDocumentReader

HERE = Path(__file__).resolve().parent
LIGATURES = str.maketrans(
    {"\ufb00": "ff", "\ufb01": "fi", "\ufb02": "fl", "\ufb03": "ffi", "\ufb04": "ffl"}
)
HYPHEN_MARKS = re.compile(r"[\u0002\u00ad\ufffe]\s*")
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\uffff]")
MIN_WORDS, MAX_WORDS, MIN_PER_DOCUMENT = 5, 40, 4


def normalise(text: str) -> str:
    text = HYPHEN_MARKS.sub("", text.translate(LIGATURES))
    return " ".join(CONTROL.sub("", text).split())


def pdf_text(path: Path) -> tuple[str, str, int]:
    """The text of every page, the /Producer and the number of pages."""
    import pypdfium2 as pdfium

    document = pdfium.PdfDocument(str(path))
    try:
        producer = document.get_metadata_dict().get("Producer", "")
        pages = []
        for number in range(len(document)):
            page = document[number]
            textpage = page.get_textpage()
            pages.append(textpage.get_text_range())
            textpage.close()
            page.close()
        return "\n".join(pages), producer, len(pages)
    finally:
        document.close()


def document_text(entry: dict[str, Any], errors: list[str]) -> str:
    path = HERE / entry["file"]
    if not path.is_file():
        errors.append(f"{entry['file']}: missing")
        return ""
    kind = entry["format"]
    if path.suffix.lower().lstrip(".") not in {
        "pdf": ("pdf",),
        "html": ("html", "htm"),
        "txt": ("txt",),
    }.get(kind, ()):
        errors.append(f"{entry['file']}: format {kind!r} does not match its name")
    if kind == "pdf":
        text, producer, _ = pdf_text(path)
        if producer != entry.get("producer"):
            errors.append(
                f"{entry['file']}: /Producer is {producer!r}, not {entry.get('producer')!r}"
            )
    else:  # HTML and plain text exactly as Hearth's reader gives them
        text = LocalDocumentReader().read(path.name, path.read_bytes())
    return normalise(text)


def occurs(term: str, text: str) -> bool:
    """Case-insensitive; a term that begins or ends with a word character only as a whole word."""
    left = r"(?<!\w)" if re.match(r"\w", term) else ""
    right = r"(?!\w)" if re.search(r"\w$", term) else ""
    return re.search(left + re.escape(term) + right, text, re.IGNORECASE) is not None


def check(data: dict[str, Any], texts: dict[str, str], errors: list[str]) -> tuple[int, int]:
    ids: set[str] = set()
    per_document = {name: 0 for name in texts}
    answerable = unanswerable = 0
    for q in data["questions"]:
        qid = q.get("id", "?")
        if qid in ids:
            errors.append(f"{qid}: duplicate id")
        ids.add(qid)
        if not q.get("question") or not q.get("answers"):
            errors.append(f"{qid}: question and answers are required")
            continue
        if q.get("answerable", True):
            answerable += 1
            source, quote = q.get("source"), normalise(q.get("quote") or "")
            if source not in texts:
                errors.append(f"{qid}: source {source!r} is not a listed document")
                continue
            per_document[source] += 1
            words = len(quote.split())
            if not MIN_WORDS <= words <= MAX_WORDS:
                errors.append(f"{qid}: quote has {words} words, not {MIN_WORDS}-{MAX_WORDS}")
            if quote not in texts[source]:
                errors.append(f"{qid}: quote not found in {source}: {quote!r}")
            if not any(occurs(normalise(a), quote) for a in q["answers"]):
                errors.append(f"{qid}: no accepted answer occurs in its quote")
        else:
            unanswerable += 1
            if q.get("source") or q.get("quote"):
                errors.append(f"{qid}: an unanswerable question has no source or quote")
            for answer in q["answers"]:
                for name, text in texts.items():
                    if occurs(normalise(answer), text):
                        errors.append(f"{qid}: answer {answer!r} occurs in {name}")
    for name, count in per_document.items():
        if count < MIN_PER_DOCUMENT:
            errors.append(f"{name}: {count} answerable questions, fewer than {MIN_PER_DOCUMENT}")
    return answerable, unanswerable


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dump", type=Path, help="write each document's compared text here")
    args = parser.parse_args(argv)
    data = json.loads((HERE / "questions.json").read_text(encoding="utf-8"))
    errors: list[str] = []
    texts = {entry["file"]: document_text(entry, errors) for entry in data["documents"]}
    if args.dump:
        args.dump.mkdir(parents=True, exist_ok=True)
        for name, text in texts.items():
            (args.dump / f"{name}.txt").write_text(text, encoding="utf-8")
    answerable, unanswerable = check(data, texts, errors)
    for error in errors:
        print("FAIL", error)
    print(
        f"{len(texts)} documents, {answerable} answerable and {unanswerable} unanswerable "
        f"questions: {len(errors)} problem(s)"
    )
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
