"""Local chat model through llama-cpp-python (GGUF).

* The model's own chat template (from the GGUF metadata) formats the conversation.
* llama.cpp keeps the previous prompt in its KV cache and re-evaluates only what follows the
  longest shared token prefix; the system prompt is always first and unchanged, so follow-up
  turns only pay for the new messages. ``last_stats`` reports how many prompt tokens were
  actually evaluated, read from llama.cpp's own performance counters. ``stream`` and
  ``structured`` share that cache.
* Generation runs its own short loop over llama.cpp (decode one token, sample in C,
  detokenize) instead of llama-cpp-python's ``create_chat_completion``; sampling is the
  same chain with the same defaults (repeat penalty 1.1 over the last 64 tokens, top-k 40,
  top-p 0.95, min-p 0.05). A top-k of 40 + 64 runs first so the penalty does not visit the
  whole vocabulary: a penalty only lowers logits, so it cannot lift a token from below rank
  104 into the top 40 when at most 64 tokens are penalised; the result is unchanged.
* Cancellation: checked between generated tokens (one token is ~10-35 ms on 2 cores) and,
  inside a prompt batch, by llama.cpp's abort callback, which the CPU backend polls after
  every graph node. The callback is a C function (``ggml_is_empty`` on a buffer the cancel
  flips), so the backend never waits for Python's GIL. An aborted batch is removed from the
  KV cache by llama.cpp and never counted as evaluated here, so the model stays usable and
  the prefix cache stays right. With the abort callback prompts go in batches of 512 tokens
  computed 256 at a time (32-token batches had cost ~20% of prompt speed); should the
  callback be unavailable, the batch falls back to 32 tokens, checked between batches.
* Structured output (``structured``): a JSON schema (compiled to GBNF by llama-cpp-python's
  converter, extended here with integer ranges and ``\\d``-style classes in patterns) or a
  GBNF grammar constrains greedy decoding. The grammar is checked against the model's best
  token first, then every token within 10 logits of it, and only when all of those are
  rejected against the whole vocabulary (llama.cpp's stock sampler checks all ~152k Qwen
  tokens at every step, before top-k). For greedy decoding this picks exactly the token
  the stock sampler would.
* Threads are explicit (the library's default would take every core) and can change
  between calls or mid-reply with :meth:`LlamaLanguageModel.set_threads`. Measured policy
  (bench/llm.py --suite contention, 2 cores): 2 threads when the LLM has the machine;
  1 thread while anything else keeps a core busy (speech being spoken or transcribed,
  indexing). llama.cpp's threads meet at an OpenMP barrier after every graph node and
  libgomp spins there, so a preempted thread stalls the other (Qwen 0.5B generation fell
  to ~4-9 tokens/s beside one busy process; 1 thread held ~17-24). Sleeping waiters
  (``OMP_WAIT_POLICY=PASSIVE``) fixed that (~15-21) but halved the speed on an idle
  machine (Qwen ~21 instead of ~40), so the spin stays and the thread count moves instead.
"""

from __future__ import annotations

import codecs
import ctypes
import importlib
import json
import logging
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

from app.core.cancel import CancelToken
from app.core.errors import LanguageModelError, ModelCorruptError
from app.core.ports import ChatMessage, GenerationStats
from app.engines.loader import LazyModel
from app.engines.models import verified_while_loading

log = logging.getLogger(__name__)

MESSAGE_OVERHEAD = 8
"""Upper bound of the tokens a chat template wraps around one message (ChatML uses ~5)."""

PROMPT_BATCH = 512
"""Prompt tokens per llama_decode when a cancel can abort a batch mid-way."""
PROMPT_UBATCH = 256
"""Tokens llama.cpp computes at once inside a batch. A cancel waits for the graph node in
flight, and the largest nodes grow with this: 256 is as fast as 512 here (llama-bench
pp512, Qwen 0.5B: 203 vs 194 tok/s; 128: 176) with half the wait (beside a busy process a
512-token node took up to ~120 ms to give way)."""
FALLBACK_BATCH = 32
"""Prompt tokens per llama_decode without the abort callback (checked between batches)."""

TOP_K = 40
TOP_P = 0.95
MIN_P = 0.05
REPEAT_PENALTY = 1.1
PENALTY_LAST_N = 64
"""The sampling defaults of llama-cpp-python's create_chat_completion, kept as they were."""

