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

The dataclasses are also the schema: pydantic checks each layer against
their field types, strictly (no "yes" for true), and against the rules in
their ``Annotated`` metadata. A value that fails is ignored, with a
:class:`~launcher.core.texts.Text` saying why, and the one below it stays;
the values beside it still count. Loading pydantic and building its
validator takes longer than the launcher's whole start, so a layer is
checked once: ``settings-checked.json`` in the user cache directory keeps
the layers checked (and what was ignored in each) under the rules in force,
and what :meth:`Layers.save` writes counts as checked.
"""

from __future__ import annotations

import copy
import functools
import json
import os
import re
import sys
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, ClassVar

import platformdirs

from launcher import __version__
from launcher.core import clients as native_clients
from launcher.core import log
from launcher.core.kinds import Protocol
from launcher.core.texts import Text

if TYPE_CHECKING:
    from pydantic import GetCoreSchemaHandler, TypeAdapter, ValidationError
    from pydantic_core import CoreSchema

# tomllib is imported where a system file is read, and pydantic where a layer
# is checked: most computers have no system file, and a window that starts
# without one need not wait for it.

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
WINDOW_SIZES = (200, 16384)  # the smallest and largest RDP window side
SYSTEM_CONFIG_ENV = "RUBICON_SYSTEM_CONFIG"
# Tables of the system file that belong to other parts of Rubicon.
OTHER_SECTIONS = ("kiosk",)
_DRIVE_NAME = re.compile(r"[A-Za-z0-9 _.-]{1,32}")
_HOST_NAME = re.compile(r"[A-Za-z0-9_.:-]{1,253}")
# Keys only the admin's system file may set, and only at its top level (locked):
# a user who could set them would weaken what protects their password.
ADMIN_ONLY = frozenset({"plain_http_hosts"})


# --- rules: what a value of the right type must also be -----------------------------


@dataclass(frozen=True, slots=True)
class Rule:
    """A check pydantic runs after a field's type check (``Annotated`` metadata).

    ``why(value)`` says what is wrong, or is None. ``keys``: the settings it
    is about when it checks a whole section (``rdp``: width and height).
    """

    why: Callable[[Any], Text | None]
    keys: tuple[str, ...] = ()

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> CoreSchema:
        from pydantic_core import PydanticCustomError, core_schema

        def check(value: Any) -> Any:
            why = self.why(value)
            if why is not None:
                raise PydanticCustomError(_RULE, "{why}", {"why": why, "keys": self.keys})
            return value

        return core_schema.no_info_after_validator_function(check, handler(source))


_RULE = "rubicon_rule"  # the pydantic error type of a Rule


def _one_of(choices: tuple[str, ...]) -> Rule:
    why = Text("settings.one_of", "must be one of {choices}", choices=", ".join(choices))
    return Rule(lambda value: None if value in choices else why)


def _window_size(rdp: RdpSettings) -> Text | None:
    low, high = WINDOW_SIZES
    if any(v is not None and not low <= v <= high for v in (rdp.width, rdp.height)):
        return Text("settings.window_size", "must be {low} to {high}", low=low, high=high)
    if (rdp.width is None) != (rdp.height is None):
        return Text("settings.window_size_pair", "give width and height")
    return None


def _drives(drives: dict[str, str]) -> Text | None:
    for share, folder in drives.items():
        if not _DRIVE_NAME.fullmatch(share) or not folder or _bad_text(folder):
            return Text("settings.drive", "not a share name and folder: {share}", share=repr(share))
    return None


def _bad_text(value: str) -> bool:
    return any(ord(c) < 32 or ord(c) == 127 for c in value) or "," in value or ";" in value


def _servers(servers: list[str]) -> Text | None:
    if len(servers) > MAX_SERVERS:
        return Text("settings.at_most", "at most {count}", count=MAX_SERVERS)
    return None


def _host_names(hosts: list[str]) -> Text | None:
    if all(_HOST_NAME.fullmatch(host) for host in hosts):
        return None
    return Text("settings.host_names", "must be host names or IP addresses")


# Strict: a setting takes a value of its own type only; extra="forbid": an
# unknown key is reported, not silently kept.
_SCHEMA: dict[str, object] = {"strict": True, "extra": "forbid"}


@dataclass(slots=True)
class RdpSettings:
    """The user's choices for RDP desktops."""

    __pydantic_config__: ClassVar[dict[str, object]] = _SCHEMA

    fullscreen: bool | None = None  # None: follow the general ``fullscreen``
    width: int | None = None  # window size when not full screen; None: the client's
    height: int | None = None
    multimon: bool = False
    clipboard: bool = True
    # Local folders shown in the desktop: share name -> folder.
    drives: Annotated[dict[str, str], Rule(_drives)] = field(default_factory=dict)
    # local: play here; remote: on the desktop; off
    audio: Annotated[str, _one_of(AUDIO_CHOICES)] = "local"


