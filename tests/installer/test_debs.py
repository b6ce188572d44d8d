"""Both Debian packages installed for real: apt-get install, run, apt-get purge.

They change this computer (packages, a system user), so they run only where
RUBICON_INSTALL_PACKAGES=1 says that is wanted (CI's packaging stage, as root),
after `make package` put the .debs in dist/ (or RUBICON_DEBS names a folder).
"""

from __future__ import annotations

import contextlib
import os
import pwd
import re
import shutil
import signal
import ssl
import stat
import subprocess
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from broker_stub.demo.xdisplay import free_tcp_port
from tests.helpers.e2e import wait_for
from tests.installer.conftest import ROOT, packages_required

pytestmark = pytest.mark.e2e

# Where packages put what they install, and what may change there without them.
WATCHED = ("/opt", "/etc", "/usr/bin", "/usr/share/applications", "/usr/share/icons/hicolor",
           "/usr/share/xsessions", "/usr/share/man/man1", "/usr/share/man/man8",
           "/usr/share/doc", "/usr/share/lintian/overrides", "/lib/systemd/system",
           "/var/lib")  # fmt: skip
# Caches that dpkg's triggers (re)write, and dpkg's and apt's own records.
REWRITTEN = re.compile(
    r"^/usr/share/(applications/mimeinfo\.cache|icons/hicolor/icon-theme\.cache)$"
    r"|^/var/lib/(dpkg|apt|systemd/deb-systemd-helper-\w+|ucf)(/|$)"
    r"|^/etc/(ld\.so\.cache|passwd|group|shadow|gshadow|subuid|subgid)-?$"
    r"|^/etc/systemd/system/multi-user\.target\.wants$"
)
USER = "rubicon-test-user"


def debs() -> Path:
    folder = Path(os.environ.get("RUBICON_DEBS", ROOT / "dist"))
    if os.environ.get("RUBICON_INSTALL_PACKAGES") != "1":
        pytest.skip("installs packages on this computer: set RUBICON_INSTALL_PACKAGES=1 (CI)")
    if os.geteuid() != 0:
        pytest.fail("RUBICON_INSTALL_PACKAGES=1 needs root (apt-get install)")
    if not list(folder.glob("rubicon*.deb")):
        message = f"no .deb in {folder}: run make package"
        if packages_required():
            pytest.fail(message)
        pytest.skip(message)
    return folder


def deb(name: str) -> Path:
    (found,) = debs().glob(f"{name}_*.deb")
    return found


def sh(*argv: str, timeout: float = 600, **kwargs: object) -> str:
    done = subprocess.run(
        argv, capture_output=True, text=True, timeout=timeout, check=False, **kwargs
    )  # type: ignore[call-overload]
    assert done.returncode == 0, f"{argv}: {done.stdout}{done.stderr}"
    return str(done.stdout)


def apt(*args: str) -> None:
    sh("apt-get", *args, env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})


def packages() -> set[str]:
    listed = sh("dpkg-query", "--show", "--showformat", "${Package}:${db:Status-Abbrev}\n")
    return {line.split(":")[0] for line in listed.splitlines() if line.endswith(":ii ")}


@contextlib.contextmanager
def installed(package: Path) -> Iterator[None]:
    """``package`` installed by apt-get with what it depends on; afterwards purged,
    with every package apt-get brought along for it, as an admin would."""
    before = packages()
    apt("install", "-y", "--no-install-recommends", str(package))
    brought = packages() - before
    try:
        yield
    finally:
        apt("purge", "-y", *sorted(brought))


def snapshot() -> set[str]:
    found: set[str] = set()
    for top in WATCHED:
        for folder, dirs, files in os.walk(top):
            for name in [*dirs, *files]:
                path = os.path.join(folder, name)
                if not REWRITTEN.match(path):
                    found.add(path)
    return found


@pytest.fixture
def user() -> Iterator[str]:
    """An ordinary user of this computer, as whom the launcher runs."""
    made = False
    try:
        pwd.getpwnam(USER)
    except KeyError:
        sh("useradd", "--create-home", "--shell", "/bin/sh", USER)
        made = True
    yield USER
    if made:
        sh("userdel", "--remove", USER)


def as_user(user: str, *argv: str, env: dict[str, str] | None = None) -> str:
    home = pwd.getpwnam(user).pw_dir
    plain = {"HOME": home, "PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", **(env or {})}
    return sh("runuser", "-u", user, "--", "env", "-i",
              *(f"{k}={v}" for k, v in plain.items()), *argv)  # fmt: skip