GRAMMAR_WINDOW = 10.0
"""When the best token is rejected, the grammar checks every token this close to its logit
(found with one vectorised comparison; a top-k partition of 152k logits took ~2 ms)."""


def _release(llm: Any) -> None:
    llm.close()


class _CancelledError(Exception):
    pass


class _Sampler(Protocol):
    def sample(self, ctx: Any) -> int: ...

    def close(self) -> None: ...


class LlamaLanguageModel:
    """:class:`app.core.ports.LanguageModel` backed by llama-cpp-python.

    ``n_threads`` is the starting thread count; :meth:`set_threads` changes it at any time
    (see the module docstring for the measured policy). ``n_batch`` is the prompt batch
    (default 512 when a cancel can abort a batch mid-way, else 32). ``flash_attn`` is on:
    measured in this engine (alternating runs, 2 threads), it gave generation +10-14% on
    both models (SmolLM2 106 vs 93, Qwen 0.5B 41 vs 37 tok/s) and prompts +0-13% (more on
    ~1,600-token prompts), where llama-cpp-python's default leaves it off.
    """

    def __init__(
        self,
        model_path: Path | Callable[[], Path],
        *,
        name: str,
        n_ctx: int = 4096,
        n_threads: int = 2,
        n_batch: int | None = None,
        flash_attn: bool = True,
        seed: int = 1234,
        verify: Callable[[], None] | None = None,
    ) -> None:
        self._locate = model_path if callable(model_path) else (lambda: Path(model_path))
        self._verify = verify
        """The file's sha256 check, run beside every load (app.engines.models)."""
        self.model_path: Path | None = None
        self._name = name
        self._n_ctx = n_ctx
        self._threads_wanted = max(1, int(n_threads))
        self._threads_applied = self._threads_wanted
        self._n_batch = n_batch
        self._flash_attn = flash_attn
        self._seed = seed
        self._model: LazyModel[Any] = LazyModel(f"chat model {name}", self._build, _release)
        self._format: Callable[[list[dict[str, str]]], list[int]] | None = None
        self._abort: _AbortFlag | None = None
        self._pieces: dict[int, bytes] = {}
        self._run_lock = threading.Lock()
        self._cancel: CancelToken | None = None
        self._stats = GenerationStats()
        self.grammar_checks = {"best": 0, "near": 0, "vocabulary": 0}
        """How often the last structured reply's grammar checked the best token, the tokens
        near it, or the whole vocabulary."""
        self._adapter_wanted: tuple[Path, float] | None = None
        self._adapter_loaded: tuple[Path, Any] | None = None
        self._adapter_applied: tuple[Path, float] | None = None

    # -- LanguageModel protocol -------------------------------------------------------------

    @property
    def name(self) -> str:
        return self._name

    @property
    def context_size(self) -> int:
        return self._n_ctx

    @property
    def loaded(self) -> bool:
        return self._model.loaded

    @property
    def load_seconds(self) -> float:
        return self._model.load_seconds

    @property
    def _llm(self) -> Any:
        """The loaded llama_cpp.Llama, or None."""
        return self._model.current

    @property
    def last_stats(self) -> GenerationStats:
        return self._stats

    @property
    def threads(self) -> int:
        """The thread count the next batch or token will use."""
        return self._threads_wanted

    @property
    def cancels_inside_batches(self) -> bool:
        """True when a cancel aborts a prompt batch mid-way (llama.cpp's abort callback)."""
        return self._abort is not None

    def set_threads(self, n_threads: int) -> None:
        """Use ``n_threads`` CPU threads from the next prompt batch or generated token on.

        Safe from any thread: a running generation applies it between two decodes (so a
        reply slows down or speeds up mid-way); otherwise the next call does. Lower it to 1
        while speech is being spoken or transcribed and restore it afterwards (measured in
        bench/llm.py: with a busy process on the other core 1 thread is ~2.5x faster than 2).
        """
        self._threads_wanted = max(1, int(n_threads))
        if self._run_lock.acquire(blocking=False):
            try:
                self._apply_threads()
            finally:
                self._run_lock.release()

    def load(self) -> None:
        self._model.get()

    def set_adapter(self, path: Path | None, scale: float = 1.0) -> None:
        """Apply a LoRA adapter to the loaded model without reloading it (None: the base).

        llama.cpp adds the adapter to a live context (its scale multiplies alpha / rank);
        the prompt cache is then emptied, since what it holds was computed with the other
        weights. Takes effect from the next reply; safe from any thread.
        """
        self._adapter_wanted = (Path(path), float(scale)) if path is not None else None
        if self._llm is not None:
            with self._run_lock:
                self._apply_adapter()

    def _apply_adapter(self) -> None:
        """Make the context's adapter the wanted one (under the run lock, model loaded)."""
        import llama_cpp

        llm = self._llm
        wanted = self._adapter_wanted
        if wanted == self._adapter_applied:
            return
        if wanted is not None and (
            self._adapter_loaded is None or self._adapter_loaded[0] != wanted[0]
        ):
            pointer = llama_cpp.llama_adapter_lora_init(
                llm._model.model, str(wanted[0]).encode("utf-8")
            )
            if not pointer:
                raise LanguageModelError(
                    f"The personal adapter {wanted[0].name} does not fit this model; it was "
                    "switched off. Train a new one on the Personalization page.",
                    code="adapter-invalid",
                )
            old = self._adapter_loaded
            self._adapter_loaded = (wanted[0], pointer)
        else:
            old = None
        if wanted is None:
            status = llama_cpp.llama_set_adapters_lora(llm._ctx.ctx, None, 0, None)
        else:
            assert self._adapter_loaded is not None
            adapters = (llama_cpp.llama_adapter_lora_p_ctypes * 1)(self._adapter_loaded[1])
            scales = (ctypes.c_float * 1)(wanted[1])
            status = llama_cpp.llama_set_adapters_lora(llm._ctx.ctx, adapters, 1, scales)
        if status != 0:
            raise LanguageModelError(
                "The personal adapter could not be applied.", details=f"status {status}"
            )
        if old is not None:
            llama_cpp.llama_adapter_lora_free(old[1])
        llm.reset()  # nothing cached under the other weights is reused
        self._adapter_applied = wanted
        log.info("adapter: %s", wanted[0].name if wanted else "none (base model)")

    def _build(self) -> Any:
        # Locating may assemble and verify the file (ModelError names what to install).
        self.model_path = path = self._locate()
        if not path.is_file():
            raise LanguageModelError(f"The model file {path} does not exist.", code="model-missing")
        try:
            import llama_cpp
        except ImportError as exc:  # pragma: no cover - broken installation
            raise LanguageModelError(
                "llama-cpp-python is not installed. Run `make run` to install Hearth's "
                "dependencies.",
                details=str(exc),
            ) from exc
        abort = _AbortFlag.create(llama_cpp)
        batch = self._n_batch or (PROMPT_BATCH if abort is not None else FALLBACK_BATCH)
        try:
            with verified_while_loading(self._verify):
                llm = llama_cpp.Llama(
                    model_path=str(path),
                    n_ctx=self._n_ctx,
                    n_threads=self._threads_wanted,
                    n_threads_batch=self._threads_wanted,
                    n_batch=batch,
                    n_ubatch=min(batch, PROMPT_UBATCH),
                    flash_attn=self._flash_attn,
                    seed=self._seed,
                    verbose=False,
                )
        except (ValueError, RuntimeError, OSError) as exc:
            raise ModelCorruptError(
                f"The model file {path.name} could not be loaded; it may be "
                "damaged. Run `hearth doctor` to check it.",
                details=repr(exc),
            ) from exc
        self._format = chat_formatter(llm)
        if abort is not None:
            llama_cpp.llama_set_abort_callback(llm._ctx.ctx, abort.callback, abort.data)
        self._abort = abort
        self._install_checked_decode(llm)
        self._threads_applied = self._threads_wanted
        self._pieces = {}
        self._adapter_loaded = self._adapter_applied = None
        log.info(
            "%s: prompt batch %d, cancel %s",
            path.name,
            batch,
            "inside batches" if abort is not None else "between batches",
        )
        return llm

    def _install_checked_decode(self, llm: Any) -> None:
        """Check the cancel token before each batch; map an aborted decode to a cancel."""
        import llama_cpp

        ctx = getattr(llm, "_ctx", None)
        if ctx is None or getattr(ctx, "decode", None) is None:  # pragma: no cover
            log.warning("llama-cpp-python internals changed; prompt cancellation is coarser")
            return

        def checked_decode(batch: Any) -> None:
            token = self._cancel
            if token is not None and token.is_cancelled():
                raise _CancelledError
            code = llama_cpp.llama_decode(ctx.ctx, batch.batch)
            if code == 2:  # aborted by the callback; llama.cpp dropped the partial batch
                raise _CancelledError
            if code != 0:
                raise RuntimeError(f"llama_decode returned {code}")

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
        import llama_cpp

        tokens = self._prompt_tokens(messages)
        with self._run_lock:
            self._apply_adapter()
            sampler = _ChainSampler(llama_cpp, self._llm.n_vocab(), temperature, self._seed)
            try:
                yield from self._run(tokens, sampler, max_tokens, cancel)
            finally:
                sampler.close()

    def structured(
        self,
        messages: Sequence[ChatMessage],
        *,
        schema: Mapping[str, Any] | None = None,
        grammar: str | None = None,
        max_tokens: int,
        cancel: CancelToken,
    ) -> str:
        """Greedy reply under a JSON schema or a GBNF grammar (root rule ``root``).

        See :meth:`app.core.ports.LanguageModel.structured`. ``grammar_checks`` counts how
        often the grammar had to look past the best token.
        """
        gbnf = grammar_for(schema=schema, grammar=grammar)
        self.load()
        import llama_cpp

        tokens = self._prompt_tokens(messages)
        with self._run_lock:
            self._apply_adapter()
            sampler = _GrammarSampler(llama_cpp, self._llm._model.vocab, self._llm.n_vocab(), gbnf)
            try:
                text = "".join(self._run(tokens, sampler, max_tokens, cancel))
            finally:
                self.grammar_checks = dict(sampler.checks)
                sampler.close()
        return text

    def close(self) -> None:
        with self._run_lock:
            self._model.close()
            self._abort = None

    # -- the generation loop --------------------------------------------------------------

    def _prompt_tokens(self, messages: Sequence[ChatMessage]) -> list[int]:
        assert self._format is not None
        return self._format([{"role": m.role, "content": m.content} for m in messages])

    def _run(
        self, tokens: list[int], sampler: _Sampler, max_tokens: int, cancel: CancelToken
    ) -> Iterator[str]:
        """Evaluate the prompt (what the cache lacks), then sample up to ``max_tokens``."""
        import llama_cpp

        llm = self._llm
        if len(tokens) >= self._n_ctx:
            raise LanguageModelError(
                "The conversation no longer fits in the model's context window. "
                "Start a new conversation or choose a larger context in settings.",
                code="context-overflow",
                details=f"{len(tokens)} prompt tokens, context {self._n_ctx}",
            )
        max_tokens = min(max_tokens, self._n_ctx - len(tokens))
        vocab = llm._model.vocab
        ctx = llm._ctx.ctx
        self._cancel = cancel
        self._stats = stats = GenerationStats(prompt_tokens=len(tokens))
        self._reset_counters(llm)
        watcher = self._abort.watch(cancel) if self._abort is not None else None
        started = time.monotonic()
        first: float | None = None
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        try:
            self._apply_threads()
            llm.eval(_uncached_suffix(llm, tokens))
            for index in range(max_tokens):
                if cancel.is_cancelled():
                    break
                token = sampler.sample(ctx)
                if llama_cpp.llama_vocab_is_eog(vocab, token):
                    break
                text = decoder.decode(self._piece(llama_cpp, vocab, token))
                if text:
                    if first is None:
                        first = time.monotonic()
                    yield text
                if cancel.is_cancelled() or index + 1 == max_tokens:
                    break
                self._apply_threads()
                llm.eval([token])
            tail = decoder.decode(b"", final=True)
            if tail and not cancel.is_cancelled():
                yield tail
        except _CancelledError:
            log.info("generation cancelled during evaluation")
        except RuntimeError as exc:
            raise LanguageModelError(
                "The language model failed while generating. The details are in the log.",
                details=repr(exc),
            ) from exc
        finally:
            if watcher is not None:
                watcher.stop()
            self._cancel = None
            ended = time.monotonic()
            self._read_counters(llm, stats)
            stats.prompt_seconds = (first or ended) - started
            stats.generation_seconds = ended - (first or ended)

    def _piece(self, llama_cpp: Any, vocab: Any, token: int) -> bytes:
        piece = self._pieces.get(token)
        if piece is None:
            buffer = ctypes.create_string_buffer(256)
            n = llama_cpp.llama_token_to_piece(vocab, token, buffer, len(buffer), 0, False)
            piece = self._pieces[token] = buffer.raw[: max(0, n)]
        return piece

    def _apply_threads(self) -> None:
        """Hand a changed thread count to llama.cpp (only between two decodes)."""
        wanted = self._threads_wanted
        if self._llm is None or wanted == self._threads_applied:
            return
        self._llm._ctx.set_n_threads(wanted, wanted)
        self._threads_applied = wanted
        log.info("language model now uses %d thread(s)", wanted)

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


