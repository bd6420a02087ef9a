"""Local chat model through llama-cpp-python (GGUF).

* The model's own chat template (from the GGUF metadata) formats the conversation.
* llama.cpp keeps the previous prompt in its KV cache and re-evaluates only what follows the
  longest shared token prefix; the system prompt is always first and unchanged, so follow-up
  turns only pay for the new messages. ``last_stats`` reports how many prompt tokens were
  actually evaluated, read from llama.cpp's own performance counters.
* Cancellation: checked between generated tokens (one token is ~10-35 ms on 2 cores) and
  between prompt batches of ``n_batch`` tokens, where a batch can be abandoned safely
  because llama-cpp-python only counts a batch as evaluated after it completed.
* Thread count is explicit; the library's default would take every core.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from app.core.cancel import CancelToken
from app.core.errors import LanguageModelError, ModelCorruptError
from app.core.ports import ChatMessage, GenerationStats
from app.engines.models import verified_while_loading

log = logging.getLogger(__name__)

MESSAGE_OVERHEAD = 8
"""Upper bound of the tokens a chat template wraps around one message (ChatML uses ~5)."""


class _CancelledError(Exception):
    pass


class LlamaLanguageModel:
    """:class:`app.core.ports.LanguageModel` backed by llama-cpp-python."""

    def __init__(
        self,
        model_path: Path | Callable[[], Path],
        *,
        name: str,
        n_ctx: int = 4096,
        n_threads: int = 2,
        n_batch: int = 32,
        seed: int = 1234,
        verify: Callable[[], None] | None = None,
    ) -> None:
        self._locate = model_path if callable(model_path) else (lambda: Path(model_path))
        self._verify = verify
        """The file's sha256 check, run beside every load (app.engines.models)."""
        self.model_path: Path | None = None
        self._name = name
        self._n_ctx = n_ctx
        self._n_threads = n_threads
        self._n_batch = n_batch
        self._seed = seed
        self._llm: Any = None
        self._load_lock = threading.Lock()
        self._run_lock = threading.Lock()
        self._cancel: CancelToken | None = None
        self._stats = GenerationStats()
        self.load_seconds = 0.0

    # -- LanguageModel protocol -------------------------------------------------------------

    @property
    def name(self) -> str:
        return self._name

    @property
    def context_size(self) -> int:
        return self._n_ctx

    @property
    def loaded(self) -> bool:
        return self._llm is not None

    @property
    def last_stats(self) -> GenerationStats:
        return self._stats

    def load(self) -> None:
        with self._load_lock:
            if self._llm is not None:
                return
            started = time.monotonic()
            # Locating may assemble and verify the file (ModelError names what to install).
            self.model_path = path = self._locate()
            if not path.is_file():
                raise LanguageModelError(
                    f"The model file {path} does not exist.", code="model-missing"
                )
            try:
                from llama_cpp import Llama
            except ImportError as exc:  # pragma: no cover - broken installation
                raise LanguageModelError(
                    "llama-cpp-python is not installed. Run `make run` to install Hearth's "
                    "dependencies.",
                    details=str(exc),
                ) from exc
            try:
                with verified_while_loading(self._verify):
                    llm = Llama(
                        model_path=str(path),
                        n_ctx=self._n_ctx,
                        n_threads=self._n_threads,
                        n_threads_batch=self._n_threads,
                        n_batch=self._n_batch,
                        seed=self._seed,
                        verbose=False,
                    )
            except (ValueError, RuntimeError, OSError) as exc:
                raise ModelCorruptError(
                    f"The model file {path.name} could not be loaded; it may be "
                    "damaged. Run `hearth doctor` to check it.",
                    details=repr(exc),
                ) from exc
            self._install_batch_check(llm)
            self._llm = llm
            self.load_seconds = time.monotonic() - started
            log.info("loaded %s in %.2f s", path.name, self.load_seconds)

    def _install_batch_check(self, llm: Any) -> None:
        """Check the cancel token before each prompt batch is decoded."""
        ctx = getattr(llm, "_ctx", None)
        decode = getattr(ctx, "decode", None)
        if ctx is None or decode is None:  # pragma: no cover - other library versions
            log.warning("llama-cpp-python internals changed; prompt cancellation is coarser")
            return

        def checked_decode(batch: Any) -> Any:
            token = self._cancel
            if token is not None and token.is_cancelled():
                raise _CancelledError
            return decode(batch)

        ctx.decode = checked_decode

    def count_tokens(self, text: str) -> int:
        self.load()
        return len(self._llm.tokenize(text.encode("utf-8"), add_bos=False, special=True))

    def message_overhead(self) -> int:
        return MESSAGE_OVERHEAD

    def warm_up(self, system_prompt: str) -> None:
        """Load, then evaluate the system prefix once so the first turn starts warm."""
        self.load()
        token = CancelToken()
        messages = [ChatMessage("system", system_prompt), ChatMessage("user", "Hi")]
        for _ in self.stream(messages, max_tokens=1, temperature=0.0, cancel=token):
            pass

    def stream(
        self,
        messages: Sequence[ChatMessage],
        *,
        max_tokens: int,
        temperature: float,
        cancel: CancelToken,
    ) -> Iterator[str]:
        self.load()
        llm = self._llm
        payload = [{"role": m.role, "content": m.content} for m in messages]
        with self._run_lock:
            self._cancel = cancel
            self._stats = stats = GenerationStats()
            self._reset_counters(llm)
            started = time.monotonic()
            first: float | None = None
            chunks = None
            try:
                chunks = llm.create_chat_completion(
                    messages=payload,
                    max_tokens=max_tokens,
                    temperature=temperature,
                    stream=True,
                )
                for chunk in chunks:
                    if cancel.is_cancelled():
                        break
                    text = chunk["choices"][0]["delta"].get("content")
                    if not text:
                        continue
                    if first is None:
                        first = time.monotonic()
                    yield text
                    if cancel.is_cancelled():
                        break
            except _CancelledError:
                log.info("generation cancelled during prompt evaluation")
            except ValueError as exc:
                raise LanguageModelError(
                    "The conversation no longer fits in the model's context window. "
                    "Start a new conversation or choose a larger context in settings.",
                    code="context-overflow",
                    details=repr(exc),
                ) from exc
            except RuntimeError as exc:
                raise LanguageModelError(
                    "The language model failed while generating. The details are in the log.",
                    details=repr(exc),
                ) from exc
            finally:
                if chunks is not None:
                    chunks.close()
                self._cancel = None
                ended = time.monotonic()
                self._read_counters(llm, stats)
                stats.prompt_seconds = (first or ended) - started
                stats.generation_seconds = ended - (first or ended)

    def close(self) -> None:
        with self._run_lock, self._load_lock:
            if self._llm is not None:
                self._llm.close()
                self._llm = None

    # -- performance counters -------------------------------------------------------------

    @staticmethod
    def _reset_counters(llm: Any) -> None:
        import llama_cpp

        llama_cpp.llama_perf_context_reset(llm._ctx.ctx)

    @staticmethod
    def _read_counters(llm: Any, stats: GenerationStats) -> None:
        import llama_cpp

        data = llama_cpp.llama_perf_context(llm._ctx.ctx)
        stats.prompt_tokens_evaluated = int(data.n_p_eval)
        stats.generated_tokens = int(data.n_eval)
        stats.prompt_tokens = int(getattr(llm, "n_tokens", 0)) - stats.generated_tokens
