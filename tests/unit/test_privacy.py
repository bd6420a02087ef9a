"""Offline switches and the socket guard."""

from __future__ import annotations

import os
import socket
import threading

import pytest
from app.privacy import OFFLINE_ENVIRONMENT, NetworkBlockedError, NetworkGuard, is_loopback_host


def test_offline_switches_are_set_by_importing_app() -> None:
    for key, value in OFFLINE_ENVIRONMENT.items():
        assert os.environ.get(key) == value, key
    assert os.environ["HF_HUB_OFFLINE"] == "1"
    assert os.environ["ANONYMIZED_TELEMETRY"] == "False"
    assert os.environ["ORT_DISABLE_TELEMETRY"] == "1"


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.8.9.10", True),
        ("::1", True),
        ("[::1]", True),
        ("localhost", True),
        ("api.localhost", True),
        ("::ffff:127.0.0.1", True),
        (None, True),
        ("10.0.0.1", False),
        ("192.168.1.1", False),
        ("8.8.8.8", False),
        ("huggingface.co", False),
        ("::ffff:8.8.8.8", False),
        ("0.0.0.0", False),
        (42, False),
    ],
)
def test_loopback_classification(host: object, loopback: bool) -> None:
    assert is_loopback_host(host) is loopback


def test_guard_allows_loopback_and_refuses_the_rest_before_any_packet() -> None:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    port = server.getsockname()[1]
    accepted: list[bool] = []

    def accept() -> None:
        conn, _addr = server.accept()
        conn.close()
        accepted.append(True)

    thread = threading.Thread(target=accept)
    thread.start()
    guard = NetworkGuard()
    guard.install()
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=5):
            pass
        thread.join(5)
        assert accepted == [True]
        # TEST-NET-1 (RFC 5737): documentation-only, never routed; refused before connect().
        with pytest.raises(NetworkBlockedError):
            socket.create_connection(("192.0.2.1", 80), timeout=0.5)
        with pytest.raises(NetworkBlockedError):
            socket.getaddrinfo("example.invalid", 443)
        udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        with pytest.raises(NetworkBlockedError):
            udp.sendto(b"x", ("192.0.2.1", 53))
        udp.close()
        targets = [a.target for a in guard.blocked]
        assert "192.0.2.1:80" in targets and "192.0.2.1:53" in targets
        assert any(t.startswith("example.invalid") for t in targets)
        assert guard.allowed >= 1
    finally:
        guard.uninstall()
        server.close()
    assert not guard.installed
    assert socket.socket.connect is not None
