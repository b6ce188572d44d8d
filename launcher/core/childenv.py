"""The environment of the programs Rubicon starts: the user's, not the bundle's.

A frozen Rubicon (PyInstaller) runs with its bundle on the library paths:
its bootloader puts the bundle first in ``LD_LIBRARY_PATH`` (saving what was
there in ``LD_LIBRARY_PATH_ORIG``) and its Qt hook points ``QT_PLUGIN_PATH``
and ``QML2_IMPORT_PATH`` into the bundle (and ``PATH`` on Windows,
``DYLD_LIBRARY_PATH`` on macOS). A native client started with that would load
the bundle's copies of libraries it was not built against (xfreerdp took 36 of
them, remote-viewer 38), and a Qt program opened for a link or a folder would
load our Qt's plug-ins. :func:`cleaned` is the environment as the user had
it; every program the launcher starts gets it (:func:`for_children`), and the
frozen window puts it back in its own environment once Qt has read its paths
(:func:`restore_own`), for what Qt itself starts.

Run from source (not frozen) nothing changes.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping

__all__ = ["bundle", "cleaned", "for_children", "restore_own"]

# Saved by the bootloader as NAME_ORIG when it sets them; else set from nothing.
_LOADER_PATHS = ("LD_LIBRARY_PATH", "LIBPATH", "DYLD_LIBRARY_PATH")
# Lists that runtime hooks extend with folders of the bundle.
_SEARCH_PATHS = ("PATH", "QT_PLUGIN_PATH", "QML2_IMPORT_PATH", "QT_QPA_PLATFORM_PLUGIN_PATH")
# The bootloader's notes to itself (and to a child that is the same program).
_INTERNAL_PREFIX = "_PYI_"
_INTERNAL = ("_MEIPASS2",)


def bundle() -> str | None:
    """The folder of the frozen bundle's files, or None when run from source."""
    if not getattr(sys, "frozen", False):
        return None
    folder: str | None = getattr(sys, "_MEIPASS", None)
    return folder


def cleaned(
    environ: Mapping[str, str], *, bundle: str | None, pathsep: str = os.pathsep
) -> dict[str, str]:
    """``environ`` without what the frozen ``bundle`` added to it; a copy when None."""
    env = dict(environ)
    if bundle is None:
        return env
    inside = _inside(bundle)
    for name in _LOADER_PATHS:
        original = env.pop(f"{name}_ORIG", None)
        if original is not None:
            env[name] = original
        else:
            _drop_entries(env, name, inside, pathsep)
    for name in _SEARCH_PATHS:
        _drop_entries(env, name, inside, pathsep)
    for name in list(env):
        if name.startswith(_INTERNAL_PREFIX) or name in _INTERNAL:
            del env[name]
    return env


def for_children() -> dict[str, str]:
    """The environment to start a program with: this process's, cleaned."""
    return cleaned(os.environ, bundle=bundle())


def restore_own() -> None:
    """Clean this process's own environment, for what Qt starts (a browser, a file
    manager). Only once Qt has read its plug-in paths: a QApplication exists.

    The dynamic loader read the library paths when the process started, so the
    bundle's libraries go on loading as before.
    """
    folder = bundle()
    if folder is None:
        return
    env = cleaned(os.environ, bundle=folder)
    for name in set(os.environ) - set(env):
        del os.environ[name]
    os.environ.update(env)


def _inside(folder: str) -> str:
    return os.path.normcase(os.path.abspath(folder))


def _drop_entries(env: dict[str, str], name: str, inside: str, pathsep: str) -> None:
    value = env.get(name)
    if value is None:
        return
    kept = [
        entry
        for entry in value.split(pathsep)
        # An empty entry (the working folder) is the user's, not the bundle's.
        if not entry or not _is_within(os.path.normcase(os.path.abspath(entry)), inside)
    ]
    if any(kept):
        env[name] = pathsep.join(kept)
    else:
        del env[name]


def _is_within(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)