def _uncached_suffix(llm: Any, tokens: list[int]) -> list[int]:
    """Keep the longest prefix the KV cache already holds; return what must be evaluated.

    The same rule as llama-cpp-python's ``generate``: at least the last prompt token is
    evaluated again, since its logits are needed to sample.
    """
    cached = int(llm.n_tokens)
    if cached > 0:
        held = llm.input_ids[:cached].tolist()
        shared = 0
        for a, b in zip(held, tokens, strict=False):
            if a != b:
                break
            shared += 1
        if shared == len(tokens):
            shared -= 1
        if shared > 0 and llm._ctx.kv_cache_seq_rm(-1, shared, -1):
            llm.n_tokens = shared
            return tokens[shared:]
    llm.reset()
    return tokens


def chat_formatter(llm: Any) -> Callable[[list[dict[str, str]]], list[int]]:
    """Messages -> prompt tokens with the GGUF's own chat template, as llama-cpp-python does."""
    llama_chat_format: Any = importlib.import_module("llama_cpp.llama_chat_format")
    template = llm.metadata.get("tokenizer.chat_template")
    if not template:
        raise LanguageModelError(
            "This model file has no chat template, so Hearth cannot talk to it. "
            "Choose one of the chat models in settings.",
            code="model-no-template",
        )
    eos, bos = llm.token_eos(), llm.token_bos()
    formatter = llama_chat_format.Jinja2ChatFormatter(
        template=template,
        eos_token=llm._model.token_get_text(eos) if eos != -1 else "",
        bos_token=llm._model.token_get_text(bos) if bos != -1 else "",
        stop_token_ids=[eos],
    )

    def tokens(messages: list[dict[str, str]]) -> list[int]:
        result = formatter(messages=messages)
        ids: list[int] = llm.tokenize(
            result.prompt.encode("utf-8"), add_bos=not result.added_special, special=True
        )
        return ids

    return tokens


