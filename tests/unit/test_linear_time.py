"""Every pattern run on what the user types, what a document holds or what the model writes is
linear in its length (issue 9): each attack below took from seconds to hours before.

Bounded by a timeout so a relapse fails instead of hanging; no timing is asserted otherwise.
"""

from __future__ import annotations

import pytest
from app.core.handlers import yes_or_no
from app.core.memory import forget_intent, remember_intent, split_sentences
from app.core.sentences import SentenceSplitter, speakable
from app.engines.document_reader import LocalDocumentReader

pytestmark = pytest.mark.timeout(30)

RUN = 120_000


def test_remember_and_forget_intents_with_a_long_run_of_spaces() -> None:
    """`hearth ask "remember that a" + 120,000 spaces + "b"` took 70 s of CPU."""
    fact = remember_intent("remember that a" + " " * RUN + "b")
    assert fact is not None and fact.startswith("a ") and fact.endswith(" b")
    assert remember_intent("remember that a" + " ." * RUN + "b") is not None
    what = forget_intent("forget a" + " " * RUN + "b")
    assert what is not None and what.endswith("b")
    assert remember_intent("remember that" + " " * RUN) is None


def test_the_intents_still_read_ordinary_requests_as_before() -> None:
    assert remember_intent("remember that my dog is called Biscuit.") == "my dog is called Biscuit"
    assert remember_intent("Remember: the code is 4411!") == "the code is 4411"
    assert remember_intent("please note the boiler is in the attic") == "the boiler is in the attic"
    assert remember_intent("remember me") is None  # one word is no fact
    assert forget_intent("please forget about my dog's name?") == "my dog's name"
    assert forget_intent("forget it") == "it"
    assert forget_intent("what did I forget") is None


def test_a_yes_followed_by_a_long_run_of_spaces() -> None:
    assert yes_or_no("yes" + " " * RUN + "x") is None
    assert yes_or_no("Yes. ") is True and yes_or_no("no!") is False


def test_markdown_that_never_closes_is_spoken_in_linear_time() -> None:
    for hostile in ("![" * 60_000, "[" * RUN, "www.a" + ".," * 60_000 + "b", " _a" * 40_000):
        assert isinstance(speakable(hostile), str)
    assert speakable("See [the docs](https://x.org) and *this* or www.hearth.io.") == (
        "See the docs and this or a link."
    )


def test_a_reply_full_of_initials_streams_in_linear_time() -> None:
    """Fed 4 characters at a time, "J. " repeated was cubic (5,000 characters: 59 s)."""
    text = "J. " * 20_000
    splitter = SentenceSplitter()
    out: list[str] = []
    for i in range(0, len(text), 4):
        out += splitter.feed(text[i : i + 4])
    out += splitter.flush()
    assert "".join(out).count("J") == 20_000


def test_sentences_of_a_passage_and_a_hostile_web_page() -> None:
    assert len(split_sentences("word " * RUN + ". next")) == 2
    page = ('<a b="' * RUN).encode("utf-8")  # html.parser rescanned from every '<'
    text = LocalDocumentReader().read("page.html", page + b"<p>Visible words.</p>")
    assert isinstance(text, str)


def test_the_names_of_a_long_pasted_question() -> None:
    """A capitalised word on every line of a pasted text: looking back for the start of its
    sentence from each one was quadratic (76 s for 200,000 characters)."""
    from app.core.grounding import names

    text = "what does my manual say? " + " ".join(f"x Word{i} is here" for i in range(RUN // 6))
    found = names(text)
    assert len(found) == RUN // 6 and found[:2] == ["Word0", "Word1"]
    assert names("Is it. Docker? And (Wi-Fi) x Rust, Rust") == ["Wi-Fi", "Rust"]
