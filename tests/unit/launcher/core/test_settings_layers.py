"""Settings in layers: system file (locked) > command line > user file > defaults."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from launcher.core import settings
from launcher.core.settings import (
    SYSTEM_CONFIG_ENV,
    Layers,
    SystemConfig,
    UserSettings,
    system_config_path,
)

SYSTEM = """
fullscreen = true
servers = ["https://vdi.example.com"]
cert_policy = "system"

[rdp]
multimon = true
audio = "loud"

[clients]
xfreerdp = "/opt/freerdp/bin/xfreerdp"

[defaults]
view = "list"
auto_launch = true

[kiosk]
enabled = false
"""


@pytest.fixture
def system(tmp_path: Path) -> Path:
    path = tmp_path / "rubicon.toml"
    path.write_text(SYSTEM)
    return path


def test_where_the_system_file_is_on_each_os() -> None:
    assert system_config_path("linux", {}) == Path("/etc/rubicon/rubicon.toml")
    assert system_config_path("darwin", {}) == Path(
        "/Library/Application Support/Rubicon/rubicon.toml"
    )
    assert system_config_path("win32", {"PROGRAMDATA": "D:\\Data"}) == Path(
        "D:\\Data/Rubicon/rubicon.toml"
    )
    assert system_config_path("linux", {SYSTEM_CONFIG_ENV: "/x/r.toml"}) == Path("/x/r.toml")


def test_the_environment_variable_is_read(system: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(SYSTEM_CONFIG_ENV, str(system))
    assert SystemConfig.load().path == system


def test_locked_keys_defaults_and_other_sections(
    system: Path, caplog: pytest.LogCaptureFixture
) -> None:
    config = SystemConfig.load(system)
    assert config.locked_keys() == {
        "fullscreen",
        "servers",
        "cert_policy",
        "rdp.multimon",
        "clients.xfreerdp",
    }
    assert dict(config.defaults) == {"view": "list", "auto_launch": True}
    assert config.section("kiosk") == {"enabled": False}
    assert config.section("nothing") == {}
    assert config.problems == ("rdp.audio: must be one of local, remote, off",)
    assert "ignoring rdp.audio" in caplog.text


def test_the_system_file_takes_values_of_each_settings_own_type_only(tmp_path: Path) -> None:
    path = tmp_path / "rubicon.toml"
    path.write_text(
        "fullscreen = 1979-05-27\n"  # TOML has dates; no setting takes one
        'view = "list"\n'
        "[rdp]\nwidth = 1600.0\nheight = 900\nmultimon = 1\nclipboard = false\n"
    )
    config = SystemConfig.load(path)
    assert config.problems == (
        "fullscreen: wrong type",
        "rdp.width: wrong type",
        "rdp.multimon: wrong type",
        "rdp.height: give width and height",
    )
    assert config.locked == {"view": "list", "rdp": {"clipboard": False}}


def test_missing_and_broken_system_files(tmp_path: Path) -> None:
    assert SystemConfig.load(tmp_path / "none.toml").locked_keys() == frozenset()
    broken = tmp_path / "broken.toml"
    broken.write_text("fullscreen = [")
    config = SystemConfig.load(broken)
    assert config.locked == {}
    assert len(config.problems) == 1
    assert "cannot be read" in config.problems[0]


def test_precedence_system_over_command_line_over_user_over_defaults(
    system: Path, tmp_path: Path
) -> None:
    user_file = tmp_path / "settings.json"
    user_file.write_text(
        json.dumps(
            {
                "fullscreen": False,  # locked by the admin: loses
                "view": "tiles",  # beats the admin's default
                "rdp": {"multimon": False, "clipboard": False},
                "clients": {"xfreerdp": "/home/ann/xfreerdp", "vncviewer": "/home/ann/vnc"},
                "log_level": "warning",
            }
        )
    )
    layers = Layers(
        user_file,
        system=SystemConfig.load(system),
        command_line={"log_level": "debug", "fullscreen": False},
    )
    effective = layers.effective()
    assert effective.fullscreen is True  # system beats command line and user
    assert effective.log_level == "debug"  # command line beats user
    assert effective.view == "tiles"  # user beats admin default
    assert effective.auto_launch is True  # admin default beats built-in
    assert effective.rdp.multimon is True
    assert effective.rdp.clipboard is False
    assert effective.clients == {
        "xfreerdp": "/opt/freerdp/bin/xfreerdp",
        "vncviewer": "/home/ann/vnc",
    }
    assert effective.servers == ["https://vdi.example.com"]
    assert layers.locked("fullscreen")
    assert layers.locked("rdp.multimon")
    assert not layers.locked("rdp.clipboard")
    assert layers.locked("clients.xfreerdp")
    assert not layers.locked("clients.vncviewer")


def test_saving_keeps_only_the_users_choices(system: Path, tmp_path: Path) -> None:
    user_file = tmp_path / "settings.json"
    layers = Layers(
        user_file, system=SystemConfig.load(system), command_line={"log_level": "debug"}
    )
    edited = layers.effective()
    edited.fullscreen = False  # locked: not the user's to change
    edited.rdp.multimon = False  # locked
    edited.rdp.clipboard = False
    edited.view = "list"  # the admin's default: nothing to save
    edited.clients = {"xfreerdp": "/mine", "vncviewer": "/v"}
    layers.update(edited)
    layers.save()
    saved = json.loads(user_file.read_text())
    assert saved == {"rdp": {"clipboard": False}, "clients": {"vncviewer": "/v"}}
    assert "log_level" not in saved  # from the command line, this run only
    again = Layers(user_file, system=SystemConfig.load(system)).effective()
    assert again.fullscreen is True
    assert again.rdp.clipboard is False
    assert again.view == "list"


def test_a_plain_user_file_still_loads_the_same(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    UserSettings(last_server="https://b", fullscreen=True).save(path)
    assert Layers(path).effective() == UserSettings(last_server="https://b", fullscreen=True)


def test_new_settings_are_checked(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "settings.json"
    path.write_text(
        json.dumps(
            {
                "view": "carousel",
                "cert_policy": "never",
                "servers": ["https://a", 3],
                "favourites": {"https://a": ["lab", "win"]},
                "recents": {"https://a": "lab"},
            }
        )
    )
    settings = UserSettings.load(path)
    assert (settings.view, settings.cert_policy, settings.servers) == ("tiles", "ask", [])
    assert settings.favourites == {"https://a": ["lab", "win"]}
    assert settings.recents == {}
    for key in ("view", "cert_policy", "servers", "recents"):
        assert f"ignoring {key!r}" in caplog.text


# -- admin-only keys: the hosts the sign-in form may use plain HTTP with -------------


def test_plain_http_hosts_count_only_at_the_system_files_top_level(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "settings.json"
    path.write_text(json.dumps({"plain_http_hosts": ["mine.example.com"], "view": "list"}))
    system = SystemConfig.from_mapping(
        {
            "plain_http_hosts": ["lab-broker.example.com"],
            "defaults": {"plain_http_hosts": ["defaults.example.com"]},
        }
    )
    assert system.problems == (
        "defaults.plain_http_hosts: only the system file's top level may set it",
    )

    layers = Layers(path, system=system, command_line={"plain_http_hosts": ["cli.example.com"]})
    effective = layers.effective()
    assert effective.plain_http_hosts == ["lab-broker.example.com"]
    assert effective.view == "list"  # the rest of the user's file still counts
    assert "ignoring 'plain_http_hosts'" in caplog.text

    # The user's own file cannot set it, with or without a system file.
    assert Layers(path).effective().plain_http_hosts == []
    assert UserSettings.load(path).plain_http_hosts == []
    given = UserSettings(plain_http_hosts=["mine.example.com"])
    assert Layers(user=given).effective().plain_http_hosts == []

    # What the settings dialog hands back never becomes the user's choice.
    layers.update(effective)
    layers.save()
    assert "plain_http_hosts" not in json.loads(path.read_text())


def test_plain_http_hosts_must_be_host_names(caplog: pytest.LogCaptureFixture) -> None:
    system = SystemConfig.from_mapping({"plain_http_hosts": ["ok.example.com", "not a host"]})
    assert Layers(system=system).effective().plain_http_hosts == []
    assert system.problems == ("plain_http_hosts: must be host names or IP addresses",)


def test_the_doctor_reads_a_user_file_that_tries_to_allow_plain_http(tmp_path: Path) -> None:
    from launcher.core.settings import inspect

    path = tmp_path / "settings.json"
    path.write_text(json.dumps({"plain_http_hosts": ["mine.example.com"]}))
    assert inspect(path).problems == (
        "plain_http_hosts: only the system file's top level may set it",
    )


# -- pydantic checks each layer once: the memo --------------------------------------


def refuse_to_check() -> None:
    raise AssertionError("checked again")


def test_a_file_checked_once_is_not_checked_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "settings.json"
    path.write_text(json.dumps({"view": "list", "colour": 1, "rdp": {"width": 1600}}))
    first = Layers(path).effective()
    caplog.clear()

    monkeypatch.setattr(settings, "_validator", refuse_to_check)
    assert Layers(path).effective() == first
    # What was ignored is said again at every start, until the file is fixed.
    assert "ignoring 'colour' (unknown setting)" in caplog.text
    assert "ignoring 'rdp.height' (give width and height)" in caplog.text

    path.write_text(json.dumps({"view": "tiles"}))  # edited: checked again
    with pytest.raises(AssertionError, match="checked again"):
        Layers(path)


def test_what_the_window_saves_is_not_checked_at_the_next_start(
    system: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "settings.json"
    layers = Layers(path, system=SystemConfig.load(system))
    layers.user.last_server = "https://b"
    layers.user.rdp.height = 900
    layers.user.rdp.width = 1600
    layers.save()
    config = SystemConfig.load(system)

    monkeypatch.setattr(settings, "_validator", refuse_to_check)
    again = Layers(path, system=config).effective()
    assert (again.last_server, again.rdp.width, again.rdp.height) == ("https://b", 1600, 900)
    assert config.problems == ("rdp.audio: must be one of local, remote, off",)
    # Still a Text, with its kind, as the check made it.
    assert config.problems[0].key == "settings.problem"  # type: ignore[attr-defined]
    assert config.problems[0].values["why"].key == "settings.one_of"  # type: ignore[attr-defined]


def test_the_memo_is_forgotten_under_other_rules_and_when_damaged(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "settings.json"
    path.write_text(json.dumps({"view": "list"}))
    Layers(path)
    memo = settings._memo_path()
    assert memo.exists()
    checks: list[object] = []
    real = settings._validator

    def counted() -> object:
        checks.append(path)
        return real()

    monkeypatch.setattr(settings, "_validator", counted)
    monkeypatch.setattr(settings, "_rules", lambda: "another Rubicon")
    assert Layers(path).effective().view == "list"
    assert len(checks) == 1
    memo_data = json.loads(memo.read_text())
    memo_data["checked"] = [[key, [["view", 3]]] for key, _ in memo_data["checked"]]
    memo.write_text(json.dumps(memo_data))
    assert Layers(path).effective().view == "list"
    memo.write_text("{not json")
    assert Layers(path).effective().view == "list"
    assert len(checks) == 3


def test_a_start_with_a_file_checked_before_does_not_load_pydantic(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    path.write_text(json.dumps({"view": "list", "servers": ["https://a"]}))
    start = (
        "import sys; from pathlib import Path; from launcher.core.settings import Layers;"
        "layers = Layers.load(Path(sys.argv[1]), command_line={'fullscreen': True});"
        "print(layers.effective().view, 'pydantic' in sys.modules)"
    )
    env = {**os.environ, SYSTEM_CONFIG_ENV: str(tmp_path / "none.toml")}
    runs = [
        subprocess.run(
            [sys.executable, "-c", start, str(path)],
            capture_output=True,
            text=True,
            env=env,
            check=True,
            timeout=60,
        ).stdout.split()
        for _ in range(2)
    ]
    assert runs == [["list", "True"], ["list", "False"]]


@pytest.mark.parametrize(
    "entry",
    [[["rdp.x.y", "k", "t", {}]], [[3, "k", "t", {}]], [["view", "k", 3, {}]], "nothing"],
)
def test_a_memo_in_another_shape_is_checked_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, entry: object
) -> None:
    path = tmp_path / "settings.json"
    path.write_text(json.dumps({"view": "list"}))
    Layers(path)
    memo = settings._memo_path()
    memo_data = json.loads(memo.read_text())
    memo_data["checked"] = [[key, entry] for key, _ in memo_data["checked"]]
    memo.write_text(json.dumps(memo_data))
    assert Layers(path).effective().view == "list"
    assert json.loads(memo.read_text())["checked"][-1][1] == []  # checked, remembered again
