"""``rubicon doctor``: what works on this computer, what does not, and what to do.

:func:`build_report` runs a list of checks and returns a :class:`Report`:
the launcher's version, Python, the OS, Qt (its version is passed in: this
module never imports Qt), the display, each native client (path and
version, asked with a timeout), the settings file, the log files, and when
given a broker and a desktop, whether they answer (and whether the broker's
certificate is the one the launcher trusts for it). Every :class:`Check` has a
status (ok, info, warn, fail), a sentence, and what to do when it is not ok.

The report renders as text for a person (:meth:`Report.to_text`) and JSON
for a program (:meth:`Report.to_json`). :func:`write_bundle` puts it in a
support bundle (a zip) with the settings file and the log files, each passed
through :func:`launcher.core.redact.redact` on the way in.

Nothing here changes the computer: the settings file is read, never set
aside; the broker is asked only ``GET /healthz``, without a sign-in.
"""

from __future__ import annotations

import enum
import ipaddress
import json
import os
import platform as platform_module
import socket
import ssl
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from launcher import __version__
from launcher.core import log, settings, trust
from launcher.core.broker import normalize_url
from launcher.core.clients import CLIENTS
from launcher.core.protocols import LaunchError, platform_key
from launcher.core.protocols.driver import Runner, load, run_for_output
from launcher.core.redact import redact

__all__ = [
    "Check",
    "Report",
    "Status",
    "TlsProbe",
    "build_report",
    "check_broker",
    "check_desktop_port",
    "parse_host_port",
    "probe_tls",
    "write_bundle",
]

DEFAULT_TIMEOUT = 5.0


class Status(enum.StrEnum):
    OK = "ok"
    INFO = "info"
    WARN = "warn"
    FAIL = "fail"


_LABEL = {Status.OK: " OK ", Status.INFO: "INFO", Status.WARN: "WARN", Status.FAIL: "FAIL"}


@dataclass(frozen=True, slots=True)
class Check:
    """One finding: ``summary`` is a sentence, ``action`` what to do about it."""

    id: str
    title: str
    status: Status
    summary: str
    action: str = ""
    details: Mapping[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "status": self.status.value,
            "summary": self.summary,
            "action": self.action,
            "details": dict(self.details),
        }


@dataclass(frozen=True, slots=True)
class Report:
    checks: tuple[Check, ...]
    created: datetime = field(default_factory=lambda: datetime.now(UTC))

    def count(self, status: Status) -> int:
        return sum(1 for c in self.checks if c.status is status)

    @property
    def failed(self) -> bool:
        return any(c.status is Status.FAIL for c in self.checks)

    def by_id(self, check_id: str) -> Check:
        for check in self.checks:
            if check.id == check_id:
                return check
        raise KeyError(check_id)

    def to_text(self) -> str:
        when = self.created.strftime("%Y-%m-%d %H:%M:%S %Z")
        lines = [f"Rubicon {__version__} diagnostics, {when}", ""]
        for check in self.checks:
            lines.append(f"[{_LABEL[check.status]}] {check.title}: {check.summary}")
            lines += [f"       {key}: {value}" for key, value in check.details.items()]
            if check.action and check.status is not Status.OK:
                lines.append(f"       What to do: {check.action}")
        warnings, failures, info = (self.count(s) for s in (Status.WARN, Status.FAIL, Status.INFO))
        parts = [f"{self.count(Status.OK)} ok"]
        if info:
            parts.append(f"{info} for information")
        parts += [
            f"{warnings} warning{'s' * (warnings != 1)}",
            f"{failures} problem{'s' * (failures != 1)}",
        ]
        lines += ["", f"Summary: {', '.join(parts)}."]
        return "\n".join(lines) + "\n"

    def to_dict(self) -> dict[str, Any]:
        return {
            "rubicon": __version__,
            "created": self.created.isoformat(),
            "summary": {s.value: self.count(s) for s in Status},
            "checks": [c.to_dict() for c in self.checks],
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, ensure_ascii=False) + "\n"


# --- the checks ---------------------------------------------------------------------


