"""RDP on macOS through Microsoft's client (Windows App, formerly Microsoft Remote Desktop).

``open -a <app> <file.rdp>`` hands it an .rdp file (``rdpfile``). It cannot
be handed a password: it asks the user for it.
"""

from __future__ import annotations

import plistlib
from collections.abc import Sequence
from pathlib import Path

from launcher.core.kinds import Protocol
from launcher.core.models import ConnectionInfo
from launcher.core.protocols import (
    ClientNotFound,
    LaunchError,
    LaunchPlan,
    file_placeholder,
    not_installed,
)
from launcher.core.protocols.driver import Driver, Launch, Runner, nothing
from launcher.core.protocols.rdp import RdpOptions, options_for
from launcher.core.protocols.rdp.rdpfile import RDP_FILE_GRACE, launch_file
from launcher.core.texts import Text

__all__ = ["locate", "plan"]

# Microsoft renamed "Microsoft Remote Desktop" to "Windows App" in 2024.
APPS = ("Windows App", "Microsoft Remote Desktop")
APP_DIRS = ("/Applications", "~/Applications")
INSTALL_HINT = Text(
    "rdp.install.macos",
    "Install Windows App (formerly Microsoft Remote Desktop) from the Mac App Store.",
)


def plan(connection: ConnectionInfo, *, app_path: str, options: RdpOptions) -> LaunchPlan:
    """``open -a <Windows App> <file.rdp>``.

    ``open`` hands the file to the app and exits at once, so its exit says
    nothing about the session, and the file is kept for a grace time. The
    Microsoft client cannot be given a password: it asks the user.

    Nor can it open Hyper-V's VM console: Microsoft lists ``pcb`` (the
    preconnection blob VMConnect needs) among the .rdp settings of the Windows
    client only, so a ``vmconnect`` connection is a LaunchError.
    """
    if connection.vmconnect is not None:
        raise LaunchError(
            Text(
                "rdp.macos_vmconnect",
                "Windows App on macOS cannot open a virtual machine's console (Hyper-V VMConnect).",
            ),
            hint=Text(
                "rdp.macos_vmconnect.hint",
                "Install FreeRDP (brew install freerdp) and choose it in Settings, or ask your "
                "administrator for an RDP connection to the desktop itself.",
            ),
        )
    return LaunchPlan(
        argv=("/usr/bin/open", "-a", app_path, file_placeholder(0)),
        temp_files=(launch_file(connection, options=options),),
        cleanup_after=RDP_FILE_GRACE,
        title=options.title,
    )


def locate(*, override: str | None = None, search_dirs: Sequence[str] = APP_DIRS) -> str:
    """The Microsoft RDP app bundle (Windows App, or its old name), or ClientNotFound."""
    if override:
        bundle = Path(override).expanduser()
        if bundle.suffix == ".app" and bundle.is_dir():
            return str(bundle)
        raise ClientNotFound(
            not_installed(Text("rdp.client.macos", "The Microsoft Remote Desktop app"), override),
            hint=INSTALL_HINT,
        )
    for directory in search_dirs:
        for name in APPS:
            bundle = Path(directory).expanduser() / f"{name}.app"
            if bundle.is_dir():
                return str(bundle)
    raise ClientNotFound(
        not_installed(
            Text("rdp.client.windows_app", "The Microsoft Remote Desktop app (Windows App)"), None
        ),
        hint=INSTALL_HINT,
    )


def _version(path: str, run: Runner, timeout: float) -> tuple[str | None, str]:
    try:
        with open(Path(path) / "Contents" / "Info.plist", "rb") as f:
            info = plistlib.load(f)
    except (OSError, plistlib.InvalidFileException, ValueError):
        return None, "its Info.plist could not be read"
    value = info.get("CFBundleShortVersionString")
    return (str(value) if value else None), ""


def _plan(launch: Launch) -> LaunchPlan:
    return plan(launch.connection, app_path=launch.client.path, options=options_for(launch))


def _name(path: str, protocol: Protocol) -> str:
    return Path(path).stem


# ``open`` exits at once: no connect watch, and its exit says nothing.
DRIVER = Driver(
    locate=lambda platform, override: locate(override=override),
    version=_version,
    plan=_plan,
    name=_name,
    classify=nothing,
    detached=True,
)
