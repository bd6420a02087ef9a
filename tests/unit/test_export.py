"""Markdown export of a conversation: what the chat shows, in order, nothing interpreted twice."""

from __future__ import annotations

from app.core.export import conversation_markdown, export_file_name
from app.core.ports import Conversation, StoredMessage


def test_the_markdown_holds_what_the_chat_shows_in_order() -> None:
    conv = Conversation("c1", "Trip: Paris/Lyon?", 1_780_000_000.0, 1_780_000_500.0)
    messages = [
        StoredMessage(1, "c1", "system", "You are Hearth.", 1_780_000_000.0),
        StoredMessage(2, "c1", "user", "What is *this*?\n\n# not a heading", 1_780_000_010.0),
        StoredMessage(
            3,
            "c1",
            "assistant",
            "It is **bold**.\n\n```python\nprint(1)\n```",
            1_780_000_020.0,
            {"citations": [{"n": 1, "label": "notes.md, part 2"}]},
        ),
        StoredMessage(4, "c1", "assistant", "old", 1_780_000_030.0, {"edited": "New text"}),
    ]
    text = conversation_markdown(conv, messages)
    assert text.startswith("# Trip: Paris/Lyon?\n")
    assert "You are Hearth" not in text
    # The user's words as typed; the replies stay Markdown.
    assert "What is \\*this\\*?" in text and "\\# not a heading" in text
    assert "```python\nprint(1)\n```" in text and "It is **bold**." in text
    assert "- [1] notes\\.md, part 2" in text
    assert "New text" in text and "\nold\n" not in text
    speakers = [line.split(" · ")[0] for line in text.splitlines() if line.startswith("## ")]
    assert speakers == ["## You", "## Hearth", "## Hearth"]


def test_the_file_name_is_safe_everywhere() -> None:
    conv = Conversation("c1", 'a/b: c*d?"e"<f>|g. ', 0.0, 0.0)
    assert export_file_name(conv) == "a b c d e f g.md"
    assert export_file_name(Conversation("c2", "", 0.0, 0.0)) == "Conversation.md"
