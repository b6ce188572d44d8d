"""The kiosk window: full screen, frameless, no way out but the admin PIN.

It renders :class:`launcher.core.kiosk.Kiosk` (the state machine decides
every move) and does the work with the same :class:`SessionController` and
:class:`~launcher.ui.launchflow.LaunchFlow` as the desktop window: one
Idempotency-Key per launch, sent again while a machine powers on (a
countdown and Cancel on "Opening …"), given up after ``start_wait_limit``.
Screens::

    waiting for the network   countdown, "Try now"         broker unreachable at boot
    sign in                   the SignInPage, kiosk=True    server fixed by the admin
    desktops                  a plain list, Connect         idle sign-out
    connecting                "Opening …", Cancel           auto-connect lands here; idle
                                                            sign-out until a client runs
    in session                "Your desktop is open"        the client is full screen above
    admin PIN                 Ctrl+Alt+Shift+K              the right PIN leaves kiosk mode

When the client ends, however it ends, the broker hears ``disconnect`` or
``logoff`` (the policy's ``on_session_end``), the user is signed out and the
sign-in form is emptied; if the desktop never opened, the sign-in screen
says why. (Going back to the list instead would leave the user signed in
whenever a silent client, FreeRDP or SPICE, was closed before it counted as
connected.) A launch that fails before any client runs (the broker refuses,
the client is missing) returns to the list with the reason.

Closing is refused (the close button, Alt+F4, the window manager's close);
:meth:`KioskWindow.shutdown` is for SIGTERM and the admin's exit only.

The package: ``window.py`` (KioskWindow), ``pages.py`` (waiting, message, PIN),
``desktops.py`` (the tiles and their page), ``parts.py`` (what the pages are made of).
"""

from launcher.ui.kiosk.window import ADMIN_CHORD, KioskWindow

__all__ = ["ADMIN_CHORD", "KioskWindow"]
