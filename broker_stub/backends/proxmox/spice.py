"""Proxmox's spiceproxy answer as a Console: pure, so it is tested against recorded answers.

PVE answers `POST /nodes/{node}/qemu/{vmid}/spiceproxy` with the keys of a
virt-viewer file (pve-access-control's remote_viewer_config): `host` is a
signed proxy ticket ("pvespiceproxy:...") that only the cluster's SPICE
proxy (spiceproxy, port 3128 on every node) understands, `proxy` is that
proxy's URL, `tls-port` the VM's SPICE TLS port, `password` a one-time
ticket QEMU accepts for 30 s, `ca` the cluster CA with its newlines written
as the two characters backslash and n, and `host-subject` the subject of the
node's certificate (the host name in `host` cannot be checked).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from broker_stub.backends.base import Console, NoConsole

# PVE's SPICE proxy listens here on every node.
PROXY_PORT = 3128
# QEMU's expire_password "+30": the ticket works this long.
TICKET_TTL_S = 30


def proxy_url(host: str) -> str:
    """The proxy URL PVE makes of a host name (brackets around an IPv6 address)."""
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return f"http://{host}:{PROXY_PORT}"


def console_of(answer: Mapping[str, Any], *, vm: str) -> tuple[Console, str]:
    """The console and one-time password in a spiceproxy answer; NoConsole if it is
    not one the launcher can use."""
    if answer.get("type") != "spice":
        raise NoConsole(f"{vm}: Proxmox's spiceproxy answered type {answer.get('type')!r}")
    host, proxy, password = answer.get("host"), answer.get("proxy"), answer.get("password")
    tls_port = answer.get("tls-port")
    if not isinstance(host, str) or not host or not isinstance(password, str) or not password:
        raise NoConsole(f"{vm}: Proxmox's spiceproxy answer has no host or password")
    if not isinstance(proxy, str) or urlsplit(proxy).scheme not in ("http", "https"):
        raise NoConsole(f"{vm}: Proxmox's spiceproxy answer has no proxy URL ({proxy!r})")
    where = urlsplit(proxy)
    if not where.hostname:
        raise NoConsole(f"{vm}: Proxmox's spiceproxy answer names no proxy host ({proxy!r})")
    try:
        given = where.port
    except ValueError:  # not a port: Console refuses the URL below
        given = 0
    if given is None:
        # Launchers (and Console) take a proxy only with its port: PVE's is implied.
        proxy = f"{where.scheme}://{where.netloc}:{PROXY_PORT}"
    try:
        port = int(str(tls_port))  # PVE sends a number; an older one a string
    except ValueError:
        raise NoConsole(f"{vm}: Proxmox's spiceproxy answer has no TLS port") from None
    ca = answer.get("ca")
    subject = answer.get("host-subject")
    try:
        console = Console(
            host=host,
            port=None,  # PVE's SPICE listens on its TLS port only
            tls_port=port,
            ca=ca.replace("\\n", "\n") if isinstance(ca, str) and ca else None,
            host_subject=subject if isinstance(subject, str) and subject else None,
            proxy=proxy,
        )
    except ValueError as exc:  # a proxy URL no launcher takes (a path, a bad port)
        raise NoConsole(f"{vm}: Proxmox's spiceproxy answer: {exc}") from None
    return console, password
