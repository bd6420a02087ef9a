"""The conversation list a person lives in: search inside messages, date groups, pins, export."""

from __future__ import annotations

import sqlite3
import time
from datetime import date, datetime, timedelta
from pathlib import Path

from app.ui.conversation_list import date_group
from app.ui.main_window import MainWindow
from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QLabel, QMenu
from pytestqt.qtbot import QtBot

from tests.ui.conftest import WindowFactory, data_dir


def seed(window: MainWindow, title: str, lines: list[str]) -> str:
    store = window.backend.store
    conv = store.create_conversation(title)
    for n, line in enumerate(lines):
        store.add_message(conv.id, "user" if n % 2 == 0 else "assistant", line)
    return conv.id


def set_last_used(window: MainWindow, conversation_id: str, when: float) -> None:
    db = sqlite3.connect(data_dir(window) / "history.sqlite3")
    with db:
        db.execute("UPDATE conversations SET updated_at = ? WHERE id = ?", (when, conversation_id))
    db.close()


def test_ctrl_f_finds_a_word_inside_a_message_and_jumps_to_it(
    qtbot: QtBot, make_window: WindowFactory
) -> None:
    window = make_window()
    filler = [f"Line {n} about the garden and the weather." for n in range(40)]
    trip = seed(
        window, "Weekend plans", [*filler[:30], "Shall we take the train to Paris?", *filler[30:]]
    )
    seed(window, "Groceries", ["Milk, eggs and bread", "Noted."])
    window.refresh_conversations()
    window.open_conversation(window.conversations.ids()[-1])  # the other one is open

    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)  # where the keys go (no window manager here)
    qtbot.keyClick(window.composer.input, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
    listed = window.conversations
    assert window.focusWidget() is listed.search
    qtbot.keyClicks(listed.search, "paris")
    qtbot.waitUntil(lambda: listed.pages.currentWidget() is listed.results, timeout=3000)
    target = next(m for m in window.backend.store.messages(trip) if "Paris" in m.content)
    assert listed.hits() == [(trip, target.id)]
    label = listed.results.itemWidget(listed.results.item(0))
    assert isinstance(label, QLabel)
    assert "<b>Paris</b>" in label.text() and "Weekend plans" in label.text()

    qtbot.keyClick(listed.search, Qt.Key.Key_Return)
    assert window.conversation_id == trip
    bubble = next(b for b in window.chat.bubbles() if b.message_id == target.id)
    assert bubble.property("found") is True
    viewport = window.chat.viewport()

    def on_screen() -> bool:
        top = bubble.mapTo(viewport, QPoint(0, 0)).y()
        return top >= 0 and top + bubble.height() <= viewport.height()

    qtbot.waitUntil(on_screen, timeout=3000)  # scrolled to, not left at the bottom
    first = window.chat.bubbles()[0]
    assert first.mapTo(viewport, QPoint(0, 0)).y() < 0  # the conversation is longer than the view
    assert window.focusWidget() is bubble.body

    # A word nobody wrote: said plainly.
    listed.search.setFocus()
    listed.search.selectAll()
    qtbot.keyClicks(listed.search, "zanzibar")
    qtbot.waitUntil(lambda: listed.pages.currentWidget() is listed.no_matches, timeout=3000)
    assert listed.no_matches.isVisible()
    assert listed.no_matches.text().startswith("No matches for “zanzibar”.")

    # Escape clears the search and brings the whole list back; Down goes into it.
    qtbot.keyClick(listed.search, Qt.Key.Key_Escape)
    assert listed.search.text() == "" and listed.pages.currentWidget() is listed.list
    assert len(listed.ids()) == 2


def test_down_arrow_walks_the_results_and_enter_opens_one(
    qtbot: QtBot, make_window: WindowFactory
) -> None:
    window = make_window()
    first = seed(window, "Soup", ["A recipe for tomato soup", "Here it is."])
    second = seed(window, "Salad", ["Tomato salad ideas?", "Try basil."])
    window.refresh_conversations()
    listed = window.conversations
    listed.search.setFocus()
    qtbot.keyClicks(listed.search, "tomato")
    qtbot.waitUntil(lambda: len(listed.hits()) == 2, timeout=3000)
    qtbot.keyClick(listed.search, Qt.Key.Key_Down)
    assert window.focusWidget() is listed.results and listed.results.currentRow() == 0
    qtbot.keyClick(listed.results, Qt.Key.Key_Down)
    wanted = listed.hits()[1][0]
    qtbot.keyClick(listed.results, Qt.Key.Key_Return)
    assert window.conversation_id == wanted and wanted in (first, second)
    assert listed.results.currentRow() == 1  # still there to go on from


def test_the_list_is_grouped_by_date_with_the_date_on_hover_and_pins_on_top(
    qtbot: QtBot, make_window: WindowFactory
) -> None:
    window = make_window()
    now = time.time()
    ages = {"Now": 0, "Yesterday's": 1, "Three days": 3, "Last month": 40, "Long ago": 400}
    ids = {title: seed(window, title, [f"{title} question"]) for title in ages}
    for title, days in ages.items():
        set_last_used(window, ids[title], now - days * 86400)
    window.refresh_conversations()
    listed = window.conversations
    today = date.today()

    def month(days: int) -> str:
        day = today - timedelta(days=days)
        return day.strftime("%B") if day.year == today.year else day.strftime("%B %Y")

    expected = ["Today", "Yesterday", "Previous 7 days", month(40), month(400)]
    if expected[0] == "Today" and datetime.fromtimestamp(now - 86400).date() != today - timedelta(
        1
    ):
        raise AssertionError("the clock moved during the test")
    assert listed.headings() == [h for i, h in enumerate(expected) if h not in expected[:i]]
    assert listed.titles() == list(ages)
    item = listed.item_for(ids["Long ago"])
    assert item is not None
    stamp = datetime.fromtimestamp(now - 400 * 86400)
    assert f"Last used {stamp:%A} {stamp.day} {stamp:%B %Y}" in item.toolTip()

    # Pin from the Conversation menu: on top under "Pinned", and still so after a restart.
    listed.list.setCurrentItem(item)
    menu = next(a.menu() for a in window.menuBar().actions() if a.text() == "&Conversation")
    assert isinstance(menu, QMenu)
    action = next(a for a in menu.actions() if a.text() == "&Pin or unpin")
    action.trigger()
    assert listed.headings()[0] == "Pinned" and listed.titles()[0] == "Long ago"
    window.close()
    again = make_window()
    assert again.conversations.headings()[0] == "Pinned"
    assert again.conversations.titles()[0] == "Long ago"

    # The heading rows are not conversations: the arrow keys pass over them.
    lst = again.conversations.list
    lst.setFocus()
    pinned = again.conversations.item_for(ids["Long ago"])
    assert pinned is not None
    lst.setCurrentItem(pinned)
    qtbot.keyClick(lst, Qt.Key.Key_Down)
    assert again.conversations.current_id() == ids["Now"]


def test_date_groups() -> None:
    today = date(2026, 12, 6)

    def at(y: int, m: int, d: int) -> float:
        return datetime(y, m, d, 10, 0).timestamp()

    assert date_group(at(2026, 12, 6), today) == "Today"
    assert date_group(at(2026, 12, 5), today) == "Yesterday"
    assert date_group(at(2026, 11, 30), today) == "Previous 7 days"
    assert date_group(at(2026, 11, 29), today) == "November"
    assert date_group(at(2025, 11, 20), today) == "November 2025"
    assert date_group(at(2026, 12, 9), today) == "Today"  # a clock set back


def test_export_writes_the_conversation_as_markdown(
    qtbot: QtBot, make_window: WindowFactory, tmp_path: Path
) -> None:
    window = make_window()
    conv = seed(window, "Recipe", ["How do I make bread?", "Flour, water, salt and **time**."])
    window.refresh_conversations()
    window.open_conversation(conv)
    chosen = tmp_path / "out" / "bread.md"
    chosen.parent.mkdir()
    asked: list[Path] = []

    def ask(_title: str, suggested: Path, _filters: str) -> Path | None:
        asked.append(suggested)
        return chosen

    window.ask_save_path = ask  # type: ignore[method-assign,assignment]
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    qtbot.keyClick(
        window.composer.input,
        Qt.Key.Key_S,
        Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier,
    )
    assert asked and asked[0].name == "Recipe.md"
    text = chosen.read_text("utf-8")
    assert text.startswith("# Recipe\n")
    assert "How do I make bread?" in text and "Flour, water, salt and **time**." in text
    assert str(chosen) in window.state_label.text()
