"""A reply's Markdown as the rich text a QLabel shows: code blocks highlighted by Pygments, each
with a Copy link that copies the code itself (not the Markdown around it).

Raw HTML in a reply is shown as text, never interpreted (``html: False``): a reply may quote a
document or a web page.
"""

from __future__ import annotations

import functools
import html
from collections.abc import Sequence

from markdown_it import MarkdownIt
from markdown_it.token import Token
from markdown_it.utils import EnvType, OptionsDict
from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexer import Lexer
from pygments.lexers import get_lexer_by_name
from pygments.lexers.special import TextLexer
from pygments.util import ClassNotFound

COPY_SCHEME = "copy-code:"
"""Links ``copy-code:N`` copy the N-th code block of the message."""
STYLES = {"light": "default", "dark": "monokai"}
BOX = {"light": "#f3efe9", "dark": "#1b1c1f"}
MUTED = {"light": "#6b6b6b", "dark": "#9a9ca0"}


class RenderedReply:
    """The HTML of one reply and the text of each of its code blocks, in order."""

    def __init__(self, html_text: str, codes: list[str]) -> None:
        self.html = html_text
        self.codes = codes


def render_reply(markdown: str, theme: str = "light") -> RenderedReply:
    theme = theme if theme in STYLES else "light"
    codes: list[str] = []
    md = MarkdownIt("commonmark", {"html": False, "breaks": False}).enable("table")

    def code_block(
        _renderer: object, tokens: Sequence[Token], idx: int, _options: OptionsDict, _env: EnvType
    ) -> str:
        token = tokens[idx]
        language = token.info.strip().split(" ")[0] if token.info else ""
        code = token.content.removesuffix("\n")
        codes.append(code)
        return _code_html(code, language, len(codes) - 1, theme)

    md.add_render_rule("fence", code_block)
    md.add_render_rule("code_block", code_block)
    return RenderedReply(md.render(markdown), codes)


@functools.lru_cache(maxsize=64)
def _lexer(language: str) -> Lexer:
    """One lexer per language, kept: a streaming reply is highlighted again every 40 ms,
    and making a lexer and a formatter cost more than highlighting a short block."""
    try:
        return get_lexer_by_name(language) if language else TextLexer()
    except ClassNotFound:
        return TextLexer()


@functools.cache
def _formatter(theme: str) -> HtmlFormatter[str]:
    return HtmlFormatter(nowrap=True, noclasses=True, style=STYLES[theme])


def _code_html(code: str, language: str, index: int, theme: str) -> str:
    body = highlight(code, _lexer(language), _formatter(theme)).removesuffix("\n")
    label = html.escape(language or "code")
    # A one-cell-per-row table is the box QLabel's rich text can draw around a block.
    return (
        f'<table width="100%" cellspacing="0" cellpadding="6" '
        f'style="background-color:{BOX[theme]}; margin-top:4px; margin-bottom:4px;">'
        f'<tr><td><span style="color:{MUTED[theme]};">{label}</span>'
        f'&nbsp;&nbsp;<a href="{COPY_SCHEME}{index}">Copy code</a></td></tr>'
        f'<tr><td><pre style="margin:0; white-space:pre-wrap;">{body}</pre></td></tr></table>\n'
    )
