"""Privacy by construction: offline switches for every library, and a socket guard.

``apply_offline_environment`` must run before any third-party library is imported; importing
the :mod:`app` package does it. ``install_network_guard`` wraps the socket layer of this
process so that any attempt to reach a non-loopback address is refused, logged and recorded.
Nothing here imports Qt or a model library.
"""

from __future__ import annotations

import atexit
import ipaddress
import json
import logging
import os
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

log = logging.getLogger("hearth.privacy")

OFFLINE_ENVIRONMENT: dict[str, str] = {
    # Hugging Face hub, transformers, datasets, sentence-transformers: local files only.
    "HF_HUB_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "HF_HUB_DISABLE_IMPLICIT_TOKEN": "1",
    "HF_HUB_DISABLE_UPDATE_CHECK": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HF_DATASETS_OFFLINE": "1",
    # chromadb (posthog) telemetry.
    "ANONYMIZED_TELEMETRY": "False",
    # onnxruntime >= 1.29 sends usage telemetry on Linux/macOS unless told not to.
    "ORT_DISABLE_TELEMETRY": "1",
    # Generic opt-outs honoured by many tools (gradio, posthog users, wandb, ...).
    "DO_NOT_TRACK": "1",
    "GRADIO_ANALYTICS_ENABLED": "False",
    "WANDB_MODE": "disabled",
    "DISABLE_TELEMETRY": "1",
    "TOKENIZERS_PARALLELISM": "false",
}
REPORT_ENV = "HEARTH_PRIVACY_REPORT"
"""When set to a path, the guard writes what it saw there as JSON at exit (used by tests)."""


def apply_offline_environment() -> None:
    """Force every offline/no-telemetry switch; user environment cannot turn them back on."""
    os.environ.update(OFFLINE_ENVIRONMENT)


class NetworkBlockedError(ConnectionRefusedError):
    """Raised instead of opening a connection that would leave this machine."""


@dataclass(frozen=True, slots=True)
class Attempt:
    operation: str
    target: str


def is_loopback_host(host: object) -> bool:
    """True for addresses and names that cannot leave this machine."""
    if host is None:
        return True
    if isinstance(host, bytes):
        host = host.decode("ascii", "replace")
    if not isinstance(host, str):
        return False
    name = host.strip().strip("[]").lower()
    if name in ("", "localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback"):
        return True
    if name.endswith(".localhost"):
        return True
    name = name.split("%", 1)[0]  # IPv6 zone id
    try:
        address = ipaddress.ip_address(name)
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped.is_loopback
    return address.is_loopback


