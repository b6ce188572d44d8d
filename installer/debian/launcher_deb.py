"""The launcher's Debian package, ``rubicon``: the frozen bundle under /opt/rubicon.

What it installs::

    /opt/rubicon/                              the PyInstaller folder (no system libraries:
                                               Depends names them, from dpkg-shlibdeps)
    /usr/bin/rubicon                           -> /opt/rubicon/rubicon
    /usr/bin/rubicon-kiosk-session             the kiosk's X session (restarts rubicon)
    /usr/share/applications/rubicon.desktop    the menu entry; handles rubicon:// links
    /usr/share/xsessions/rubicon-kiosk.desktop the session display managers offer
    /usr/share/icons/hicolor/*/apps/rubicon.*  the icon, SVG and PNGs
    /usr/share/man/man1/rubicon.1.gz
    /etc/rubicon/rubicon.toml                  the admin's locked settings (a conffile)

No maintainer scripts: dpkg's triggers of desktop-file-utils and
hicolor-icon-theme refresh the menu's MIME cache and the icon cache.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from installer.build import elf_files
from installer.debian import deb

PACKAGE = "rubicon"
HERE = Path(__file__).resolve().parent / "launcher"
RESOURCES = deb.ROOT / "resources"
ICON_SIZES = (16, 32, 64, 128, 256)
DESCRIPTION = """\
VDI launcher: sign in to a broker and open your remote desktops
Rubicon signs you in to a connection broker, lists the remote desktops you
may use and opens the one you pick in the native client for its protocol:
FreeRDP for RDP, remote-viewer for SPICE, TigerVNC's vncviewer for VNC.
.
It opens rubicon:// links, remembers passwords in the desktop's keychain,
and runs as a kiosk session on thin clients. Administrators lock its
settings in /etc/rubicon/rubicon.toml.
"""


def build(bundle: Path, *, version: str, dist: Path) -> Path:
    """dist/rubicon_VERSION_ARCH.deb from the frozen ``bundle`` (built to leave the
    system's libraries to Depends)."""
    root = deb.ROOT / "build" / "deb-launcher" / "root"
    shutil.rmtree(root.parent, ignore_errors=True)
    opt = root / "opt" / "rubicon"
    shutil.copytree(bundle, opt, symlinks=True)
    usr = root / "usr"
    (usr / "bin").mkdir(parents=True)
    (usr / "bin" / "rubicon").symlink_to("/opt/rubicon/rubicon")
    deb.install(
        deb.ROOT / "installer" / "linux" / "rubicon-kiosk-session",
        usr / "bin" / "rubicon-kiosk-session",
        mode=0o755,
    )
    deb.install(RESOURCES / "rubicon.desktop", usr / "share" / "applications" / "rubicon.desktop")
    deb.install(
        RESOURCES / "xsession" / "rubicon-kiosk.desktop",
        usr / "share" / "xsessions" / "rubicon-kiosk.desktop",
    )
    icons = usr / "share" / "icons" / "hicolor"
    deb.install(RESOURCES / "icons" / "rubicon.svg", icons / "scalable" / "apps" / "rubicon.svg")
    for size in ICON_SIZES:
        deb.install(
            RESOURCES / "icons" / "png" / f"rubicon-{size}.png",
            icons / f"{size}x{size}" / "apps" / "rubicon.png",
        )
    for page in ("rubicon.1", "rubicon-kiosk-session.1"):
        deb.install_gzipped(HERE / page, usr / "share" / "man" / "man1" / f"{page}.gz")
    deb.install(HERE / "rubicon.toml", root / "etc" / "rubicon" / "rubicon.toml")
    version = deb.debian_version(version)
    deb.docs(root, PACKAGE, changelog=deb.changelog(PACKAGE, version, what="Packaged release."))
    deb.overrides(root, PACKAGE, HERE / "lintian-overrides")
    deb.normalize(root)

    internal = opt / "_internal"
    depends = deb.shlibs_depends(
        elf_files(opt),
        search=[internal, internal / "PySide6" / "Qt" / "lib"],
    )
    deb.control(
        root,
        package=PACKAGE,
        version=version,
        relations={
            "Depends": depends,
            # The native clients: each opens the desktops of one protocol.
            "Recommends": "tigervnc-viewer, freerdp3-x11 | freerdp2-x11, virt-viewer, "
            "gnome-keyring | kwalletmanager, xdotool",
        },
        description=DESCRIPTION,
    )
    deb.install_text("/etc/rubicon/rubicon.toml\n", root / "DEBIAN" / "conffiles")
    deb.md5sums(root)
    return deb.build(root, dist)
