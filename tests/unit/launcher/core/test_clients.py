"""The one list of native clients: what settings, launching and the doctor read."""

from __future__ import annotations

import pytest

from launcher.core import clients, settings
from launcher.core.clients import CLIENTS, choose
from launcher.core.kinds import Protocol
from launcher.core.protocols.driver import Driver, load


def test_every_client_has_one_key_and_a_driver() -> None:
    assert len(set(clients.KEYS)) == len(CLIENTS)
    for client in CLIENTS:
        assert isinstance(load(client), Driver)


def test_the_settings_name_the_clients_of_the_list() -> None:
    assert settings.CLIENT_KEYS == clients.KEYS
    assert settings.VNC_CLIENTS == ("vncviewer", "remote-viewer")
    assert set(settings.LEGACY_CLIENT_KEYS.values()) <= set(clients.KEYS)


@pytest.mark.parametrize(
    ("protocol", "platform", "paths", "preferred", "key"),
    [
        (Protocol.VNC, "linux", {}, "vncviewer", "vncviewer"),
        (Protocol.VNC, "windows", {}, "remote-viewer", "remote-viewer"),
        (Protocol.SPICE, "macos", {}, "vncviewer", "remote-viewer"),
        (Protocol.RDP, "linux", {}, "vncviewer", "xfreerdp"),
        (Protocol.RDP, "windows", {}, "vncviewer", "mstsc"),
        (Protocol.RDP, "macos", {}, "vncviewer", "rdp-app"),
        (Protocol.RDP, "windows", {"xfreerdp": "/opt/xfreerdp"}, "vncviewer", "xfreerdp"),
        (Protocol.RDP, "macos", {"xfreerdp": "/opt/xfreerdp"}, "vncviewer", "xfreerdp"),
        (Protocol.RDP, "windows", {"mstsc": "/x/mstsc.exe"}, "vncviewer", "mstsc"),
    ],
)
def test_which_client_opens_what_where(
    protocol: Protocol, platform: str, paths: dict[str, str], preferred: str, key: str
) -> None:
    chosen = choose(
        protocol, platform=platform, path_of=paths.get, preferred={Protocol.VNC: preferred}
    )
    assert chosen.key == key


def test_an_unknown_client_has_no_plan() -> None:
    with pytest.raises(ValueError, match="no plan for client nope"):
        clients.by_key("nope")