# -- cancel inside a batch ----------------------------------------------------------------


class _AbortFlag:
    """A buffer read by a C abort callback: llama.cpp stops a batch once it is flipped.

    The callback is ggml's own ``bool ggml_is_empty(const struct ggml_tensor *)`` pointed
    at a buffer of int64 ones, the first of which are a tensor's dimension sizes; zeroing
    the buffer makes "a dimension is 0" true. The whole buffer is flipped, so the exact
    field offset does not matter, and :meth:`create` checks both answers before use. No
    Python runs inside the backend, so the GIL never stalls a graph.
    """

    WORDS = 32

    def __init__(self, llama_cpp: Any, function: Any) -> None:
        self._buffer = (ctypes.c_int64 * self.WORDS)(*([1] * self.WORDS))
        address = ctypes.cast(function, ctypes.c_void_p).value
        self.callback = llama_cpp.ggml_abort_callback(address)
        self.data = ctypes.cast(self._buffer, ctypes.c_void_p)
        self._function = function
        self._lock = threading.Lock()
        self._generation = 0

    @classmethod
    def create(cls, llama_cpp: Any) -> _AbortFlag | None:
        try:
            from llama_cpp import _ctypes_extensions

            lib_dir = Path(llama_cpp.__file__).parent / "lib"
            ggml = _ctypes_extensions.load_shared_library("ggml-base", lib_dir)
            function = ggml.ggml_is_empty
            function.argtypes = [ctypes.c_void_p]
            function.restype = ctypes.c_bool
            flag = cls(llama_cpp, function)
            idle = bool(function(flag.data))
            flag._raise()
            raised = bool(function(flag.data))
            flag._lower()
            if idle or not raised:
                raise RuntimeError("ggml_is_empty does not read the buffer as expected")
            return flag
        except (AttributeError, OSError, RuntimeError, FileNotFoundError) as exc:
            log.warning("no abort callback (%s); prompts are cancelled between batches", exc)
            return None

    def _raise(self) -> None:
        ctypes.memset(self._buffer, 0, ctypes.sizeof(self._buffer))

    def _lower(self) -> None:
        for i in range(self.WORDS):
            self._buffer[i] = 1

    def watch(self, cancel: CancelToken) -> _Watch:
        """Flip the flag as soon as ``cancel`` is set, until the returned watch is stopped."""
        with self._lock:
            self._generation += 1
            generation = self._generation
            self._lower()
        return _Watch(self, cancel, generation)

    def fire(self, generation: int) -> None:
        with self._lock:
            if generation == self._generation:  # never abort a later generation
                self._raise()

    def end(self, generation: int) -> None:
        with self._lock:
            if generation == self._generation:
                self._generation += 1
                self._lower()


