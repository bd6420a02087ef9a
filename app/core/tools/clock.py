"""Where tools get the time: an injectable clock, always timezone-aware."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta, tzinfo
from typing import Protocol
from zoneinfo import ZoneInfo


class Clock(Protocol):
    def now(self) -> datetime:
        """Now, aware, in the user's zone."""
        ...

    @property
    def zone(self) -> tzinfo:
        """The user's time zone (an IANA zone, so DST changes are known)."""
        ...


def local_zone() -> tzinfo:
    """The machine's IANA zone (TZ, /etc/localtime, the platform's setting); UTC if unknown."""
    try:
        import tzlocal

        zone = tzlocal.get_localzone()
    except Exception:  # an unreadable or odd setting must not stop Hearth
        return ZoneInfo("UTC")
    return zone if isinstance(zone, ZoneInfo) else ZoneInfo("UTC")


class SystemClock:
    """The real time, in the machine's zone (read again each time: a zone change applies)."""

    def __init__(self, zone: tzinfo | None = None) -> None:
        self._fixed = zone

    @property
    def zone(self) -> tzinfo:
        return self._fixed or local_zone()

    def now(self) -> datetime:
        return datetime.now(self.zone)


class ManualClock:
    """A clock that moves only when told to: tests and benchmarks."""

    def __init__(self, start: datetime, zone: tzinfo | None = None) -> None:
        if start.tzinfo is None:
            raise ValueError("ManualClock needs an aware datetime")
        self._zone = zone or start.tzinfo
        self._now = start.astimezone(self._zone)
        self._lock = threading.Lock()

    @property
    def zone(self) -> tzinfo:
        return self._zone

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def advance(self, delta: timedelta) -> datetime:
        with self._lock:
            self._now = (self._now.astimezone(ZoneInfo("UTC")) + delta).astimezone(self._zone)
            return self._now

    def move_to(self, zone: tzinfo) -> None:
        """The user travels (or the machine's zone is changed): same instant, new zone."""
        with self._lock:
            self._zone = zone
            self._now = self._now.astimezone(zone)
