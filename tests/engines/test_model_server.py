"""The chat model served on the user's network: the same LanguageModel port against a real
OpenAI-compatible server (llama-cpp-python's own, on loopback, with the smallest shipped
model), chosen the way the app chooses it (Settings.model = "server")."""

from __future__ import annotations

import importlib.util
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from app.bootstrap import make_language_model
from app.core.cancel import CancelToken
from app.core.errors import LanguageModelError, ModelError
from app.core.ports import ChatMessage, LanguageModel
from app.core.structured import parse_structured
from app.engines.models import ModelRegistry
from app.engines.openai_llm import OpenAILanguageModel, ServerAddress
from app.privacy import GUARD, NetworkBlockedError, NetworkGuard
from app.settings import FAST_MODEL, SERVER_MODEL, Settings

from tests.conftest import require, shared_cache_dir

pytestmark = pytest.mark.model

KEY = "household-secret"
SERVER_PACKAGES = ("fastapi", "uvicorn", "sse_starlette", "starlette_context", "pydantic_settings")
STORY = [ChatMessage("user", "Write a long story about a dragon who learns to bake bread.")]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def small_model() -> Path:
    try:
        return ModelRegistry(shared_cache_dir()).resolve(FAST_MODEL).path
    except ModelError as exc:
        require(False, f"model {FAST_MODEL} unavailable: {exc.message}")
        raise


class Server:
    """``python -m llama_cpp.server`` on a free loopback port."""

    def __init__(self, folder: Path, *, api_key: str = KEY) -> None:
        missing = [p for p in SERVER_PACKAGES if importlib.util.find_spec(p) is None]
        require(not missing, f"llama-cpp-python[server] needs {', '.join(missing)}")
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = folder / f"server-{self.port}.log"
        self._log = self.log_path.open("wb")
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "llama_cpp.server",
                "--model",
                str(small_model()),
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--n_ctx",
                "2048",
                "--n_threads",
                "1",  # beside other work on 2 cores, 1 thread is the fast choice
                "--api_key",
                api_key,
            ],
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 120
        while True:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    break
            except OSError:
                assert self.process.poll() is None, self.log_path.read_text()
                assert time.monotonic() < deadline, "the model server did not start"
                time.sleep(0.2)

    def pause(self) -> None:
        """The server still holds the connection but says nothing (a frozen machine)."""
        os.kill(self.process.pid, signal.SIGSTOP)

    def resume(self) -> None:
        os.kill(self.process.pid, signal.SIGCONT)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.resume()
            self.process.kill()
        self.process.wait(timeout=30)
        self._log.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    running = Server(tmp_path_factory.mktemp("model-server"))
    yield running
    running.stop()


@pytest.fixture
def own_server(tmp_path: Path) -> Iterator[Server]:
    """A server of this test's own, to freeze or kill."""
    running = Server(tmp_path)
    yield running
    running.stop()


def server_model(url: str, **settings: str) -> LanguageModel:
    chosen = Settings(model=SERVER_MODEL, model_server_url=url, model_server_key=KEY)
    return make_language_model(
        ModelRegistry(shared_cache_dir()), SERVER_MODEL, chosen.replace(**settings)
    )


def test_a_reply_streams_in_pieces(server: Server) -> None:
    llm = server_model(server.url)
    assert isinstance(llm, OpenAILanguageModel) and isinstance(llm, LanguageModel)
    llm.load()
    assert f"127.0.0.1:{server.port}" in llm.name and "SmolLM2" in llm.name
    question = [ChatMessage("user", "What is the capital of France?")]
    pieces = list(llm.stream(question, max_tokens=48, temperature=0.0, cancel=CancelToken()))
    assert len(pieces) >= 3, pieces
    assert "paris" in "".join(pieces).lower(), pieces
    stats = llm.last_stats
    assert stats.generated_tokens >= len(pieces) - 1
    assert stats.prompt_tokens > 0 and stats.generation_seconds > 0
    assert llm.count_tokens("What is the capital of France?") >= 7  # on the high side


def test_cancel_stops_the_reply_between_pieces(server: Server) -> None:
    llm = server_model(server.url)
    cancel = CancelToken()
    pieces = []
    for piece in llm.stream(STORY, max_tokens=400, temperature=0.0, cancel=cancel):
        pieces.append(piece)
        if len(pieces) == 3:
            cancel.cancel()
    assert len(pieces) == 3
    # The server is free again at once (it saw the connection go).
    again = llm.stream(STORY[:1], max_tokens=2, temperature=0.0, cancel=CancelToken())
    assert "".join(again)


def test_cancel_does_not_wait_for_a_silent_server(own_server: Server) -> None:
    llm = OpenAILanguageModel(own_server.url, api_key=KEY, read_timeout=60)
    cancel = CancelToken()
    reply = llm.stream(STORY, max_tokens=400, temperature=0.0, cancel=cancel)
    assert next(reply) and next(reply)
    own_server.pause()
    threading.Timer(0.3, cancel.cancel).start()
    started = time.monotonic()
    rest = list(reply)  # waits for the frozen server until the cancel closes the socket
    assert time.monotonic() - started < 2.0
    assert len(rest) < 400


