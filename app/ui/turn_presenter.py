"""Shows a turn in the chat: the one place that renders a turn's events.

A typed message or a released recording becomes a turn job in the backend; this object puts
the user's words and the streaming reply in the chat, keeps the status bar and the composer
in step, offers the buttons a reply asks for (yes/no, Undo) and queues a message typed while
Hearth is still answering. It decides nothing about the turn itself: the core does.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from PySide6.QtCore import QObject, Signal

from app.core.events import AssistantEvent, EventType
from app.core.images import PreparedImage
from app.core.summary import describe_progress
from app.core.voice import describe_breakdown, voice_breakdown
from app.ui import a11y
from app.ui.chat_view import ChatView, MessageBubble
from app.ui.composer import Composer
from app.ui.notifications import NotificationArea
from app.workers.backend import AssistantBackend
from app.workers.jobs import Job
from app.workers.voice import NOT_HEARD, Recording, VoiceController

log = logging.getLogger(__name__)

QUEUED_HINT = "Sent when this reply ends (Esc stops the reply)."


class TurnHost(Protocol):
    """What the presenter needs from the window around it."""

    @property
    def conversation_id(self) -> str: ...

    def ensure_conversation(self) -> str:
        """The open conversation, created if there is none ("" if that failed)."""
        ...

    def show_status(self, text: str, *, working: bool = False) -> None: ...

    def show_speed(self, text: str, model: str = "") -> None: ...

    def turn_over(self) -> None:
        """A turn ended (the conversation list may have a new title)."""
        ...


@dataclass(slots=True)
class _Queued:
    text: str = ""
    images: Sequence[PreparedImage] = ()
    recording: Recording | None = None


class TurnPresenter(QObject):
    finished = Signal()
    """A turn's last event was rendered (tests and benchmarks wait on it)."""
    rendered = Signal(object)
    """Each AssistantEvent of a turn, once the window has shown it."""

    def __init__(
        self,
        host: TurnHost,
        backend: AssistantBackend,
        chat: ChatView,
        composer: Composer,
        notifications: NotificationArea,
        *,
        voice: VoiceController | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.host = host
        self.backend = backend
        self.chat = chat
        self.composer = composer
        self.notifications = notifications
        self.voice = voice
        self._conversation = ""
        self._spoken = False
        self._events: list[AssistantEvent] = []
        self._tokens = 0
        self._first_token_at = 0.0
        self._summarising = False
        self._user_bubble: MessageBubble | None = None
        self._reply_bubble: MessageBubble | None = None
        self._queued: _Queued | None = None
        self.on_memory_changed: Callable[[], None] = lambda: None

    @property
    def busy(self) -> bool:
        return self.backend.turn is not None

    @property
    def conversation(self) -> str:
        """The conversation of the turn in flight ("" when none)."""
        return self._conversation if self.busy else ""

    def _showing(self) -> bool:
        return self._conversation == self.host.conversation_id

    # -- starting turns ------------------------------------------------------------------------

    def send(self, text: str, images: Sequence[PreparedImage] = ()) -> bool:
        """A typed message (False: it could not be sent, the text is back in the composer)."""
        self.composer.show_hint("")
        if self.busy:
            self._queue(_Queued(text, images))
            return True
        conversation = self.host.ensure_conversation()
        if not conversation:
            self.composer.input.setPlainText(text)
            return False
        self._begin(conversation, spoken=False)
        bubble = self.chat.add_message("user", text)
        if images:
            bubble.add_images([(i.name, i.png) for i in images])
        self._user_bubble = bubble
        self._reply_bubble = self.chat.start_reply()
        self._watch(self.backend.send(conversation, text, images))
        self.host.show_status("Thinking…")
        return True

    def speak(self, recording: object) -> None:
        """A released push-to-talk: the whole spoken turn runs in the core."""
        if not isinstance(recording, Recording):
            return
        self.composer.show_hint("")
        if self.busy:  # push-to-talk interrupted it; answer once it has stopped
            self._queue(_Queued(recording=recording))
            return
        conversation = self.host.ensure_conversation()
        if not conversation:
            return
        self._begin(conversation, spoken=True)
        self._watch(self.backend.voice_turn(conversation, recording))
        self.host.show_status("Transcribing…", working=True)

    def _queue(self, item: _Queued) -> None:
        self._queued = item
        if item.recording is None:
            self.composer.show_hint(QUEUED_HINT)

    def _begin(self, conversation: str, *, spoken: bool) -> None:
        self._conversation = conversation
        self._spoken = spoken
        self._events = []
        self._tokens = 0
        self._first_token_at = 0.0
        self._summarising = False
        self._user_bubble = self._reply_bubble = None
        if self.voice is not None:
            self.voice.answering = True

    def _watch(self, job: Job) -> None:
        job.progress.connect(self._on_event)
        job.finished.connect(self._over)
        self.composer.set_busy(True)

    def stop(self) -> None:
        """Esc, the Stop button or push-to-talk: stop writing and speaking (what came stays)."""
        if self.voice is not None:
            self.voice.stop_speaking()
        if self.busy:
            self.backend.stop()
            self.host.show_status("Stopping…")

    def leave(self) -> None:
        """The user switched to another conversation: stop the reply there, drop the queue."""
        self._queued = None
        if self.busy:
            self.stop()
            self.chat.finish_reply("Stopped", drop_if_empty=True)
            self._reply_bubble = None

    # -- rendering events ---------------------------------------------------------------------

    def _on_event(self, event: object) -> None:
        if not isinstance(event, AssistantEvent):
            return
        self._events.append(event)
        handler = getattr(self, "_on_" + event.type.value.replace("-", "_"), None)
        if handler is not None:
            handler(event)
        self.rendered.emit(event)

    def _on_transcript(self, event: AssistantEvent) -> None:
        if event.data.get("heard_nothing"):
            self.composer.show_hint(NOT_HEARD)
            self.host.show_status("Nothing heard")
            return
        if self._showing():
            self._user_bubble = self.chat.add_message("user", str(event.data.get("text", "")))
            self._reply_bubble = self.chat.start_reply()
        self.host.show_status("Thinking…")

    def _on_images_reading(self, event: AssistantEvent) -> None:
        total = int(event.data.get("total", 1))
        index = int(event.data.get("index", 0)) + 1
        self.host.show_status(
            f"Reading image {index} of {total}…" if total > 1 else "Reading the image…",
            working=True,
        )

    def _on_images_read(self, event: AssistantEvent) -> None:
        self.host.show_status("Thinking…")
        if self._showing() and self._user_bubble is not None:
            self._user_bubble.set_image_texts(
                [str(t) for t in event.data.get("texts", [])],
                [list(tags) for tags in event.data.get("looks_like", [])],
            )

    def _on_recalled(self, event: AssistantEvent) -> None:
        count = int(event.data.get("count", 0))
        self.host.show_status(f"Thinking… (recalled {count} memor{'y' if count == 1 else 'ies'})")

    def _on_citations(self, event: AssistantEvent) -> None:
        if self._showing() and self._reply_bubble is not None:
            citations = event.data.get("citations", [])
            self._reply_bubble.set_citations([dict(c) for c in citations if isinstance(c, dict)])

    def _on_grounded(self, event: AssistantEvent) -> None:
        if self._showing() and self._reply_bubble is not None:
            self._reply_bubble.set_grounding(
                str(event.data.get("quote", "")),
                int(event.data.get("n", 0) or 0),
                str(event.data.get("label", "")),
                general=bool(event.data.get("general")),
                trimmed=bool(event.data.get("trimmed")),
            )

    def _on_kept(self, event: AssistantEvent) -> None:
        if self._showing() and self._reply_bubble is not None:
            self._reply_bubble.set_kept(
                bool(event.data.get("kept")),
                str(event.data.get("reason", "")),
                int(event.data.get("secrets", 0) or 0),
            )
        if event.data.get("kept"):
            self.on_memory_changed()

    def _on_confirm(self, event: AssistantEvent) -> None:
        if self._showing() and self._reply_bubble is not None:
            self._reply_bubble.ask_to_confirm(
                str(event.data.get("yes", "Yes")), str(event.data.get("no", "No"))
            )

    def _on_action(self, event: AssistantEvent) -> None:
        if event.data.get("handler") == "memory":
            self.on_memory_changed()
        undo = str(event.data.get("undo", ""))
        bubble = self._reply_bubble
        if undo and self._showing() and bubble is not None:
            bubble.offer_undo()
            bubble.undo_requested.connect(lambda: self._undo(undo))

    def _undo(self, key: str) -> None:
        job = self.backend.undo(key)
        job.succeeded.connect(
            lambda message: self.notifications.show_message(
                str(message), level="info", timeout_ms=5000
            )
        )

    def _on_summary_progress(self, event: AssistantEvent) -> None:
        """ "Summarising section 3 of 14 …" in the status bar and under the reply."""
        self._summarising = True
        text = describe_progress(event.data)
        self.host.show_status(text, working=True)
        if self._showing() and self._reply_bubble is not None:
            self._reply_bubble.set_footer(text)

    def _on_model_loading(self, event: AssistantEvent) -> None:
        self.host.show_status(f"Loading {event.data.get('model', 'model')}…", working=True)

    def _on_prompt_ready(self, event: AssistantEvent) -> None:
        dropped = int(event.data.get("dropped_messages", 0))
        self.host.show_status(
            f"Thinking… ({dropped} older messages left out to fit the context)"
            if dropped
            else "Thinking…"
        )

    def _on_token(self, event: AssistantEvent) -> None:
        self._tokens += 1
        now = time.monotonic()
        if self._tokens == 1:
            self._first_token_at = now
            self.host.show_status("Answering…")
        elif now > self._first_token_at and not self._summarising:  # a summary comes in bursts
            rate = (self._tokens - 1) / (now - self._first_token_at)
            self.host.show_speed(f"{rate:.1f} tok/s")
        if self._showing():
            self.chat.append_to_reply(str(event.data.get("text", "")))

    def _on_speaking(self, _event: AssistantEvent) -> None:
        if len([e for e in self._events if e.type is EventType.SPEAKING]) == 1:
            self._show_timings()

    def _on_stats(self, event: AssistantEvent) -> None:
        rate = float(event.data.get("tokens_per_second", 0.0))
        model = str(event.data.get("model", ""))
        self.host.show_speed(f"{rate:.1f} tok/s" if rate else "", model)  # none: no speed

    def _on_notice(self, event: AssistantEvent) -> None:
        self.notifications.show_message(
            str(event.data.get("message", "")),
            details=f"[{event.data.get('code', '')}]\n{event.data.get('details', '')}",
            level="warning",
            timeout_ms=10000,
        )

    def _on_error(self, event: AssistantEvent) -> None:
        self.notifications.show_message(
            str(event.data.get("message", "Something went wrong.")),
            details=f"[{event.data.get('code', '')}]\n{event.data.get('details', '')}",
        )

    def _on_turn_end(self, event: AssistantEvent) -> None:
        cancelled = bool(event.data.get("cancelled"))
        failed = bool(event.data.get("failed"))
        if self._showing() and self._reply_bubble is not None:
            footer = "Stopped" if cancelled else ("Failed" if failed else "")
            if any(e.type is EventType.SUMMARY_PROGRESS for e in self._events):
                self._reply_bubble.set_footer("")  # the progress shown there is over
            spoken = describe_breakdown(voice_breakdown(self._events))
            if spoken and not footer:
                footer = spoken.split(" (")[0]
            kept = event.data.get("reply")
            bubble = self._reply_bubble
            self.chat.finish_reply(
                footer, drop_if_empty=True, text=kept if isinstance(kept, str) and kept else None
            )
            if bubble.text.strip():
                # Once, whole, when the screen reader is free: not a token at a time (the
                # reply's text has a fixed accessible name, so its changes are not read out).
                said = f"Hearth: {bubble.text}" + (f" ({footer})" if footer else "")
                a11y.announce(bubble.body, said)
        self._reply_bubble = None
        heard_nothing = any(
            e.type is EventType.TRANSCRIPT and e.data.get("heard_nothing") for e in self._events
        )
        if not heard_nothing:
            self.host.show_status("Stopped" if cancelled else ("Ready" if not failed else "Error"))

    def _show_timings(self) -> None:
        summary = describe_breakdown(voice_breakdown(self._events))
        bubble = self._reply_bubble
        if bubble is not None and summary:
            bubble.set_footer(summary.split(" (")[0])
            bubble.footer.setToolTip(summary)
            log.info("voice turn: %s", summary)

    def _over(self) -> None:
        if self.voice is not None:
            self.voice.answering = False
        self.composer.set_busy(False)
        self.host.turn_over()
        self.finished.emit()
        queued, self._queued = self._queued, None
        if queued is not None:
            if queued.recording is not None:
                self.speak(queued.recording)
            else:
                self.composer.show_hint("")
                self.send(queued.text, queued.images)

    @property
    def events(self) -> tuple[AssistantEvent, ...]:
        """The events of the last (or current) turn, in order."""
        return tuple(self._events)

    def timings(self) -> dict[str, float]:
        """The stage breakdown of the last voice turn (see app.core.voice.voice_breakdown)."""
        return voice_breakdown(self._events)
