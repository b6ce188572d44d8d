"""The .rdp file that ``mstsc`` and Microsoft's macOS client open: never a password."""

from __future__ import annotations

from launcher.core.models import ConnectionInfo
from launcher.core.protocols import TempFile
from launcher.core.protocols.rdp import Audio, CertMode, RdpOptions, address, check_connection

__all__ = ["RDP_FILE_GRACE", "launch_file", "rdp_file"]

# How long .rdp files and the TERMSRV credential are kept for mstsc and the
# macOS client: they read them while connecting, not at exit.
RDP_FILE_GRACE = 30.0

_AUTHENTICATION_LEVEL = {
    # 0: connect without warning if the server cannot be authenticated,
    # 1: do not connect, 2: warn and let the user choose.
    CertMode.TOFU: 2,
    # Neither client can pin a fingerprint from an .rdp file: the certificate
    # must then be one Windows/macOS trusts.
    CertMode.FINGERPRINT: 1,
    CertMode.IGNORE: 0,
}
_AUDIO_MODE = {Audio.LOCAL: 0, Audio.REMOTE: 1, Audio.OFF: 2}


def rdp_file(connection: ConnectionInfo, *, options: RdpOptions) -> str:
    """The text of an .rdp file for ``connection``: CRLF lines, never a password."""
    check_connection(connection)
    lines = [f"full address:s:{address(connection.host, connection.port)}"]
    if connection.vmconnect is not None:
        # Hyper-V's VM console, as Microsoft's own VMConnect .rdp files have it:
        # the VM id as the preconnection blob, the VMConnect port, and no
        # security negotiation (the host speaks CredSSP straight away).
        lines += [
            f"server port:i:{connection.port}",
            f"pcb:s:{connection.vmconnect}",
            "negotiate security layer:i:0",
        ]
    if connection.username:
        lines.append(f"username:s:{connection.username}")
    if options.domain:
        lines.append(f"domain:s:{options.domain}")
    lines.append(f"screen mode id:i:{2 if options.fullscreen else 1}")
    if options.width is not None:
        lines += [f"desktopwidth:i:{options.width}", f"desktopheight:i:{options.height}"]
    lines += [
        f"use multimon:i:{int(options.multimon)}",
        f"redirectclipboard:i:{int(options.clipboard)}",
    ]
    if options.drives:
        lines.append("drivestoredirect:s:" + ";".join(path for _, path in options.drives))
    lines += [
        f"audiomode:i:{_AUDIO_MODE[options.audio]}",
        f"authentication level:i:{_AUTHENTICATION_LEVEL[options.certificate.mode]}",
        "prompt for credentials:i:0",
        "enablecredsspsupport:i:1",
    ]
    gateway = options.gateway
    if gateway is not None:
        lines += [
            f"gatewayhostname:s:{address(gateway.host, gateway.port)}",
            "gatewayusagemethod:i:1",  # always use it
            "gatewayprofileusagemethod:i:1",  # these settings, not the user's defaults
            "gatewaycredentialssource:i:0",  # user name and password
            f"promptcredentialonce:i:{int(gateway.use_sign_in)}",
        ]
        if not gateway.use_sign_in and gateway.username:
            lines.append(f"gatewayusername:s:{gateway.username}")
    return "".join(f"{line}\r\n" for line in lines)


def launch_file(connection: ConnectionInfo, *, options: RdpOptions) -> TempFile:
    """The .rdp file as the plan's temp file, encoded as mstsc itself writes it:
    UTF-16 little-endian with a byte order mark."""
    text = rdp_file(connection, options=options)
    return TempFile(b"\xff\xfe" + text.encode("utf-16-le"), suffix=".rdp")
