"""The modules the main window loads after its first frame: one place for them all.

The first frame is the sign-in page; the desktops page, the session controller
with the broker client and the launch machinery, the launch flow and the
dialogs are not needed until a sign-in, a link or a click asks for them, and
importing them first would hold up that frame (``docs/benchmarks.md``). Each
name below is a :class:`~launcher.core.lazy.Lazy` stand-in that imports its
module when an attribute is first looked up on it; type checkers see the real
module. A window imports what it needs from here by name
(``from launcher.ui.deferred import controller``) and uses it as the module
(``controller.SessionController(...)``) wherever it is first needed.
``tests/unit/launcher/test_app_start.py`` checks that the first frame loads
none of them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from launcher.core.lazy import Lazy

__all__ = [
    "about",
    "broker",
    "catalog",
    "controller",
    "credentials",
    "desktops",
    "diagnostics",
    "doctor",
    "heartbeat",
    "launchflow",
    "launching",
    "poweron",
    "protocols",
    "servers",
    "settingsdialog",
    "startup",
    "tasks",
    "trust",
    "trustdialog",
]

if TYPE_CHECKING:
    from launcher.core import (
        broker,
        catalog,
        credentials,
        doctor,
        heartbeat,
        launching,
        protocols,
        servers,
        startup,
        trust,
    )
    from launcher.ui import (
        about,
        controller,
        desktops,
        diagnostics,
        launchflow,
        poweron,
        settingsdialog,
        tasks,
        trustdialog,
    )
else:
    broker = Lazy("launcher.core.broker")
    catalog = Lazy("launcher.core.catalog")
    credentials = Lazy("launcher.core.credentials")
    doctor = Lazy("launcher.core.doctor")
    heartbeat = Lazy("launcher.core.heartbeat")
    launching = Lazy("launcher.core.launching")
    protocols = Lazy("launcher.core.protocols")
    servers = Lazy("launcher.core.servers")
    startup = Lazy("launcher.core.startup")
    trust = Lazy("launcher.core.trust")
    about = Lazy("launcher.ui.about")
    controller = Lazy("launcher.ui.controller")
    desktops = Lazy("launcher.ui.desktops")
    diagnostics = Lazy("launcher.ui.diagnostics")
    launchflow = Lazy("launcher.ui.launchflow")
    poweron = Lazy("launcher.ui.poweron")
    settingsdialog = Lazy("launcher.ui.settingsdialog")
    tasks = Lazy("launcher.ui.tasks")
    trustdialog = Lazy("launcher.ui.trustdialog")
