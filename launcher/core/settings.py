"""Settings in layers: the admin's system file, the command line, the user's file.

Which value wins, first to last::

    system file (locked)     /etc/rubicon/rubicon.toml, top-level keys: the user cannot change them
    command line             --fullscreen, ...: this run only, never saved
    user settings            settings.json in the user config directory (JSON, 0600)
    admin defaults           the system file's [defaults] table: a start the user may change
    built-in defaults        the dataclasses below

The user's file keeps only what the user chose; never a password or token
(those belong to the OS keychain). A damaged file is set aside, not lost,
and the defaults are used. The system file is never written; a key in it
that Rubicon does not know, or of the wrong type, is logged and ignored.
Its ``[kiosk]`` table belongs to kiosk mode and is handed over untouched
(:meth:`SystemConfig.section`). A few keys (``ADMIN_ONLY``: the hosts the
sign-in form may send a password to over plain HTTP) count only at the
system file's top level; anywhere else they are logged and ignored.
"""

from __future__ import annotations

import copy
import json
import os
import re
import sys
import tempfile
import typing
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields, is_dataclass
from pathlib import Path
from types import UnionType
from typing import Any, Union

import platformdirs

from launcher.core import clients as native_clients
from launcher.core import log
from launcher.core.kinds import Protocol

# tomllib is imported where a system file is read: most computers have none,
# and a window that starts without one need not wait for it.

APP_NAME = "rubicon"


def config_dir() -> Path:
    return Path(platformdirs.user_config_dir(APP_NAME, appauthor=False))


# Keys of ``UserSettings.clients``: the program whose path the user chose,
# one per native client (launcher.core.clients). Older files used the
# protocol ("vnc") as the key; those still work.
CLIENT_KEYS = native_clients.KEYS
LEGACY_CLIENT_KEYS = {"vnc": native_clients.VNCVIEWER, "spice": native_clients.REMOTE_VIEWER}
AUDIO_CHOICES = ("local", "remote", "off")
# The clients that may open VNC desktops (``vnc.client``).
VNC_CLIENTS = native_clients.keys_for(Protocol.VNC)
VIEWS = ("tiles", "list")
# ask: a broker whose certificate no system CA vouches for is shown to the user,
# who may pin it; system: only certificates the system's CAs vouch for (or
# pinned before) are accepted, nobody is asked.
CERT_POLICIES = ("ask", "system")
LOG_LEVELS = ("debug", "info", "warning", "error")
MAX_SERVERS = 20
MAX_RECENTS = 5
SYSTEM_CONFIG_ENV = "RUBICON_SYSTEM_CONFIG"
# Tables of the system file that belong to other parts of Rubicon.
OTHER_SECTIONS = ("kiosk",)
_DRIVE_NAME = re.compile(r"[A-Za-z0-9 _.-]{1,32}")
_HOST_NAME = re.compile(r"[A-Za-z0-9_.:-]{1,253}")
# Keys only the admin's system file may set, and only at its top level (locked):
# a user who could set them would weaken what protects their password.
ADMIN_ONLY = frozenset({"plain_http_hosts"})


@dataclass(slots=True)
class RdpSettings:
    """The user's choices for RDP desktops."""

    fullscreen: bool | None = None  # None: follow the general ``fullscreen``
    width: int | None = None  # window size when not full screen; None: the client's
    height: int | None = None
    multimon: bool = False
    clipboard: bool = True
    # Local folders shown in the desktop: share name -> folder.
    drives: dict[str, str] = field(default_factory=dict)
    audio: str = "local"  # local: play here; remote: on the desktop; off

    def problems(self) -> list[tuple[str, str]]:
        """(field, why) for values that are well typed but not allowed."""
        found: list[tuple[str, str]] = []
        if self.audio not in AUDIO_CHOICES:
            found.append(("audio", f"must be one of {', '.join(AUDIO_CHOICES)}"))
        sizes = (self.width, self.height)
        if any(v is not None and not 200 <= v <= 16384 for v in sizes):
            found += [("width", "must be 200 to 16384"), ("height", "must be 200 to 16384")]
        elif (self.width is None) != (self.height is None):
            found += [("width", "give width and height"), ("height", "give width and height")]
        for share, folder in self.drives.items():
            if not _DRIVE_NAME.fullmatch(share) or not folder or _bad_text(folder):
                found.append(("drives", f"not a share name and folder: {share!r}"))
                break
        return found


