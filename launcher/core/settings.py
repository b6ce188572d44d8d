"""The user's own settings, kept in one JSON file in the config directory.

Only what the user chose lives here; never a password or token (those
belong to the OS keychain). A damaged file is set aside, not lost, and the
defaults are used.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
import typing
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, is_dataclass
from pathlib import Path
from types import UnionType
from typing import Any, Union

import platformdirs

from launcher.core import log

APP_NAME = "rubicon"


def config_dir() -> Path:
    return Path(platformdirs.user_config_dir(APP_NAME, appauthor=False))


# Keys of ``UserSettings.clients``: the program whose path the user chose.
# Older files used the protocol ("vnc") as the key; those still work.
CLIENT_KEYS = ("vncviewer", "remote-viewer", "xfreerdp", "mstsc", "rdp-app")
LEGACY_CLIENT_KEYS = {"vnc": "vncviewer", "spice": "remote-viewer"}
AUDIO_CHOICES = ("local", "remote", "off")
VNC_CLIENTS = ("vncviewer", "remote-viewer")
_DRIVE_NAME = re.compile(r"[A-Za-z0-9 _.-]{1,32}")


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
    client: str = "vncviewer"  # or "remote-viewer"

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
        for key, why in _fill(settings, raw):
            if warn:
                log.app.warning("settings %s: ignoring %r (%s)", path, key, why)
        return settings

    def save(self, path: Path) -> None:
        """Write atomically, readable by the user alone."""
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".settings-", suffix=".json")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump(asdict(self), f, indent=2, sort_keys=True)
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
    problems = tuple(f"{key}: {why}" for key, why in _fill(UserSettings(), raw))
    return FileState(path, True, True, private, problems)


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
            return all(isinstance(k, str) and isinstance(v, str) for k, v in value.items())
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
            setattr(target, key, dict(value) if isinstance(value, dict) else value)
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
