"""Constrained generation with the real models: every reply parses and fits its schema.

The grammar translation is checked first without a model (integer ranges and calendar dates
against brute force), then both chat models answer 20 varied prompts each under four schemas
(a tool call, a yes/no, a date, an integer range), and the fast grammar sampler is compared
with llama-cpp-python's stock one (grammar over the whole vocabulary, then greedy).
"""

from __future__ import annotations

import datetime
import re
import threading
from typing import Any

import pytest
from app.core.cancel import CancelToken
from app.core.errors import LanguageModelError
from app.core.ports import ChatMessage
from app.core.structured import StructuredOutputError, parse_structured
from app.engines.llama_llm import (
    _CALENDAR_RULES,
    _integer_range,
    _plain_classes,
    grammar_for,
    schema_to_gbnf,
)
from app.settings import DEFAULT_MODEL, FAST_MODEL

from tests.engines.test_llama import _close_models, real_model

__all__ = ["_close_models"]  # closes the models this module loaded

MODELS = [DEFAULT_MODEL, FAST_MODEL]

TOOL_CALL: dict[str, Any] = {
    "anyOf": [
        {
            "type": "object",
            "properties": {
                "name": {"const": "set_timer"},
                "arguments": {
                    "type": "object",
                    "properties": {"minutes": {"type": "integer", "minimum": 1, "maximum": 1440}},
                    "required": ["minutes"],
                    "additionalProperties": False,
                },
            },
            "required": ["name", "arguments"],
            "additionalProperties": False,
        },
        {
            "type": "object",
            "properties": {
                "name": {"const": "get_weather"},
                "arguments": {
                    "type": "object",
                    "properties": {"city": {"type": "string", "minLength": 1, "maxLength": 30}},
                    "required": ["city"],
                    "additionalProperties": False,
                },
            },
            "required": ["name", "arguments"],
            "additionalProperties": False,
        },
        {
            "type": "object",
            "properties": {
                "name": {"const": "add_note"},
                "arguments": {
                    "type": "object",
                    "properties": {"text": {"type": "string", "minLength": 1, "maxLength": 40}},
                    "required": ["text"],
                    "additionalProperties": False,
                },
            },
            "required": ["name", "arguments"],
            "additionalProperties": False,
        },
    ]
}
YES_NO: dict[str, Any] = {"type": "string", "enum": ["yes", "no"]}
DATE: dict[str, Any] = {
    "type": "object",
    "properties": {
        "date": {"type": "string", "format": "date"},
        "time": {"type": "string", "pattern": r"^([01]\d|2[0-3]):[0-5]\d$"},
    },
    "required": ["date", "time"],
    "additionalProperties": False,
}
RATING: dict[str, Any] = {"type": "integer", "minimum": 1, "maximum": 10}

TOOLS_SYSTEM = (
    "You call tools. Reply with one JSON object: "
    '{"name": "set_timer", "arguments": {"minutes": <1-1440>}} or '
    '{"name": "get_weather", "arguments": {"city": "<city>"}} or '
    '{"name": "add_note", "arguments": {"text": "<short note>"}}.'
)
YES_NO_SYSTEM = 'Answer the question with "yes" or "no" only, as a JSON string.'
DATE_SYSTEM = (
    'Reply with JSON {"date": "YYYY-MM-DD", "time": "HH:MM"} for the moment the user means. '
    "Today is Tuesday 2026-12-01 and it is 09:30."
)
RATING_SYSTEM = "Rate what the user describes from 1 (worst) to 10 (best). Reply with the number."

CASES: list[tuple[str, dict[str, Any], str, int]] = [
    (TOOLS_SYSTEM, TOOL_CALL, "Set a timer for ten minutes.", 40),
    (TOOLS_SYSTEM, TOOL_CALL, "What's the weather like in Lisbon?", 40),
    (TOOLS_SYSTEM, TOOL_CALL, "Note that the plumber comes on Friday.", 48),
    (TOOLS_SYSTEM, TOOL_CALL, "Remind me in an hour and a half to stretch.", 48),
    (TOOLS_SYSTEM, TOOL_CALL, "Is it going to rain in Oslo tomorrow?", 40),
    (TOOLS_SYSTEM, TOOL_CALL, "Write down: buy oat milk and eggs.", 48),
    (YES_NO_SYSTEM, YES_NO, "Is water wet?", 6),
    (YES_NO_SYSTEM, YES_NO, "Can a cat fly without help?", 6),
    (YES_NO_SYSTEM, YES_NO, "Is Paris the capital of France?", 6),
    (YES_NO_SYSTEM, YES_NO, "Should I delete all my notes? Say no unless I am sure.", 6),
    (YES_NO_SYSTEM, YES_NO, "Is 7 a prime number?", 6),
    (DATE_SYSTEM, DATE, "Tomorrow at noon.", 32),
    (DATE_SYSTEM, DATE, "Christmas Day at 6 in the evening.", 32),
    (
        DATE_SYSTEM,
        DATE,
        "The first of March next year, at a quarter past eight in the morning.",
        32,
    ),
    (DATE_SYSTEM, DATE, "Next Friday at 14:45.", 32),
    (DATE_SYSTEM, DATE, "New Year's Eve at midnight minus one minute.", 32),
    (RATING_SYSTEM, RATING, "A cold, soggy pizza delivered two hours late.", 6),
    (RATING_SYSTEM, RATING, "A sunny picnic with good friends.", 6),
    (RATING_SYSTEM, RATING, "An average Tuesday at the office.", 6),
    (RATING_SYSTEM, RATING, "The best concert I have ever been to.", 6),
]


