"""Bring the running Hearth to the front when it is launched a second time.

The data-directory lock (app.filelock) decides who runs; this local socket (a Unix socket or
a named pipe, never a network port) only carries the "show yourself" request.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from PySide6.QtCore import QObject, Signal
from PySide6.QtNetwork import QLocalServer, QLocalSocket

ACTIVATE = b"activate\n"


def server_name(data_dir: Path) -> str:
    digest = hashlib.sha256(str(data_dir).encode("utf-8")).hexdigest()[:16]
    return f"hearth-{digest}"


class ActivationServer(QObject):
    activation_requested = Signal()

    def __init__(self, data_dir: Path, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.name = server_name(data_dir)
        self._server = QLocalServer(self)
        self._server.setSocketOptions(QLocalServer.SocketOption.UserAccessOption)
        self._server.newConnection.connect(self._accept)

    def listen(self) -> bool:
        QLocalServer.removeServer(self.name)  # a socket left by a killed instance
        return bool(self._server.listen(self.name))

    def _accept(self) -> None:
        while self._server.hasPendingConnections():
            conn = self._server.nextPendingConnection()
            conn.readyRead.connect(lambda c=conn: self._read(c))
            conn.disconnected.connect(conn.deleteLater)

    def _read(self, conn: QLocalSocket) -> None:
        if bytes(conn.readAll().data()).startswith(ACTIVATE.strip()):
            self.activation_requested.emit()
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