class NetworkGuard:
    """Refuses every non-loopback connection made through Python's socket module."""

    def __init__(self) -> None:
        self.blocked: list[Attempt] = []
        self.allowed = 0
        self._allowed_hosts: dict[str, set[int | None]] = {}
        """Allowed name or address -> its allowed ports (None: every port)."""
        self._lock = threading.Lock()
        self._originals: dict[str, Callable[..., Any]] = {}

    @property
    def installed(self) -> bool:
        return bool(self._originals)

    def allow(self, host: str, port: int | None = None) -> None:
        """Let connections to one host the user configured (a shared memory server, a model
        server) through: on ``port`` only when given, else on any port.

        Only that name and the addresses it resolves to; everything else stays refused."""
        with self._lock:
            self._allow_locked(_host_key(host), port)
        where = f"{host}:{port}" if port is not None else host
        log.info("privacy guard: connections to %s allowed (configured by the user)", where)

    def _allow_locked(self, host: str, port: int | None) -> None:
        ports = self._allowed_hosts.setdefault(host, set())
        ports.add(port)

    def _allowed_host(self, host: object, port: object = None) -> bool:
        if isinstance(host, bytes):
            host = host.decode("ascii", "replace")
        if not isinstance(host, str):
            return False
        with self._lock:
            ports = self._allowed_hosts.get(_host_key(host))
        if not ports:
            return False
        return None in ports or _port_number(port) in ports

    def _allowed_ports(self, host: str) -> set[int | None]:
        with self._lock:
            return set(self._allowed_hosts.get(_host_key(host), ()))

    def _check(self, operation: str, host: object, port: object = None) -> None:
        if is_loopback_host(host) or self._allowed_host(host, port):
            with self._lock:
                self.allowed += 1
            return
        target = f"{host}:{port}" if port is not None else str(host)
        with self._lock:
            self.blocked.append(Attempt(operation, target))
        log.warning(
            "privacy guard: refused %s to %s (Hearth never leaves this machine)", operation, target
        )
        raise NetworkBlockedError(
            f"Hearth works offline: a connection to {target} was refused by the privacy guard"
        )

    def _check_address(self, operation: str, family: int, address: object) -> None:
        if family in (socket.AF_INET, socket.AF_INET6) and isinstance(address, tuple):
            self._check(operation, address[0], address[1] if len(address) > 1 else None)
        # AF_UNIX, AF_NETLINK and friends never leave the machine.

    def install(self) -> None:
        if self.installed:
            return
        guard = self
        original_connect = socket.socket.connect
        original_connect_ex = socket.socket.connect_ex
        original_sendto = socket.socket.sendto
        original_getaddrinfo = socket.getaddrinfo
        self._originals = {
            "connect": original_connect,
            "connect_ex": original_connect_ex,
            "sendto": original_sendto,
            "getaddrinfo": original_getaddrinfo,
        }

        def connect(self: socket.socket, address: Any) -> None:
            guard._check_address("connect", self.family, address)
            original_connect(self, address)

        def connect_ex(self: socket.socket, address: Any) -> int:
            guard._check_address("connect", self.family, address)
            return original_connect_ex(self, address)

        def sendto(self: socket.socket, data: Any, *args: Any) -> int:
            guard._check_address("sendto", self.family, args[-1] if args else None)
            return original_sendto(self, data, *args)

        def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
            guard._check("resolve", host, args[0] if args else kwargs.get("port"))
            found = original_getaddrinfo(host, *args, **kwargs)
            if not is_loopback_host(host) and isinstance(host, str | bytes):
                name = host.decode("ascii", "replace") if isinstance(host, bytes) else host
                ports = guard._allowed_ports(name)
                with guard._lock:  # the addresses of an allowed name are allowed too
                    for info in found:
                        for allowed in ports:
                            guard._allow_locked(_host_key(str(info[4][0])), allowed)
            return found

        socket.socket.connect = connect  # type: ignore[method-assign,assignment]
        socket.socket.connect_ex = connect_ex  # type: ignore[method-assign,assignment]
        socket.socket.sendto = sendto  # type: ignore[method-assign,assignment]
        socket.getaddrinfo = getaddrinfo
        report = os.environ.get(REPORT_ENV)
        if report:
            atexit.register(self.write_report, Path(report))

    def uninstall(self) -> None:
        if not self.installed:
            return
        socket.socket.connect = self._originals["connect"]  # type: ignore[method-assign]
        socket.socket.connect_ex = self._originals["connect_ex"]  # type: ignore[method-assign]
        socket.socket.sendto = self._originals["sendto"]  # type: ignore[method-assign]
        socket.getaddrinfo = self._originals["getaddrinfo"]
        self._originals = {}

    def write_report(self, path: Path) -> None:
        with self._lock:
            data = {
                "installed": self.installed,
                "blocked": [{"operation": a.operation, "target": a.target} for a in self.blocked],
                "allowed_loopback": self.allowed,
            }
        path.write_text(json.dumps(data, indent=2), encoding="utf-8")


def _host_key(host: str) -> str:
    return host.strip().strip("[]").lower()


def _port_number(port: object) -> int | None:
    """A port as getaddrinfo or connect gets it (int, digits, service name) as a number."""
    if isinstance(port, bytes):
        port = port.decode("ascii", "replace")
    if isinstance(port, str) and port.strip().isdigit():
        return int(port)
    return port if isinstance(port, int) and not isinstance(port, bool) else None


GUARD = NetworkGuard()


def install_network_guard() -> NetworkGuard:
    """Apply the offline environment and install the process-wide guard (idempotent)."""
    apply_offline_environment()
    GUARD.install()
    return GUARD
