"""Start at login: the XDG autostart entry follows the setting, starts Hearth in the
background with the launcher that is running, quotes paths with spaces, and is removed when
the setting is switched off."""

from __future__ import annotations

import configparser
import shlex
from pathlib import Path

import pytest
from app import autostart
from app.bootstrap import apply_start_at_login
from app.settings import Settings


@pytest.fixture
def config_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    return tmp_path / "config"


def read_entry(path: Path) -> configparser.SectionProxy:
    parser = configparser.ConfigParser(interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read(path, encoding="utf-8")
    return parser["Desktop Entry"]


def test_the_setting_writes_and_removes_the_entry(config_home: Path) -> None:
    path = config_home / "autostart" / "io.hearth.Hearth.desktop"
    apply_start_at_login(Settings())
    assert not path.exists()
    apply_start_at_login(Settings(start_at_login=True))
    entry = read_entry(path)
    assert entry["Type"] == "Application" and entry["Name"] == "Hearth"
    assert entry["Exec"].endswith("--background")
    assert entry["X-GNOME-Autostart-enabled"] == "true"
    apply_start_at_login(Settings(start_at_login=False))
    assert not path.exists() and (config_home / "autostart").is_dir()


def test_a_launcher_path_with_spaces_and_percent_is_quoted(config_home: Path) -> None:
    autostart.set_enabled(True, ["/opt/My Apps/hearth 100%", "--background"])
    line = read_entry(autostart.entry_path())["Exec"]
    assert line == '"/opt/My Apps/hearth 100%%" --background'
    assert shlex.split(line.replace("%%", "%")) == ["/opt/My Apps/hearth 100%", "--background"]


def test_an_unwritable_folder_is_logged_and_the_app_goes_on(
    config_home: Path, caplog: pytest.LogCaptureFixture
) -> None:
    config_home.mkdir()
    (config_home / "autostart").write_text("a file where the folder should be")
    apply_start_at_login(Settings(start_at_login=True))
    assert "start at login not set" in caplog.text
