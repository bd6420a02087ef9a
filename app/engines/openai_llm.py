"""A chat model the user serves on their own network, through an OpenAI-compatible server.

For a household that outgrows one laptop: llama.cpp's ``llama-server``, llama-cpp-python's
server, Ollama or vLLM runs the model on one machine, and Hearth talks to
``<base_url>/v1/chat/completions`` with ``stream: true`` (server-sent events).

* Standard library only (``http.client``): no proxy from the environment, no redirects, so
  the one connection goes to the address in the settings and nowhere else; bootstrap lets
  exactly that host and port through the privacy guard (:func:`app.privacy.NetworkGuard.allow`).
* Streaming: every ``delta.content`` of the event stream is yielded as it arrives.
* Cancellation: checked between pieces, and while a read waits, a watcher shuts the socket
  down as soon as the cancel token fires (within ~50 ms), so a cancel never waits for the
  server; closing the connection is also how the server learns to stop generating.
* Failures are :class:`LanguageModelError` with a plain sentence: the server cannot be
  reached (``model-server-unreachable``), answered with an HTTP error (``model-server-http``,
  ``model-server-key`` for 401/403, ``context-overflow``), or went away or fell silent for
  ``read_timeout`` seconds mid-reply (``model-server-lost``).
* Tokens: the server's tokenizer is not here, so :meth:`count_tokens` estimates on the safe
  side (one token per 3 bytes of UTF-8, ~25% above what English text takes in the shipped
  models' tokenizers), and raises it when the server reports that the last prompt took more
  tokens than that (``usage``: other scripts, code). ``last_stats`` reports the server's
  own counts when it gives them (``usage``; llama.cpp's ``timings`` also say how much of
  the prompt came from its cache).
* Structured output: llama.cpp's servers (``llama-server`` and llama-cpp-python's) get the
  same GBNF grammar the local engine uses (``grammar``; a JSON schema goes through
  :func:`app.engines.llama_llm.schema_to_gbnf`, with integer ranges and calendar dates);
  other servers (vLLM, Ollama) get the standard ``response_format`` ``json_schema``. A raw
  GBNF grammar only works on llama.cpp's servers (``grammar-unsupported`` elsewhere). Which
  server it is comes from ``/v1/models`` (``owned_by``). As with the local engine, a reply is
  read with :func:`app.core.structured.parse_structured`.
* Threads belong to the server's machine: :meth:`set_threads` has nothing to change here.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import logging
import math
import socket
import ssl
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from app.core.cancel import CancelToken
from app.core.errors import LanguageModelError
from app.core.ports import ChatMessage, GenerationStats
from app.engines.loader import LazyModel
from app.privacy import NetworkBlockedError

log = logging.getLogger(__name__)

MESSAGE_OVERHEAD = 8
"""Tokens a chat template wraps around one message (ChatML uses ~5), as in llama_llm."""
BYTES_PER_TOKEN = 3.0
"""The starting estimate: English takes ~4 bytes per token in the shipped models."""
MIN_BYTES_PER_TOKEN = 1.0
CONNECT_TIMEOUT = 5.0
"""Seconds to open the connection: a server on the household's network answers in far less."""
READ_TIMEOUT = 120.0
"""Seconds of silence after which the server counts as gone (a long prompt on a slow
machine may take a while before the first piece)."""
LLAMA_CPP_OWNERS = frozenset({"llamacpp", "me"})
"""``owned_by`` in ``/v1/models`` of llama.cpp's ``llama-server`` and of llama-cpp-python's
server: both take a GBNF ``grammar``."""
MAX_LINE = 1 << 20
"""Longest event-stream line read (a piece of text is a few bytes)."""


class _CancelledError(Exception):
    pass


@dataclass(frozen=True, slots=True)
class ServerAddress:
    """Where the model server listens: http(s)://host:port[/prefix]."""

    scheme: str
    host: str
    port: int
    prefix: str
    """Path before ``/v1`` ("" for most servers)."""

    @classmethod
    def parse(cls, url: str) -> ServerAddress:
        text = url.strip()
        problem = (
            f"“{text}” is not a model server address. Enter one like http://192.168.1.20:8080 "
            "in settings."
        )
        try:
            parts = urlsplit(text)
            port = parts.port
        except ValueError:
            raise LanguageModelError(problem, code="model-server-url") from None
        if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
            raise LanguageModelError(problem, code="model-server-url")
        if parts.username is not None or parts.password is not None:
            raise LanguageModelError(
                "Put the model server's key in the key field of settings, not in its address.",
                code="model-server-url",
            )
        scheme = parts.scheme.lower()
        prefix = parts.path.rstrip("/")
        if prefix.endswith("/v1"):
            prefix = prefix[: -len("/v1")]
        default = 443 if scheme == "https" else 80
        return cls(scheme, parts.hostname.lower(), port or default, prefix)

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme}://{host}:{self.port}{self.prefix}"

    def path(self, endpoint: str) -> str:
        return f"{self.prefix}/v1/{endpoint}"


