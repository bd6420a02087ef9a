"""Streaming sentence splitting: same sentences whatever the chunking; speech-ready text."""

from __future__ import annotations

import random

import pytest
from app.core.sentences import CODE_SENTENCE, TABLE_SENTENCE, SentenceSplitter, speakable

REPLY = """Sure! Here are the steps, e.g. for Dr. Smith:

1. Install Python 3.11.2 from www.python.org/downloads. It is free.
2. Run **pip install hearth** and check `hearth --help`.
- Then ask: "What is 2.5 times 4?" It says 10.

```python
print("hi. there")
x = 3.14
```

| a | b |
|---|---|
| 1 | 2 |

See [the docs](https://example.com/a.b) or https://example.com/x. Done... really? Yes!
J. R. R. Tolkien wrote it in 1937. The U.S. edition came later, etc. Fine."""

EXPECTED = [
    "Sure!",
    "Here are the steps, e.g. for Dr. Smith:",
    "Install Python 3.11.2 from a link.",
    "It is free.",
    "Run pip install hearth and check hearth --help.",
    'Then ask: "What is 2.5 times 4?"',
    "It says 10.",
    CODE_SENTENCE,
    TABLE_SENTENCE,
    "See the docs or a link.",
    "Done...",
    "really?",
    "Yes!",
    "J. R. R. Tolkien wrote it in 1937.",
    "The U.S. edition came later, etc. Fine.",
]


def split(text: str, sizes: list[int]) -> list[str]:
    splitter = SentenceSplitter()
    out: list[str] = []
    pos = 0
    for size in sizes:
        out += splitter.feed(text[pos : pos + size])
        pos += size
    out += splitter.feed(text[pos:])
    return out + splitter.flush()


def test_whole_reply_at_once() -> None:
    assert split(REPLY, []) == EXPECTED


@pytest.mark.parametrize("seed", range(40))
def test_any_chunking_gives_the_same_sentences(seed: int) -> None:
    rng = random.Random(seed)
    sizes = [rng.randint(1, 12) for _ in range(len(REPLY))]
    assert split(REPLY, sizes) == EXPECTED


def test_one_character_at_a_time() -> None:
    assert split(REPLY, [1] * len(REPLY)) == EXPECTED


def test_sentences_come_out_as_soon_as_they_are_certain() -> None:
    splitter = SentenceSplitter()
    assert splitter.feed("Hello there.") == []  # "." could still be "..." or an abbreviation
    assert splitter.feed(" How") == ["Hello there."]
    assert splitter.feed(" are you?") == []
    assert splitter.feed("\n") == ["How are you?"]
    assert splitter.feed("Version 3.") == []
    assert splitter.feed("14 is out") == []  # a decimal, not an end
    assert splitter.flush() == ["Version 3.14 is out"]


def test_numbers_that_look_like_list_markers() -> None:
    assert split("12 apples and 3 pears.\n12. Twelfth item.", [1] * 40) == [
        "12 apples and 3 pears.",
        "Twelfth item.",
    ]


def test_code_block_left_open_is_never_read() -> None:
    assert split("Look:\n```\nrm -rf / . Danger. More", [3] * 20) == ["Look:", CODE_SENTENCE]


def test_two_code_blocks_give_two_notices_but_one_per_block() -> None:
    text = "A.\n```\na\n```\nB.\n```\nb\nc\n```\nC."
    assert split(text, [2] * 30) == ["A.", CODE_SENTENCE, "B.", CODE_SENTENCE, "C."]


@pytest.mark.parametrize(
    ("markdown", "spoken"),
    [
        ("**Bold** and *italic* and _under_", "Bold and italic and under"),
        ("snake_case_name stays", "snake_case_name stays"),
        ("Use `pip` now", "Use pip now"),
        ("![a cat](cat.png) sits", "a cat sits"),
        ("Visit https://example.com/a?b=c, then rest.", "Visit a link, then rest."),
        ("  many   spaces\tand tabs ", "many spaces and tabs"),
    ],
)
def test_speakable(markdown: str, spoken: str) -> None:
    assert speakable(markdown) == spoken


def test_punctuation_only_lines_are_not_spoken() -> None:
    assert split("Title\n---\n***\nText.", [4] * 10) == ["Title", "Text."]


LONG_FIRST = (
    "The capital of France is Paris, a city of about two million people on the Seine, "
    "and it has been the capital for centuries. It is lovely in spring, too."
)


@pytest.mark.parametrize("seed", range(10))
def test_a_long_first_sentence_is_spoken_from_its_first_clause(seed: int) -> None:
    rng = random.Random(seed)
    splitter = SentenceSplitter(first_clause_words=4)
    out: list[str] = []
    pos = 0
    while pos < len(LONG_FIRST):
        size = rng.randint(1, 9)
        out += splitter.feed(LONG_FIRST[pos : pos + size])
        pos += size
    out += splitter.flush()
    assert out == [
        "The capital of France is Paris,",  # only the first sentence is cut, once
        "a city of about two million people on the Seine, and it has been the capital for "
        "centuries.",
        "It is lovely in spring, too.",
    ]
    # Short first clauses and numbers are not cut.
    assert SentenceSplitter(first_clause_words=4).feed("Yes, 1,000 people came. ") == [
        "Yes, 1,000 people came."
    ]