def test_the_server_killed_mid_reply_is_a_plain_error(own_server: Server) -> None:
    llm = server_model(own_server.url)
    reply = llm.stream(STORY, max_tokens=400, temperature=0.0, cancel=CancelToken())
    got = [next(reply) for _ in range(3)]
    assert all(got)
    own_server.process.kill()
    own_server.process.wait(timeout=30)
    started = time.monotonic()
    with pytest.raises(LanguageModelError) as caught:
        for _ in reply:
            pass
    assert time.monotonic() - started < 5.0  # no hang: the socket closed with the process
    assert caught.value.code == "model-server-lost"
    assert caught.value.message == (
        f"The model server at {own_server.url} stopped answering mid-reply."
    )
    # The next turn says the server cannot be reached.
    with pytest.raises(LanguageModelError, match="cannot be reached"):
        list(llm.stream(STORY, max_tokens=4, temperature=0.0, cancel=CancelToken()))


def test_a_server_that_falls_silent_mid_reply_times_out(own_server: Server) -> None:
    llm = OpenAILanguageModel(own_server.url, api_key=KEY, read_timeout=1.5)
    reply = llm.stream(STORY, max_tokens=400, temperature=0.0, cancel=CancelToken())
    assert next(reply)
    own_server.pause()
    started = time.monotonic()
    with pytest.raises(LanguageModelError, match="stopped answering mid-reply") as caught:
        for _ in reply:
            pass
    assert time.monotonic() - started < 5.0
    assert caught.value.code == "model-server-lost"
    assert "nothing for 1.5 s" in caught.value.details


def test_a_structured_reply_follows_its_schema(server: Server) -> None:
    schema = {
        "type": "object",
        "properties": {
            "answer": {"type": "string", "enum": ["yes", "no"]},
            "count": {"type": "integer", "minimum": 1, "maximum": 12},
        },
        "required": ["answer", "count"],
        "additionalProperties": False,
    }
    llm = server_model(server.url)
    question = [ChatMessage("user", "Is Paris in France, and how many months has a year?")]
    reply = llm.structured(question, schema=schema, max_tokens=40, cancel=CancelToken())
    value = parse_structured(reply, schema)
    assert value["answer"] in ("yes", "no") and 1 <= value["count"] <= 12
    with pytest.raises(ValueError, match="exactly one"):
        llm.structured(question, max_tokens=4, cancel=CancelToken())


def test_a_wrong_key_or_an_unreachable_server_is_a_plain_error(server: Server) -> None:
    with pytest.raises(LanguageModelError, match="refused Hearth's key") as refused:
        server_model(server.url, model_server_key="wrong").load()
    assert refused.value.code == "model-server-key"

    url = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    nobody = server_model(url)
    with pytest.raises(LanguageModelError) as caught:
        nobody.load()
    assert caught.value.code == "model-server-unreachable"
    assert caught.value.message.startswith(f"The model server at {url} cannot be reached.")
    with pytest.raises(LanguageModelError, match="cannot be reached"):
        list(nobody.stream(STORY, max_tokens=4, temperature=0.0, cancel=CancelToken()))

    for wrong in ("ftp://192.168.1.20", "192.168.1.20:8080", "", "http://user:pw@host:1"):
        with pytest.raises(LanguageModelError) as bad:
            server_model(wrong).load()
        assert bad.value.code == "model-server-url", wrong


def test_addresses() -> None:
    assert ServerAddress.parse("http://192.168.1.20:8080/v1/").url == "http://192.168.1.20:8080"
    assert ServerAddress.parse("HTTPS://Box.lan").url == "https://box.lan:443"
    assert ServerAddress.parse("http://[fe80::1]:11434/api").path("models") == "/api/v1/models"


def test_the_guard_lets_through_only_the_model_server() -> None:
    # Chosen as the app chooses it: exactly that host and port are allowed.
    server_model("http://192.0.2.10:8080")
    GUARD._check("connect", "192.0.2.10", 8080)
    for host, port in (("192.0.2.10", 8081), ("192.0.2.11", 8080), ("192.0.2.10", None)):
        with pytest.raises(NetworkBlockedError):
            GUARD._check("connect", host, port)


def test_a_guarded_process_reaches_the_loopback_server_and_nothing_else(server: Server) -> None:
    guard = NetworkGuard()
    guard.allow("192.0.2.10", 8080)
    guard.install()
    try:
        llm = OpenAILanguageModel(server.url, api_key=KEY)
        assert "".join(llm.stream(STORY, max_tokens=3, temperature=0.0, cancel=CancelToken()))
        other = OpenAILanguageModel("http://192.0.2.10:9090", api_key=KEY)
        with pytest.raises(LanguageModelError, match="privacy guard refused") as caught:
            other.load()
        assert caught.value.code == "model-server-blocked"
        assert [a.target for a in guard.blocked] == ["192.0.2.10:9090"]
    finally:
        guard.uninstall()
