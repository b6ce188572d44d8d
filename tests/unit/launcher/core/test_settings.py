from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from launcher.core.settings import (
    RdpSettings,
    SpiceSettings,
    UserSettings,
    VncSettings,
    client_override,
    config_dir,
    inspect,
)


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


# --- per-protocol options --------------------------------------------------------


def test_nested_options_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    saved = UserSettings(
        clients={"xfreerdp": "/opt/freerdp/bin/xfreerdp", "remote-viewer": "/x/rv"},
        rdp=RdpSettings(
            fullscreen=False,
            width=1600,
            height=900,
            multimon=True,
            clipboard=False,
            drives={"home": "/home/ann"},
            audio="remote",
        ),
        vnc=VncSettings(client="remote-viewer"),
        spice=SpiceSettings(usbredir=True),
    )
    saved.save(path)
    assert UserSettings.load(path) == saved
    on_disk = json.loads(path.read_text())
    assert on_disk["rdp"]["drives"] == {"home": "/home/ann"}
    assert on_disk["vnc"] == {"client": "remote-viewer"}


def test_a_file_from_before_the_protocol_options_still_loads(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "settings.json"
    path.write_text(
        json.dumps(
            {
                "last_server": "https://b",
                "last_username": "ann",
                "fullscreen": True,
                "clients": {"vnc": "/opt/TigerVNC/bin/vncviewer"},
            }
        )
    )
    settings = UserSettings.load(path)
    assert settings.fullscreen is True
    assert settings.rdp == RdpSettings()
    assert settings.vnc.client == "vncviewer"
    assert settings.client_path("vncviewer") == "/opt/TigerVNC/bin/vncviewer"
    assert settings.client_path("remote-viewer") is None
    assert "ignoring" not in caplog.text


@pytest.mark.parametrize(
    ("raw", "key"),
    [
        ({"rdp": {"audio": "loud"}}, "rdp.audio"),
        ({"rdp": {"width": 100, "height": 900}}, "rdp.width"),
        ({"rdp": {"width": 1600}}, "rdp.height"),
        ({"rdp": {"multimon": "yes"}}, "rdp.multimon"),
        ({"rdp": {"drives": {"a,b": "/x"}}}, "rdp.drives"),
        ({"rdp": {"drives": ["/x"]}}, "rdp.drives"),
        ({"rdp": {"colour": 1}}, "rdp.colour"),
        ({"rdp": 1}, "rdp"),
        ({"vnc": {"client": "realvnc"}}, "vnc.client"),
        ({"spice": {"usbredir": 1}}, "spice.usbredir"),
        ({"clients": {"vnc": 3}}, "clients"),
    ],
)
def test_bad_nested_values_are_ignored_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, raw: dict[str, object], key: str
) -> None:
    path = tmp_path / "settings.json"
    path.write_text(json.dumps({"last_server": "https://b", **raw}))
    settings = UserSettings.load(path)
    assert settings.last_server == "https://b"
    assert settings.rdp == RdpSettings()
    assert settings.vnc == VncSettings()
    assert settings.spice == SpiceSettings()
    assert f"ignoring {key!r}" in caplog.text
    assert path.exists()  # a bad value is no reason to set the file aside


def test_good_values_beside_bad_ones_are_kept(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    path.write_text(json.dumps({"rdp": {"multimon": True, "audio": "loud", "clipboard": False}}))
    rdp = UserSettings.load(path).rdp
    assert (rdp.multimon, rdp.clipboard, rdp.audio) == (True, False, "local")


def test_inspect_reports_without_touching(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    assert inspect(path).exists is False
    path.write_text("{not json")
    state = inspect(path)
    assert (state.exists, state.readable) == (True, False)
    assert path.read_text() == "{not json"  # not set aside
    path.write_text(json.dumps({"rdp": {"audio": "loud"}, "colour": 1}))
    path.chmod(0o644)
    state = inspect(path)
    assert state.readable
    assert not state.private
    assert state.problems == (
        "rdp.audio: must be one of local, remote, off",
        "colour: unknown setting",
    )


def test_client_override_prefers_the_program_key() -> None:
    clients = {"vnc": "/old", "vncviewer": "/new", "spice": "/rv"}
    assert client_override(clients, "vncviewer") == "/new"
    assert client_override({"vnc": "/old"}, "vncviewer") == "/old"
    assert client_override(clients, "remote-viewer") == "/rv"
    assert client_override(clients, "xfreerdp") is None
