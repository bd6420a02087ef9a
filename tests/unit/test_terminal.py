"""What the command line prints: control characters shown, not obeyed; log lines never land
in the middle of the progress line."""

from __future__ import annotations

import io
import logging

from app.terminal import ConsoleHandler, ProgressLine, safe


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_escape_sequences_and_bidi_overrides_are_made_visible() -> None:
    hostile = "title\x1b]0;pwned\x07 \x1b[2J\u202eevil\u202c\x7f\x9b end\n\tnext"
    shown = safe(hostile)
    assert "\x1b" not in shown and "\x07" not in shown and "\u202e" not in shown
    assert "\x9b" not in shown and "\x7f" not in shown
    assert shown.startswith("title␛]0;pwned␇ ␛[2J\\u202eevil\\u202c␡\\u009b end")
    assert shown.endswith("\n\tnext")  # lines and tabs kept
    assert "\n" not in safe("a\nb", keep_lines=False)
    assert safe("Café crème, naïve – “quotes” ✓") == "Café crème, naïve – “quotes” ✓"


def test_a_warning_clears_the_progress_line_and_the_line_comes_back() -> None:
    stream = Tty()
    handler = ConsoleHandler(stream)
    handler.setFormatter(logging.Formatter("hearth: %(message)s"))
    log = logging.getLogger("test-terminal")
    log.propagate = False
    log.addHandler(handler)
    try:
        with ProgressLine(stream, every=0) as line:
            line.update("3/10 files", now=1.0)
            log.warning("page 4 of a.pdf is damaged \x1b[31m")
            line.update("4/10 files", now=2.0)
    finally:
        log.removeHandler(handler)
    out = stream.getvalue()
    assert out == (
        "\r\x1b[K3/10 files"
        "\r\x1b[Khearth: page 4 of a.pdf is damaged ␛[31m\n"
        "3/10 files"
        "\r\x1b[K4/10 files"
        "\n"
    )


def test_without_a_terminal_progress_is_plain_lines() -> None:
    stream = io.StringIO()
    with ProgressLine(stream, every=10) as line:
        line.update("1/3", now=0.0)
        line.update("2/3", now=1.0)  # too soon: left out
        line.update("3/3", now=2.0, force=True)
    assert stream.getvalue() == "1/3\n3/3\n"