@dataclass(frozen=True, slots=True)
class ServerInfo:
    """What ``/v1/models`` said."""

    models: tuple[str, ...]
    owners: tuple[str, ...]
    max_context: int | None = None
    """The context length the server reports (vLLM's ``max_model_len``), if any."""

    @property
    def takes_grammar(self) -> bool:
        return any(owner in LLAMA_CPP_OWNERS for owner in self.owners)


class OpenAILanguageModel:
    """:class:`app.core.ports.LanguageModel` served by an OpenAI-compatible server.

    ``base_url`` is the server (``http://host:port``, optionally with a path prefix or a
    trailing ``/v1``). ``model`` is the name to ask for ("" takes the first the server
    lists). ``api_key`` goes out as a bearer token when set. ``n_ctx`` is the context the
    prompt is budgeted for (capped by what the server reports, when it reports one).
    A malformed address is reported by :meth:`load`, never by the constructor (which runs
    on the GUI thread).
    """

    def __init__(
        self,
        base_url: str,
        *,
        model: str = "",
        api_key: str = "",
        n_ctx: int = 4096,
        connect_timeout: float = CONNECT_TIMEOUT,
        read_timeout: float = READ_TIMEOUT,
    ) -> None:
        self.address: ServerAddress | None
        self._address_error: LanguageModelError | None = None
        try:
            self.address = ServerAddress.parse(base_url)
        except LanguageModelError as exc:
            self.address, self._address_error = None, exc
        self._base_url = base_url.strip()
        self._model_name = model.strip()
        self._api_key = api_key.strip()
        self._n_ctx = n_ctx
        self._connect_timeout = connect_timeout
        self._read_timeout = read_timeout
        self._info: LazyModel[ServerInfo] = LazyModel(
            f"model server {self._shown}", self._probe, None
        )
        self._bytes_per_token = BYTES_PER_TOKEN
        self._stats = GenerationStats()

    # -- LanguageModel protocol -------------------------------------------------------------

    @property
    def name(self) -> str:
        model = self._model_id()
        model = model.rsplit("/", 1)[-1] or "Model"
        where = f"{self.address.host}:{self.address.port}" if self.address else self._base_url
        return f"{model} on {where}"

    @property
    def context_size(self) -> int:
        info = self._info.current
        if info is not None and info.max_context:
            return min(self._n_ctx, info.max_context)
        return self._n_ctx

    @property
    def loaded(self) -> bool:
        return self._info.loaded

    @property
    def load_seconds(self) -> float:
        return self._info.load_seconds

    @property
    def last_stats(self) -> GenerationStats:
        return self._stats

    @property
    def host(self) -> str | None:
        """The server's host, as bootstrap lets it through the privacy guard."""
        return self.address.host if self.address else None

    @property
    def port(self) -> int | None:
        return self.address.port if self.address else None

    def load(self) -> None:
        """Ask the server which models it serves: proves it is there and speaks the API."""
        self._info.get()

    def warm_up(self, system_prompt: str) -> None:
        """Reach the server, then let it evaluate (and cache) the system prefix once."""
        self.load()
        messages = [ChatMessage("system", system_prompt), ChatMessage("user", "Hi")]
        for _ in self.stream(messages, max_tokens=1, temperature=0.0, cancel=CancelToken()):
            pass

    def count_tokens(self, text: str) -> int:
        """An estimate that errs on the high side (see the module docstring)."""
        size = len(text.encode("utf-8"))
        return math.ceil(size / self._bytes_per_token) if size else 0

    def message_overhead(self) -> int:
        return MESSAGE_OVERHEAD

    def set_threads(self, n_threads: int) -> None:
        """Nothing to do: the server's threads are set on the server's machine."""

    def stream(
        self,
        messages: Sequence[ChatMessage],
        *,
        max_tokens: int,
        temperature: float,
        cancel: CancelToken,
    ) -> Iterator[str]:
        self.load()
        body = self._body(messages, max_tokens=max_tokens, temperature=temperature)
        yield from self._generate(body, messages, cancel)

    def structured(
        self,
        messages: Sequence[ChatMessage],
        *,
        schema: Mapping[str, Any] | None = None,
        grammar: str | None = None,
        max_tokens: int,
        cancel: CancelToken,
    ) -> str:
        """Greedy reply under a JSON schema or a GBNF grammar; see the module docstring."""
        if (schema is None) == (grammar is None):
            raise ValueError("give exactly one of schema= or grammar=")
        if grammar is not None and not grammar.strip():
            raise ValueError("the grammar is empty")
        if schema is not None:
            from app.core.structured import check_schema

            check_schema(schema)
        info = self._info.get()
        body = self._body(messages, max_tokens=max_tokens, temperature=0.0)
        if grammar is not None:
            if not info.takes_grammar:
                raise LanguageModelError(
                    f"The model server at {self._shown} cannot follow a grammar (only "
                    "llama.cpp's servers can).",
                    code="grammar-unsupported",
                )
            body["grammar"] = grammar
        elif info.takes_grammar:
            from app.engines.llama_llm import schema_to_gbnf

            assert schema is not None
            body["grammar"] = schema_to_gbnf(schema)
        else:
            body["response_format"] = {
                "type": "json_schema",
                "json_schema": {"name": "reply", "schema": dict(schema or {}), "strict": True},
            }
        return "".join(self._generate(body, messages, cancel))

    def close(self) -> None:
        """Nothing is held between calls (each reply has its own connection)."""
        self._info.close()

    # -- the exchange -------------------------------------------------------------------------

    @property
    def _shown(self) -> str:
        return self.address.url if self.address else self._base_url

    def _model_id(self) -> str:
        if self._model_name:
            return self._model_name
        info = self._info.current
        return info.models[0] if info is not None and info.models else ""

    def _body(
        self, messages: Sequence[ChatMessage], *, max_tokens: int, temperature: float
    ) -> dict[str, Any]:
        return {
            "model": self._model_id(),
            "messages": [{"role": m.role, "content": m.content} for m in messages],
            "stream": True,
            "stream_options": {"include_usage": True},
            "max_tokens": int(max_tokens),
            "temperature": float(temperature),
        }

    def _probe(self) -> ServerInfo:
        connection = self._connect(None)
        try:
            response = self._send(connection, "GET", "models", None, None)
            try:
                raw = response.read(MAX_LINE)
            except (OSError, http.client.HTTPException) as exc:
                raise self._lost(exc) from exc
        finally:
            connection.close()
        try:
            listed = json.loads(raw).get("data") or []
            models = tuple(str(m.get("id", "")) for m in listed if isinstance(m, dict))
            owners = tuple(str(m.get("owned_by", "")) for m in listed if isinstance(m, dict))
            lengths = [m.get("max_model_len") for m in listed if isinstance(m, dict)]
        except (ValueError, AttributeError, TypeError) as exc:
            raise LanguageModelError(
                f"The server at {self._shown} does not answer like a model server "
                "(OpenAI-compatible API). Check the address in settings.",
                code="model-server-http",
                details=repr(raw[:500]),
            ) from exc
        sizes = [n for n in lengths if isinstance(n, int) and n > 0]
        info = ServerInfo(models, owners, min(sizes) if sizes else None)
        if self._model_name and models and self._model_name not in models:
            log.warning("model server lists %s, not %r", ", ".join(models), self._model_name)
        log.info("model server %s: models %s (owned by %s)", self._shown, models, owners)
        return info

    def _connect(self, cancel: CancelToken | None) -> http.client.HTTPConnection:
        if self.address is None:
            assert self._address_error is not None
            raise self._address_error
        address = self.address
        connection: http.client.HTTPConnection
        if address.scheme == "https":
            connection = http.client.HTTPSConnection(
                address.host,
                address.port,
                timeout=self._connect_timeout,
                context=ssl.create_default_context(),
            )
        else:
            connection = http.client.HTTPConnection(
                address.host, address.port, timeout=self._connect_timeout
            )
        try:
            connection.connect()
        except NetworkBlockedError as exc:
            connection.close()
            raise LanguageModelError(
                f"Hearth's privacy guard refused to connect to {self._shown}: only the model "
                "server set in settings may be reached.",
                code="model-server-blocked",
                details=str(exc),
            ) from exc
        except (OSError, http.client.HTTPException) as exc:
            connection.close()
            if cancel is not None and cancel.is_cancelled():
                raise _CancelledError from exc
            raise LanguageModelError(
                f"The model server at {self._shown} cannot be reached. Check that it is "
                "running and that the address in settings is right.",
                code="model-server-unreachable",
                details=repr(exc),
            ) from exc
        assert connection.sock is not None
        connection.sock.settimeout(self._read_timeout)
        return connection

    def _headers(self, streaming: bool) -> dict[str, str]:
        headers = {"Accept": "text/event-stream" if streaming else "application/json"}
        if self._api_key:
            headers["Authorization"] = f"Bearer {self._api_key}"
        return headers

    def _send(
        self,
        connection: http.client.HTTPConnection,
        method: str,
        endpoint: str,
        body: Mapping[str, Any] | None,
        cancel: CancelToken | None,
    ) -> http.client.HTTPResponse:
        assert self.address is not None
        headers = self._headers(streaming=body is not None)
        data = None
        if body is not None:
            data = json.dumps(body).encode("utf-8")
            headers["Content-Type"] = "application/json"
        try:
            connection.request(method, self.address.path(endpoint), body=data, headers=headers)
            response = connection.getresponse()
        except (OSError, http.client.HTTPException) as exc:
            if cancel is not None and cancel.is_cancelled():
                raise _CancelledError from exc
            raise self._lost(exc) from exc
        if response.status != 200:
            raise self._http_error(response)
        return response

    def _generate(
        self, body: Mapping[str, Any], messages: Sequence[ChatMessage], cancel: CancelToken
    ) -> Iterator[str]:
        """One streamed reply: connect, send, yield each piece; always closes the socket."""
        self._stats = stats = GenerationStats()
        if cancel.is_cancelled():
            return
        started = time.monotonic()
        first: float | None = None
        pieces = 0
        usage: dict[str, Any] = {}
        timings: dict[str, Any] = {}
        try:
            connection = self._connect(cancel)
        except _CancelledError:
            return
        watch = _CloseOnCancel(connection, cancel)
        try:
            response = self._send(connection, "POST", "chat/completions", body, cancel)
            for event in self._events(response, cancel):
                if isinstance(event.get("usage"), dict):
                    usage = event["usage"]
                if isinstance(event.get("timings"), dict):
                    timings = event["timings"]
                text = _delta_text(event)
                if text:
                    if first is None:
                        first = time.monotonic()
                    pieces += 1
                    yield text
                if cancel.is_cancelled():
                    break
        except _CancelledError:
            log.info("reply from the model server cancelled")
        finally:
            watch.stop()
            connection.close()
            ended = time.monotonic()
            self._fill_stats(stats, messages, usage, timings, pieces)
            stats.prompt_seconds = (first or ended) - started
            stats.generation_seconds = ended - (first or ended)

    def _events(
        self, response: http.client.HTTPResponse, cancel: CancelToken
    ) -> Iterator[dict[str, Any]]:
        """The JSON events of a server-sent event stream, until ``[DONE]``.

        The stream ending before ``[DONE]`` (or a final ``finish_reason``), a reset or a read
        timing out is the server going away mid-reply; after a cancel it is the watcher
        closing the socket, and ends the reply quietly."""
        finished = False
        data: list[str] = []
        field = ""
        while True:
            try:
                raw = response.readline(MAX_LINE)
            except (OSError, http.client.HTTPException) as exc:
                if cancel.is_cancelled():
                    raise _CancelledError from exc
                raise self._lost(exc) from exc
            if cancel.is_cancelled():
                raise _CancelledError
            if not raw:
                if finished:
                    return
                raise self._lost(None)
            line = raw.decode("utf-8", "replace").rstrip("\r\n")
            if line:
                name, _, value = line.partition(":")
                if name in ("data", "error"):
                    field = name
                    data.append(value[1:] if value.startswith(" ") else value)
                continue  # comments (": ping"), event names, ids
            if not data:
                continue
            text, data = "\n".join(data), []
            if text.strip() == "[DONE]":
                return
            try:
                event = json.loads(text)
            except ValueError:
                log.warning("model server sent an unreadable event: %r", text[:200])
                continue
            if not isinstance(event, dict):
                continue
            if field == "error" or "error" in event:
                raise self._stream_error(event.get("error", event))
            choices = event.get("choices") or []
            if choices and isinstance(choices[0], dict) and choices[0].get("finish_reason"):
                finished = True
            yield event

    # -- errors and figures -------------------------------------------------------------------

    def _lost(self, exc: BaseException | None) -> LanguageModelError:
        if isinstance(exc, TimeoutError):
            detail = f"nothing for {self._read_timeout:g} s"
        else:
            detail = repr(exc) if exc is not None else "the stream ended before [DONE]"
        return LanguageModelError(
            f"The model server at {self._shown} stopped answering mid-reply.",
            code="model-server-lost",
            details=detail,
        )

    def _http_error(self, response: http.client.HTTPResponse) -> LanguageModelError:
        try:
            raw = response.read(64 * 1024)
        except (OSError, http.client.HTTPException):
            raw = b""
        said = _error_text(raw)
        status = response.status
        details = f"HTTP {status} {response.reason}: {raw[:2000]!r}"
        if status in (401, 403):
            return LanguageModelError(
                f"The model server at {self._shown} refused Hearth's key. Check the key in "
                "settings.",
                code="model-server-key",
                details=details,
            )
        lowered = said.lower()
        if "context" in lowered and any(w in lowered for w in ("exceed", "length", "long")):
            return LanguageModelError(
                "The conversation no longer fits in the model's context window. "
                "Start a new conversation or choose a smaller context in settings.",
                code="context-overflow",
                details=details,
            )
        if "grammar" in lowered:
            return LanguageModelError(
                "The grammar for this answer could not be compiled.",
                code="grammar-invalid",
                details=details,
            )
        if status == 404:
            what = f"the model “{self._model_id()}”" if self._model_id() else "the chat API"
            return LanguageModelError(
                f"The model server at {self._shown} does not have {what}. Check the address "
                "and the model name in settings.",
                code="model-server-http",
                details=details,
            )
        because = f": {said}" if said else ""
        return LanguageModelError(
            f"The model server at {self._shown} answered with an error (HTTP {status}){because}",
            code="model-server-http",
            details=details,
        )

    def _stream_error(self, error: object) -> LanguageModelError:
        said = _error_text(json.dumps(error).encode("utf-8"))
        return LanguageModelError(
            f"The model server at {self._shown} failed while answering: {said}",
            code="model-server-http",
            details=repr(error),
        )

    def _fill_stats(
        self,
        stats: GenerationStats,
        messages: Sequence[ChatMessage],
        usage: Mapping[str, Any],
        timings: Mapping[str, Any],
        pieces: int,
    ) -> None:
        prompt = _int(usage.get("prompt_tokens"))
        if prompt is None and _int(timings.get("prompt_n")) is not None:
            prompt = (_int(timings.get("prompt_n")) or 0) + (_int(timings.get("cache_n")) or 0)
        content = sum(len(m.content.encode("utf-8")) for m in messages)
        if prompt:
            # The server's real count: bytes per token of this conversation (its template
            # tokens included, which keeps the estimate on the high side).
            self._bytes_per_token = max(MIN_BYTES_PER_TOKEN, min(BYTES_PER_TOKEN, content / prompt))
        else:
            prompt = sum(self.count_tokens(m.content) + MESSAGE_OVERHEAD for m in messages)
        stats.prompt_tokens = prompt
        evaluated = _int(timings.get("prompt_n"))
        stats.prompt_tokens_evaluated = evaluated if evaluated is not None else prompt
        generated = _int(usage.get("completion_tokens"))
        if generated is None:
            generated = _int(timings.get("predicted_n"))
        stats.generated_tokens = generated if generated is not None else pieces


