"""The agenda window (Ctrl+Shift+A): the calendar by day or week, and the pending timers and
reminders, each listed, editable and deletable.

It reads the same SQLite file as the tools, so what a spoken command or `hearth ask` changed
shows within two seconds. Deleting asks first in a bar inside the window (never a modal box),
and what was deleted can be put back with Undo.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import date, datetime, timedelta
from pathlib import Path

from PySide6.QtCore import QDate, QDateTime, Qt, QTimer, Signal
from PySide6.QtGui import QFont, QTextCharFormat
from PySide6.QtWidgets import (
    QCalendarWidget,
    QComboBox,
    QDateTimeEdit,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QTabWidget,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.core.errors import AssistantError
from app.core.tools.alarm_tools import describe_line
from app.core.tools.alarms import Alarm
from app.core.tools.calendar import Occurrence
from app.core.tools.calendar_tools import day_words, span
from app.ui import shortcuts
from app.workers.alarms import AlarmScheduler

log = logging.getLogger(__name__)

REFRESH_MS = 2000


class ConfirmBar(QWidget):
    """ "Delete “Dentist”?  [Delete] [Keep]": the question a destructive action asks first,
    inside the window; then "Deleted “Dentist”.  [Undo]"."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.label = QLabel()
        self.label.setWordWrap(True)
        self.yes = QPushButton()
        self.no = QPushButton("Keep")
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.label, 1)
        row.addWidget(self.yes)
        row.addWidget(self.no)
        self._on_yes: Callable[[], None] | None = None
        self.yes.clicked.connect(self._yes)
        self.no.clicked.connect(self.hide)
        self.hide()

    def ask(self, question: str, verb: str, then: Callable[[], None]) -> None:
        self.label.setText(question)
        self.yes.setText(verb)
        self.no.setText("Keep")
        self.no.show()
        self._on_yes = then
        self.show()
        self.yes.setFocus()

    def tell(self, text: str, undo: Callable[[], None] | None = None) -> None:
        self.label.setText(text)
        self._on_yes = undo
        self.yes.setText("Undo")
        self.yes.setVisible(undo is not None)
        self.no.setText("Close")
        self.show()

    def _yes(self) -> None:
        then, self._on_yes = self._on_yes, None
        self.hide()
        if then is not None:
            then()