@dataclass(slots=True)
class VncSettings:
    client: str = native_clients.VNCVIEWER  # or native_clients.REMOTE_VIEWER

    def problems(self) -> list[tuple[str, str]]:
        if self.client not in VNC_CLIENTS:
            return [("client", f"must be one of {', '.join(VNC_CLIENTS)}")]
        return []


@dataclass(slots=True)
class SpiceSettings:
    usbredir: bool = False  # offer this computer's USB devices to the desktop

    def problems(self) -> list[tuple[str, str]]:
        return []


@dataclass(slots=True)
class UserSettings:
    last_server: str = ""
    last_username: str = ""
    fullscreen: bool = False
    # Path of a client program chosen by the user, keyed by CLIENT_KEYS,
    # e.g. {"vncviewer": "/opt/TigerVNC/bin/vncviewer"}.
    clients: dict[str, str] = field(default_factory=dict)
    rdp: RdpSettings = field(default_factory=RdpSettings)
    vnc: VncSettings = field(default_factory=VncSettings)
    spice: SpiceSettings = field(default_factory=SpiceSettings)
    # Broker addresses, the one used last first (see servers.py).
    servers: list[str] = field(default_factory=list)
    # Windows domain put before the username (DOMAIN\user); the field shows when
    # show_domain is on or a domain is set.
    domain: str = ""
    show_domain: bool = False
    # Keep the password in the OS keychain (credentials.py) after a sign-in.
    remember_password: bool = False
    view: str = "tiles"
    # Open the desktop at once when the broker lists exactly one.
    auto_launch: bool = False
    # Per broker (its normalized URL): desktop ids starred, and opened lately (newest first).
    favourites: dict[str, list[str]] = field(default_factory=dict)
    recents: dict[str, list[str]] = field(default_factory=dict)
    cert_policy: str = "ask"
    # A broker's certificate changed after the user trusted it: offer "Trust the
    # new certificate" behind a warning (with cert_policy "ask"). An admin who
    # locks it off leaves a planned rotation, announced by the broker, as the way.
    trust_new_certificates: bool = True
    log_level: str = "info"
    # Brokers (host names or IP addresses) the sign-in form may send a password
    # to over plain HTTP; loopback needs none. Only the system file's top level
    # sets it (ADMIN_ONLY): a user cannot allow it for themselves.
    plain_http_hosts: list[str] = field(default_factory=list)

    def problems(self) -> list[tuple[str, str]]:
        found: list[tuple[str, str]] = []
        for key, allowed in (
            ("view", VIEWS),
            ("cert_policy", CERT_POLICIES),
            ("log_level", LOG_LEVELS),
        ):
            if getattr(self, key) not in allowed:
                found.append((key, f"must be one of {', '.join(allowed)}"))
        if len(self.servers) > MAX_SERVERS:
            found.append(("servers", f"at most {MAX_SERVERS}"))
        if not all(_HOST_NAME.fullmatch(host) for host in self.plain_http_hosts):
            found.append(("plain_http_hosts", "must be host names or IP addresses"))
        return found

    @classmethod
    def load(cls, path: Path, *, warn: bool = True) -> UserSettings:
        """The settings in ``path``; defaults for what is missing or wrong.

        A damaged file is set aside; ignored values are logged unless ``warn`` is false.
        """
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return cls()
        except (OSError, ValueError) as e:
            _set_aside(path, e)
            return cls()
        if not isinstance(raw, dict):
            _set_aside(path, "not a JSON object")
            return cls()
        settings = cls()
        for key, why in _fill(settings, _without_admin_only(raw)) + _admin_only_problems(raw):
            if warn:
                log.app.warning("settings %s: ignoring %r (%s)", path, key, why)
        return settings

    def save(self, path: Path) -> None:
        """Write atomically, readable by the user alone."""
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".settings-", suffix=".json")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump(_without_admin_only(asdict(self)), f, indent=2, sort_keys=True)
                f.write("\n")
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def client_path(self, key: str) -> str | None:
        """The user's path for client ``key`` (see CLIENT_KEYS), or None."""
        return client_override(self.clients, key)


def client_override(clients: Mapping[str, str], key: str) -> str | None:
    """``clients[key]``, or the value under the older protocol key that meant it."""
    if clients.get(key):
        return clients[key]
    for legacy, meant in LEGACY_CLIENT_KEYS.items():
        if meant == key and clients.get(legacy):
            return clients[legacy]
    return None


