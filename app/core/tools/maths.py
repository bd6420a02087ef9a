"""Exact arithmetic on what the user typed or said, without eval.

The expression is rewritten into Python's arithmetic syntax ("17% of 2,340" -> "(17/100)*2340",
"2^10" -> "2**10", "times" -> "*"), parsed by :mod:`ast` and walked here: only numbers, + - * /
// % ** and brackets are allowed, every value is an exact :class:`fractions.Fraction`, and the
size of each result is bounded before it is computed, so "9**9**9**9" or a 10,000-character
input is refused at once instead of filling the memory.
"""

from __future__ import annotations

import ast
import math
import operator
import re
from collections.abc import Callable
from decimal import Decimal, localcontext
from fractions import Fraction

from app.core.tools.base import ToolError

MAX_CHARS = 200
MAX_NODES = 64
MAX_BITS = 20_000
"""A result's numerator and denominator stay below 2**MAX_BITS (about 6,000 digits)."""
MAX_DIGITS = 60
"""The longest number literal accepted (Python's int parsing is quadratic in it)."""


class MathsError(ToolError):
    code = "maths"


_WORDS = [
    (r"\bmultiplied by\b|\btimes\b|[×x](?=\s*[\d(])", "*"),
    (r"\bdivided by\b|\bover\b|÷", "/"),
    (r"\bplus\b|\band\b", "+"),
    (r"\bminus\b|\bless\b|−", "-"),
    (r"\bto the power of\b|\bto the\b|\^", "**"),
    (r"\bsquared\b", "**2"),
    (r"\bcubed\b", "**3"),
    (r"\bmod(?:ulo)?\b", "%"),
]


def normalise(text: str) -> str:
    """The expression in Python's arithmetic syntax (raises MathsError on other characters)."""
    s = text.strip().lower().rstrip("?.!= ")
    s = re.sub(r"^(what is|what's|whats|calculate|compute|how much is|work out)\s+", "", s)
    s = re.sub(r"(?<=\d),(?=\d{3}\b)", "", s)  # 2,340 -> 2340 (a thousands separator)
    for pattern, replacement in _WORDS:
        s = re.sub(pattern, replacement, s)
    s = re.sub(r"(\d+(?:\.\d+)?)\s*%\s*of\b", r"(\1/100)*", s)  # 17% of x
    s = re.sub(r"(\d+(?:\.\d+)?)\s*(?:percent|per cent)\s*of\b", r"(\1/100)*", s)
    s = re.sub(r"(\d+(?:\.\d+)?)\s*%(?!\s*[\d(])", r"(\1/100)", s)  # 10% alone; "10 % 3" stays
    s = re.sub(r"(\d+(?:\.\d+)?)\s*(?:percent|per cent)", r"(\1/100)", s)
    if not re.fullmatch(r"[0-9.+\-*/%() ]*", s) or not re.search(r"\d", s):
        raise MathsError("I can only work out sums with numbers and + - × ÷ % ^ and brackets.")
    if any(len(run) > MAX_DIGITS for run in re.findall(r"\d+", s)):
        raise MathsError(f"That number is too long: I take up to {MAX_DIGITS} digits.")
    return s


def _check(value: Fraction) -> Fraction:
    if max(value.numerator.bit_length(), value.denominator.bit_length()) > MAX_BITS:
        raise MathsError("The result would be too large to show exactly.")
    return value


def _pow(a: Fraction, b: Fraction) -> Fraction:
    if b.denominator != 1:
        raise MathsError("I can only raise to whole-number powers exactly.")
    e = b.numerator
    size = max(a.numerator.bit_length(), a.denominator.bit_length())
    if size > 1 and size * abs(e) > MAX_BITS:
        raise MathsError("The result would be too large to show exactly.")
    if a == 0 and e < 0:
        raise MathsError("Zero to a negative power is a division by zero.")
    return a**e


def _div(a: Fraction, b: Fraction) -> Fraction:
    if b == 0:
        raise MathsError("That divides by zero, which has no answer.")
    return a / b


def _floordiv(a: Fraction, b: Fraction) -> Fraction:
    return Fraction(math.floor(_div(a, b)))


def _mod(a: Fraction, b: Fraction) -> Fraction:
    if b == 0:
        raise MathsError("That divides by zero, which has no answer.")
    return a % b


_BINARY: dict[type[ast.operator], Callable[[Fraction, Fraction], Fraction]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: _div,
    ast.FloorDiv: _floordiv,
    ast.Mod: _mod,
    ast.Pow: _pow,
}


def _eval(node: ast.AST) -> Fraction:
    if isinstance(node, ast.Expression):
        return _eval(node.body)
    if isinstance(node, ast.Constant) and type(node.value) in (int, float):
        value = node.value
        return _check(Fraction(value) if isinstance(value, int) else Fraction(Decimal(repr(value))))
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        left, right = _eval(node.left), _eval(node.right)
        return _check(_BINARY[type(node.op)](left, right))
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        return -_eval(node.operand)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.UAdd):
        return _eval(node.operand)
    raise MathsError("I can only work out sums with numbers and + - × ÷ % ^ and brackets.")


def calculate(text: str) -> Fraction:
    """The exact value of ``text`` (raises MathsError with a plain reason)."""
    if len(text) > MAX_CHARS:
        raise MathsError(f"That is too long for me to work out (over {MAX_CHARS} characters).")
    expression = normalise(text)
    try:
        tree = ast.parse(expression, mode="eval")
    except (SyntaxError, ValueError, RecursionError, MemoryError) as exc:
        raise MathsError("I could not read that as a sum.", details=repr(exc)) from exc
    if sum(1 for _ in ast.walk(tree)) > MAX_NODES:
        raise MathsError("That sum has too many parts for me to work out.")
    return _eval(tree)


def show(value: Fraction) -> str:
    """ "397.8", "11/12 (about 0.9167)", "1,024", "-3/4 (-0.75)"."""
    if value.denominator == 1:
        return f"{value.numerator:,}"
    with localcontext() as ctx:
        ctx.prec = 12
        decimal = Decimal(value.numerator) / Decimal(value.denominator)
    exact = _terminates(value)
    as_decimal = _plain_decimal(decimal)
    if exact and len(as_decimal) <= 14:
        return as_decimal
    return f"{value.numerator}/{value.denominator} (about {as_decimal})"


def _terminates(value: Fraction) -> bool:
    d = value.denominator
    for p in (2, 5):
        while d % p == 0:
            d //= p
    return d == 1


def _plain_decimal(value: Decimal) -> str:
    text = f"{value:,.10f}".rstrip("0").rstrip(".")
    return text if text not in ("", "-0") else "0"
