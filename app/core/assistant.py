"""One turn of conversation, from the user's text to a stored reply, as a stream of events."""

from __future__ import annotations

import logging
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from app.core.cancel import CancelToken
from app.core.errors import AssistantError, InternalError
from app.core.events import AssistantEvent, EventCallback, EventType
from app.core.images import images_meta
from app.core.memory import (
    Memory,
    Recalled,
    citation,
    confirmation,
    describe_source,
    forget_intent,
    forget_label,
    remember_intent,
    remembered,
)
from app.core.ports import (
    Attachment,
    ChatMessage,
    ConversationStore,
    LanguageModel,
    MemoryHit,
)
from app.core.prompt import plan_prompt

log = logging.getLogger(__name__)

DEFAULT_SYSTEM_PROMPT = (
    "You are Hearth, a helpful assistant running entirely on the user's own computer. "
    "Answer clearly and concisely. Use Markdown for lists and code."
)
TITLE_LENGTH = 48


class EmptyMessageError(AssistantError):
    code = "empty"


@dataclass(frozen=True, slots=True)
class AssistantConfig:
    system_prompt: str = DEFAULT_SYSTEM_PROMPT
    max_reply_tokens: int = 512
    """Upper bound of one reply; also reserved out of the context window."""
    temperature: float = 0.2
    drop_step: int = 6
    """History is dropped in blocks of this many messages (see app.core.prompt)."""
    memory_tokens: int = 300
    """Most prompt space recalled memories may take."""
    use_memory: bool = True
    """Recall memories and keep turns (remember/forget requests work either way)."""
    remember_turns: bool = True
    """Keep each answered turn in memory (off for one-off questions from the command line)."""


@dataclass(slots=True)
class TurnResult:
    reply: str = ""
    cancelled: bool = False
    error: AssistantError | None = None
    stats: dict[str, float] = field(default_factory=dict)


