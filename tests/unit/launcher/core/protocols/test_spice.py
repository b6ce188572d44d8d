"""remote-viewer plans for SPICE and VNC, exactly, and the .vv document's escaping."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from launcher.core.models import ConnectionInfo, Protocol
from launcher.core.protocols import ClientNotFound, LaunchError, spice
from launcher.core.protocols.driver import Client, Launch, Preferences

DATA = Path(__file__).parents[4] / "data" / "remote-viewer"
RV = "/usr/bin/remote-viewer"
CA = "-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIU\n-----END CERTIFICATE-----\n"


def conn(**kw: object) -> ConnectionInfo:
    base: dict[str, object] = {
        "protocol": Protocol.SPICE,
        "host": "10.0.0.9",
        "port": 5900,
        "password": "one-time",
    }
    base.update(kw)
    return ConnectionInfo(**base)  # type: ignore[arg-type]


# (connection, keyword arguments, .vv document)
DOCUMENTS = [
    pytest.param(
        conn(),
        {},
        "[virt-viewer]\n"
        "type=spice\n"
        "host=10.0.0.9\n"
        "port=5900\n"
        "password=one-time\n"
        "enable-usbredir=0\n"
        "delete-this-file=1\n",
        id="spice-plain",
    ),
    pytest.param(
        conn(tls=True, port=5901, proxy="http://proxy.example.com:3128"),
        {
            "title": "Lab 2",
            "fullscreen": True,
            "ca_pem": CA,
            "host_subject": "C=XX,L=City,O=Lab,CN=host9",
            "usbredir": True,
        },
        "[virt-viewer]\n"
        "type=spice\n"
        "host=10.0.0.9\n"
        "tls-port=5901\n"
        "password=one-time\n"
        "title=Lab 2\n"
        "fullscreen=1\n"
        "ca=-----BEGIN CERTIFICATE-----\\nMIIBszCCAVmgAwIBAgIU\\n-----END CERTIFICATE-----\\n\n"
        "host-subject=C=XX,L=City,O=Lab,CN=host9\n"
        "proxy=http://proxy.example.com:3128\n"
        "enable-usbredir=1\n"
        "delete-this-file=1\n",
        id="spice-tls-everything",
    ),
    pytest.param(
        conn(protocol=Protocol.VNC, host="desk-3.example.com", port=5903, password=None),
        {"kiosk": True, "title": " Kiosk\\desk"},
        "[virt-viewer]\n"
        "type=vnc\n"
        "host=desk-3.example.com\n"
        "port=5903\n"
        "title=\\sKiosk\\\\desk\n"
        "fullscreen=1\n"
        "delete-this-file=1\n",
        id="vnc-kiosk-no-password",
    ),
    pytest.param(
        conn(protocol=Protocol.VNC, host="::1", port=5901, tls=True),
        {},
        "[virt-viewer]\ntype=vnc\nhost=::1\nport=5901\npassword=one-time\ndelete-this-file=1\n",
        id="vnc-ipv6-tls-flag-ignored",
    ),
]


@pytest.mark.parametrize(("connection", "kwargs", "document"), DOCUMENTS)
def test_vv_document_exactly(
    connection: ConnectionInfo, kwargs: dict[str, object], document: str
) -> None:
    assert spice.vv_document(connection, **kwargs) == document  # type: ignore[arg-type]


@pytest.mark.parametrize(("connection", "kwargs", "document"), DOCUMENTS)
@pytest.mark.parametrize(
    ("kiosk", "argv"),
    [(False, (RV, "-")), (True, (RV, "--kiosk", "--kiosk-quit", "on-disconnect", "-"))],
)
def test_plan_argv_and_stdin_exactly(
    connection: ConnectionInfo,
    kwargs: dict[str, object],
    document: str,
    kiosk: bool,
    argv: tuple[str, ...],
) -> None:
    options = {**kwargs, "kiosk": kiosk}
    plan = spice.plan(connection, client=RV, **options)  # type: ignore[arg-type]
    assert plan.argv == argv
    assert plan.stdin == spice.vv_document(connection, **options).encode()  # type: ignore[arg-type]
    if not kiosk and "kiosk" not in kwargs:
        assert plan.stdin == document.encode()
    assert plan.pass_fds == ()
    assert plan.temp_files == ()


def test_password_never_in_argv_or_repr() -> None:
    plan = spice.plan(conn(password="s3cr3t-console"), client=RV, kiosk=True)
    assert not any("s3cr3t" in arg for arg in plan.argv)
    assert "s3cr3t" not in repr(plan)
    assert plan.stdin is not None
    assert b"password=s3cr3t-console\n" in plan.stdin


def test_plan_refuses_rdp() -> None:
    with pytest.raises(ValueError, match="does not open rdp"):
        spice.plan(conn(protocol=Protocol.RDP), client=RV)


# --- through an HTTP CONNECT proxy (Proxmox's spiceproxy) -------------------------

# What Proxmox's spiceproxy call answers (its API reference), as the broker passes it on.
PVE_HOST = "pvespiceproxy:6571f1a2:100:pve1::3a9c0d6e2f41b7a8c5d09e1f2a3b4c5d6e7f8091"
PVE_SUBJECT = "OU=PVE Cluster Node,O=Proxmox Virtual Environment,CN=pve1.example.com"


def proxmox() -> ConnectionInfo:
    return conn(
        host=PVE_HOST,
        port=61000,
        tls=True,
        password="PVESPICE:6571f1a2::Zm9v",
        host_subject=PVE_SUBJECT,
        ca=CA,
        proxy="http://pve1.example.com:3128",
    )


def test_a_proxmox_console_goes_through_its_proxy_exactly() -> None:
    launch = Launch(proxmox(), Client("remote-viewer", RV), Preferences(), title="Lab")

    plan = spice.DRIVER.plan(launch)

    assert plan.argv == (RV, "--debug", "-")
    assert (
        plan.stdin
        == (
            "[virt-viewer]\n"
            "type=spice\n"
            f"host={PVE_HOST}\n"
            "tls-port=61000\n"
            "password=PVESPICE:6571f1a2::Zm9v\n"
            "title=Lab\n"
            "ca=-----BEGIN CERTIFICATE-----\\nMIIBszCCAVmgAwIBAgIU\\n-----END CERTIFICATE-----\\n\n"
            f"host-subject={PVE_SUBJECT}\n"
            "proxy=http://pve1.example.com:3128\n"
            "enable-usbredir=0\n"
            "delete-this-file=1\n"
        ).encode()
    )
    assert glib_read(plan.stdin.decode())["host"] == PVE_HOST


def test_a_proxy_target_name_is_refused_without_a_proxy() -> None:
    with pytest.raises(ValueError, match="not a host name"):
        spice.vv_document(conn(host=PVE_HOST))


@pytest.mark.parametrize(
    "host",
    [
        "-pvespiceproxy:1:100:pve1::ab",  # an option
        "pvespiceproxy:1:100:pve1::ab\ntitle=x",  # a second .vv line
        "pvespiceproxy:1 100",
        "pvespiceproxy/1",
        "user@pvespiceproxy:1",
        "pvespiceproxy:{fd:0}",
        "pvespiceproxy:%41",
        "pvespiceproxy;1",
        "",
    ],
)
def test_a_proxied_host_is_still_refused_when_it_could_be_misread(host: str) -> None:
    with pytest.raises(ValueError, match="not a host name"):
        spice.vv_document(conn(host=host, proxy="http://pve1.example.com:3128"))


def test_vnc_in_remote_viewer_cannot_use_a_proxy() -> None:
    with pytest.raises(LaunchError) as caught:
        spice.vv_document(conn(protocol=Protocol.VNC, proxy="http://pve1.example.com:3128"))

    assert caught.value.message == (
        "The VNC viewer cannot reach this desktop: it is only reachable through a proxy."
    )
    assert "remote-viewer" in caught.value.hint


# --- escaping ------------------------------------------------------------------


def glib_read(document: str) -> dict[str, str]:
    """The [virt-viewer] values as GLib's key-file parser reads them.

    GLib (g_key_file_parse_value_as_string) drops blanks after '=' (space,
    tab and form feed, as checked with the real parser below), keeps
    trailing ones, and knows the escapes \\s \\n \\t \\r \\\\; any other
    escape is an error. Only group lines and key=value lines are expected.
    """
    lines = document.split("\n")
    assert lines[0] == "[virt-viewer]"
    assert lines[-1] == ""
    values: dict[str, str] = {}
    for line in lines[1:-1]:
        key, sep, raw = line.partition("=")
        assert sep
        assert key not in values, f"duplicate key {key}"
        raw = raw.lstrip(" \t\f")
        out, i = [], 0
        while i < len(raw):
            if raw[i] == "\\":
                nxt = raw[i + 1]
                out.append({"s": " ", "n": "\n", "t": "\t", "r": "\r", "\\": "\\"}[nxt])
                i += 2
            else:
                out.append(raw[i])
                i += 1
        values[key] = "".join(out)
    return values


any_text = st.text(alphabet=st.characters(exclude_categories=["Cs"], exclude_characters="\0"))


@given(title=any_text, password=any_text)
def test_escaped_values_read_back_unchanged_and_add_no_keys(title: str, password: str) -> None:
    if title.startswith("\f") or password.startswith("\f"):
        with pytest.raises(ValueError, match="form feed"):
            spice.vv_document(conn(password=password), title=title)
        return
    document = spice.vv_document(conn(password=password), title=title)
    values = glib_read(document)
    assert values["password"] == password
    assert values.get("title", "") == title
    assert set(values) <= {"type", "host", "port", "password", "title", "enable-usbredir"} | {
        "delete-this-file"
    }


def test_a_title_cannot_smuggle_in_keys_or_groups() -> None:
    title = "x\npassword=stolen\n[virt-viewer]\nhost=evil"
    values = glib_read(spice.vv_document(conn(), title=title))
    assert values["title"] == title
    assert values["password"] == "one-time"
    assert values["host"] == "10.0.0.9"


def test_what_glib_cannot_read_back_is_refused() -> None:
    with pytest.raises(ValueError, match="NUL"):
        spice.vv_document(conn(password="a\0b"))
    with pytest.raises(ValueError, match="form feed"):
        spice.vv_document(conn(), title="\fpage")
    assert glib_read(spice.vv_document(conn(), title="page\f"))["title"] == "page\f"


GI_PYTHON = "/usr/bin/python3"
GI_READER = """
import json, sys
import gi
gi.require_version("GLib", "2.0")
from gi.repository import GLib
data = sys.stdin.read()
keyfile = GLib.KeyFile()
keyfile.load_from_data(data, len(data.encode()), GLib.KeyFileFlags.NONE)
keys, _ = keyfile.get_keys("virt-viewer")
print(json.dumps({key: keyfile.get_string("virt-viewer", key) for key in keys}))
"""


def gi_available() -> bool:
    if shutil.which(GI_PYTHON) is None:
        return False
    probe = subprocess.run(
        [GI_PYTHON, "-c", "import gi; gi.require_version('GLib', '2.0')"],
        capture_output=True,
        timeout=30,
        check=False,
    )
    return probe.returncode == 0


@pytest.mark.skipif(
    not gi_available(), reason="python3-gi missing: sudo apt-get install python3-gi"
)
@pytest.mark.parametrize(
    "value",
    [
        " leading space",
        "  two leading",
        "\tleading tab",
        "trailing spaces  ",
        "back\\slash\\n not a newline",
        "new\nline\r\n",
        "semi;colon #hash [group] =equals",
        "ünïcödé ✓",
        "\x0bvertical tab, \x85next line, \u2028line separator, \ufeffbom",
        "form\ffeed inside",
        CA,
    ],
)
def test_real_glib_reads_what_we_write(value: str) -> None:
    """remote-viewer reads .vv files with GLib's GKeyFile; so does this check."""
    document = spice.vv_document(conn(password=value), title=value, ca_pem=value)
    result = subprocess.run(
        [GI_PYTHON, "-c", GI_READER],
        input=document,
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    values = json.loads(result.stdout)
    assert values["password"] == value
    assert values["title"] == value
    assert values["ca"] == value
    assert values == glib_read(document)


@given(st.text(max_size=40))
def test_odd_host_names_are_refused_or_stay_one_line(host: str) -> None:
    try:
        document = spice.vv_document(conn(host=host))
    except ValueError:
        return
    assert document.split("\n")[2] == f"host={host}"
    assert document.count("\n") == 7


# --- discovery and output ----------------------------------------------------------


def test_locate_missing_viewer_names_the_package(tmp_path: Path) -> None:
    with pytest.raises(ClientNotFound) as caught:
        spice.locate(platform="linux", path=str(tmp_path), extra_dirs=())
    assert "sudo apt-get install virt-viewer" in str(caught.value)
    with pytest.raises(ClientNotFound, match=r"virt-manager\.org"):
        spice.locate(platform="windows", path=str(tmp_path))


def test_locate_finds_the_versioned_windows_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "VirtViewer v11.0-256" / "bin"
    folder.mkdir(parents=True)
    exe = folder / "remote-viewer"
    exe.write_text("#!/bin/sh\n")
    exe.chmod(0o755)
    monkeypatch.setitem(spice.EXTRA_DIRS, "windows", (str(tmp_path / "VirtViewer*" / "bin"),))
    assert spice.locate(platform="windows", path="") == str(exe)


@pytest.mark.parametrize(
    ("recording", "expected"),
    [
        ("vnc-connected.txt", None),
        ("vnc-wrong-password.txt", "The desktop refused the console password."),
        ("vnc-connection-refused.txt", "The desktop is not answering on its display port."),
        # Without --debug remote-viewer says nothing about a refused SPICE
        # connection; it only shows a dialog.
        ("spice-connection-refused.txt", None),
        (
            "spice-connection-refused-debug.txt",
            "The desktop is not answering on its display port.",
        ),
        ("spice-connected-debug.txt", None),
        ("spice-wrong-password-debug.txt", "The desktop refused the console password."),
        ("spice-proxy-refused-debug.txt", "The desktop's console proxy refused the connection."),
        (
            "spice-proxy-bad-gateway-debug.txt",
            "The desktop's console proxy refused the connection.",
        ),
        ("spice-tls-connected-debug.txt", None),
        (
            "spice-tls-wrong-ca-debug.txt",
            "The desktop's certificate is not the one the broker vouched for.",
        ),
        (
            "spice-tls-wrong-subject-debug.txt",
            "The desktop's certificate is not the one the broker vouched for.",
        ),
    ],
)
def test_recorded_viewer_output_is_classified(recording: str, expected: str | None) -> None:
    reasons = [
        reason
        for line in (DATA / recording).read_text().splitlines()
        if (reason := spice.classify_line(line)) is not None
    ]
    assert [r.message for r in reasons] == ([expected] if expected else [])


@pytest.mark.parametrize(
    ("recording", "connected"),
    [
        ("spice-connected-debug.txt", True),
        ("spice-wrong-password-debug.txt", False),
        ("spice-connection-refused-debug.txt", False),
        ("spice-tls-connected-debug.txt", True),
        ("spice-tls-wrong-ca-debug.txt", False),
        ("spice-tls-wrong-subject-debug.txt", False),
        ("vnc-wrong-password.txt", False),
    ],
)
def test_recorded_output_shows_a_connection_only_when_there_was_one(
    recording: str, connected: bool
) -> None:
    lines = (DATA / recording).read_text().splitlines()
    assert any(spice.connected_line(line) for line in lines) is connected
