"""Fixtures for the whole suite.

Tests never touch the real user's files or keychain: config and data
directories point into a temporary folder and keyring uses a null backend.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest_plugins = ["tests.helpers.postgres", "tests.helpers.slapd", "tests.helpers.libvirtd"]

# Before Qt is imported anywhere: no display needed, same look everywhere.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# Qt's own event dispatcher, not GLib's: libvirt's event loop (the broker's libvirt
# tests, in this same process) runs GLib's default main context on a thread of its
# own, and a QApplication iterating that context too stops libvirt's events or
# crashes it. The launcher and the broker never share a process outside the tests.
os.environ.setdefault("QT_NO_GLIB", "1")
os.environ.setdefault("LANG", "C.UTF-8")


@pytest.fixture(autouse=True)
def _private_home(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Path:
    home = tmp_path_factory.mktemp("home")
    for var, sub in (
        ("XDG_CONFIG_HOME", "config"),
        ("XDG_DATA_HOME", "data"),
        ("XDG_CACHE_HOME", "cache"),
        ("XDG_STATE_HOME", "state"),
    ):
        monkeypatch.setenv(var, str(home / sub))
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.null.Keyring")
    return home


@pytest.fixture(autouse=True)
def _only_this_machine(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests reach only this machine. The broker probes machines' consoles before
    it hands them out, and test pools often name made-up addresses (10.0.0.7):
    a connection to an IP address that is not loopback fails the test instead of
    sending a packet anywhere."""
    real = socket.create_connection

    def guarded(address: tuple[str, int], *args: Any, **kwargs: Any) -> socket.socket:
        host = address[0]
        try:
            outside = not ipaddress.ip_address(host).is_loopback
        except ValueError:
            outside = False  # a name: resolved (or not) as before
        if outside:
            raise AssertionError(f"a test connected to {host}:{address[1]}; tests stay on loopback")
        return real(address, *args, **kwargs)

    monkeypatch.setattr(socket, "create_connection", guarded)


@pytest.fixture(autouse=True)
def _restore_rubicon_loggers() -> Iterator[None]:
    """A test that runs an entry point's log setup must not leave handlers behind
    for the next test's CLI output to be mixed with."""

    saved: dict[str, tuple[list[logging.Handler], int, bool]] = {}
    for name in ("rubicon", ""):
        logger = logging.getLogger(name)
        saved[name] = (list(logger.handlers), logger.level, logger.propagate)
    yield
    for name, (handlers, level, propagate) in saved.items():
        logger = logging.getLogger(name)
        logger.handlers[:] = handlers
        logger.setLevel(level)
        logger.propagate = propagate
