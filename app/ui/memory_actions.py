"""What the window does with memory: the browser, citations, "Remember this", indexing news."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QWidget

from app.core.documents import IndexReport
from app.core.memory import citation
from app.core.ports import MemoryHit, MemoryRecord
from app.ui.memory_browser import MemoryBrowser
from app.ui.notifications import NotificationArea
from app.ui.source_viewer import SourceViewer
from app.workers.backend import AssistantBackend


class MemoryActions(QObject):
    forgot_everything = Signal()
    """The memory browser's Forget everything finished."""

    def __init__(
        self,
        window: QWidget,
        backend: AssistantBackend,
        notifications: NotificationArea,
        open_conversation: Callable[[str], None],
    ) -> None:
        super().__init__(window)
        self.window = window
        self.backend = backend
        self.notifications = notifications
        self.open_conversation = open_conversation
        self.browser: MemoryBrowser | None = None
        self.source_viewer: SourceViewer | None = None
        service = backend.memory_service
        if service is not None:
            service.index_finished.connect(self._indexed)

    def open(self, *, tab: str = "Memories") -> MemoryBrowser | None:
        service = self.backend.memory_service
        if service is None:
            return None
        if self.browser is None:
            self.browser = MemoryBrowser(service, self.window, find_images=self.backend.find_images)
            self.browser.open_source.connect(self._open_record_source)
            self.browser.open_conversation.connect(self.open_conversation)
            self.browser.forgot_everything.connect(self.forgot_everything.emit)
        browser = self.browser
        for index in range(browser.tabs.count()):
            if browser.tabs.tabText(index) == tab:
                browser.tabs.setCurrentIndex(index)
        browser.show()
        browser.raise_()
        browser.activateWindow()
        return browser

    def open_citation(self, cited: object) -> None:
        """Show where a cited memory came from: the fact, the conversation, or the file."""
        if not isinstance(cited, dict):
            return
        kind = cited.get("kind")
        if kind == "turn" and cited.get("conversation_id"):
            self.open_conversation(str(cited["conversation_id"]))
        elif kind == "document":
            self.source_viewer = SourceViewer(
                str(cited.get("label", "")),
                str(cited.get("path", cited.get("source", ""))),
                str(cited.get("text", "")),
                self.window,
                quote=str(cited.get("quote", "")),
            )
            self.source_viewer.show()
        else:
            browser = self.open()
            if browser is not None:
                wanted = str(cited.get("id", ""))

                def pick() -> None:
                    browser.select(wanted)
                    browser.loaded.disconnect(pick)

                browser.loaded.connect(pick)
                browser.search.clear()
                browser.refresh()

    def _open_record_source(self, record: object) -> None:
        if isinstance(record, MemoryRecord):
            # Shaped like a reply's citation, with the whole text rather than its excerpt.
            self.open_citation({**citation(0, MemoryHit(record, 0.0)), "text": record.text})

    def remember_text(self, text: str, conversation_id: str) -> None:
        """ "Remember this" on a message: keep it as a fact (a failure is shown by the
        default route of every job)."""
        service = self.backend.memory_service
        if service is None or not text.strip():
            return
        job = service.remember(
            text.strip(),
            source=f"conversation:{conversation_id}" if conversation_id else "chat",
            conversation_id=conversation_id,
        )
        job.succeeded.connect(
            lambda _r: self.notifications.show_message(
                "Remembered. Hearth will recall it when it helps.", level="info", timeout_ms=4000
            )
        )

    def _indexed(self, report: object) -> None:
        """Files an indexing run skipped are news even when the browser is closed (the
        start-up run brings folders up to date with nobody watching)."""
        if not isinstance(report, IndexReport) or not report.failed:
            return
        if self.browser is not None and self.browser.isVisible():
            return  # the Folders tab lists them
        count = len(report.failed)
        self.notifications.show_message(
            f"Indexing your folders skipped {count} file{'s' if count != 1 else ''}. "
            "Memory → Browse memory → Folders shows why, and can retry them.",
            details="\n".join(f"{path}: {why}" for path, why in report.failed),
            level="warning",
        )
