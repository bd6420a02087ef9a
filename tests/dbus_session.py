"""A private D-Bus session bus and a stand-in for the desktop's notification service, for
tests of what Hearth sends there (the real service is the desktop's own)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest

SERVICE = "org.freedesktop.Notifications"
PATH = "/org/freedesktop/Notifications"


@contextmanager
def private_session_bus() -> Iterator[str]:
    """A dbus-daemon of this test's own; yields its address (fails under CI when absent)."""
    daemon = shutil.which("dbus-daemon")
    if daemon is None:
        if os.environ.get("CI"):
            pytest.fail("dbus-daemon is missing: .ci/run installs the dbus-daemon package")
        pytest.skip("dbus-daemon is not installed")
    run = subprocess.Popen(
        [daemon, "--session", "--nofork", "--print-address=1"],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert run.stdout is not None
    address = run.stdout.readline().strip()
    try:
        yield address
    finally:
        run.send_signal(signal.SIGTERM)
        run.wait(10)
        run.stdout.close()


@dataclass
class FakeNotifications:
    """Answers Notify and CloseNotification like a desktop would, and can send ActionInvoked."""

    address: str
    shown: list[dict[str, Any]] = field(default_factory=list)
    closed: list[int] = field(default_factory=list)

    def __post_init__(self) -> None:
        from jeepney.bus_messages import message_bus
        from jeepney.io.blocking import open_dbus_connection

        self._conn = open_dbus_connection(bus=self.address)
        reply = self._conn.send_and_get_reply(message_bus.RequestName(SERVICE))
        assert reply.body[0] == 1, "the name was taken"
        self._next = 41
        self._stop = False
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        from jeepney import new_method_return
        from jeepney.low_level import HeaderFields, MessageType

        while not self._stop:
            try:
                message = self._conn.receive(timeout=0.2)
            except TimeoutError:
                continue
            except OSError:
                return
            if message.header.message_type != MessageType.method_call:
                continue
            member = message.header.fields.get(HeaderFields.member)
            if member == "Notify":
                app, _replaces, icon, summary, body, actions, hints, timeout = message.body
                self._next += 1
                self.shown.append(
                    {
                        "id": self._next,
                        "app": app,
                        "icon": icon,
                        "summary": summary,
                        "body": body,
                        "actions": list(actions),
                        "hints": dict(hints),
                        "timeout": timeout,
                    }
                )
                self._conn.send(new_method_return(message, "u", (self._next,)))
            elif member == "CloseNotification":
                self.closed.append(int(message.body[0]))
                self._conn.send(new_method_return(message))
            else:
                self._conn.send(new_method_return(message))

    def click(self, notification: int, action: str) -> None:
        from jeepney import DBusAddress, new_signal

        emitter = DBusAddress(PATH, interface=SERVICE)
        self._conn.send(new_signal(emitter, "ActionInvoked", "us", (notification, action)))

    def close(self) -> None:
        self._stop = True
        self._thread.join(5)
        self._conn.close()
