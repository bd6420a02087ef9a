"""Ctrl+C in a command that checks a cancel token is never lost (hearth transcribe ran a
long file to its end and exited 0 when the interrupt landed in a progress bar's __del__)."""

from __future__ import annotations

import gc
import os
import signal
import sys
import time

import pytest
from app.core.cancel import CancelToken
from app.terminal import ctrl_c_cancels


class InterruptedWhileCollected:
    """Ctrl+C arrives while Python collects this object, as it did inside ``tqdm.__del__``."""

    def __del__(self) -> None:
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(0.05)  # the handler runs here, inside __del__


def interrupt_inside_a_destructor() -> None:
    InterruptedWhileCollected()  # dropped at once
    gc.collect()


def test_a_keyboard_interrupt_raised_in_a_destructor_is_swallowed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Why the commands do not rely on KeyboardInterrupt."""
    ignored: list[type[BaseException] | None] = []
    monkeypatch.setattr(sys, "unraisablehook", lambda u: ignored.append(u.exc_type))
    interrupt_inside_a_destructor()  # no KeyboardInterrupt reaches here
    assert ignored == [KeyboardInterrupt]  # Python printed "Exception ignored" and went on


def test_ctrl_c_inside_a_destructor_still_cancels_the_work() -> None:
    cancel = CancelToken()
    with ctrl_c_cancels(cancel):
        interrupt_inside_a_destructor()
    assert cancel.is_cancelled() and cancel.reason == "interrupted"


def test_the_previous_handler_is_back_afterwards() -> None:
    before = signal.getsignal(signal.SIGINT)
    with ctrl_c_cancels(CancelToken()):
        assert signal.getsignal(signal.SIGINT) is not before
    assert signal.getsignal(signal.SIGINT) is before