class AgendaWindow(QWidget):
    changed = Signal()
    """The calendar or the alarms were changed here."""

    def __init__(self, alarms: AlarmScheduler, parent: QWidget | None = None) -> None:
        super().__init__(parent, Qt.WindowType.Window)
        self.alarms = alarms
        self.calendar = alarms.calendar
        self.setWindowTitle("Hearth agenda")
        self.resize(760, 520)
        self.tabs = QTabWidget()
        self.tabs.addTab(self._calendar_tab(), "Calendar")
        self.tabs.addTab(self._reminders_tab(), "Reminders")
        layout = QVBoxLayout(self)
        layout.addWidget(self.tabs)
        self._opened = False
        self._timer = QTimer(self)
        self._timer.setInterval(REFRESH_MS)
        self._timer.timeout.connect(self.refresh)
        alarms.changed.connect(self.refresh)
        alarms.rang.connect(lambda _fired: self.refresh())
        shortcuts.shortcut(self, "Close the window", self.close)
        shortcuts.shortcut(self, "Delete the selected entry", self._delete_current)

    # -- calendar -----------------------------------------------------------------------------

    def _calendar_tab(self) -> QWidget:
        page = QWidget()
        self.month = QCalendarWidget()
        self.month.setGridVisible(False)
        self.month.setFirstDayOfWeek(Qt.DayOfWeek.Monday)
        self.month.setAccessibleName("Choose a day")
        self.month.selectionChanged.connect(self.refresh_events)
        self.month.currentPageChanged.connect(lambda _y, _m: self._mark_busy_days())
        self.span = QComboBox()
        self.span.addItems(["Day", "Week"])
        self.span.setAccessibleName("Show a day or a week")
        self.span.currentIndexChanged.connect(self.refresh_events)
        today = QPushButton("Today")
        today.clicked.connect(self.show_today)
        self.heading = QLabel()
        font = QFont(self.heading.font())
        font.setBold(True)
        self.heading.setFont(font)
        self.events = QListWidget()
        self.events.setAccessibleName("Events")
        self.events.setAlternatingRowColors(True)
        self.delete_event_button = QPushButton("Delete…")
        self.delete_event_button.clicked.connect(self.delete_selected_event)
        self.import_button = QPushButton("Import .ics…")
        self.import_button.clicked.connect(self._choose_import)
        self.export_button = QPushButton("Export .ics…")
        self.export_button.clicked.connect(self._choose_export)
        self.calendar_bar = ConfirmBar()
        top = QHBoxLayout()
        top.addWidget(self.heading, 1)
        top.addWidget(today)
        top.addWidget(self.span)
        buttons = QHBoxLayout()
        buttons.addWidget(self.delete_event_button)
        buttons.addStretch(1)
        buttons.addWidget(self.import_button)
        buttons.addWidget(self.export_button)
        right = QVBoxLayout()
        right.addLayout(top)
        right.addWidget(self.events, 1)
        right.addWidget(self.calendar_bar)
        right.addLayout(buttons)
        row = QHBoxLayout(page)
        row.addWidget(self.month)
        row.addLayout(right, 1)
        return page

    def show_today(self) -> None:
        today = self.calendar.clock.now().date()
        self.month.setSelectedDate(QDate(today.year, today.month, today.day))
        self.refresh_events()

    def selected_days(self) -> tuple[date, date]:
        chosen = self.month.selectedDate().toPython()
        assert isinstance(chosen, date)
        if self.span.currentText() == "Week":
            monday = chosen - timedelta(days=chosen.weekday())
            return monday, monday + timedelta(days=6)
        return chosen, chosen

    def refresh_events(self) -> None:
        first, last = self.selected_days()
        zone = self.calendar.clock.zone
        today = self.calendar.clock.now().date()
        start = datetime(first.year, first.month, first.day, tzinfo=zone)
        end = datetime(last.year, last.month, last.day, tzinfo=zone) + timedelta(days=1)
        try:
            found = self.calendar.occurrences(start, end)
        except AssistantError as exc:
            self.calendar_bar.tell(exc.message)
            found = []
        if first == last:
            self.heading.setText(
                day_words(first, today).capitalize()
                if first == today
                else f"{first:%A} {first.day} {first:%B %Y}"
            )
        else:
            self.heading.setText(f"Week of {first:%A} {first.day} {first:%B %Y}")
        self.events.clear()
        for occurrence in found:
            local = occurrence.start.astimezone(zone)
            when = span(occurrence, zone)
            if first != last:
                when = f"{local:%a} {local.day}  {when}"
            extra = []
            if occurrence.event.location:
                extra.append(occurrence.event.location)
            if occurrence.event.repeat:
                extra.append("repeats")
            tail = f"  ({', '.join(extra)})" if extra else ""
            item = QListWidgetItem(f"{when}   {occurrence.title}{tail}")
            item.setData(Qt.ItemDataRole.UserRole, occurrence)
            self.events.addItem(item)
        if not found:
            empty = QListWidgetItem("Nothing in your calendar.")
            empty.setFlags(Qt.ItemFlag.NoItemFlags)
            self.events.addItem(empty)
        else:
            self.events.setCurrentRow(0)
        self.delete_event_button.setEnabled(bool(found))
        self._mark_busy_days()

    def _mark_busy_days(self) -> None:
        """Days of the shown month with an event are bold."""
        year, month = self.month.yearShown(), self.month.monthShown()
        zone = self.calendar.clock.zone
        first = datetime(year, month, 1, tzinfo=zone) - timedelta(days=7)
        last = first + timedelta(days=50)
        self.month.setDateTextFormat(QDate(), QTextCharFormat())  # clears every day
        bold = QTextCharFormat()
        bold.setFontWeight(QFont.Weight.Bold)
        try:
            found = self.calendar.occurrences(first, last)
        except AssistantError:
            return
        for occurrence in found:
            day = occurrence.start.astimezone(zone).date()
            self.month.setDateTextFormat(QDate(day.year, day.month, day.day), bold)

    def selected_occurrence(self) -> Occurrence | None:
        item = self.events.currentItem()
        found = item.data(Qt.ItemDataRole.UserRole) if item is not None else None
        return found if isinstance(found, Occurrence) else None

    def delete_selected_event(self) -> None:
        occurrence = self.selected_occurrence()
        if occurrence is None:
            return
        event = occurrence.event
        every = " and every time it repeats" if event.repeat else ""

        def delete() -> None:
            self.calendar.remove([event])
            self.refresh_events()
            self.changed.emit()

            def undo() -> None:
                self.calendar.put([event])
                self.refresh_events()
                self.changed.emit()

            self.calendar_bar.tell(f"Deleted “{event.title}”.", undo)

        self.calendar_bar.ask(f"Delete “{event.title}”{every}?", "Delete", delete)

    def _choose_import(self) -> None:
        name, _ = QFileDialog.getOpenFileName(
            self, "Import a calendar", "", "Calendar files (*.ics);;All files (*)"
        )
        if name:
            self.import_file(name)

    def import_file(self, name: str) -> None:
        path = Path(name)
        try:
            added, skipped = self.calendar.import_file(path)
        except AssistantError as exc:
            self.calendar_bar.tell(exc.message)
            return
        note = (
            f" ({skipped} part{'s' if skipped != 1 else ''} could not be read)" if skipped else ""
        )
        self.calendar_bar.tell(f"Imported {len(added)} events from {path.name}{note}.")
        self.refresh_events()
        self.changed.emit()

    def _choose_export(self) -> None:
        name, _ = QFileDialog.getSaveFileName(
            self, "Export the calendar", "hearth.ics", "Calendar files (*.ics)"
        )
        if name:
            self.export_file(name)

    def export_file(self, name: str) -> None:
        try:
            self.calendar.export_file(Path(name))
        except AssistantError as exc:
            self.calendar_bar.tell(exc.message)
            return
        self.calendar_bar.tell(f"Exported the calendar to {name}.")

    # -- reminders ----------------------------------------------------------------------------

    def _reminders_tab(self) -> QWidget:
        page = QWidget()
        self.reminders = QTreeWidget()
        self.reminders.setHeaderLabels(["What", "When", "Repeats"])
        self.reminders.setRootIsDecorated(False)
        self.reminders.setAccessibleName("Timers and reminders")
        self.reminders.setColumnWidth(0, 320)
        self.reminders.setColumnWidth(1, 220)
        self.reminders.currentItemChanged.connect(lambda *_: self._fill_editor())
        self.edit_text = QLineEdit()
        self.edit_text.setAccessibleName("Reminder text")
        self.edit_due = QDateTimeEdit()
        self.edit_due.setCalendarPopup(True)
        self.edit_due.setDisplayFormat("ddd d MMM yyyy HH:mm")
        self.edit_due.setAccessibleName("When it rings")
        self.save_button = QPushButton("Save")
        self.save_button.clicked.connect(self.save_selected_alarm)
        self.delete_alarm_button = QPushButton("Delete…")
        self.delete_alarm_button.clicked.connect(self.delete_selected_alarm)
        self.reminders_bar = ConfirmBar()
        self.empty = QLabel(
            "No timers or reminders are set. Say “remind me to …” or “set a timer for …”."
        )
        self.empty.setWordWrap(True)
        form = QFormLayout()
        form.addRow("Text", self.edit_text)
        form.addRow("Rings", self.edit_due)
        buttons = QHBoxLayout()
        buttons.addWidget(self.save_button)
        buttons.addWidget(self.delete_alarm_button)
        buttons.addStretch(1)
        layout = QVBoxLayout(page)
        layout.addWidget(self.reminders, 1)
        layout.addWidget(self.empty)
        layout.addLayout(form)
        layout.addWidget(self.reminders_bar)
        layout.addLayout(buttons)
        return page

    def refresh_reminders(self) -> None:
        chosen = self.selected_alarm()
        try:
            alarms = self.alarms.book.active()
        except AssistantError as exc:
            self.reminders_bar.tell(exc.message)
            alarms = []
        book = self.alarms.book
        zone = book.clock.zone
        self.reminders.blockSignals(True)
        self.reminders.clear()
        for alarm in alarms:
            line = describe_line(book, alarm)
            what, _, when = line.partition(": ")
            if alarm.kind == "reminder":
                when = when.removesuffix(", repeating") or f"{alarm.local_due(zone):%H:%M}"
            item = QTreeWidgetItem([what, when, "yes" if alarm.repeat else ""])
            item.setData(0, Qt.ItemDataRole.UserRole, alarm.id)
            self.reminders.addTopLevelItem(item)
            if chosen is not None and alarm.id == chosen.id:
                self.reminders.setCurrentItem(item)
        self.reminders.blockSignals(False)
        first = self.reminders.topLevelItem(0)
        if self.reminders.currentItem() is None and first is not None:
            self.reminders.setCurrentItem(first)
        self.empty.setVisible(not alarms)
        if not self.edit_text.hasFocus() and not self.edit_due.hasFocus():
            self._fill_editor()

    def selected_alarm(self) -> Alarm | None:
        item = self.reminders.currentItem()
        if item is None:
            return None
        alarm_id = item.data(0, Qt.ItemDataRole.UserRole)
        try:
            return self.alarms.book.store.get(str(alarm_id))
        except AssistantError:
            return None

    def _fill_editor(self) -> None:
        alarm = self.selected_alarm()
        editable = alarm is not None and alarm.state == "pending"
        for widget in (self.edit_text, self.save_button, self.delete_alarm_button):
            widget.setEnabled(alarm is not None)
        self.edit_due.setEnabled(editable and alarm is not None and alarm.repeat is None)
        self.edit_due.setToolTip(
            "A repeating reminder keeps its rule; delete it and set it again to change it."
            if alarm is not None and alarm.repeat
            else ""
        )
        if alarm is None:
            self.edit_text.clear()
            return
        self.edit_text.setText(alarm.text)
        local = alarm.local_due(self.alarms.book.clock.zone)
        self.edit_due.setDateTime(
            QDateTime(local.year, local.month, local.day, local.hour, local.minute, local.second)
        )

    def save_selected_alarm(self) -> None:
        alarm = self.selected_alarm()
        if alarm is None:
            return
        zone = self.alarms.book.clock.zone
        wall = self.edit_due.dateTime().toPython()
        assert isinstance(wall, datetime)
        due = wall.replace(tzinfo=zone) if alarm.repeat is None else None
        if due is not None and due.replace(second=0) == alarm.local_due(zone).replace(second=0):
            due = None  # only the words changed: a timer keeps its seconds
        if due is not None and due <= self.alarms.book.clock.now():
            self.reminders_bar.tell("That time has already passed; choose a later one.")
            return
        text = self.edit_text.text().strip()
        if alarm.kind == "reminder" and not text:
            self.reminders_bar.tell("A reminder needs some words.")
            return
        changed = self.alarms.book.edit(alarm.id, text=text, due=due)
        if changed is None:
            self.reminders_bar.tell("It has already rung or was deleted.")
            self.refresh_reminders()
            return
        before, _after = changed

        def undo() -> None:
            self.alarms.book.restore([before])
            self.refresh_reminders()
            self.changed.emit()

        self.reminders_bar.tell("Saved.", undo)
        self.refresh_reminders()
        self.changed.emit()

    def delete_selected_alarm(self) -> None:
        alarm = self.selected_alarm()
        if alarm is None:
            return

        def delete() -> None:
            cancelled = self.alarms.book.cancel([alarm])
            self.refresh_reminders()
            self.changed.emit()

            def undo() -> None:
                self.alarms.book.restore(cancelled)
                self.refresh_reminders()
                self.changed.emit()

            self.reminders_bar.tell(f"Deleted {alarm.describe()}.", undo)

        self.reminders_bar.ask(f"Delete {alarm.describe()}?", "Delete", delete)

    # -- both ---------------------------------------------------------------------------------

    def refresh(self) -> None:
        if self.isVisible():
            self.refresh_events()
            self.refresh_reminders()

    def _delete_current(self) -> None:
        if self.tabs.currentIndex() == 0:
            self.delete_selected_event()
        else:
            self.delete_selected_alarm()

    def open(self, tab: str = "Calendar") -> None:
        if not self._opened:
            self._opened = True
            self.show_today()
        for index in range(self.tabs.count()):
            if self.tabs.tabText(index) == tab:
                self.tabs.setCurrentIndex(index)
        self.show()
        self.raise_()
        self.activateWindow()
        self.refresh_events()
        self.refresh_reminders()
        self._timer.start()

    def hideEvent(self, event: object) -> None:  # noqa: N802 - Qt's name
        self._timer.stop()
        super().hideEvent(event)  # type: ignore[arg-type]
