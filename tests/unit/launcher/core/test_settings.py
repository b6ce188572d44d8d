from __future__ import annotations

import stat
from pathlib import Path

import pytest

from launcher.core.settings import UserSettings, config_dir


def test_missing_file_gives_defaults(tmp_path: Path) -> None:
    assert UserSettings.load(tmp_path / "none.json") == UserSettings()


def test_round_trip_is_private_to_the_user(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "settings.json"
    saved = UserSettings(last_server="https://b", last_username="ann", clients={"vnc": "/x"})
    saved.save(path)
    assert UserSettings.load(path) == saved
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert [p.name for p in path.parent.iterdir()] == ["settings.json"]  # no temp left


@pytest.mark.parametrize("content", ["{not json", "[1, 2]", "\xff\xfe"])
def test_damaged_file_is_set_aside_not_lost(tmp_path: Path, content: str) -> None:
    path = tmp_path / "settings.json"
    path.write_text(content, encoding="latin-1")
    assert UserSettings.load(path) == UserSettings()
    broken = tmp_path / "settings.json.broken"
    assert broken.read_text(encoding="latin-1") == content
    assert not path.exists()


def test_unknown_and_mistyped_keys_are_ignored(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "settings.json"
    path.write_text('{"last_server": "https://b", "fullscreen": "yes", "colour": 1}')
    settings = UserSettings.load(path)
    assert settings.last_server == "https://b"
    assert settings.fullscreen is False
    assert "ignoring 'fullscreen'" in caplog.text
    assert "ignoring 'colour'" in caplog.text


def test_config_dir_follows_xdg(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    assert config_dir() == tmp_path / "rubicon"
