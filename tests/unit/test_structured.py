"""Structured replies in the core: the fake model's structured() and parse_structured()."""

from __future__ import annotations

from typing import Any

import pytest
from app.core.cancel import CancelToken
from app.core.errors import LanguageModelError
from app.core.ports import ChatMessage, LanguageModel
from app.core.structured import StructuredOutputError, check_schema, parse_structured

from tests.fakes import FakeLanguageModel, StructuredCall

YES_NO: dict[str, Any] = {"type": "string", "enum": ["yes", "no"]}
TOOL: dict[str, Any] = {
    "type": "object",
    "properties": {
        "name": {"enum": ["set_timer", "none"]},
        "arguments": {
            "type": "object",
            "properties": {"minutes": {"type": "integer", "minimum": 1, "maximum": 1440}},
            "additionalProperties": False,
        },
    },
    "required": ["name", "arguments"],
    "additionalProperties": False,
}
ASK = [ChatMessage("user", "Set a timer for ten minutes.")]


def test_fake_is_a_language_model_with_structured_and_threads() -> None:
    assert isinstance(FakeLanguageModel(), LanguageModel)


def test_fake_records_each_structured_call_and_answers_in_turn() -> None:
    llm = FakeLanguageModel(
        structured_replies=['{"name": "set_timer", "arguments": {"minutes": 10}}'],
        structured_reply='"no"',
    )
    first = llm.structured(ASK, schema=TOOL, max_tokens=32, cancel=CancelToken())
    second = llm.structured(
        ASK, grammar='root ::= "yes" | "no"', max_tokens=4, cancel=CancelToken()
    )
    assert parse_structured(first, TOOL) == {"name": "set_timer", "arguments": {"minutes": 10}}
    assert second == '"no"'
    assert llm.structured_calls == [
        StructuredCall(tuple(ASK), TOOL, None, 32),
        StructuredCall(tuple(ASK), None, 'root ::= "yes" | "no"', 4),
    ]
    assert llm.last_stats.generated_tokens == 1
    assert llm.prompts == []  # nothing went through stream()


def test_fake_cuts_a_reply_at_max_tokens_and_the_cut_reply_is_refused() -> None:
    llm = FakeLanguageModel(structured_reply='{"name": "set_timer", "arguments": {"minutes": 10}}')
    text = llm.structured(ASK, schema=TOOL, max_tokens=2, cancel=CancelToken())
    assert text == '{"name": "set_timer",'
    with pytest.raises(StructuredOutputError, match="cut off") as caught:
        parse_structured(text, TOOL)
    assert caught.value.code == "llm-structured"
    assert caught.value.reply == text


def test_fake_returns_nothing_once_cancelled() -> None:
    llm = FakeLanguageModel(structured_reply='"yes"')
    cancel = CancelToken()
    cancel.cancel()
    assert llm.structured(ASK, schema=YES_NO, max_tokens=4, cancel=cancel) == ""


@pytest.mark.parametrize(
    ("schema", "grammar"), [(None, None), (YES_NO, 'root ::= "yes"')], ids=["neither", "both"]
)
def test_fake_wants_exactly_one_constraint(schema: Any, grammar: str | None) -> None:
    with pytest.raises(ValueError, match="exactly one"):
        FakeLanguageModel().structured(
            ASK, schema=schema, grammar=grammar, max_tokens=4, cancel=CancelToken()
        )


def test_fake_records_thread_changes() -> None:
    llm = FakeLanguageModel()
    llm.set_threads(1)
    llm.set_threads(0)
    assert llm.thread_changes == [1, 1] and llm.threads == 1


def test_parse_accepts_a_valid_reply_with_surrounding_space() -> None:
    assert parse_structured(' "yes" ', YES_NO) == "yes"


def test_parse_names_where_the_reply_breaks_the_schema() -> None:
    reply = '{"name": "set_timer", "arguments": {"minutes": 0}}'
    with pytest.raises(StructuredOutputError, match=r"at arguments/minutes, 0 is less than"):
        parse_structured(reply, TOOL)


def test_parse_refuses_an_empty_reply_with_its_own_code() -> None:
    with pytest.raises(StructuredOutputError) as caught:
        parse_structured("  ", YES_NO)
    assert caught.value.code == "llm-empty"
    assert isinstance(caught.value, LanguageModelError)


def test_parse_checks_date_formats_against_the_calendar() -> None:
    schema = {"type": "string", "format": "date"}
    assert parse_structured('"2028-02-29"', schema) == "2028-02-29"
    with pytest.raises(StructuredOutputError, match="is not a 'date'"):
        parse_structured('"2026-02-29"', schema)


def test_check_schema_refuses_an_invalid_schema() -> None:
    check_schema(TOOL)
    with pytest.raises(ValueError, match="invalid JSON schema"):
        check_schema({"type": "integer", "minimum": "one"})