def test_lintian_finds_nothing_but_what_is_overridden() -> None:
    if shutil.which("lintian") is None:
        pytest.fail("lintian is not installed: apt-get install lintian")
    for package in ("rubicon", "rubicon-broker"):
        report = subprocess.run(
            ["lintian", "--fail-on", "error,warning", str(deb(package))],
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        assert report.returncode == 0, report.stdout + report.stderr


@pytest.mark.timeout(900)
def test_the_launcher_installs_runs_for_a_user_and_purges_clean(user: str) -> None:
    before = snapshot()
    with installed(deb("rubicon")):
        assert os.path.realpath("/usr/bin/rubicon") == "/opt/rubicon/rubicon"
        version = as_user(user, "/usr/bin/rubicon", "--version").strip()
        assert re.fullmatch(r"rubicon \d+\.\d+\.\d+", version)
        shown = as_user(user, "/usr/bin/rubicon", "--exit-when-shown",
                        env={"QT_QPA_PLATFORM": "offscreen"})  # fmt: skip
        assert shown.startswith("shown ")
        # The menu entry opens rubicon:// links, for this user as for any.
        handler = as_user(user, "xdg-mime", "query", "default", "x-scheme-handler/rubicon")
        assert handler.strip() == "rubicon.desktop"
        for entry in ("/usr/share/applications/rubicon.desktop",
                      "/usr/share/xsessions/rubicon-kiosk.desktop"):  # fmt: skip
            sh("desktop-file-validate", entry)
        assert "/etc/rubicon/rubicon.toml" in sh("dpkg-query", "--control-show", "rubicon",
                                                 "conffiles")  # fmt: skip
        sh("man", "-w", "rubicon")

    assert snapshot() - before == set()


def unit(path: Path) -> tuple[dict[str, str], list[str], str]:
    """The service's Environment=, ExecStartPre= and ExecStart=, and its User=."""
    env: dict[str, str] = {}
    pre: list[str] = []
    start = user = ""
    for line in path.read_text().splitlines():
        key, _, value = line.partition("=")
        if key == "Environment":
            name, _, setting = value.partition("=")
            env[name] = setting
        elif key == "ExecStartPre":
            pre.append(value)
        elif key == "ExecStart":
            start = value
        elif key == "User":
            user = value
    return env, [*pre, start], user


@pytest.mark.timeout(900)
def test_the_broker_installs_serves_tls_as_its_user_and_purges_clean(tmp_path: Path) -> None:
    before = snapshot()
    with installed(deb("rubicon-broker")):
        service = Path("/lib/systemd/system/rubicon-broker.service")
        if shutil.which("systemd-analyze") is None:
            pytest.fail("systemd-analyze is not installed: apt-get install systemd")
        sh("systemd-analyze", "verify", str(service))
        # The hypervisor backends that are pure Python come with it.
        kinds = (
            "import pyVmomi, proxmoxer, pypsrp; from broker_stub.backends import find_kind; "
            "print(*(find_kind(k).name for k in ('vsphere', 'proxmox', 'hyperv')))"
        )
        loaded = sh("/opt/rubicon-broker/bin/python", "-c", kinds)
        assert loaded.split() == ["vsphere", "proxmox", "hyperv"]
        env, commands, user = unit(service)
        assert user == "rubicon-broker"
        account = pwd.getpwnam(user)
        assert account.pw_shell in ("/usr/sbin/nologin", "/bin/false")
        pools = Path("/etc/rubicon/pools.toml").stat()
        assert (pools.st_uid, stat.S_IMODE(pools.st_mode)) == (account.pw_uid, 0o600)
        # What systemd would do: the state folder, then each command as the user,
        # with the unit's environment and, as /etc/default would, a port of ours.
        state = Path("/var/lib/rubicon-broker")
        state.mkdir(mode=0o700, exist_ok=True)
        os.chown(state, account.pw_uid, account.pw_gid)
        port = free_tcp_port()
        env.update(RUBICON_BROKER_HOST="127.0.0.1", RUBICON_BROKER_PORT=str(port))
        run_as = ["runuser", "-u", user, "--", "env", "-i", *(f"{k}={v}" for k, v in env.items())]
        for command in commands[:-1]:
            sh(*run_as, *command.split())
        output = tmp_path / "serve.out"
        with output.open("wb") as out:
            process = subprocess.Popen([*run_as, *commands[-1].split()], stdout=out, stderr=out,
                                       start_new_session=True)  # fmt: skip
        try:
            context = ssl.create_default_context(cafile=env["RUBICON_BROKER_TLS_CERT"])
            url = f"https://localhost:{port}/healthz"

            def healthy() -> bool:
                try:
                    with urllib.request.urlopen(url, context=context, timeout=5) as answer:
                        return bool(answer.status == 200)
                except (OSError, ssl.SSLError):
                    return False

            wait_for(healthy, 60, f"{url} over TLS", process=process, output=output)
            key = Path(env["RUBICON_BROKER_TLS_KEY"]).stat()
            assert (key.st_uid, stat.S_IMODE(key.st_mode)) == (account.pw_uid, 0o600)
        finally:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=60)

    left = snapshot() - before
    assert left == set()
    # Debian policy keeps a package's system user after a purge.
    assert pwd.getpwnam("rubicon-broker").pw_dir == "/var/lib/rubicon-broker"