class Assistant:
    """Runs turns against a language model and a conversation store.

    ``turn`` is meant to run on a worker thread; it reports through ``on_event`` only and
    returns when the turn is over. The language model can be swapped between turns.
    """

    def __init__(
        self,
        llm: LanguageModel,
        store: ConversationStore,
        config: AssistantConfig | None = None,
        memory: Memory | None = None,
    ) -> None:
        self._llm = llm
        self._store = store
        self.config = config or AssistantConfig()
        self.memory = memory
        """Personal memory: recall in every turn, "remember that ..." and "forget ..."."""
        self._pending_forget: dict[str, list[MemoryHit]] = {}

    @property
    def llm(self) -> LanguageModel:
        return self._llm

    def set_language_model(self, llm: LanguageModel) -> LanguageModel:
        """Use ``llm`` from the next turn on; returns the previous model (caller closes it)."""
        old, self._llm = self._llm, llm
        return old

    def turn(
        self,
        conversation_id: str,
        user_text: str,
        on_event: EventCallback,
        cancel: CancelToken | None = None,
        attachments: Sequence[Attachment] = (),
    ) -> TurnResult:
        cancel = cancel or CancelToken()
        result = TurnResult()
        llm = self._llm
        started = time.monotonic()

        def emit(kind: EventType, **data: object) -> None:
            try:
                on_event(AssistantEvent(kind, data))
            except Exception:  # a broken listener must not break the turn
                log.exception("event listener failed on %s", kind)

        emit(EventType.TURN_START, conversation_id=conversation_id, user_text=user_text)
        try:
            if not user_text.strip() and not attachments:
                raise EmptyMessageError("There is nothing to answer: the message is empty.")
            history = [
                ChatMessage(m.role, _with_context(m.content, m.meta.get("context")))
                for m in self._store.messages(conversation_id)
                if m.content.strip() and m.role in ("user", "assistant")
            ]
            context = "\n\n".join(a.context() for a in attachments)
            meta: dict[str, object] = {}
            if attachments:
                meta = {"context": context, "images": images_meta(attachments)}
            # The user's words are stored before anything can fail: they are never lost.
            self._store.add_message(conversation_id, "user", user_text, meta)
            self._name_conversation(conversation_id, user_text)

            direct = self._memory_request(conversation_id, user_text, emit)
            if direct is not None:
                result.reply = direct
                emit(EventType.TOKEN, text=direct)
                self._store.add_message(
                    conversation_id, "assistant", direct, {"memory_request": True}
                )
                return result

            if not llm.loaded:
                emit(EventType.MODEL_LOADING, model=llm.name)
                llm.load()
            if cancel.is_cancelled():
                result.cancelled = True
                return result

            recalled = self._recall(conversation_id, user_text, llm, emit)
            prompt_context = "\n\n".join(c for c in (context, recalled.context()) if c)
            overhead = llm.message_overhead()
            plan = plan_prompt(
                self.config.system_prompt,
                history,
                _with_context(user_text, prompt_context),
                budget=max(64, llm.context_size - self.config.max_reply_tokens),
                count=lambda m: llm.count_tokens(m.content) + overhead,
                drop_step=self.config.drop_step,
            )
            emit(
                EventType.PROMPT_READY,
                messages=len(plan.messages),
                dropped_messages=plan.dropped_messages,
                prompt_tokens=plan.prompt_tokens,
                user_truncated=plan.user_truncated,
            )

            pieces: list[str] = []
            first_token_at: float | None = None
            prompt_started = time.monotonic()
            for piece in llm.stream(
                plan.messages,
                max_tokens=self.config.max_reply_tokens,
                temperature=self.config.temperature,
                cancel=cancel,
            ):
                if cancel.is_cancelled():
                    break
                if first_token_at is None:
                    first_token_at = time.monotonic()
                pieces.append(piece)
                emit(EventType.TOKEN, text=piece)
            finished = time.monotonic()
            result.reply = "".join(pieces)
            result.cancelled = cancel.is_cancelled()

            gen = llm.last_stats
            stats: dict[str, float] = {
                "time_to_first_token": (first_token_at or finished) - started,
                "prompt_seconds": (first_token_at or finished) - prompt_started,
                "prompt_tokens": gen.prompt_tokens,
                "prompt_tokens_evaluated": gen.prompt_tokens_evaluated,
                "generated_tokens": gen.generated_tokens or len(pieces),
                "tokens_per_second": _rate(len(pieces), first_token_at, finished),
                "total_seconds": finished - started,
                "dropped_messages": plan.dropped_messages,
            }
            result.stats = stats
            cited = recalled.cited_by(result.reply, user_text)
            citations = [citation(n, hit) for n, hit in cited]
            if result.reply.strip():
                reply_meta: dict[str, object] = {"model": llm.name, "stats": stats}
                if result.cancelled:
                    reply_meta["cancelled"] = True
                if citations:
                    reply_meta["citations"] = citations
                stored = self._store.add_message(
                    conversation_id, "assistant", result.reply, reply_meta
                )
                if not result.cancelled:
                    self._remember_turn(conversation_id, stored.id, user_text, result.reply, cited)
            if citations:
                emit(EventType.CITATIONS, citations=citations)
            emit(EventType.STATS, **stats)
        except AssistantError as exc:
            log.warning("turn failed: %s (%s)\n%s", exc.message, exc.code, exc.details)
            result.error = exc
            emit(EventType.ERROR, code=exc.code, message=exc.message, details=exc.details)
        except Exception as exc:
            log.exception("unexpected failure in a turn")
            err = InternalError(
                "Something went wrong while answering. The details are in the log file.",
                details="".join(traceback.format_exception(exc)),
            )
            result.error = err
            emit(EventType.ERROR, code=err.code, message=err.message, details=err.details)
        finally:
            emit(
                EventType.TURN_END,
                reply=result.reply,
                cancelled=result.cancelled or cancel.is_cancelled(),
                failed=result.error is not None,
            )
        return result

    # -- memory ------------------------------------------------------------------------------

    def _memory_request(
        self, conversation_id: str, text: str, emit: Callable[..., None]
    ) -> str | None:
        """Handle "remember that ...", "forget ..." and the yes/no that confirms a forget; the
        reply is returned (None: an ordinary turn)."""
        memory = self.memory
        if memory is None:
            if remember_intent(text) is not None:
                return "I can't keep memories here, so I have not remembered that."
            if forget_intent(text) is not None:
                return "I can't reach my memories here, so I have not forgotten anything."
            return None
        pending = self._pending_forget.pop(conversation_id, None)
        if pending:
            answer = confirmation(text)
            if answer is True:
                memory.forget_records([h.record for h in pending])
                emit(
                    EventType.MEMORY,
                    action="forgotten",
                    ids=[h.record.id for h in pending],
                    texts=[h.record.text for h in pending],
                )
                return "Done. I have forgotten it."
            if answer is False:
                emit(EventType.MEMORY, action="kept", ids=[h.record.id for h in pending])
                return "All right, I kept it."
        fact = remember_intent(text)
        if fact is not None:
            record = memory.remember_fact(fact, conversation_id=conversation_id)
            emit(EventType.MEMORY, action="remembered", ids=[record.id], texts=[record.text])
            return remembered(fact)
        what = forget_intent(text)
        if what is not None:
            hits = memory.find_to_forget(what)
            if not hits:
                return f"I don't remember anything about “{what}”."
            self._pending_forget[conversation_id] = hits
            emit(
                EventType.MEMORY,
                action="confirm-forget",
                ids=[h.record.id for h in hits],
                texts=[h.record.text for h in hits],
            )
            listing = "\n".join(f"- {forget_label(h.record)}" for h in hits)
            return (
                f"Should I forget this?\n\n{listing}\n\n"
                "Say **yes** to forget it or **no** to keep it."
            )
        return None

    def _recall(
        self, conversation_id: str, text: str, llm: LanguageModel, emit: Callable[..., None]
    ) -> Recalled:
        if self.memory is None or not self.config.use_memory:
            return Recalled(())
        try:
            recalled = self.memory.recall(
                text,
                count_tokens=llm.count_tokens,
                budget_tokens=self.config.memory_tokens,
                exclude_conversation=conversation_id,
            )
        except AssistantError as exc:  # a broken memory costs the recall, not the answer
            log.warning("recall failed: %s\n%s", exc.message, exc.details)
            return Recalled(())
        if recalled.hits:
            emit(
                EventType.RECALLED,
                count=len(recalled.hits),
                labels=[describe_source(h.record) for h in recalled.hits],
            )
        return recalled

    def _remember_turn(
        self,
        conversation_id: str,
        message_id: int,
        question: str,
        reply: str,
        cited: Sequence[tuple[int, MemoryHit]],
    ) -> None:
        if self.memory is None or not (self.config.use_memory and self.config.remember_turns):
            return
        conv = self._store.get_conversation(conversation_id)
        try:
            self.memory.remember_turn(
                conversation_id,
                conv.title if conv else "",
                message_id,
                question,
                reply,
                cites=[hit.record.id for _, hit in cited],
            )
        except AssistantError as exc:
            log.warning("turn not kept in memory: %s\n%s", exc.message, exc.details)

    def _name_conversation(self, conversation_id: str, user_text: str) -> None:
        conv = self._store.get_conversation(conversation_id)
        if conv is not None and not conv.title.strip():
            self._store.rename_conversation(conversation_id, make_title(user_text))


def _with_context(text: str, context: object) -> str:
    """The user's words with what Hearth found in their attachments placed before them."""
    if not isinstance(context, str) or not context.strip():
        return text
    return f"{context}\n\n{text}"


def make_title(text: str) -> str:
    """A short one-line title from the first words of a message."""
    line = " ".join(text.split())
    if len(line) <= TITLE_LENGTH:
        return line or "New conversation"
    cut = line[:TITLE_LENGTH].rsplit(" ", 1)[0] or line[:TITLE_LENGTH]
    return cut + "…"


def _rate(count: int, first: float | None, last: float) -> float:
    if first is None or count < 2 or last <= first:
        return 0.0
    return (count - 1) / (last - first)