# -- without a model: the grammar says exactly what the schema says ---------------------------


def gbnf_to_regex(rules: dict[str, str], start: str) -> str:
    """A Python regex for a non-recursive GBNF made of literals, classes, groups and names."""

    def expand(body: str) -> str:
        out: list[str] = []
        for token in re.findall(r'"(?:[^"\\]|\\.)*"|\[[^\]]*\]|[()|]|[a-z][a-z0-9-]*', body):
            if token.startswith('"'):
                out.append(re.escape(token[1:-1].replace('\\"', '"')))
            elif token.startswith("[") or token in "()|":
                out.append(token)
            else:
                out.append("(?:" + expand(rules[token]) + ")")
        return "".join(out)

    return expand(rules[start])


@pytest.mark.parametrize(("low", "high"), [(1, 10), (1, 1440), (-15, 230), (-300, -7), (0, 0)])
def test_integer_ranges_match_exactly_the_integers_in_range(low: int, high: int) -> None:
    pattern = re.compile(gbnf_to_regex({"root": _integer_range(low, high)}, "root"))
    for n in range(low - 120, high + 120):
        assert bool(pattern.fullmatch(str(n))) == (low <= n <= high), n
    assert not pattern.fullmatch("01") and not pattern.fullmatch("-0")


def test_calendar_dates_match_exactly_the_real_dates() -> None:
    pattern = re.compile(gbnf_to_regex(_CALENDAR_RULES, "calendar-date"))
    for year in ("0000", "0001", "0004", "0100", "0400", "1900", "2000", "2024", "2026", "9999"):
        for month in range(0, 14):
            for day in range(0, 33):
                text = f"{year}-{month:02d}-{day:02d}"
                try:
                    datetime.date.fromisoformat(text)
                    real = True
                except ValueError:
                    real = False
                assert bool(pattern.fullmatch(text)) == real, text


def test_digit_classes_in_patterns_become_bracket_classes() -> None:
    assert _plain_classes(r"^\d{2}:\d{2}$") == "^[0-9]{2}:[0-9]{2}$"
    assert _plain_classes(r"^[\d.]+\.x$") == r"^[0-9.]+\.x$"
    assert '"\\d' not in schema_to_gbnf({"type": "string", "pattern": r"^\d{2}$"})


def test_exactly_one_constraint_and_a_valid_schema_are_required() -> None:
    with pytest.raises(ValueError, match="exactly one"):
        grammar_for(schema=None, grammar=None)
    with pytest.raises(ValueError, match="exactly one"):
        grammar_for(schema=YES_NO, grammar='root ::= "x"')
    with pytest.raises(ValueError, match="invalid JSON schema"):
        grammar_for(schema={"type": "nothing"}, grammar=None)
    with pytest.raises(ValueError, match="no integer"):
        grammar_for(schema={"type": "integer", "minimum": 5, "maximum": 4}, grammar=None)


# -- with the real models -------------------------------------------------------------------


@pytest.mark.model
@pytest.mark.parametrize("model_id", MODELS)
def test_twenty_prompts_under_four_schemas_all_parse_and_validate(model_id: str) -> None:
    llm = real_model(model_id)
    failures: list[str] = []
    kinds: set[str] = set()
    for system, schema, question, max_tokens in CASES:
        messages = [ChatMessage("system", system), ChatMessage("user", question)]
        reply = llm.structured(messages, schema=schema, max_tokens=max_tokens, cancel=CancelToken())
        try:
            value = parse_structured(reply, schema)
        except StructuredOutputError as exc:
            failures.append(f"{question!r}: {exc.message} {reply!r}")
            continue
        kinds.add(
            value["name"] if isinstance(value, dict) and "name" in value else type(value).__name__
        )
    assert failures == []
    assert len(kinds) >= 3  # not one canned answer: tools, strings, ints, dates


@pytest.mark.model
@pytest.mark.parametrize("model_id", MODELS)
def test_a_gbnf_grammar_constrains_the_reply(model_id: str) -> None:
    llm = real_model(model_id)
    grammar = 'root ::= ("red" | "green" | "blue") "!"'
    messages = [ChatMessage("user", "Which colour is the sky on a clear day? One word.")]
    reply = llm.structured(messages, grammar=grammar, max_tokens=8, cancel=CancelToken())
    assert reply in ("red!", "green!", "blue!")