@dataclass(slots=True)
class VncSettings:
    __pydantic_config__: ClassVar[dict[str, object]] = _SCHEMA

    # native_clients.VNCVIEWER or native_clients.REMOTE_VIEWER
    client: Annotated[str, _one_of(VNC_CLIENTS)] = native_clients.VNCVIEWER


@dataclass(slots=True)
class SpiceSettings:
    __pydantic_config__: ClassVar[dict[str, object]] = _SCHEMA

    usbredir: bool = False  # offer this computer's USB devices to the desktop


@dataclass(slots=True)
class UserSettings:
    __pydantic_config__: ClassVar[dict[str, object]] = _SCHEMA

    last_server: str = ""
    last_username: str = ""
    fullscreen: bool = False
    # Path of a client program chosen by the user, keyed by CLIENT_KEYS,
    # e.g. {"vncviewer": "/opt/TigerVNC/bin/vncviewer"}.
    clients: dict[str, str] = field(default_factory=dict)
    rdp: Annotated[RdpSettings, Rule(_window_size, keys=("width", "height"))] = field(
        default_factory=RdpSettings
    )
    vnc: VncSettings = field(default_factory=VncSettings)
    spice: SpiceSettings = field(default_factory=SpiceSettings)
    # Broker addresses, the one used last first (see servers.py).
    servers: Annotated[list[str], Rule(_servers)] = field(default_factory=list)
    # Windows domain put before the username (DOMAIN\user); the field shows when
    # show_domain is on or a domain is set.
    domain: str = ""
    show_domain: bool = False
    # Keep the password in the OS keychain (credentials.py) after a sign-in.
    remember_password: bool = False
    view: Annotated[str, _one_of(VIEWS)] = "tiles"
    # Open the desktop at once when the broker lists exactly one.
    auto_launch: bool = False
    # Per broker (its normalized URL): desktop ids starred, and opened lately (newest first).
    favourites: dict[str, list[str]] = field(default_factory=dict)
    recents: dict[str, list[str]] = field(default_factory=dict)
    cert_policy: Annotated[str, _one_of(CERT_POLICIES)] = "ask"
    # A broker's certificate changed after the user trusted it: offer "Trust the
    # new certificate" behind a warning (with cert_policy "ask"). An admin who
    # locks it off leaves a planned rotation, announced by the broker, as the way.
    trust_new_certificates: bool = True
    log_level: Annotated[str, _one_of(LOG_LEVELS)] = "info"
    # Brokers (host names or IP addresses) the sign-in form may send a password
    # to over plain HTTP; loopback needs none. Only the system file's top level
    # sets it (ADMIN_ONLY): a user cannot allow it for themselves.
    plain_http_hosts: Annotated[list[str], Rule(_host_names)] = field(default_factory=list)

    @classmethod
    def load(cls, path: Path, *, warn: bool = True) -> UserSettings:
        """The settings in ``path``; defaults for what is missing or wrong.

        A damaged file is set aside; ignored values are logged unless ``warn`` is false.
        """
        raw = _read_user_file(path)
        settings, ignored = _check(_without_admin_only(raw), cls())
        for key, why in ignored + _admin_only_problems(raw):
            if warn:
                log.app.warning("settings %s: ignoring %r (%s)", path, key, why)
        return settings

    def save(self, path: Path) -> None:
        """Write atomically, readable by the user alone."""
        _write_json(path, _without_admin_only(asdict(self)))

    def client_path(self, key: str) -> str | None:
        """The user's path for client ``key`` (see CLIENT_KEYS), or None."""
        return client_override(self.clients, key)


