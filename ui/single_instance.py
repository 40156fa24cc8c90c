"""One running window per data folder and profile: a second launch hands over and exits.

A QLocalServer listens on a name derived from the data folder and profile; a second launch that
can connect to it sends "activate" (the first brings its window forward) and quits. A stale socket
file left by a crash is removed before listening. QLocalServer is used rather than a lock file
because it both detects the running instance and carries the request to it.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, Signal
from PySide6.QtNetwork import QLocalServer, QLocalSocket

ACTIVATE = b"activate\n"
CONNECT_TIMEOUT_MS = 500


def server_name(data_dir: str | os.PathLike[str] | None, profile: str) -> str:
    """A socket name unique to (user, data folder, profile), short enough for every platform."""
    folder = str(Path(data_dir).expanduser().resolve()) if data_dir else "<default>"
    user = os.environ.get("USER") or os.environ.get("USERNAME") or ""
    digest = hashlib.sha256(f"{user}\0{folder}\0{profile}".encode()).hexdigest()[:20]
    return f"fieldsync-{digest}"


def ask_running_instance(name: str, timeout_ms: int = CONNECT_TIMEOUT_MS) -> bool:
    """True if an instance listens on `name` and was asked to show its window."""
    socket = QLocalSocket()
    socket.connectToServer(name)
    if not socket.waitForConnected(timeout_ms):
        return False
    socket.write(ACTIVATE)
    socket.flush()
    socket.waitForBytesWritten(timeout_ms)
    socket.disconnectFromServer()
    if socket.state() != QLocalSocket.LocalSocketState.UnconnectedState:
        socket.waitForDisconnected(timeout_ms)
    return True


class SingleInstance(QObject):
    """Listens for later launches; emits `activated` when one asks to show the window."""

    activated = Signal()

    def __init__(self, name: str, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.name = name
        self._server = QLocalServer(self)
        self._server.setSocketOptions(QLocalServer.SocketOption.UserAccessOption)
        self._server.newConnection.connect(self._accept)
        self._clients: list[QLocalSocket] = []  # held until they hang up

    def listen(self) -> bool:
        if self._server.listen(self.name):
            return True
        QLocalServer.removeServer(self.name)  # a stale socket from a crashed run
        return self._server.listen(self.name)

    def close(self) -> None:
        for client in self._clients:
            client.readyRead.disconnect(self._read_all)
            client.abort()
        self._clients.clear()
        self._server.close()

    def _accept(self) -> None:
        while self._server.hasPendingConnections():
            client = self._server.nextPendingConnection()
            if client is None:
                return
            self._clients.append(client)
            client.readyRead.connect(self._read_all)
        self._read_all()

    def _read_all(self) -> None:
        """Read whatever the clients sent; a client that said its word is let go."""
        for client in list(self._clients):
            if not client.bytesAvailable():
                continue
            data = bytes(client.readAll().data())
            if ACTIVATE.strip() in data:
                self._clients.remove(client)
                client.readyRead.disconnect(self._read_all)
                client.abort()
                client.deleteLater()
                self.activated.emit()


def claim(name: str, on_activate: Callable[[], None]) -> SingleInstance | None:
    """Become the one instance (None if another already runs and was asked to show itself)."""
    if ask_running_instance(name):
        return None
    instance = SingleInstance(name)
    instance.activated.connect(on_activate)
    instance.listen()
    return instance