def _environment(qt_version: str | None, system: str) -> list[Check]:
    python = f"{platform_module.python_version()} ({platform_module.python_implementation()})"
    checks = [
        Check("rubicon", "Rubicon", Status.OK, f"version {__version__}."),
        Check(
            "python",
            "Python",
            Status.OK,
            f"{python} on {platform_module.platform()}.",
            details={"executable": sys.executable},
        ),
    ]
    if qt_version:
        checks.append(Check("qt", "Qt", Status.OK, f"version {qt_version}."))
    else:
        checks.append(Check("qt", "Qt", Status.INFO, "not loaded by this command."))
    if system == "linux":
        x11, wayland = os.environ.get("DISPLAY"), os.environ.get("WAYLAND_DISPLAY")
        if x11:
            checks.append(Check("display", "Display", Status.OK, f"X display {x11}."))
        elif wayland:
            checks.append(
                Check(
                    "display",
                    "Display",
                    Status.WARN,
                    f"Wayland ({wayland}) without an X display.",
                    action="vncviewer and FreeRDP's xfreerdp are X11 programs: "
                    "make sure XWayland runs (DISPLAY is set) in your session.",
                )
            )
        else:
            checks.append(
                Check(
                    "display",
                    "Display",
                    Status.WARN,
                    "no display is set (neither DISPLAY nor WAYLAND_DISPLAY).",
                    action="Run Rubicon inside your desktop session; remote-desktop "
                    "clients need a display to open their windows.",
                )
            )
    return checks


def _clients(system: str, clients: Mapping[str, str], run: Runner, timeout: float) -> list[Check]:
    checks: list[Check] = []
    for client in CLIENTS:
        chosen = settings.client_override(clients, client.key)
        # The clients this OS uses, and FreeRDP wherever the settings give its path.
        if system not in client.platforms and not (client.anywhere_with_path and chosen):
            continue
        driver = load(client)
        details = {"set in settings": chosen} if chosen else {}
        try:
            path = driver.locate(system, chosen)
        except LaunchError as e:
            checks.append(
                Check(
                    f"client.{client.key}",
                    client.title,
                    Status.WARN,
                    e.message.rstrip(".") + ".",
                    action=e.hint or "Install it if your desktops use it.",
                    details=details,
                )
            )
            continue
        try:
            version, why = driver.version(path, run, timeout)
        except subprocess.TimeoutExpired:
            version, why = None, f"it did not answer within {timeout:g} s"
        except OSError as e:
            version, why = None, f"it could not be run ({e.strerror or e})"
        if version:
            status, summary = Status.OK, f"{path}, version {version}."
        else:
            status = Status.WARN
            summary = f"{path}; its version could not be read" + (f": {why}." if why else ".")
        checks.append(
            Check(
                f"client.{client.key}",
                client.title,
                status,
                summary,
                action="" if version else "Check that it starts; reinstall it if it does not.",
                details=details,
            )
        )
    return checks


def _settings_check(path: Path) -> Check:
    state = settings.inspect(path)
    details = {"path": str(path)}
    if not state.exists:
        return Check(
            "settings",
            "Settings",
            Status.INFO,
            "no settings file yet; defaults are used.",
            details=details,
        )
    if not state.readable:
        return Check(
            "settings",
            "Settings",
            Status.FAIL,
            f"the file {state.problems[0]}",
            action="Rubicon will set it aside (as settings.json.broken) and use the "
            "defaults the next time it starts; nothing else is needed.",
            details=details,
        )
    if state.problems:
        return Check(
            "settings",
            "Settings",
            Status.WARN,
            "some values are ignored: " + "; ".join(state.problems) + ".",
            action="Fix or remove those entries (see docs/protocols.md for the options).",
            details=details,
        )
    if not state.private:
        return Check(
            "settings",
            "Settings",
            Status.WARN,
            "the file can be read by other users.",
            action=f"Run: chmod 600 {path}",
            details=details,
        )
    return Check("settings", "Settings", Status.OK, "the file is valid.", details=details)


def _logs_check(directory: Path | None) -> Check:
    if directory is None:
        return Check("logs", "Log files", Status.INFO, "no log directory was given.")
    files = sorted(directory.glob(log.LOG_FILE + "*")) if directory.is_dir() else []
    size = sum(f.stat().st_size for f in files if f.is_file())
    if not files:
        return Check(
            "logs",
            "Log files",
            Status.INFO,
            "none yet; the window writes them when it runs.",
            details={"directory": str(directory)},
        )
    return Check(
        "logs",
        "Log files",
        Status.OK,
        f"{len(files)} file{'s' * (len(files) != 1)}, {size // 1024 + 1} KB.",
        details={"directory": str(directory)},
    )


