"""The Qt binding keeps CPython's reference counts of None and True intact.

PySide6 6.12.0 returns None (from every void method) and True (from ``Signal.emit``) without a
reference of their own; on Python < 3.12, where they are not immortal, a session then aborts
with "Fatal Python error: bool_dealloc / none_dealloc" (issue 9, item 12)."""

from __future__ import annotations

import sys

from PySide6.QtCore import QObject, Signal


class _Sender(QObject):
    ping = Signal(bool)


def test_void_calls_and_emit_keep_their_references() -> None:
    sender = _Sender()
    sender.ping.connect(lambda _on: None)
    none_before, true_before = sys.getrefcount(None), sys.getrefcount(True)
    for _ in range(1000):
        sender.setObjectName("probe")  # a void method
        sender.ping.emit(False)
    assert sys.getrefcount(None) - none_before > -100
    assert sys.getrefcount(True) - true_before > -100