@dataclass(frozen=True, slots=True)
class FileState:
    """What the doctor says about a settings file; reading it changes nothing."""

    path: Path
    exists: bool
    readable: bool
    private: bool
    problems: tuple[str, ...] = ()


def inspect(path: Path) -> FileState:
    """Read ``path`` like :meth:`UserSettings.load` would, without moving or writing it."""
    try:
        text = path.read_text(encoding="utf-8")
        mode = path.stat().st_mode
    except FileNotFoundError:
        return FileState(path, exists=False, readable=True, private=True)
    except (OSError, ValueError) as e:
        return FileState(path, True, False, True, (f"cannot be read: {e}",))
    private = os.name == "nt" or not mode & 0o077
    try:
        raw = json.loads(text)
    except ValueError as e:
        return FileState(path, True, False, private, (f"is not valid JSON: {e}",))
    if not isinstance(raw, dict):
        return FileState(path, True, False, private, ("is not a JSON object",))
    found = _fill(UserSettings(), _without_admin_only(raw)) + _admin_only_problems(raw)
    problems = tuple(f"{key}: {why}" for key, why in found)
    return FileState(path, True, True, private, problems)


def _without_admin_only(raw: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in raw.items() if k not in ADMIN_ONLY}


def _admin_only_problems(raw: Mapping[str, Any]) -> list[tuple[str, str]]:
    """An admin-only key set (to anything but its default) where it does not count."""
    defaults = UserSettings()
    return [
        (key, "only the system file's top level may set it")
        for key in sorted(ADMIN_ONLY.intersection(raw))
        if raw[key] != getattr(defaults, key)
    ]


def _bad_text(value: str) -> bool:
    return any(ord(c) < 32 or ord(c) == 127 for c in value) or "," in value or ";" in value


def _accepts(hint: Any, value: Any) -> bool:
    """Whether ``value`` (from JSON) fits the field type ``hint``."""
    options = typing.get_args(hint) if typing.get_origin(hint) in (Union, UnionType) else (hint,)
    for option in options:
        if option is type(None) and value is None:
            return True
        if option is bool and isinstance(value, bool):
            return True
        if option is int and isinstance(value, int) and not isinstance(value, bool):
            return True
        if option is str and isinstance(value, str):
            return True
        if typing.get_origin(option) is dict and isinstance(value, dict):
            _, inner = typing.get_args(option)
            return all(isinstance(k, str) and _accepts(inner, v) for k, v in value.items())
        if typing.get_origin(option) is list and isinstance(value, list):
            (inner,) = typing.get_args(option)
            return all(_accepts(inner, v) for v in value)
    return False


def _fill(target: Any, raw: dict[str, Any], prefix: str = "") -> list[tuple[str, str]]:
    """Copy the good values of ``raw`` onto ``target``; return (key, why) for the rest."""
    ignored: list[tuple[str, str]] = []
    hints = typing.get_type_hints(type(target))
    for key, value in raw.items():
        name = prefix + key
        hint = hints.get(key)
        if hint is None:
            ignored.append((name, "unknown setting"))
        elif is_dataclass(hint):
            if isinstance(value, dict):
                ignored += _fill(getattr(target, key), value, prefix=f"{name}.")
            else:
                ignored.append((name, "must be an object"))
        elif _accepts(hint, value):
            if isinstance(value, dict):
                # A layer adds to the keys of the one below (clients, favourites).
                merged = dict(getattr(target, key))
                merged.update(copy.deepcopy(value))
                setattr(target, key, merged)
            else:
                setattr(target, key, copy.deepcopy(value))
        else:
            ignored.append((name, "wrong type"))
    check = getattr(target, "problems", None)
    if check is not None:
        defaults = type(target)()
        for key, why in check():
            setattr(target, key, getattr(defaults, key))
            ignored.append((prefix + key, why))
    return ignored


def _set_aside(path: Path, why: Any) -> None:
    broken = path.with_suffix(path.suffix + ".broken")
    log.app.warning("settings %s unreadable (%s); moved to %s, using defaults", path, why, broken)
    try:
        os.replace(path, broken)
    except OSError as e:
        log.app.warning("could not move %s aside: %s", path, e)


# --- the system file -------------------------------------------------------------


