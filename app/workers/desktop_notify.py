"""Desktop notifications through the freedesktop Notifications service on the session bus
(GNOME, KDE, XFCE, most Linux desktops), with Snooze and Dismiss buttons.

The bus is a local socket (never the network). jeepney speaks the protocol in pure Python;
Qt's own D-Bus binding in PySide6 cannot send the unsigned integer that ``Notify`` needs.
Calls go out on a worker thread so a slow or hung notification daemon never stalls the
window; a button clicked in the notification comes back as :attr:`DesktopNotifier.clicked`.
Without a session bus or a notification service, :meth:`notify` does nothing and says so
once in the log: the window's own notification is always shown as well.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from collections.abc import Sequence
from typing import Any

from PySide6.QtCore import QObject, Signal

log = logging.getLogger(__name__)

SERVICE = "org.freedesktop.Notifications"
PATH = "/org/freedesktop/Notifications"
TIMEOUT_S = 5.0


class DesktopNotifier(QObject):
    clicked = Signal(int, str)
    """(the notification's id, the action key: "snooze", "dismiss" or "default")."""
    shown = Signal(int, str)
    """(the notification's id, the key Hearth gave it): sent once the service answered."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._router: Any = None
        self._lock = threading.Lock()
        self._failed = False
        self._listening = False
        self._signals: Any = None
        self._ids: dict[str, int] = {}
        self._withdrawn: set[str] = set()
        """Hearth's key (an alarm's id) -> the service's notification id."""

    @staticmethod
    def has_session_bus() -> bool:
        return bool(os.environ.get("DBUS_SESSION_BUS_ADDRESS"))

    def notify(
        self, key: str, summary: str, body: str, actions: Sequence[tuple[str, str]] = ()
    ) -> None:
        """Show a notification (on a worker thread); ``actions`` are (key, label) pairs."""
        if self._failed or not self.has_session_bus():
            return
        with self._lock:
            self._withdrawn.discard(key)
        flat = [part for pair in actions for part in pair]
        threading.Thread(
            target=self._send, args=(key, summary, body, flat), name="desktop-notify", daemon=True
        ).start()

    def withdraw(self, key: str) -> None:
        """Take back the notification shown for ``key`` (it was answered in the window); one
        still on its way is taken back as soon as the service has answered."""
        with self._lock:
            notification = self._ids.pop(key, None)
            if notification is None:
                self._withdrawn.add(key)
        if notification is None or self._failed:
            return
        threading.Thread(
            target=self._close_one, args=(notification,), name="desktop-notify", daemon=True
        ).start()

    def answered(self, notification: int) -> str | None:
        """The key of a notification a button was pressed in (the service closes it itself,
        so it is not withdrawn again), or None when it is not one of Hearth's."""
        with self._lock:
            for key, known in self._ids.items():
                if known == notification:
                    del self._ids[key]
                    return key
        return None

    def close(self) -> None:
        with self._lock:
            router, self._router = self._router, None
        if router is not None:
            if self._signals is not None:
                self._signals.queue.put(None)  # ends the listening thread
            with contextlib.suppress(OSError):
                router.close()
                router.conn.close()

    def _connection(self) -> Any:
        from jeepney import MatchRule
        from jeepney.bus_messages import message_bus
        from jeepney.io.threading import DBusRouter, open_dbus_connection

        with self._lock:
            if self._router is None:
                self._router = DBusRouter(open_dbus_connection(bus="SESSION"))
            router = self._router
            if not self._listening:
                self._listening = True
                rule = MatchRule(type="signal", interface=SERVICE, path=PATH)
                router.send_and_get_reply(message_bus.AddMatch(rule), timeout=TIMEOUT_S)
                self._signals = router.filter(rule, bufsize=64)
                threading.Thread(
                    target=self._listen,
                    args=(self._signals.queue,),
                    name="desktop-notify-listen",
                    daemon=True,
                ).start()
        return router

    def _send(self, key: str, summary: str, body: str, actions: list[str]) -> None:
        from jeepney import DBusAddress, new_method_call

        try:
            router = self._connection()
            address = DBusAddress(PATH, bus_name=SERVICE, interface=SERVICE)
            hints = {"urgency": ("y", 2), "category": ("s", "x-hearth.alarm")}
            call = new_method_call(
                address,
                "Notify",
                "susssasa{sv}i",
                ("Hearth", 0, "io.hearth.Hearth", summary, body, actions, hints, 0),
            )
            reply = router.send_and_get_reply(call, timeout=TIMEOUT_S)
            if reply.header.message_type.name == "error":
                raise OSError(str(reply.body))
            notification = int(reply.body[0])
            with self._lock:
                late = key in self._withdrawn
                self._withdrawn.discard(key)
                if not late:
                    self._ids[key] = notification
            if late:  # answered in the window while this was on its way
                self._close_one(notification)
                return
            self.shown.emit(notification, key)
        except Exception as exc:  # no service, a broken bus: the window's own note remains
            if not self._failed:
                log.info("no desktop notifications (%s): the window shows them", exc)
            self._failed = True

    def _close_one(self, notification: int) -> None:
        from jeepney import DBusAddress, new_method_call

        try:
            address = DBusAddress(PATH, bus_name=SERVICE, interface=SERVICE)
            call = new_method_call(address, "CloseNotification", "u", (notification,))
            self._connection().send_and_get_reply(call, timeout=TIMEOUT_S)
        except Exception as exc:
            log.info("a desktop notification could not be withdrawn: %s", exc)

    def _listen(self, queue: Any) -> None:
        from jeepney.low_level import HeaderFields

        while True:
            message = queue.get()
            if message is None:  # closed
                return
            if message.header.fields.get(HeaderFields.member) == "ActionInvoked":
                notification, action = message.body
                self.clicked.emit(int(notification), str(action))
