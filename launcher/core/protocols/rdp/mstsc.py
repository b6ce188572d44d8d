"""RDP on Windows through Remote Desktop Connection, ``mstsc``.

``mstsc`` opens an .rdp file (``rdpfile``) and takes the password from a
``TERMSRV/<host>`` Windows credential the plan asks the supervisor to store
right before the start and delete after (``launcher.core.wincred``); the
.rdp file never holds it.
"""

from __future__ import annotations

import os

from launcher.core.kinds import Protocol
from launcher.core.models import ConnectionInfo
from launcher.core.protocols import (
    Credential,
    Finder,
    LaunchPlan,
    RemoveCredential,
    file_placeholder,
)
from launcher.core.protocols.driver import Driver, Launch, no_version, nothing
from launcher.core.protocols.rdp import RdpOptions, options_for, password_for
from launcher.core.protocols.rdp.rdpfile import RDP_FILE_GRACE, launch_file
from launcher.core.secret import Secret
from launcher.core.texts import Text

__all__ = ["locate", "plan"]

NAMES = ("mstsc",)
EXTRA_DIRS = (r"C:\Windows\System32",)
INSTALL_HINT = Text(
    "rdp.install.windows",
    "Remote Desktop Connection (mstsc.exe) is part of Windows; if it is missing, "
    "ask your administrator to restore it.",
)


def plan(connection: ConnectionInfo, *, options: RdpOptions, client: str = "mstsc") -> LaunchPlan:
    """``mstsc <file.rdp>``; the password goes in a TERMSRV credential, never the file.

    With a password and a user name the plan asks for a ``TERMSRV/<host>``
    credential (``DOMAIN\\user`` when there is a domain) to be stored right
    before the start and removed after (``launcher.core.wincred``, done by the
    supervisor); without either, mstsc asks the user.
    """
    rdp_file = launch_file(connection, options=options)
    password = password_for(connection, options)
    pre: tuple[Credential, ...] = ()
    post: tuple[RemoveCredential, ...] = ()
    if password is not None and connection.username:
        target = f"TERMSRV/{connection.host}"
        user = connection.username
        if options.domain and "\\" not in user and "@" not in user:
            user = f"{options.domain}\\{user}"
        pre = (Credential(target=target, username=user, password=Secret(password)),)
        post = (RemoveCredential(target=target),)
    return LaunchPlan(
        argv=(client, file_placeholder(0)),
        temp_files=(rdp_file,),
        pre_steps=pre,
        post_steps=post,
        cleanup_after=RDP_FILE_GRACE,
        title=options.title,
    )


def _folders(_platform: str) -> tuple[str, ...]:
    system_root = os.environ.get("SYSTEMROOT")
    return (os.path.join(system_root, "System32"),) if system_root else EXTRA_DIRS


# ``mstsc.exe``: on PATH, in System32, or where the settings say.
locate = Finder(
    NAMES,
    what=Text("rdp.client.mstsc", "Remote Desktop Connection (mstsc)"),
    install=INSTALL_HINT,
    folders=_folders,
)


def _plan(launch: Launch) -> LaunchPlan:
    return plan(launch.connection, options=options_for(launch), client=launch.client.path)


def _name(path: str, protocol: Protocol) -> str:
    return "Remote Desktop Connection"


# It says nothing when it connects: still running after the timeout counts.
DRIVER = Driver(
    locate=locate.find,
    version=no_version,
    plan=_plan,
    name=_name,
    classify=nothing,
    silent=True,
)