# --- the broker -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TlsProbe:
    """What the broker's TLS certificate looks like from here."""

    fingerprint: str  # SHA-256, upper-case hex pairs joined by colons
    verified: bool  # against this computer's trust store, host name included
    problem: str = ""  # why not, when not verified


def _normal_fingerprint(text: str) -> str:
    digits = "".join(c for c in text if c not in ": \t").upper()
    if len(digits) != 64 or any(c not in "0123456789ABCDEF" for c in digits):
        raise ValueError("a SHA-256 fingerprint is 64 hex digits (colons allowed)")
    return ":".join(digits[i : i + 2] for i in range(0, 64, 2))


def probe_tls(host: str, port: int, *, timeout: float = DEFAULT_TIMEOUT) -> TlsProbe:
    """Fetch the certificate without checking it (for its fingerprint), then check it.

    Raises OSError when nothing answers with TLS on ``host:port``.
    """
    der = trust.fetch_certificate(host, port, timeout=timeout)
    strict = ssl.create_default_context()
    try:
        with (
            socket.create_connection((host, port), timeout=timeout) as raw,
            strict.wrap_socket(raw, server_hostname=host),
        ):
            pass
    except ssl.SSLCertVerificationError as e:
        return TlsProbe(trust.fingerprint(der), False, e.verify_message or str(e))
    except ssl.SSLError as e:
        return TlsProbe(trust.fingerprint(der), False, e.reason or str(e))
    return TlsProbe(trust.fingerprint(der), True)


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_broker(
    server: str,
    *,
    pin: str | None = None,
    pinned: trust.Pin | None = None,
    timeout: float = DEFAULT_TIMEOUT,
) -> list[Check]:
    """The broker's address, TLS certificate and ``/healthz``.

    ``pin``: a fingerprint given on the command line; ``pinned``: the certificate
    the launcher trusts for this broker (its pin file), which the window holds
    the broker to.
    """
    try:
        base = normalize_url(server)
    except ValueError as e:
        return [Check("broker", "Broker", Status.FAIL, str(e), action="Correct the address.")]
    url = httpx.URL(base)
    host = url.host
    port = url.port or (443 if url.scheme == "https" else 80)
    checks: list[Check] = []
    verify = True
    if url.scheme == "http":
        if _is_loopback(host):
            checks.append(
                Check(
                    "broker.tls",
                    "Broker TLS",
                    Status.INFO,
                    f"plain HTTP to {host}, on this computer (a demo or test broker).",
                )
            )
        else:
            checks.append(
                Check(
                    "broker.tls",
                    "Broker TLS",
                    Status.FAIL,
                    f"{base} is plain HTTP: passwords would cross the network unencrypted.",
                    action="Use the broker's https:// address.",
                )
            )
    else:
        try:
            probe = probe_tls(host, port, timeout=timeout)
        except (OSError, ssl.SSLError) as e:
            return [
                Check(
                    "broker",
                    "Broker",
                    Status.FAIL,
                    f"nothing answers with TLS at {host}:{port} ({e}).",
                    action="Check the address and port, your network, and that the broker runs.",
                    details={"address": base},
                )
            ]
        details = {"SHA-256": probe.fingerprint}
        expected = None
        if pin:
            try:
                expected = _normal_fingerprint(pin)
            except ValueError as e:
                checks.append(
                    Check("broker.pin", "Broker pin", Status.FAIL, str(e), action="Correct it.")
                )
        announced = pinned is not None and probe.fingerprint == pinned.next_fingerprint
        if expected is not None and expected != probe.fingerprint:
            checks.append(
                Check(
                    "broker.tls",
                    "Broker TLS",
                    Status.FAIL,
                    "the certificate is NOT the one you expected.",
                    action="Do not sign in. Tell your administrator: someone may be "
                    "intercepting the connection, or the broker got a new certificate.",
                    details={**details, "expected": expected},
                )
            )
        elif pinned is not None and probe.fingerprint != pinned.fingerprint and not announced:
            checks.append(
                Check(
                    "broker.tls",
                    "Broker TLS",
                    Status.FAIL,
                    "the certificate is NOT the one you trusted for this broker "
                    f"(on {pinned.pinned_at[:10]}); Rubicon refuses to sign in to it.",
                    action="Ask your administrator whether the broker's certificate changed. "
                    "If the new fingerprint is the one they give you, sign in and choose "
                    "“Trust the new certificate…”; if not, do not sign in: someone may be "
                    "intercepting the connection.",
                    details={**details, "trusted before": pinned.fingerprint},
                )
            )
        elif announced:
            checks.append(
                Check(
                    "broker.tls",
                    "Broker TLS",
                    Status.OK,
                    "the broker presents the new certificate it announced before; Rubicon "
                    "trusts it from the next sign-in on.",
                    details=details,
                )
            )
        elif probe.verified:
            checks.append(
                Check(
                    "broker.tls",
                    "Broker TLS",
                    Status.OK,
                    "the certificate is trusted by this computer"
                    + (" and matches the fingerprint you gave." if expected else "."),
                    details=details,
                )
            )
        elif expected is not None:
            checks.append(
                Check(
                    "broker.tls",
                    "Broker TLS",
                    Status.OK,
                    f"not trusted by this computer ({probe.problem}), but it matches "
                    "the fingerprint you gave.",
                    details=details,
                )
            )
        elif pinned is not None:
            checks.append(
                Check(
                    "broker.tls",
                    "Broker TLS",
                    Status.OK,
                    f"not trusted by this computer ({probe.problem}), but it is the "
                    f"certificate you trusted for this broker on {pinned.pinned_at[:10]}.",
                    details=details,
                )
            )
        else:
            checks.append(
                Check(
                    "broker.tls",
                    "Broker TLS",
                    Status.WARN,
                    f"the certificate is not trusted by this computer ({probe.problem}).",
                    action="Compare its SHA-256 with the one your administrator gave you "
                    "(`rubicon-broker init` prints it). If they match, the broker is "
                    "self-signed and fine; if not, do not sign in.",
                    details=details,
                )
            )
        # /healthz carries no secret: read it even from a certificate we do
        # not trust, so the report says whether the broker itself is well.
        verify = probe.verified
    checks.append(_healthz(base, verify=verify, timeout=timeout))
    return checks