# The nested settings (rdp, vnc, spice): merged key by key, locked key by key.
_SECTIONS: dict[str, Callable[..., Any]] = {
    "rdp": RdpSettings,
    "vnc": VncSettings,
    "spice": SpiceSettings,
}
# dict-valued settings whose keys are locked one by one.
_MERGED = frozenset({"clients"})


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
        why = Text("settings.unreadable", "cannot be read: {error}", error=str(e))
        return FileState(path, True, False, True, (why,))
    private = os.name == "nt" or not mode & 0o077
    try:
        raw = json.loads(text)
    except ValueError as e:
        why = Text("settings.not_json", "is not valid JSON: {error}", error=str(e))
        return FileState(path, True, False, private, (why,))
    if not isinstance(raw, dict):
        why = Text("settings.not_json_object", "is not a JSON object")
        return FileState(path, True, False, private, (why,))
    _, found = _check(_without_admin_only(raw), UserSettings())
    problems = tuple(_problem(key, why) for key, why in found + _admin_only_problems(raw))
    return FileState(path, True, True, private, problems)


def _problem(key: str, why: Text) -> Text:
    return Text("settings.problem", "{key}: {why}", key=key, why=why)


def _without_admin_only(raw: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in raw.items() if k not in ADMIN_ONLY}


def _admin_only_problems(raw: Mapping[str, Any]) -> list[tuple[str, Text]]:
    """An admin-only key set (to anything but its default) where it does not count."""
    defaults = UserSettings()
    why = Text("settings.admin_only", "only the system file's top level may set it")
    return [
        (key, why)
        for key in sorted(ADMIN_ONLY.intersection(raw))
        if raw[key] != getattr(defaults, key)
    ]


# --- checking a layer -----------------------------------------------------------------


def _check(
    raw: Mapping[str, Any], below: UserSettings
) -> tuple[UserSettings, list[tuple[str, Text]]]:
    """The layer ``raw`` (as read) over ``below``, and ``(key, why)`` for what it ignored.

    A value that fails leaves the one below in place. The rules see the layer
    over ``below``, as they will be used (an admin's default width and the
    user's height make a window size).
    """
    if not raw:
        return copy.deepcopy(below), []
    base = asdict(below)
    merged = _merge(base, raw)
    key = _memo_key(raw, base)
    ignored = _recall(key)
    if ignored is None:
        ignored = _validate(merged, base)
        order = list(raw)
        ignored.sort(key=lambda p: _index(order, p[0].split(".")[0]))
        if key is not None:
            _remember(key, ignored)
    for name, _ in ignored:
        _restore(merged, base, name.split("."))
    return _build(merged), ignored


def _validate(values: dict[str, Any], base: Mapping[str, Any]) -> list[tuple[str, Text]]:
    """What pydantic refuses in ``values``; each refused key goes back to ``base``'s."""
    from pydantic import ValidationError

    ignored: dict[str, Text] = {}
    # Each round restores at least one key to its value below, which passed.
    for _ in range(len(values) * 4):
        try:
            # JSON, where strict mode takes an object for a dataclass; what JSON
            # cannot hold (a TOML date) becomes a number no setting takes.
            _validator().validate_json(json.dumps(values, default=lambda _: 0.5))
            return list(ignored.items())
        except ValidationError as e:
            for name, why in _reasons(e):
                ignored.setdefault(name, why)
                _restore(values, base, name.split("."))
    raise AssertionError(f"settings check did not settle: {values}")


def _index(order: list[str], key: str) -> int:
    return order.index(key) if key in order else len(order)


@functools.cache
def _validator() -> TypeAdapter[UserSettings]:
    from pydantic import TypeAdapter

    return TypeAdapter(UserSettings)


