"""The shared-store mode: the same memory code against a real `chroma run` server on loopback,
chosen the way the app chooses it (Settings.memory_server)."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from app.bootstrap import open_memory_store
from app.core.errors import AssistantError
from app.core.memory import Memory
from app.privacy import NetworkBlockedError, NetworkGuard
from app.settings import Paths, Settings
from app.store.chroma_memory import ChromaMemory

from tests.conftest import require
from tests.fakes import FakeTextEmbedder


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def chroma_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    chroma = shutil.which("chroma") or str(Path(__import__("sys").executable).parent / "chroma")
    require(Path(chroma).exists(), "the chroma command (from the chromadb package) is missing")
    port = free_port()
    folder = tmp_path_factory.mktemp("chroma-server")
    log = (folder / "server.log").open("wb")
    server = subprocess.Popen(
        [chroma, "run", "--path", str(folder / "data"), "--host", "127.0.0.1", "--port", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 60
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                break
        except OSError:
            assert server.poll() is None, (folder / "server.log").read_text()
            assert time.monotonic() < deadline, "chroma run did not start"
            time.sleep(0.2)
    yield f"http://127.0.0.1:{port}"
    server.terminate()
    server.wait(timeout=30)
    log.close()


def test_memory_through_a_chroma_server(chroma_server: str, tmp_path: Path) -> None:
    paths = Paths(tmp_path / "data", tmp_path / "cache")
    store = open_memory_store(paths, Settings(memory_server=chroma_server))
    assert isinstance(store, ChromaMemory) and store.folder is None
    memory = Memory(FakeTextEmbedder(), store)
    memory.remember_fact("my dog is called Biscuit")
    memory.remember_turn("c1", "Walks", 7, "I walk the dog at noon, with Biscuit")
    recalled = memory.recall("what is my dog's name?", count_tokens=lambda t: len(t.split()))
    assert recalled.hits[0].record.text == "my dog is called Biscuit"
    assert not paths.memory_dir.exists()  # nothing was written locally

    # A second client (another computer of the household) sees the same memory.
    other = Memory(FakeTextEmbedder(), ChromaMemory.server(chroma_server))
    assert [r.text for r in other.store.browse("fact")] == ["my dog is called Biscuit"]
    other.forget("fact", [recalled.hits[0].record.id])
    assert memory.store.count("fact") == 0
    memory.forget_conversation("c1")
    assert memory.store.count("turn") == 0

    store.add_image("clip-x", "k" * 64, [1.0, 0.0, 0.0], name="a.png", conversation_id="c1")
    assert store.search_images("clip-x", [0.9, 0.1, 0.0])[0].name == "a.png"
    store.clear()
    assert store.count("document") == 0
    store.close()
    other.store.close()


def test_an_unreachable_or_malformed_server_is_a_plain_message() -> None:
    port = free_port()  # nothing listens there
    unreachable = ChromaMemory.server(f"http://127.0.0.1:{port}")
    with pytest.raises(AssistantError, match="cannot be opened"):
        unreachable.count("fact")
    unreachable.close()
    with pytest.raises(AssistantError, match="not a Chroma server address"):
        ChromaMemory.server("ftp://example").count("fact")


def test_the_guard_lets_through_only_the_configured_server() -> None:
    guard = NetworkGuard()
    with pytest.raises(NetworkBlockedError):
        guard._check("connect", "192.0.2.10", 8000)
    guard.allow("192.0.2.10")
    guard._check("connect", "192.0.2.10", 8000)  # the household's server: allowed
    with pytest.raises(NetworkBlockedError):
        guard._check("connect", "192.0.2.11", 8000)  # anything else: still refused