class _Watch:
    def __init__(self, flag: _AbortFlag, cancel: CancelToken, generation: int) -> None:
        self._flag = flag
        self._generation = generation
        self._done = threading.Event()
        self._thread = threading.Thread(
            target=self._wait, args=(cancel,), name="llm-cancel-watch", daemon=True
        )
        self._thread.start()

    def _wait(self, cancel: CancelToken) -> None:
        while not self._done.is_set():
            if cancel.wait(0.05):
                self._flag.fire(self._generation)
                return

    def stop(self) -> None:
        self._done.set()
        self._flag.end(self._generation)


# -- samplers -----------------------------------------------------------------------------


class _ChainSampler:
    """llama-cpp-python's default chat sampling chain, run in C by llama_sampler_sample."""

    def __init__(self, llama_cpp: Any, n_vocab: int, temperature: float, seed: int) -> None:
        self._lib = llama_cpp
        chain = llama_cpp.llama_sampler_chain_init(llama_cpp.llama_sampler_chain_default_params())
        add = llama_cpp.llama_sampler_chain_add
        add(chain, llama_cpp.llama_sampler_init_top_k(TOP_K + PENALTY_LAST_N))
        add(
            chain,
            llama_cpp.llama_sampler_init_penalties(
                n_vocab, PENALTY_LAST_N, REPEAT_PENALTY, 0.0, 0.0
            ),
        )
        if temperature <= 0.0:
            add(chain, llama_cpp.llama_sampler_init_greedy())
        else:
            add(chain, llama_cpp.llama_sampler_init_top_k(TOP_K))
            add(chain, llama_cpp.llama_sampler_init_top_p(TOP_P, 1))
            add(chain, llama_cpp.llama_sampler_init_min_p(MIN_P, 1))
            add(chain, llama_cpp.llama_sampler_init_temp(temperature))
            add(chain, llama_cpp.llama_sampler_init_dist(seed))
        self._chain: Any = chain

    def sample(self, ctx: Any) -> int:
        return int(self._lib.llama_sampler_sample(self._chain, ctx, -1))

    def close(self) -> None:
        if self._chain is not None:
            self._lib.llama_sampler_free(self._chain)
            self._chain = None