def system_config_path(
    platform: str | None = None, environ: Mapping[str, str] | None = None
) -> Path:
    """Where the admin's file is on ``platform`` (``RUBICON_SYSTEM_CONFIG`` wins)."""
    environ = os.environ if environ is None else environ
    override = environ.get(SYSTEM_CONFIG_ENV)
    if override:
        return Path(override)
    platform = platform or sys.platform
    if platform.startswith("win"):
        base = environ.get("PROGRAMDATA") or r"C:\ProgramData"
        return Path(base) / "Rubicon" / "rubicon.toml"
    if platform == "darwin":
        return Path("/Library/Application Support/Rubicon/rubicon.toml")
    return Path("/etc/rubicon/rubicon.toml")


@dataclass(frozen=True, slots=True)
class SystemConfig:
    """The admin's settings: ``locked`` (top-level keys) and ``defaults`` ([defaults]).

    Both are nested dicts in the shape of :class:`UserSettings`, holding only
    values that fit it. ``problems`` lists what was ignored, and why.
    """

    path: Path | None = None
    locked: Mapping[str, Any] = field(default_factory=dict)
    defaults: Mapping[str, Any] = field(default_factory=dict)
    sections: Mapping[str, Any] = field(default_factory=dict)
    problems: tuple[str, ...] = ()

    @classmethod
    def load(cls, path: Path | None = None) -> SystemConfig:
        """Read ``path`` (default :func:`system_config_path`); a missing file is no config."""
        path = path or system_config_path()
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return cls(path)
        except (OSError, ValueError) as e:
            return cls._unreadable(path, e)
        import tomllib

        try:
            raw = tomllib.loads(text)
        except ValueError as e:
            return cls._unreadable(path, e)
        return cls.from_mapping(raw, path=path)

    @classmethod
    def _unreadable(cls, path: Path, error: Exception) -> SystemConfig:
        log.app.warning("system settings %s unreadable (%s); not used", path, error)
        return cls(path, problems=(f"cannot be read: {error}",))

    @classmethod
    def from_mapping(cls, raw: Mapping[str, Any], *, path: Path | None = None) -> SystemConfig:
        problems: list[str] = []
        sections = {k: raw[k] for k in OTHER_SECTIONS if k in raw}
        defaults_raw = raw.get("defaults", {})
        if not isinstance(defaults_raw, dict):
            problems.append("defaults: must be a table")
            defaults_raw = {}
        locked_raw = {k: v for k, v in raw.items() if k != "defaults" and k not in OTHER_SECTIONS}
        locked, bad = _valid_part(locked_raw)
        problems += bad
        defaults, bad = _valid_part(_without_admin_only(defaults_raw))
        bad += [f"{key}: {why}" for key, why in _admin_only_problems(defaults_raw)]
        problems += [f"defaults.{p}" for p in bad]
        for problem in problems:
            log.app.warning("system settings %s: ignoring %s", path, problem)
        return cls(path, locked, defaults, sections, tuple(problems))

    def locked_keys(self) -> frozenset[str]:
        """Dotted names the admin fixed: ``fullscreen``, ``rdp.multimon``, ``clients.xfreerdp``."""
        return frozenset(_dotted(self.locked))

    def section(self, name: str) -> Mapping[str, Any]:
        """A table for another part of Rubicon (``kiosk``), as written; {} if absent."""
        value = self.sections.get(name, {})
        return value if isinstance(value, dict) else {}


