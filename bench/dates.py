"""Which date library reads Hearth's reminder phrasings best: the "when" part of every
reminder in tests/unit/tool_phrases.py (as the matcher cut it), read at the same frozen clock
by dateparser, parsedatetime and dateutil's fuzzy parser on their own and after Hearth's
rewrites, and by Hearth (its rewrites, dateparser, its rules for a bare hour), against the
time each phrase must ring. parsedatetime is installed for this bench only (dev.txt).

    .venv/bin/python -m bench.dates

Figures are printed, never asserted.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime

from app.core.tools.intents import Matcher
from app.core.tools.when import parse_when
from tests.unit.test_tool_phrases import NOW, ZONE
from tests.unit.tool_phrases import REMINDERS

Reader = Callable[[str], datetime | None]


def with_dateparser(text: str) -> datetime | None:
    import dateparser

    found = dateparser.parse(
        text,
        languages=["en"],
        settings={
            "RELATIVE_BASE": NOW.replace(tzinfo=None),
            "PREFER_DATES_FROM": "future",
            "TIMEZONE": "Europe/London",
            "RETURN_AS_TIMEZONE_AWARE": True,
        },
    )
    return found.astimezone(ZONE) if found is not None else None


def with_parsedatetime(text: str) -> datetime | None:
    import parsedatetime  # type: ignore[import-untyped]

    calendar = parsedatetime.Calendar(version=parsedatetime.VERSION_CONTEXT_STYLE)
    found, context = calendar.parseDT(text, sourceTime=NOW.replace(tzinfo=None), tzinfo=ZONE)
    return found if context.hasDateOrTime and isinstance(found, datetime) else None


def with_dateutil(text: str) -> datetime | None:
    from dateutil import parser

    try:
        found = parser.parse(text, fuzzy=True, default=NOW.replace(tzinfo=None))
    except (ValueError, OverflowError):
        return None
    return found.replace(tzinfo=ZONE) if isinstance(found, datetime) else None


def rewritten(read: Reader) -> Reader:
    """The library after Hearth's rewrites (number words, "half past", a bare "at 5"), but
    without Hearth's own rules for which day and half of the day a bare hour means."""
    from app.core.tools.when import normalise

    return lambda text: read(normalise(text)[0])


def with_hearth(text: str) -> datetime | None:
    found = parse_when(text, NOW, ZONE)
    return found.at if found is not None else None


def main() -> int:
    matcher = Matcher(lambda: NOW, lambda: ZONE)
    cases = []
    for said, tool, args in REMINDERS:
        call = matcher.match(said)
        if tool != "set_reminder" or call is None or args.get("repeat"):
            continue
        cases.append((str(call.args["when"]), str(args["due"])))
    readers: dict[str, Reader] = {
        "dateparser alone": with_dateparser,
        "parsedatetime alone": with_parsedatetime,
        "dateutil (fuzzy) alone": with_dateutil,
        "dateparser after the rewrites": rewritten(with_dateparser),
        "parsedatetime after the rewrites": rewritten(with_parsedatetime),
        "Hearth (rewrites + dateparser)": with_hearth,
    }
    print(f"{len(cases)} reminder times, read at {NOW:%a %Y-%m-%d %H:%M} Europe/London")
    for name, read in readers.items():
        right, started = 0, time.perf_counter()
        wrong: list[str] = []
        for when, due in cases:
            try:
                found = read(when)
            except Exception:  # a library that fails on a phrase reads it wrongly
                found = None
            got = f"{found.astimezone(ZONE):%Y-%m-%d %H:%M}" if found is not None else "-"
            if got == due:
                right += 1
            else:
                wrong.append(f"{when!r}: {got} (want {due})")
        ms = (time.perf_counter() - started) * 1000 / len(cases)
        print(
            f"  {name:32} {right}/{len(cases)} right ({right / len(cases):.0%}), {ms:.1f} ms each"
        )
        for line in wrong[:4]:
            print(f"      e.g. {line}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