class _GrammarSampler:
    """Greedy decoding under a grammar, checking as few tokens as the grammar allows.

    The best token is checked alone first; if the grammar rejects it, every token within
    ``GRAMMAR_WINDOW`` logits of it; only if all of those are rejected, the whole vocabulary
    (~18 ms on Qwen's 152k tokens, which the stock sampler pays at every step). Each stage
    holds every token scoring above the ones it leaves out, so the best allowed token of the
    first stage with any is the best allowed token of all: the same choice as the stock
    sampler's grammar-then-greedy.
    """

    def __init__(self, llama_cpp: Any, vocab: Any, n_vocab: int, gbnf: str) -> None:
        import numpy as np

        self._lib = llama_cpp
        self._np = np
        self._n_vocab = n_vocab
        grammar = llama_cpp.llama_sampler_init_grammar(vocab, gbnf.encode("utf-8"), b"root")
        if not grammar:
            raise LanguageModelError(
                "The grammar for this answer could not be compiled.",
                code="grammar-invalid",
                details=gbnf,
            )
        self._grammar: Any = grammar
        self._dtype = np.dtype([("id", np.int32), ("logit", np.float32), ("p", np.float32)])
        assert self._dtype.itemsize == ctypes.sizeof(llama_cpp.llama_token_data)
        self.checks = {"best": 0, "near": 0, "vocabulary": 0}

    def sample(self, ctx: Any) -> int:
        np = self._np
        pointer = self._lib.llama_get_logits_ith(ctx, -1)
        logits = np.ctypeslib.as_array(pointer, shape=(self._n_vocab,))
        best = int(logits.argmax())
        stages: tuple[tuple[str, Callable[[], Any]], ...] = (
            ("best", lambda: np.array([best])),
            ("near", lambda: np.flatnonzero(logits >= logits[best] - GRAMMAR_WINDOW)),
            ("vocabulary", lambda: np.arange(self._n_vocab)),
        )
        for stage, ids in stages:
            self.checks[stage] += 1
            chosen = ids()
            candidates = np.zeros(len(chosen), dtype=self._dtype)
            candidates["id"] = chosen
            candidates["logit"] = logits[chosen]
            self._apply(candidates)
            allowed = np.isfinite(candidates["logit"])
            if allowed.any():
                index = int(np.argmax(np.where(allowed, candidates["logit"], -np.inf)))
                token = int(candidates["id"][index])
                self._lib.llama_sampler_accept(self._grammar, token)
                return token
        raise LanguageModelError(
            "The grammar allows no token here, so the answer cannot go on.",
            code="grammar-dead-end",
        )

    def _apply(self, candidates: Any) -> None:
        lib = self._lib
        array = lib.llama_token_data_array(
            data=candidates.ctypes.data_as(ctypes.POINTER(lib.llama_token_data)),
            size=len(candidates),
            selected=-1,
            sorted=False,
        )
        lib.llama_sampler_apply(self._grammar, ctypes.byref(array))

    def close(self) -> None:
        if self._grammar is not None:
            self._lib.llama_sampler_free(self._grammar)
            self._grammar = None


