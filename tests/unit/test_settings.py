from __future__ import annotations

import json
from pathlib import Path

from app.settings import DEFAULT_MODEL, FAST_MODEL, Paths, Settings, load_settings, save_settings


def test_missing_file_gives_defaults(tmp_path: Path) -> None:
    assert load_settings(tmp_path / "settings.json") == Settings()


def test_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    s = Settings(model=FAST_MODEL, theme="dark", context_tokens=2048)
    save_settings(path, s)
    assert load_settings(path) == s
    assert not list(tmp_path.glob("*.tmp"))  # atomic write leaves no temp files


def test_broken_file_is_kept_aside_not_lost(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    path.write_text("{not json", encoding="utf-8")
    assert load_settings(path) == Settings()
    backups = list(tmp_path.glob("settings.json.broken-*"))
    assert len(backups) == 1 and backups[0].read_text(encoding="utf-8") == "{not json"


def test_wrong_types_and_ranges_fall_back(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    path.write_text(
        json.dumps(
            {
                "theme": "purple",
                "llm_threads": "many",
                "context_tokens": 10,
                "model": "fast",
                "unknown": 1,
                "temperature": 1,
            }
        ),
        encoding="utf-8",
    )
    s = load_settings(path)
    assert s.theme == "system"
    assert s.llm_threads == Settings().llm_threads
    assert s.context_tokens == 512
    assert s.model == FAST_MODEL  # alias resolved
    assert s.temperature == 1.0


def test_paths_follow_the_environment(tmp_path: Path, monkeypatch: object) -> None:
    import pytest

    mp = pytest.MonkeyPatch()
    mp.setenv("HEARTH_DATA_DIR", str(tmp_path / "d"))
    mp.setenv("HEARTH_CACHE_DIR", str(tmp_path / "c"))
    try:
        p = Paths.default()
    finally:
        mp.undo()
    assert p.data_dir == (tmp_path / "d").resolve()
    assert p.history_db.parent == p.data_dir
    assert p.models_cache == (tmp_path / "c" / "models").resolve()
    assert Settings().model == DEFAULT_MODEL


def test_booleans_and_floats_are_read_back(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    path.write_text(
        json.dumps({"mute": True, "review_transcript": 1, "speech_rate": 2, "llm_threads": True}),
        encoding="utf-8",
    )
    s = load_settings(path)
    assert s.mute is True
    assert s.review_transcript is False  # 1 is not a boolean: default kept
    assert s.speech_rate == 2.0 and isinstance(s.speech_rate, float)
    assert s.llm_threads == Settings().llm_threads


def test_settings_written_by_hearth_0_1_are_migrated_and_keep_every_choice(
    tmp_path: Path,
) -> None:
    """tests/data/settings-0.1.0.json is the file Hearth 0.1.0 (settings schema 1) wrote for a
    user who changed several things. A newer Hearth installed over it keeps every choice and
    does not greet that user as a newcomer; the file is rewritten in the current schema."""
    import json
    import shutil

    from app.settings import SCHEMA_VERSION, save_settings

    path = tmp_path / "settings.json"
    shutil.copyfile(Path(__file__).parents[1] / "data" / "settings-0.1.0.json", path)
    old = json.loads(path.read_text(encoding="utf-8"))
    assert old["schema_version"] == 1 and "welcome_seen" not in old
    settings = load_settings(path)
    assert settings.welcome_seen  # an existing user: no first-run welcome
    assert settings.schema_version == SCHEMA_VERSION > 1
    for key, value in old.items():
        if key != "schema_version":
            assert getattr(settings, key) == value, key
    save_settings(path, settings)
    again = json.loads(path.read_text(encoding="utf-8"))
    assert again["schema_version"] == SCHEMA_VERSION and again["welcome_seen"] is True
    assert load_settings(path) == settings
    # A new user has no file: the welcome is due.
    assert not load_settings(tmp_path / "none.json").welcome_seen