def _valid_part(raw: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """The values of ``raw`` that fit UserSettings, and ``key: why`` for the rest."""
    scratch = UserSettings()
    ignored = dict(_fill(scratch, dict(raw)))
    good = _prune(dict(raw), ignored, "")
    return good, [f"{key}: {why}" for key, why in ignored.items()]


def _prune(raw: dict[str, Any], ignored: Mapping[str, str], prefix: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in raw.items():
        name = prefix + key
        if name in ignored:
            continue
        if isinstance(value, dict) and _is_section(key, prefix):
            out[key] = _prune(value, ignored, f"{name}.")
        else:
            out[key] = value
    return out


def _is_section(key: str, prefix: str) -> bool:
    """Whether ``key`` names a nested settings dataclass (rdp, vnc, spice)."""
    return not prefix and key in _SECTIONS


def _dotted(values: Mapping[str, Any]) -> list[str]:
    names: list[str] = []
    for key, value in values.items():
        if isinstance(value, dict) and (key in _SECTIONS or key in _MERGED):
            names += [f"{key}.{inner}" for inner in value]
        else:
            names.append(key)
    return names


_SECTIONS = frozenset(f.name for f in fields(UserSettings) if f.name in ("rdp", "vnc", "spice"))
# dict-valued settings whose keys are locked one by one.
_MERGED = frozenset({"clients"})


# --- the layers together -----------------------------------------------------------


class Layers:
    """The settings of one run: system file > command line > user file > defaults.

    ``user`` is what the user chose, over the admin's and the built-in
    defaults; it is what the settings dialog edits and what :meth:`save`
    writes (only where it differs from those defaults). :meth:`effective`
    puts the command line and the locked keys on top.
    """

    def __init__(
        self,
        path: Path | None = None,
        *,
        system: SystemConfig | None = None,
        command_line: Mapping[str, Any] | None = None,
        user: UserSettings | None = None,
    ) -> None:
        self.path = path
        self.system = system or SystemConfig()
        self.command_line: dict[str, Any] = dict(command_line or {})
        self.base = UserSettings()
        _fill(self.base, dict(self.system.defaults))
        if user is not None:
            self.user = copy.deepcopy(user)
        else:
            self.user = copy.deepcopy(self.base)
            if path is not None:
                raw = _read_user_file(path)
                ignored = _fill(self.user, _without_admin_only(raw)) + _admin_only_problems(raw)
                for key, why in ignored:
                    log.app.warning("settings %s: ignoring %r (%s)", path, key, why)

    @classmethod
    def load(
        cls,
        path: Path,
        *,
        system_path: Path | None = None,
        command_line: Mapping[str, Any] | None = None,
    ) -> Layers:
        return cls(path, system=SystemConfig.load(system_path), command_line=command_line)

    def effective(self) -> UserSettings:
        """What this run uses: a copy, safe to hand around."""
        settings = copy.deepcopy(self.user)
        _fill(settings, _without_admin_only(copy.deepcopy(self.command_line)))
        defaults = UserSettings()
        for key in ADMIN_ONLY:  # from the locked system file, or nowhere
            setattr(settings, key, copy.deepcopy(getattr(defaults, key)))
        _fill(settings, copy.deepcopy(dict(self.system.locked)))
        return settings

    def locked(self, key: str) -> bool:
        """Whether the admin fixed ``key`` (dotted: ``rdp.multimon``, or a whole ``rdp``)."""
        keys = self.system.locked_keys()
        parts = key.split(".")
        return any(".".join(parts[:n]) in keys for n in range(1, len(parts) + 1))

    def update(self, chosen: UserSettings) -> None:
        """Take the user's choices from an edited copy of :meth:`effective`.

        Locked keys and command-line values are not the user's choice and keep
        what the user file had.
        """
        chosen_raw = asdict(chosen)
        current = asdict(self.user)
        merged = _take_choices(current, chosen_raw, self, "", set(self.command_line))
        fresh = copy.deepcopy(self.base)
        _fill(fresh, merged)
        self.user = fresh

    def save(self) -> None:
        """Write the user's choices (where they differ from the defaults); no path: nothing."""
        if self.path is None:
            return
        diff = _difference(asdict(self.user), asdict(self.base))
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".settings-", suffix=".json")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump(diff, f, indent=2, sort_keys=True)
                f.write("\n")
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise


def _read_user_file(path: Path) -> dict[str, Any]:
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as e:
        _set_aside(path, e)
        return {}
    if not isinstance(raw, dict):
        _set_aside(path, "not a JSON object")
        return {}
    return raw


def _take_choices(
    current: dict[str, Any],
    chosen: dict[str, Any],
    layers: Layers,
    prefix: str,
    from_command_line: set[str],
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in chosen.items():
        name = prefix + key
        if isinstance(value, dict) and _is_section(key, prefix):
            out[key] = _take_choices(current.get(key, {}), value, layers, f"{name}.", set())
        elif layers.locked(name) or (not prefix and key in from_command_line):
            if key in _MERGED and isinstance(value, dict):
                out[key] = value  # handled per entry below
            else:
                out[key] = current.get(key)
        else:
            out[key] = value
        if key in _MERGED and isinstance(value, dict):
            mine = dict(current.get(key, {}))
            for entry, path in value.items():
                if not layers.locked(f"{name}.{entry}"):
                    mine[entry] = path
            for entry in list(mine):
                if entry not in value and not layers.locked(f"{name}.{entry}"):
                    del mine[entry]
            out[key] = mine
    return out


def _difference(values: dict[str, Any], base: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in values.items():
        below = base.get(key)
        if isinstance(value, dict) and isinstance(below, dict) and key in _SECTIONS:
            inner = _difference(value, below)
            if inner:
                out[key] = inner
        elif value != below:
            out[key] = value
    return out