# -- JSON schema -> GBNF ------------------------------------------------------------------


def grammar_for(*, schema: Mapping[str, Any] | None, grammar: str | None) -> str:
    """The GBNF text for exactly one of a JSON schema or a GBNF grammar."""
    if (schema is None) == (grammar is None):
        raise ValueError("give exactly one of schema= or grammar=")
    if grammar is not None:
        if not grammar.strip():
            raise ValueError("the grammar is empty")
        return grammar
    assert schema is not None
    from app.core.structured import check_schema

    check_schema(schema)
    return schema_to_gbnf(schema)


def schema_to_gbnf(schema: Mapping[str, Any]) -> str:
    """llama-cpp-python's JSON-schema converter, plus integer ranges and ``\\d`` classes.

    The converter shipped with llama-cpp-python 0.3.x ignores ``minimum``/``maximum`` and
    mangles ``\\d``, ``\\w`` and ``\\s`` in patterns; both are handled here. Keywords with
    no grammar (``multipleOf``, a calendar-valid date...) are left to validation.
    """
    llama_grammar: Any = importlib.import_module("llama_cpp.llama_grammar")
    reserved = llama_grammar.RESERVED_NAMES

    class Converter(llama_grammar.SchemaConverter):  # type: ignore[misc]
        def visit(self, node: Any, name: str) -> Any:
            if isinstance(node, dict):
                if node.get("type") == "integer" and _has_bounds(node):
                    rule = name + "-" if name in reserved else name or "root"
                    low, high = _integer_bounds(node)
                    return self._add_rule(rule, f"({_integer_range(low, high)}) space")
                if isinstance(node.get("pattern"), str):
                    node = {**node, "pattern": _plain_classes(node["pattern"])}
                elif node.get("format") == "date" and node.get("type", "string") == "string":
                    rule = name + "-" if name in reserved else name or "root"
                    for helper, body in _CALENDAR_RULES.items():
                        self._add_rule(helper, body)
                    return self._add_rule(rule, '"\\"" calendar-date "\\"" space')
            return super().visit(node, name)

    converter = Converter(prop_order={}, allow_fetch=False, dotall=False, raw_pattern=False)
    resolved = converter.resolve_refs(json.loads(json.dumps(schema)), "schema")
    converter.visit(resolved, "")
    text: str = converter.format_grammar()
    return text


_CALENDAR_RULES = {
    "calendar-date": 'calendar-year "-" calendar-month-day | calendar-leap-year "-02-29"',
    "calendar-year": (
        "[0-9] [0-9] [0-9] [1-9] | [0-9] [0-9] [1-9] [0-9] | [0-9] [1-9] [0-9] [0-9] "
        "| [1-9] [0-9] [0-9] [0-9]"
    ),
    "calendar-leap-year": '[0-9] [0-9] calendar-by-four | calendar-by-four "00"',
    "calendar-by-four": '[02468] [48] | [2468] "0" | [13579] [26]',
    "calendar-month-day": (
        '("01" | "03" | "05" | "07" | "08" | "10" | "12") "-" (calendar-day | "29" | "30" | "31") '
        '| ("04" | "06" | "09" | "11") "-" (calendar-day | "29" | "30") '
        '| "02-" calendar-day'
    ),
    "calendar-day": '"0" [1-9] | "1" [0-9] | "2" [0-8]',
}
"""``format: date`` as real calendar dates (0001-01-01 to 9999-12-31, Gregorian leap years),
the dates ``datetime.date.fromisoformat`` and JSON-schema validation accept. The converter's
own rule allows 2026-02-31."""