def _reasons(error: ValidationError) -> list[tuple[str, Text]]:
    """What pydantic found, as (dotted setting, why): never pydantic's own words."""
    found: list[tuple[str, Text]] = []
    for item in error.errors():
        loc = [str(part) for part in item["loc"]]
        # A setting is a top-level key, or a key of a section; deeper is its value.
        name = ".".join(loc[: 2 if loc[0] in _SECTIONS else 1])
        kind = item["type"]
        if kind == _RULE:
            why = item["ctx"]["why"]
            found += [(f"{name}.{k}", why) for k in item["ctx"]["keys"]] or [(name, why)]
        elif kind in ("unexpected_keyword_argument", "extra_forbidden"):
            found.append((name, Text("settings.unknown", "unknown setting")))
        elif kind == "dataclass_type" and name in _SECTIONS:
            found.append((name, Text("settings.not_object", "must be an object")))
        else:
            found.append((name, Text("settings.wrong_type", "wrong type")))
    return found


def _restore(values: dict[str, Any], below: Mapping[str, Any], parts: list[str]) -> None:
    """Put back the value ``below`` at the dotted ``parts``; drop a key it does not have."""
    for part in parts[:-1]:
        if not isinstance(values.get(part), dict):
            values[part] = copy.deepcopy(below[part])
            return
        values, below = values[part], below[part]
    if parts[-1] in below:
        values[parts[-1]] = copy.deepcopy(below[parts[-1]])
    else:
        values.pop(parts[-1], None)


def _merge(below: Mapping[str, Any], raw: Mapping[str, Any]) -> dict[str, Any]:
    """``raw`` over ``below``: sections key by key, a dict adds to the keys below it."""
    out = copy.deepcopy(dict(below))
    for key, value in raw.items():
        under = out.get(key)
        if isinstance(under, dict) and isinstance(value, dict):
            inner = _merge(under, value) if key in _SECTIONS else {**under, **value}
            out[key] = copy.deepcopy(inner)
        else:
            out[key] = copy.deepcopy(value)
    return out


def _build(values: Mapping[str, Any]) -> UserSettings:
    """UserSettings from the dict of a full layer that passed."""
    return UserSettings(
        **{k: _SECTIONS[k](**v) if k in _SECTIONS else v for k, v in values.items()}
    )


# --- the memo of layers checked before ------------------------------------------------
# A start reads its layers before its first frame, and pydantic alone takes
# longer than that whole start: a layer checked once (under the same rules)
# need not be checked again; the memo keeps what the check ignored in it.

_MEMO_SIZE = 16


def _memo_path() -> Path:
    return Path(platformdirs.user_cache_dir(APP_NAME, appauthor=False)) / "settings-checked.json"


@functools.cache
def _rules() -> str:
    """Which checks are in force: another Rubicon, or an edited rule, forgets the memo."""
    try:
        stamps = [str(os.stat(m.__file__ or "").st_mtime_ns) for m in _RULE_MODULES]
    except OSError:
        stamps = []  # no source files (a frozen build): its version says it all
    return " ".join([__version__, *stamps])


# Where the rules are written: these settings, and the clients vnc.client names.
_RULE_MODULES = (sys.modules[__name__], native_clients)


def _memo_key(raw: Mapping[str, Any], base: Mapping[str, Any]) -> str | None:
    try:
        return json.dumps([raw, base], sort_keys=True)
    except (TypeError, ValueError):
        return None  # what JSON cannot hold is checked every time (and fails)


def _memo() -> dict[str, Any]:
    try:
        memo = json.loads(_memo_path().read_text(encoding="utf-8"))
        if memo["rules"] == _rules():
            return dict(memo["checked"])
    except (OSError, ValueError, KeyError, TypeError):
        pass
    return {}


def _recall(key: str | None) -> list[tuple[str, Text]] | None:
    """What the check ignored in the layer ``key`` before; None if it has not seen it."""
    if key is None:
        return None
    try:
        found = [
            (name, Text.__new__(Text, why, template, **values))
            for name, why, template, values in _memo()[key]
        ]
    except (KeyError, TypeError, ValueError, IndexError, AttributeError):
        return None  # not there, or not in the memo's shape: check it again
    if all(isinstance(name, str) and _is_setting(name) for name, _ in found):
        return found
    return None


def _is_setting(name: str) -> bool:
    """A name _reasons gives: a top-level key, or a key of a section."""
    parts = name.split(".")
    return len(parts) == 1 or (len(parts) == 2 and parts[0] in _SECTIONS)


