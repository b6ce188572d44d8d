"""Names the start needs before the window's first frame: the display protocols.

``startup`` and ``uri`` check a link's or an option's ``protocol`` against
:class:`Protocol`. It lives here, not in ``models`` (which keeps importing it
under its old name), so that a start reads no dataclass the broker's answers
need: ``models`` defines seven of them, some milliseconds of the first frame.
"""

from __future__ import annotations

import enum


class Protocol(enum.StrEnum):
    RDP = "rdp"
    SPICE = "spice"
    VNC = "vnc"