_BOUND_KEYS = ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum")
_INTEGER_LIMIT = 10**15 - 1
"""The converter's own cap: integers have at most 16 digits."""


def _has_bounds(node: Mapping[str, Any]) -> bool:
    return any(isinstance(node.get(key), int | float) for key in _BOUND_KEYS)


def _integer_bounds(node: Mapping[str, Any]) -> tuple[int, int]:
    import math

    low, high = -_INTEGER_LIMIT, _INTEGER_LIMIT
    if isinstance(node.get("minimum"), int | float):
        low = max(low, math.ceil(node["minimum"]))
    if isinstance(node.get("exclusiveMinimum"), int | float):
        low = max(low, math.floor(node["exclusiveMinimum"]) + 1)
    if isinstance(node.get("maximum"), int | float):
        high = min(high, math.floor(node["maximum"]))
    if isinstance(node.get("exclusiveMaximum"), int | float):
        high = min(high, math.ceil(node["exclusiveMaximum"]) - 1)
    if low > high:
        raise ValueError(f"no integer lies between the bounds of {dict(node)}")
    return low, high


def _integer_range(low: int, high: int) -> str:
    """GBNF alternatives matching exactly the decimal integers in [low, high]."""
    parts: list[str] = []
    if low < 0:
        negative = _natural_range(max(1, -high) if high < 0 else 1, -low)
        parts.append('"-" (' + " | ".join(negative) + ")")
    if high >= 0:
        parts.extend(_natural_range(max(0, low), high))
    return " | ".join(parts)


def _natural_range(low: int, high: int) -> list[str]:
    """Alternatives for [low, high] (0 <= low <= high), without leading zeros."""
    out: list[str] = []
    for digits in range(len(str(low)), len(str(high)) + 1):
        start = max(low, 10 ** (digits - 1) if digits > 1 else 0)
        end = min(high, 10**digits - 1)
        if start <= end:
            out.extend(_same_length_range(str(start), str(end)))
    return out


def _same_length_range(low: str, high: str) -> list[str]:
    """Alternatives for the digit strings of one length between ``low`` and ``high``."""
    if low == high:
        return [f'"{low}"']
    if len(low) == 1:
        return [f"[{low}-{high}]"]
    if low[0] == high[0]:
        rest = _same_length_range(low[1:], high[1:])
        return [f'"{low[0]}" ({" | ".join(rest)})']
    width = len(low) - 1
    out: list[str] = []
    first = low[0]
    last = high[0]
    if low[1:] != "0" * width:
        rest = _same_length_range(low[1:], "9" * width)
        out.append(f'"{first}" ({" | ".join(rest)})')
        first = chr(ord(first) + 1)
    if high[1:] != "9" * width:
        tail = _same_length_range("0" * width, high[1:])
        last_part = f'"{last}" ({" | ".join(tail)})'
        last = chr(ord(last) - 1)
    else:
        last_part = ""
    if first <= last:
        head = f'"{first}"' if first == last else f"[{first}-{last}]"
        out.append(head + " [0-9]" * width)
    if last_part:
        out.append(last_part)
    return out


_CLASSES = {"d": "0-9", "w": "A-Za-z0-9_", "s": " \\t\\n\\r"}


def _plain_classes(pattern: str) -> str:
    """``\\d``, ``\\w``, ``\\s`` spelled as bracket classes, which the converter understands."""
    out: list[str] = []
    in_class = False
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if char == "\\" and i + 1 < len(pattern):
            letter = pattern[i + 1]
            if letter in _CLASSES:
                body = _CLASSES[letter]
                out.append(body if in_class else f"[{body}]")
            else:
                out.append(pattern[i : i + 2])
            i += 2
            continue
        if char == "[" and not in_class:
            in_class = True
        elif char == "]" and in_class:
            in_class = False
        out.append(char)
        i += 1
    return "".join(out)
