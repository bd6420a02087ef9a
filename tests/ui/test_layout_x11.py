"""Nothing cut off: the main window, every section of the settings and the shortcut list on a
real X11 display (Xvfb), at 100% and at 200% text scale (fonts at 192 dpi, as a desktop's
large-text setting gives them). Checked by measuring, not by comparing pixels: a label whose
text is wider (or, wrapped, taller) than the label, a button narrower than its text. The
screenshots are kept in the test's folder for a person to look at."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.x11 import require_x11_tools, run_on_x11

CHILD = r"""
import json, sys, time
from pathlib import Path

from PySide6.QtWidgets import (QApplication, QCheckBox, QComboBox, QLabel, QPushButton,
    QScrollArea, QWidget)
from app.core.assistant import Assistant
from app.settings import Settings
from app.store.history import SqliteConversationStore
from app.ui.main_window import MainWindow
from app.ui.settings_dialog import SettingsDialog
from app.ui.shortcuts import ShortcutsDialog
from app.workers.backend import AssistantBackend, ModelChoice
from tests.fakes import FakeLanguageModel

out = Path(sys.argv[1])
qapp = QApplication([])


def pump(seconds=0.3):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        qapp.processEvents()
        time.sleep(0.01)


def clipped(root):
    found = []
    screen = root.screen().availableGeometry()
    if root.width() > screen.width() or root.height() > screen.height():
        found.append(f"the window is {root.size()}, the screen {screen.size()}")
    for area in root.findChildren(QScrollArea):
        inner = area.widget()
        if not area.isVisible() or inner is None:
            continue
        name = area.accessibleName() or "a scroll area"
        need = inner.minimumSizeHint().width()
        if inner.width() + 1 < need:
            found.append(f"{name}: squeezed to {inner.width()} px, needs {need}")
        view = area.viewport().width()
        if inner.width() > view + 1:  # scrolled sideways: cut off for the eye
            found.append(f"{name}: {inner.width()} px wide in a view of {view}")
    for w in [root, *root.findChildren(QWidget)]:
        if not w.isVisible() or w.width() <= 0:
            continue
        name = w.objectName() or type(w).__name__
        if isinstance(w, QLabel) and w.text().strip() and w.pixmap().isNull():
            text = w.text()[:50]
            if w.wordWrap():
                need = w.heightForWidth(w.width())
                if need > w.height() + 1:
                    found.append(f"{name} {text!r}: needs {need} px high, has {w.height()}")
            elif w.sizeHint().width() > w.width() + 1:
                need = w.sizeHint().width()
                found.append(f"{name} {text!r}: needs {need} px wide, has {w.width()}")
        elif isinstance(w, (QPushButton, QCheckBox)) and w.text().strip():
            hint = w.sizeHint()
            if hint.width() > w.width() + 1 or hint.height() > w.height() + 1:
                found.append(f"{name} {w.text()[:50]!r}: needs {hint}, has {w.size()}")
        elif isinstance(w, QComboBox) and w.currentText():
            need = w.minimumSizeHint().width()
            if need > w.width() + 1:
                found.append(f"{name} {w.currentText()[:50]!r}: needs {need} px, has {w.width()}")
    return found


data = out / "data"
data.mkdir(parents=True, exist_ok=True)
store = SqliteConversationStore(data / "history.sqlite3")
for title in ("Weekend plans", "Sorting a list of dictionaries in Python by a key", "Taxes"):
    conv = store.create_conversation(title)
    store.add_message(conv.id, "user", f"A question about {title.lower()}?")
    store.add_message(conv.id, "assistant",
        "Here is how:\n\n```python\nitems = sorted(items, key=lambda d: d['age'])\n```\n\nDone.")
settings = Settings(welcome_seen=True, answer_name="Ada")
models = [
    ModelChoice("qwen2.5-coder-0.5b-instruct", "Qwen2.5-Coder 0.5B Instruct (Q4_K_M)",
                "Default: correct, well-formed answers at a good pace.", True,
                generation_tps=14.0, prompt_tps=160.0, name="Everyday"),
    ModelChoice("qwen2.5-coder-1.5b-instruct", "Qwen2.5-Coder 1.5B Instruct (Q4_K_M)",
                "Better answers from your documents (70% right against 57% on Hearth's "
                "evaluation set) and to harder questions; half as fast as the default, needs "
                "1.9 GB of memory.", True, generation_tps=6.0, prompt_tps=60.0,
                name="Best answers"),
]
backend = AssistantBackend(Assistant(FakeLanguageModel("Fine."), store), store, settings,
    model_factory=lambda m, s: None, models=lambda: models, save_settings=lambda s: None,
    data_dir=str(data))
window = MainWindow(backend, None)
window.show()
pump(1.0)
report = {}
window.grab().save(str(out / "main-window.png"))
report["main window"] = clipped(window)

dialog = SettingsDialog(settings, models, str(data), window)
dialog.show()
pump(0.5)
for row in range(dialog.sections.count()):
    title = dialog.sections.item(row).text()
    dialog.sections.setCurrentRow(row)
    pump(0.3)
    dialog.grab().save(str(out / f"settings-{title.lower()}.png"))
    report[f"settings: {title}"] = clipped(dialog)
dialog.close()

shortcuts = window.show_shortcuts()
pump(0.5)
shortcuts.grab().save(str(out / "shortcuts.png"))
report["shortcuts"] = clipped(shortcuts)
shortcuts.close()
print(json.dumps(report))
window.quit()
pump(0.5)
"""


@pytest.mark.parametrize("scale", ["100%", "200%"])
def test_nothing_is_cut_off(scale: str, tmp_path: Path) -> None:
    require_x11_tools()
    dpi = {"100%": "96", "200%": "192"}[scale]
    # Fonts at 192 dpi with Qt's own scaling off: the text doubles and the rest does not, as
    # with a desktop's large-text setting (with scaling on, Qt would scale everything alike).
    env = {**os.environ, "QT_FONT_DPI": dpi, "QT_ENABLE_HIGHDPI_SCALING": "0"}
    done = run_on_x11(CHILD, tmp_path, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert set(report) >= {"main window", "settings: Chat", "settings: Privacy", "shortcuts"}
    problems = {where: found for where, found in report.items() if found}
    assert not problems, json.dumps(problems, indent=1)