def _pinned(path: Path, server: str) -> trust.Pin | None:
    """The pin the launcher holds for ``server``, read without changing anything."""
    if not path.exists():
        return None
    try:
        return trust.PinStore(path).get(trust.origin(normalize_url(server)))
    except ValueError:  # no address: check_broker says so
        return None


def _healthz(base: str, *, verify: bool, timeout: float) -> Check:
    details = {"address": base}
    try:
        with httpx.Client(verify=verify, timeout=timeout) as http:
            response = http.get(base + "/healthz")
    except httpx.TimeoutException:
        return Check(
            "broker",
            "Broker",
            Status.FAIL,
            f"{base} did not answer within {timeout:g} s.",
            action="The broker may be overloaded or a firewall drops the traffic.",
            details=details,
        )
    except httpx.HTTPError as e:
        return Check(
            "broker",
            "Broker",
            Status.FAIL,
            f"cannot reach {base} ({e}).",
            action="Check the address, your network, and that the broker runs.",
            details=details,
        )
    try:
        body = response.json()
    except ValueError:
        body = None
    if response.status_code == 200 and isinstance(body, dict) and body.get("status") == "ok":
        return Check(
            "broker", "Broker", Status.OK, f"{base} answers and is healthy.", details=details
        )
    if response.status_code == 503 and isinstance(body, dict):
        return Check(
            "broker",
            "Broker",
            Status.FAIL,
            f"{base} answers but cannot reach its database.",
            action="Tell your administrator; sign-ins fail until the database is back.",
            details=details,
        )
    return Check(
        "broker",
        "Broker",
        Status.FAIL,
        f"{base} answered HTTP {response.status_code} to /healthz, not like a Rubicon broker.",
        action="Check that the address points to the Rubicon broker.",
        details=details,
    )


# --- a desktop's display port ----------------------------------------------------


def parse_host_port(text: str) -> tuple[str, int]:
    """``host:port`` or ``[v6]:port``; ValueError otherwise."""
    text = text.strip()
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        port = rest[1:] if rest.startswith(":") else ""
    else:
        host, _, port = text.rpartition(":")
        if ":" in host:
            raise ValueError(f"write an IPv6 address in brackets: [{host}]:{port}")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"not HOST:PORT: {text!r}")
    return host, int(port)


