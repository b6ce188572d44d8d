"""What the RDP tests share: a connection, options, the .rdp texts mstsc and macOS open."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from launcher.core.models import ConnectionInfo, Protocol
from launcher.core.protocols import Credential
from launcher.core.protocols.rdp import (
    Audio,
    CertificatePolicy,
    CertMode,
    Gateway,
    RdpOptions,
)
from launcher.core.secret import Secret

DATA = Path(__file__).parents[5] / "data" / "xfreerdp"
FP = "EC63A53089E79D400B26AA7910ECFDDE35F4440476EFB1349231D1E572A77D73"
FP_COLONS = ":".join(FP[i : i + 2] for i in range(0, 64, 2)).lower()
TOFU_DEFAULTS = ["/v:10.0.0.8:3389", "/u:ann", "/cert:tofu", "/f", "+clipboard", "/sound"]
XF2 = "/usr/bin/xfreerdp"
XF3 = "/usr/bin/xfreerdp3"
V2 = (2, 11, 7)
V3 = (3, 5, 1)
# A Hyper-V VM's id, as Get-VM gives it.
VM_ID = "5c5a3f1e-8b0a-4b7e-9a3c-2f1d0e9b7a61"


def conn(**kw: object) -> ConnectionInfo:
    base: dict[str, object] = {
        "protocol": Protocol.RDP,
        "host": "10.0.0.8",
        "port": 3389,
        "username": "ann",
    }
    base.update(kw)
    return ConnectionInfo(**base)  # type: ignore[arg-type]


WINDOWED = RdpOptions(
    fullscreen=False,
    width=1600,
    height=900,
    clipboard=False,
    drives=(("home", "/home/ann"), ("scans", "/srv/scans")),
    audio=Audio.REMOTE,
    domain="CORP",
    title="Lab 1",
    certificate=CertificatePolicy(CertMode.FINGERPRINT, FP),
    sso_password="s3cret pw",
)
MULTIMON = RdpOptions(
    multimon=True,
    audio=Audio.OFF,
    certificate=CertificatePolicy(CertMode.IGNORE, set_by_admin=True),
)
SOUND_SYS = RdpOptions(audio_system="pulse", sso_password="s3cret pw")
SAME_GATEWAY = RdpOptions(gateway=Gateway("gw.example.com"), sso_password="s3cret pw")
OWN_GATEWAY = RdpOptions(
    gateway=Gateway(
        "gw.example.com",
        8443,
        username="gw,user",
        domain="GW",
        use_sign_in=False,
        password='gw"pw\\1',
    ),
    sso_password="s3cret pw",
)


RDP_DEFAULTS = (
    "full address:s:10.0.0.8:3389\r\n"
    "username:s:ann\r\n"
    "screen mode id:i:2\r\n"
    "use multimon:i:0\r\n"
    "redirectclipboard:i:1\r\n"
    "audiomode:i:0\r\n"
    "authentication level:i:2\r\n"
    "prompt for credentials:i:0\r\n"
    "enablecredsspsupport:i:1\r\n"
)
RDP_WINDOWED = (
    "full address:s:10.0.0.8:3389\r\n"
    "username:s:ann\r\n"
    "domain:s:CORP\r\n"
    "screen mode id:i:1\r\n"
    "desktopwidth:i:1600\r\n"
    "desktopheight:i:900\r\n"
    "use multimon:i:0\r\n"
    "redirectclipboard:i:0\r\n"
    "drivestoredirect:s:/home/ann;/srv/scans\r\n"
    "audiomode:i:1\r\n"
    "authentication level:i:1\r\n"
    "prompt for credentials:i:0\r\n"
    "enablecredsspsupport:i:1\r\n"
)
RDP_MULTIMON_GATEWAY = (
    "full address:s:[fd00::5]:3390\r\n"
    "screen mode id:i:2\r\n"
    "use multimon:i:1\r\n"
    "redirectclipboard:i:1\r\n"
    "audiomode:i:2\r\n"
    "authentication level:i:0\r\n"
    "prompt for credentials:i:0\r\n"
    "enablecredsspsupport:i:1\r\n"
    "gatewayhostname:s:gw.example.com:8443\r\n"
    "gatewayusagemethod:i:1\r\n"
    "gatewayprofileusagemethod:i:1\r\n"
    "gatewaycredentialssource:i:0\r\n"
    "promptcredentialonce:i:0\r\n"
    "gatewayusername:s:gw,user\r\n"
)
MULTIMON_GATEWAY = RdpOptions(
    multimon=True,
    audio=Audio.OFF,
    certificate=CertificatePolicy(CertMode.IGNORE, set_by_admin=True),
    gateway=OWN_GATEWAY.gateway,
)

# (connection, options, .rdp text, credential to store: (target, user name, password))
MSTSC_CASES = [
    pytest.param(
        conn(),
        RdpOptions(sso_password="s3cret pw"),
        RDP_DEFAULTS,
        (("TERMSRV/10.0.0.8", "ann", "s3cret pw"),),
        id="defaults-sso",
    ),
    pytest.param(
        conn(password="broker-pw"),
        dataclasses.replace(WINDOWED, sso_password=None),
        RDP_WINDOWED,
        (("TERMSRV/10.0.0.8", "CORP\\ann", "broker-pw"),),
        id="windowed-domain-broker-password",
    ),
    pytest.param(
        conn(username="ann@corp.example", password="broker-pw"),
        RdpOptions(domain="CORP"),
        (
            "full address:s:10.0.0.8:3389\r\n"
            "username:s:ann@corp.example\r\n"
            "domain:s:CORP\r\n"
            "screen mode id:i:2\r\n"
            "use multimon:i:0\r\n"
            "redirectclipboard:i:1\r\n"
            "audiomode:i:0\r\n"
            "authentication level:i:2\r\n"
            "prompt for credentials:i:0\r\n"
            "enablecredsspsupport:i:1\r\n"
        ),
        (("TERMSRV/10.0.0.8", "ann@corp.example", "broker-pw"),),
        id="upn-user-keeps-its-form",
    ),
    pytest.param(
        conn(username=None, password="broker-pw"),
        RdpOptions(),
        (
            "full address:s:10.0.0.8:3389\r\n"
            "screen mode id:i:2\r\n"
            "use multimon:i:0\r\n"
            "redirectclipboard:i:1\r\n"
            "audiomode:i:0\r\n"
            "authentication level:i:2\r\n"
            "prompt for credentials:i:0\r\n"
            "enablecredsspsupport:i:1\r\n"
        ),
        (),
        id="no-user-name-mstsc-asks",
    ),
    pytest.param(
        conn(host="fd00::5", port=3390, username=None),
        MULTIMON_GATEWAY,
        RDP_MULTIMON_GATEWAY,
        (),
        id="multimon-gateway-no-user",
    ),
]


def credentials(steps: tuple[object, ...]) -> tuple[tuple[str, str, str], ...]:
    """A plan's credential steps as (target, user name, password); the password a Secret."""
    out = []
    for step in steps:
        assert isinstance(step, Credential)
        assert isinstance(step.password, Secret)
        assert "Secret(***)" in repr(step.password)
        out.append((step.target, step.username, step.password.reveal()))
    return tuple(out)


def rdp_text(contents: bytes) -> str:
    assert contents.startswith(b"\xff\xfe")  # UTF-16 LE with BOM, as mstsc writes
    return contents[2:].decode("utf-16-le")


def make_exe(directory: Path, name: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_text("#!/bin/sh\n")
    path.chmod(0o755)
    return path
