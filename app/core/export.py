"""A conversation as a Markdown document the user can keep, print or share by hand."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime

from app.core.ports import Conversation, StoredMessage

SPEAKERS = {"user": "You", "assistant": "Hearth"}


def shown_text(message: StoredMessage) -> str:
    """What the chat shows of a message: an edited reply's edited text, else what was said."""
    edited = message.meta.get("edited") if message.role == "assistant" else None
    return edited if isinstance(edited, str) and edited.strip() else message.content


def conversation_markdown(conversation: Conversation, messages: Sequence[StoredMessage]) -> str:
    """Title, dates, then each message under its speaker and time, its sources listed under
    it. The user's own words are quoted as plain text (Markdown in them is not interpreted);
    replies are Markdown already. System messages are not part of the conversation shown."""
    title = conversation.title or "Conversation"
    lines = [
        f"# {_plain(title)}",
        "",
        f"*Started {_when(conversation.created_at)}, exported from Hearth "
        f"{_when(datetime.now().timestamp())}.*",
        "",
    ]
    for message in messages:
        if message.role not in SPEAKERS:
            continue
        lines += [f"## {SPEAKERS[message.role]} · {_when(message.created_at)}", ""]
        text = shown_text(message).strip()
        if message.role == "user":
            lines += [_plain(line) if line.strip() else "" for line in text.splitlines()]
        else:
            lines.append(text)
        if message.meta.get("cancelled"):
            lines += ["", "*(stopped)*"]
        citations = message.meta.get("citations")
        if isinstance(citations, list) and citations:
            lines += ["", "Sources:"]
            for c in citations:
                if isinstance(c, dict):
                    lines.append(f"- [{c.get('n', '')}] {_plain(str(c.get('label', '')))}")
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def export_file_name(conversation: Conversation) -> str:
    """A file name from the title that every desktop file system accepts."""
    stem = re.sub(r'[\\/:*?"<>|\x00-\x1f]+', " ", conversation.title or "Conversation")
    stem = re.sub(r"\s+", " ", stem).strip(" .")[:80] or "Conversation"
    return f"{stem}.md"


def _when(timestamp: float) -> str:
    return f"{datetime.fromtimestamp(timestamp):%Y-%m-%d %H:%M}"


def _plain(text: str) -> str:
    """Text shown as written: Markdown's special characters escaped."""
    return re.sub(r"([\\`*_{}\[\]()#+\-.!|<>~])", r"\\\1", text)