def _remember(key: str, ignored: list[tuple[str, Text]]) -> None:
    """Add the layer ``key`` to the memo; a memo that cannot be written only costs time."""
    memo = _memo()
    memo.pop(key, None)
    memo[key] = [(name, why.key, why.template, dict(why.values)) for name, why in ignored]
    checked = list(memo.items())[-_MEMO_SIZE:]
    try:
        _write_json(_memo_path(), {"rules": _rules(), "checked": checked})
    except OSError as e:
        log.app.debug("could not write %s: %s", _memo_path(), e)


def _write_json(path: Path, data: Mapping[str, Any]) -> None:
    """Write atomically, readable by the user alone."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}-", suffix=".json")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(data, f, indent=2, sort_keys=True)
            f.write("\n")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _read_user_file(path: Path) -> dict[str, Any]:
    """The user's file as read; {} when missing, and when damaged (then set aside)."""
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
        why = Text("settings.unreadable", "cannot be read: {error}", error=str(error))
        return cls(path, problems=(why,))

    @classmethod
    def from_mapping(cls, raw: Mapping[str, Any], *, path: Path | None = None) -> SystemConfig:
        problems: list[Text] = []
        sections = {k: raw[k] for k in OTHER_SECTIONS if k in raw}
        defaults_raw = raw.get("defaults", {})
        if not isinstance(defaults_raw, dict):
            problems.append(_problem("defaults", Text("settings.not_table", "must be a table")))
            defaults_raw = {}
        locked_raw = {k: v for k, v in raw.items() if k != "defaults" and k not in OTHER_SECTIONS}
        locked, bad = _valid_part(locked_raw)
        problems += [_problem(key, why) for key, why in bad]
        defaults, bad = _valid_part(_without_admin_only(defaults_raw))
        bad += _admin_only_problems(defaults_raw)
        problems += [_problem(f"defaults.{key}", why) for key, why in bad]
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


def _valid_part(raw: Mapping[str, Any]) -> tuple[dict[str, Any], list[tuple[str, Text]]]:
    """The values of ``raw`` that fit UserSettings, and (key, why) for the rest."""
    _, ignored = _check(raw, UserSettings())
    return _prune(dict(raw), {key for key, _ in ignored}, ""), ignored


def _prune(raw: dict[str, Any], ignored: set[str], prefix: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in raw.items():
        name = prefix + key
        if name in ignored:
            continue
        if isinstance(value, dict) and not prefix and key in _SECTIONS:
            out[key] = _prune(value, ignored, f"{name}.")
        else:
            out[key] = value
    return out


def _dotted(values: Mapping[str, Any]) -> list[str]:
    names: list[str] = []
    for key, value in values.items():
        if isinstance(value, dict) and (key in _SECTIONS or key in _MERGED):
            names += [f"{key}.{inner}" for inner in value]
        else:
            names.append(key)
    return names


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
        self.base = _build(_merge(asdict(UserSettings()), self.system.defaults))
        # Checked once here; the values that pass go on top in effective().
        given = _without_admin_only(command_line or {})
        self.command_line, _ = _valid_part(given)
        if user is not None:
            self.user = copy.deepcopy(user)
        else:
            self.user = copy.deepcopy(self.base)
            if path is not None:
                raw = _read_user_file(path)
                self.user, ignored = _check(_without_admin_only(raw), self.base)
                for key, why in ignored + _admin_only_problems(raw):
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
        values = _merge(asdict(self.user), self.command_line)
        defaults = asdict(UserSettings())
        for key in ADMIN_ONLY:  # from the locked system file, or nowhere
            values[key] = defaults[key]
        return _build(_merge(values, self.system.locked))

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
        self.user, _ = _check(merged, self.base)

    def save(self) -> None:
        """Write the user's choices (where they differ from the defaults); no path: nothing.

        What it writes counts as checked: the values come from a check or
        from the window's own controls.
        """
        if self.path is None:
            return
        base = asdict(self.base)
        diff = _without_admin_only(_difference(asdict(self.user), base))
        _write_json(self.path, diff)
        key = _memo_key(diff, base)
        if key is not None and _recall(key) != []:
            _remember(key, [])


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
        if isinstance(value, dict) and not prefix and key in _SECTIONS:
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
