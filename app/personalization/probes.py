"""Fixed questions: anchors to keep general ability, and the regression set of the gate.

Written for Hearth. Anchors are general questions whose answers come from the base model
itself (so mixing them in teaches nothing new, it only holds the model where it was). The
regression set checks what a style adapter must never break: plain facts, short sums, a
Markdown list, a code block and a structured (JSON) reply; each item has a check on the
answer, and the gate counts items the base model passes and the adapter then fails.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

ANCHOR_QUESTIONS = (
    "What causes the seasons on Earth?",
    "Give me two tips for sleeping better.",
    "What is the difference between weather and climate?",
    "How do I boil an egg?",
    "Explain what a CPU does in one or two sentences.",
    "What is photosynthesis?",
    "Suggest a name for a small grey cat.",
    "How do I reverse a list in Python?",
    "Why is the sky blue?",
    "What should I pack for a weekend hiking trip?",
    "What is a prime number?",
    "How can I make my emails sound more polite?",
    "What does HTTP stand for?",
    "Give me a simple recipe for pancakes.",
    "How do vaccines work?",
    "What is the difference between a list and a tuple in Python?",
    "Write a short thank-you note to a neighbour who watered my plants.",
    "What are the planets of the solar system?",
    "How do I stop a kettle from building up limescale?",
    "Explain recursion to a beginner.",
    "What is a good way to learn a new language?",
    "Summarise what a budget is for.",
    "How do I centre text in HTML?",
    "What is the tallest mountain in the world?",
    # Formats and exact answers, so a style learned from short replies keeps them
    # (the regression set asks different questions of the same kinds).
    "List four things to pack for a beach day as a Markdown bullet list.",
    "Give three tips for saving energy at home as a numbered list.",
    "Write a Python function that returns the largest of three numbers, in a code block.",
    "Show how to print hello in JavaScript, in a code block.",
    "What is 9 times 6?",
    "What is the capital of Japan?",
    "How many minutes are there in an hour?",
    "Describe a book with a title and an author as a small JSON object.",
)


@dataclass(frozen=True)
class RegressionItem:
    name: str
    questions: tuple[str, ...]
    """The same question put in different words: the item passes when most answers pass.
    Measured on SmolLM2 135M: the base model said a week has 7 days to one wording and 5
    to another, so one wording measures a coin flip, not what the adapter changed."""
    check: Callable[[str], bool]
    schema: dict[str, Any] | None = None
    """A JSON schema: the item is answered as a structured (grammar-constrained) reply."""

    def passes(self, answers: list[str]) -> bool:
        return sum(self.check(a) for a in answers) * 2 > len(answers)


def _has(*words: str) -> Callable[[str], bool]:
    return lambda text: any(w.lower() in text.lower() for w in words)


def _bullets(at_least: int) -> Callable[[str], bool]:
    pattern = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+\S", re.MULTILINE)
    return lambda text: len(pattern.findall(text)) >= at_least


def _code_block(text: str) -> bool:
    return "```" in text and "def add" in text


def _timer_json(text: str) -> bool:
    try:
        data = json.loads(text)
    except ValueError:
        return False
    return isinstance(data, dict) and data.get("minutes") == 5


REGRESSION_SET = (
    RegressionItem(
        "fact: capital",
        (
            "What is the capital of France?",
            "Which city is the capital of France?",
            "France's capital city is called what?",
        ),
        _has("Paris"),
    ),
    RegressionItem(
        "fact: water",
        (
            "At what temperature in Celsius does water boil at sea level?",
            "What is the boiling point of water in degrees Celsius?",
            "How hot must water get, in Celsius, to boil at sea level?",
        ),
        _has("100"),
    ),
    RegressionItem(
        "fact: week",
        (
            "How many days are there in a week?",
            "How many days does a week have?",
            "A week has how many days?",
        ),
        _has("7", "seven"),
    ),
    RegressionItem(
        "maths: product",
        ("What is 7 times 8?", "Multiply 7 by 8.", "What do you get when you multiply 8 by 7?"),
        _has("56"),
    ),
    RegressionItem(
        "maths: sum",
        ("What is 15 plus 27?", "Add 15 and 27.", "What is the sum of 27 and 15?"),
        _has("42"),
    ),
    RegressionItem(
        "format: Markdown list",
        (
            "List three fruits as a Markdown bullet list.",
            "Give me a Markdown bullet list of three colours.",
            "Write three vegetables as a bulleted Markdown list.",
        ),
        _bullets(3),
    ),
    RegressionItem(
        "format: code block",
        (
            "Write a Python function named add that returns the sum of two numbers, "
            "in a code block.",
            "In a code block, write a Python function add(a, b) that adds two numbers.",
            "Show a Python function called add that adds two numbers; put it in a code block.",
        ),
        _code_block,
    ),
    RegressionItem(
        "format: tool-call JSON",
        (
            'The user said: "set a timer for 5 minutes". Give the timer as JSON.',
            'The user said: "start a five minute timer". Give the timer as JSON.',
            'The user said: "timer, 5 minutes please". Give the timer as JSON.',
        ),
        _timer_json,
        schema={
            "type": "object",
            "properties": {"minutes": {"type": "integer", "minimum": 0, "maximum": 600}},
            "required": ["minutes"],
        },
    ),
)
