"""Reading a reply generated under a JSON schema (``LanguageModel.structured``).

The grammar a schema compiles to guarantees the *shape* of the text only while generation
runs to its end: a reply cut off by ``max_tokens`` or by a cancel is not valid JSON, and some
keywords have no grammar equivalent (a calendar-valid ``format: date``, ``multipleOf``,
``uniqueItems``...). So every structured reply is parsed and validated here before the core
acts on it; when it does not hold, :class:`StructuredOutputError` says why in a sentence.

Validation uses the ``jsonschema`` package (draft 2020-12, with format checking), imported
on first use so that importing the core stays light.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from app.core.errors import LanguageModelError


class StructuredOutputError(LanguageModelError):
    """A structured reply was not valid JSON or did not match its schema."""

    code = "llm-structured"

    def __init__(self, message: str, *, reply: str, code: str | None = None) -> None:
        super().__init__(message, code=code, details=f"reply: {reply!r}")
        self.reply = reply


def check_schema(schema: Mapping[str, Any]) -> None:
    """Raise ``ValueError`` when ``schema`` is not a valid JSON schema (a programming error)."""
    from jsonschema import Draft202012Validator  # type: ignore[import-untyped]
    from jsonschema.exceptions import SchemaError  # type: ignore[import-untyped]

    try:
        Draft202012Validator.check_schema(dict(schema))
    except SchemaError as exc:
        raise ValueError(f"invalid JSON schema: {exc.message}") from exc


def parse_structured(reply: str, schema: Mapping[str, Any]) -> Any:
    """The JSON value in ``reply``, checked against ``schema``.

    Raises :class:`StructuredOutputError` (code ``llm-structured``) when the reply is empty,
    is not one complete JSON value, or breaks the schema; the message names the first problem
    and where it is.
    """
    from jsonschema import Draft202012Validator, FormatChecker

    text = reply.strip()
    if not text:
        raise StructuredOutputError("The model gave no answer.", reply=reply, code="llm-empty")
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise StructuredOutputError(
            f"The model's answer is not complete JSON ({exc.msg} at character {exc.pos}); "
            "it may have been cut off.",
            reply=reply,
        ) from exc
    validator = Draft202012Validator(dict(schema), format_checker=FormatChecker())
    errors = sorted(validator.iter_errors(value), key=lambda e: list(e.absolute_path))
    if errors:
        first = errors[0]
        where = "/".join(str(p) for p in first.absolute_path) or "the answer"
        raise StructuredOutputError(
            f"The model's answer does not fit what was asked: at {where}, {first.message}.",
            reply=reply,
        )
    return value
