"""Exact answers: sums, days until a date, the day of the week, the time and date now."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from app.core.tools.base import AsksNothing, Risk, ToolError, ToolResult, object_schema
from app.core.tools.clock import Clock
from app.core.tools.maths import calculate, show
from app.core.tools.when import parse_when


class Calculate(AsksNothing):
    name = "calculate"
    description = "Work out arithmetic exactly: + - × ÷, percentages ('17% of 2,340'), powers."
    schema = object_schema(
        {"expression": {"type": "string", "minLength": 1, "maxLength": 200}}, ["expression"]
    )
    risk = Risk.READ

    def run(self, args: Mapping[str, Any]) -> ToolResult:
        expression = str(args["expression"]).strip().rstrip("?.!")
        value = calculate(expression)
        return ToolResult(f"{expression} = {show(value)}", card={"value": str(value)})


class DateMaths(AsksNothing):
    name = "date_maths"
    description = (
        "Dates and times from the calendar: days until a date, the day of the week of a date, "
        "or the time and date now."
    )
    schema = object_schema(
        {
            "question": {"enum": ["days_until", "day_of_week", "now"]},
            "date": {"type": "string", "maxLength": 80},
        },
        ["question"],
    )
    risk = Risk.READ

    def __init__(self, clock: Clock) -> None:
        self.clock = clock

    def run(self, args: Mapping[str, Any]) -> ToolResult:
        now, zone = self.clock.now(), self.clock.zone
        question = args["question"]
        if question == "now":
            return ToolResult(f"It is {now:%H:%M} on {now:%A} {now.day} {now:%B %Y}.")
        text = str(args.get("date", "")).strip().rstrip("?.!")
        found = parse_when(text, now, zone)
        if found is None:
            raise ToolError(f"I could not tell which date “{text}” is.")
        day = found.at.date()
        shown = f"{day:%A} {day.day} {day:%B %Y}"
        if question == "day_of_week":
            return ToolResult(f"{day.day} {day:%B %Y} is a {day:%A}.")
        days = (day - now.date()).days
        if days == 0:
            return ToolResult(f"{shown} is today.")
        if days < 0:
            return ToolResult(f"{shown} was {-days} day{'s' if days != -1 else ''} ago.")
        return ToolResult(f"{days} day{'s' if days != 1 else ''} until {shown}.")