def _delta_text(event: Mapping[str, Any]) -> str:
    choices = event.get("choices") or []
    if not choices or not isinstance(choices[0], dict):
        return ""
    delta = choices[0].get("delta") or {}
    text = delta.get("content") if isinstance(delta, dict) else None
    return text if isinstance(text, str) else ""


def _error_text(raw: bytes) -> str:
    """The server's own words from an error body ({"error": {"message"}}, {"detail"}...)."""
    try:
        value: Any = json.loads(raw)
    except ValueError:
        return raw.decode("utf-8", "replace").strip()[:300]
    for _ in range(4):
        if isinstance(value, list) and value:
            value = value[0]  # FastAPI: {"detail": [{"msg": ...}]}
        elif isinstance(value, dict):
            keys = ("message", "msg", "error", "detail")
            found = next((value[k] for k in keys if value.get(k)), None)
            if found is None:
                break
            value = found
        else:
            break
    return value.strip()[:300] if isinstance(value, str) else json.dumps(value)[:300]


def _int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


class _CloseOnCancel:
    """Shuts the connection's socket down as soon as ``cancel`` is set, so a read that waits
    for the server returns at once (and the server sees the client go)."""

    def __init__(self, connection: http.client.HTTPConnection, cancel: CancelToken) -> None:
        self._connection = connection
        self._done = threading.Event()
        self._thread = threading.Thread(
            target=self._wait, args=(cancel,), name="llm-server-cancel", daemon=True
        )
        self._thread.start()

    def _wait(self, cancel: CancelToken) -> None:
        while not self._done.is_set():
            if cancel.wait(0.05):
                if not self._done.is_set():
                    sock = self._connection.sock
                    if sock is not None:
                        with contextlib.suppress(OSError):  # already closed
                            sock.shutdown(socket.SHUT_RDWR)
                return

    def stop(self) -> None:
        self._done.set()
        self._thread.join()