@pytest.mark.model
def test_the_fast_grammar_sampler_picks_what_the_stock_one_picks() -> None:
    """Greedy under the grammar, checking the best, the near, then all tokens == stock."""
    from llama_cpp.llama_grammar import LlamaGrammar

    llm = real_model(FAST_MODEL)
    for system, schema, question, max_tokens in CASES[::3]:
        messages = [ChatMessage("system", system), ChatMessage("user", question)]
        fast = llm.structured(messages, schema=schema, max_tokens=max_tokens, cancel=CancelToken())
        stock = llm._llm.create_chat_completion(
            messages=[{"role": m.role, "content": m.content} for m in messages],
            grammar=LlamaGrammar.from_string(schema_to_gbnf(schema), verbose=False),
            temperature=0.0,
            repeat_penalty=1.0,
            max_tokens=max_tokens,
        )
        assert fast == stock["choices"][0]["message"]["content"], question


@pytest.mark.model
def test_a_reply_cut_off_by_max_tokens_is_refused_by_the_parser() -> None:
    llm = real_model(FAST_MODEL)
    messages = [
        ChatMessage("system", TOOLS_SYSTEM),
        ChatMessage("user", "Set a timer for 5 minutes."),
    ]
    reply = llm.structured(messages, schema=TOOL_CALL, max_tokens=4, cancel=CancelToken())
    assert reply.startswith("{")
    with pytest.raises(StructuredOutputError, match="cut off"):
        parse_structured(reply, TOOL_CALL)


@pytest.mark.model
def test_an_invalid_grammar_is_a_language_model_error() -> None:
    llm = real_model(FAST_MODEL)
    with pytest.raises(LanguageModelError) as caught:
        llm.structured(
            [ChatMessage("user", "Hi")], grammar="root ::= (", max_tokens=4, cancel=CancelToken()
        )
    assert caught.value.code == "grammar-invalid"
    after = llm.structured(
        [ChatMessage("user", "Say yes.")], schema=YES_NO, max_tokens=4, cancel=CancelToken()
    )
    assert parse_structured(after, YES_NO) in ("yes", "no")  # still usable


@pytest.mark.model
def test_cancel_stops_a_structured_reply_and_the_model_stays_usable() -> None:
    llm = real_model(DEFAULT_MODEL)
    assert llm.cancels_inside_batches
    notes = " ".join(f"Item {i} is a red box on shelf {i % 5}." for i in range(250))
    cancel = CancelToken()
    timer = threading.Timer(0.3, cancel.cancel)
    timer.start()
    reply = llm.structured(
        [ChatMessage("system", YES_NO_SYSTEM), ChatMessage("user", notes + " Is item 3 red?")],
        schema=YES_NO,
        max_tokens=6,
        cancel=cancel,
    )
    timer.cancel()
    assert reply == ""
    assert llm.last_stats.prompt_tokens_evaluated < llm.last_stats.prompt_tokens
    after = llm.structured(
        [ChatMessage("system", YES_NO_SYSTEM), ChatMessage("user", "Is Paris in France?")],
        schema=YES_NO,
        max_tokens=6,
        cancel=CancelToken(),
    )
    assert parse_structured(after, YES_NO) in ("yes", "no")


@pytest.mark.model
def test_structured_and_stream_share_the_prefix_cache() -> None:
    llm = real_model(DEFAULT_MODEL)
    system = ChatMessage("system", DATE_SYSTEM + " Be brief.")
    llm.structured(
        [system, ChatMessage("user", "Tomorrow at noon.")],
        schema=DATE,
        max_tokens=32,
        cancel=CancelToken(),
    )
    first = llm.last_stats
    pieces = list(
        llm.stream(
            [system, ChatMessage("user", "What day is it today?")],
            max_tokens=8,
            temperature=0.0,
            cancel=CancelToken(),
        )
    )
    second = llm.last_stats
    assert pieces
    assert first.prompt_tokens_evaluated > first.prompt_tokens - 8  # a new system prompt
    assert second.prompt_tokens_evaluated < second.prompt_tokens / 2  # its prefix was kept
    assert second.prompt_tokens_evaluated < first.prompt_tokens_evaluated / 2


@pytest.mark.model
def test_threads_can_change_in_the_middle_of_a_reply() -> None:
    llm = real_model(FAST_MODEL)
    messages = [ChatMessage("user", "Count from one to twenty in words.")]
    reference = "".join(llm.stream(messages, max_tokens=40, temperature=0.0, cancel=CancelToken()))
    pieces: list[str] = []
    try:
        for piece in llm.stream(messages, max_tokens=40, temperature=0.0, cancel=CancelToken()):
            pieces.append(piece)
            if len(pieces) == 5:
                llm.set_threads(1)
                assert llm.threads == 1
    finally:
        llm.set_threads(2)
    assert llm.threads == 2
    assert llm.last_stats.generated_tokens >= 30  # it went on after the change
    assert "".join(pieces) == reference  # greedy: the thread count changes speed, not text