def check_desktop_port(host: str, port: int, *, timeout: float = DEFAULT_TIMEOUT) -> Check:
    """Whether something accepts TCP connections on a desktop's display port."""
    where = f"{host}:{port}"
    title = "Desktop port"
    try:
        with socket.create_connection((host, port), timeout=timeout):
            pass
    except socket.gaierror:
        return Check(
            "desktop",
            title,
            Status.FAIL,
            f"the name {host} cannot be resolved.",
            action="Check your network (VPN?) or tell your administrator.",
        )
    except TimeoutError:
        return Check(
            "desktop",
            title,
            Status.FAIL,
            f"{where} did not answer within {timeout:g} s.",
            action="A firewall may drop the traffic, or the desktop is off.",
        )
    except ConnectionRefusedError:
        return Check(
            "desktop",
            title,
            Status.FAIL,
            f"{where} refused the connection.",
            action="The desktop may be starting or its display server is not running; "
            "try again in a minute, then tell your administrator.",
        )
    except OSError as e:
        return Check(
            "desktop",
            title,
            Status.FAIL,
            f"{where} cannot be reached ({e.strerror or e}).",
            action="Check your network, or tell your administrator.",
        )
    return Check("desktop", title, Status.OK, f"{where} accepts connections.")


# --- all together ------------------------------------------------------------------


def build_report(
    *,
    settings_path: Path,
    log_directory: Path | None = None,
    server: str | None = None,
    desktop: str | tuple[str, int] | None = None,
    pin: str | None = None,
    pins_path: Path | None = None,
    qt_version: str | None = None,
    system: str | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    run: Runner = run_for_output,
) -> Report:
    """Run every check; none raises. ``server`` defaults to the last one in the settings.

    ``pins_path``: the launcher's certificate pins (default: ``pins.json`` beside
    the settings file, where the window keeps them).
    """
    system = system or platform_key()
    user = settings.UserSettings()
    if settings.inspect(settings_path).readable:
        user = settings.UserSettings.load(settings_path, warn=False)  # the report says it
    checks = _environment(qt_version, system)
    checks += _clients(system, user.clients, run, timeout)
    checks.append(_settings_check(settings_path))
    checks.append(_logs_check(log_directory))
    server = server or user.last_server
    if server:
        pinned = _pinned(pins_path or settings_path.parent / "pins.json", server)
        checks += check_broker(server, pin=pin, pinned=pinned, timeout=timeout)
    else:
        checks.append(
            Check(
                "broker",
                "Broker",
                Status.INFO,
                "no broker address given or remembered; not checked.",
                action="Give one with --server.",
            )
        )
    if desktop is not None:
        try:
            host, port = parse_host_port(desktop) if isinstance(desktop, str) else desktop
        except ValueError as e:
            checks.append(Check("desktop", "Desktop port", Status.FAIL, str(e)))
        else:
            checks.append(check_desktop_port(host, port, timeout=timeout))
    return Report(tuple(checks))


def write_bundle(
    target: Path,
    report: Report,
    *,
    settings_path: Path | None = None,
    log_directory: Path | None = None,
) -> list[str]:
    """Write a support bundle zip at ``target`` (mode 0600); returns the names inside.

    Every file is passed through :func:`redact` first, the report included.
    """
    entries: list[tuple[str, str]] = [
        ("report.txt", report.to_text()),
        ("report.json", report.to_json()),
    ]
    if settings_path is not None and settings_path.is_file():
        entries.append(("settings.json", _read_text(settings_path)))
    if log_directory is not None and log_directory.is_dir():
        for path in sorted(log_directory.glob(log.LOG_FILE + "*")):
            if path.is_file():
                entries.append((f"logs/{path.name}", _read_text(path)))
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".rubicon-bundle-", suffix=".zip")
    try:
        with os.fdopen(fd, "wb") as raw, zipfile.ZipFile(raw, "w", zipfile.ZIP_DEFLATED) as zf:
            for name, text in entries:
                info = zipfile.ZipInfo(name, date_time=report.created.timetuple()[:6])
                info.compress_type = zipfile.ZIP_DEFLATED
                info.external_attr = 0o600 << 16
                zf.writestr(info, redact(text))
        os.chmod(tmp, 0o600)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    log.app.info("support bundle written to %s (%d files)", target, len(entries))
    return [name for name, _ in entries]


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError as e:
        return f"(could not be read: {e})\n"
