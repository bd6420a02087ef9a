"""The running Hearth's door for other Hearth processes of the same user.

The data-directory lock (app.filelock) decides who runs; this local socket (a Unix socket or a
named pipe, never a network port, reachable by the same user only) carries two kinds of
message from a second launch or a command-line run:

* ``activate``: bring the window to the front (a second launch of the app);
* a JSON request on one line, answered with one JSON line: ``{"request": "remember",
  "text": ...}`` from `hearth ask "remember that ..."`, which cannot open the memory while the
  window holds it, so the window stores the fact and says so.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Signal
from PySide6.QtNetwork import QLocalServer, QLocalSocket

log = logging.getLogger(__name__)

ACTIVATE = b"activate\n"
MAX_REQUEST = 64 * 1024

Reply = Callable[[dict[str, Any]], None]


def server_name(data_dir: Path) -> str:
    digest = hashlib.sha256(str(data_dir).encode("utf-8")).hexdigest()[:16]
    return f"hearth-{digest}"


class ActivationServer(QObject):
    activation_requested = Signal()
    request_received = Signal(object, object)
    """(request dict, reply callable): answer every request exactly once with a dict."""

    def __init__(self, data_dir: Path, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.name = server_name(data_dir)
        self._server = QLocalServer(self)
        self._server.setSocketOptions(QLocalServer.SocketOption.UserAccessOption)
        self._server.newConnection.connect(self._accept)
        self._buffers: dict[QLocalSocket, bytes] = {}

    def listen(self) -> bool:
        QLocalServer.removeServer(self.name)  # a socket left by a killed instance
        return bool(self._server.listen(self.name))

    def _accept(self) -> None:
        while self._server.hasPendingConnections():
            conn = self._server.nextPendingConnection()
            self._buffers[conn] = b""
            conn.readyRead.connect(lambda c=conn: self._read(c))
            conn.disconnected.connect(lambda c=conn: self._gone(c))

    def _gone(self, conn: QLocalSocket) -> None:
        self._buffers.pop(conn, None)
        conn.deleteLater()

    def _read(self, conn: QLocalSocket) -> None:
        if conn not in self._buffers:
            return
        data = self._buffers[conn] + bytes(conn.readAll().data())
        if b"\n" not in data:
            if len(data) > MAX_REQUEST:
                self._answer(conn, {"ok": False, "message": "The request is too long."})
            else:
                self._buffers[conn] = data
            return
        del self._buffers[conn]
        line = data.split(b"\n", 1)[0]
        if line == ACTIVATE.strip():
            self.activation_requested.emit()
            conn.disconnectFromServer()
            return
        try:
            request = json.loads(line.decode("utf-8"))
            if not isinstance(request, dict):
                raise ValueError("not an object")
        except ValueError:
            self._answer(conn, {"ok": False, "message": "Hearth did not understand the request."})
            return
        answered = [False]

        def reply(answer: dict[str, Any]) -> None:
            if not answered[0]:
                answered[0] = True
                self._answer(conn, answer)

        self.request_received.emit(request, reply)

    def _answer(self, conn: QLocalSocket, answer: dict[str, Any]) -> None:
        if conn.state() != QLocalSocket.LocalSocketState.ConnectedState:
            log.info("a request's sender left before its answer: %s", answer)
            return
        conn.write(json.dumps(answer).encode("utf-8") + b"\n")
        conn.flush()
        conn.disconnectFromServer()

    def close(self) -> None:
        self._server.close()


def ask_running_instance_to_activate(data_dir: Path, timeout_ms: int = 1500) -> bool:
    sock = QLocalSocket()
    sock.connectToServer(server_name(data_dir))
    if not sock.waitForConnected(timeout_ms):
        return False
    sock.write(ACTIVATE)
    ok = bool(sock.waitForBytesWritten(timeout_ms))
    sock.disconnectFromServer()
    return ok


def send_request(
    data_dir: Path, request: dict[str, Any], *, timeout_ms: int = 60_000
) -> dict[str, Any] | None:
    """Send one request to the running Hearth and wait for its answer (None: no Hearth
    window answers for this data folder, or it did not answer in time)."""
    sock = QLocalSocket()
    sock.connectToServer(server_name(data_dir))
    if not sock.waitForConnected(1500):
        return None
    sock.write(json.dumps(request).encode("utf-8") + b"\n")
    if not sock.waitForBytesWritten(1500):
        return None
    data = b""
    while b"\n" not in data and len(data) < MAX_REQUEST:
        if not sock.waitForReadyRead(timeout_ms) and sock.bytesAvailable() == 0:
            break
        data += bytes(sock.readAll().data())
    sock.disconnectFromServer()
    try:
        answer = json.loads(data.split(b"\n", 1)[0].decode("utf-8"))
    except ValueError:
        return None
    return answer if isinstance(answer, dict) else None
