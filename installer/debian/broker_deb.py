"""The broker's Debian package, ``rubicon-broker``: the server in a virtualenv of
its own under /opt/rubicon-broker, run by systemd as its own user.

What it installs::

    /opt/rubicon-broker/                      a virtualenv on Debian's python3.11 with
                                              rubicon[broker,vsphere,proxmox,hyperv]
                                              (no launcher: no Qt)
    /usr/bin/rubicon-broker                   -> /opt/rubicon-broker/bin/rubicon-broker
    /lib/systemd/system/rubicon-broker.service
    /etc/rubicon/pools.toml                   the pools (a conffile; 0600 to the service's
                                              user through dpkg-statoverride)
    /etc/default/rubicon-broker               the service's settings (a conffile)
    /usr/share/man/man8/rubicon-broker.8.gz
    /usr/share/doc/rubicon-broker/            admin.md, pools.example.toml

postinst adds the system user ``rubicon-broker`` and enables the unit; purge
removes /var/lib/rubicon-broker (database, TLS key) and keeps the user, as
Debian policy asks.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import zipfile
from pathlib import Path

from installer.build import elf_files
from installer.debian import deb

PACKAGE = "rubicon-broker"
HERE = Path(__file__).resolve().parent / "broker"
OPT = Path("/opt/rubicon-broker")
# The interpreter the environment runs on, and the package that has it.
PYTHON = "/usr/bin/python3.11"
DESCRIPTION = """\
Rubicon connection broker: sign-in, entitlements and desktop pools
The broker behind the Rubicon launcher: it signs users in (local accounts or
LDAP, with one-time codes), lists the desktops each may use, hands out
machines from pools (fixed hosts, or virtual machines on vSphere, Proxmox VE,
Hyper-V or libvirt that it makes and powers on), and tells the launcher how
to connect.
.
One node serves a small site on SQLite; several nodes share one PostgreSQL
database. It runs as the systemd service rubicon-broker, over HTTPS.
"""


# The server, and the hypervisor backends that are pure Python. libvirt's binding
# compiles against the system's libvirt, so it is left to the admin (docs/backends.md).
EXTRAS = ("broker", "vsphere", "proxmox", "hyperv")


def broker_requirements(whl: Path, extras: tuple[str, ...] = EXTRAS) -> list[str]:
    """The wheel's requirements for `extras`, as pip takes them (markers kept)."""
    with zipfile.ZipFile(whl) as archive:
        name = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
        text = archive.read(name).decode()
    wanted = "|".join(re.escape(extra) for extra in extras)
    extra = rf"""extra\s*==\s*["']({wanted})["']"""
    found = []
    for line in text.splitlines():
        if not line.startswith("Requires-Dist: "):
            continue
        requirement = line.removeprefix("Requires-Dist: ")
        spec, _, marker = requirement.partition(";")
        if re.search(extra, marker):
            rest = re.sub(rf"\s*(and\s+)?{extra}", "", marker).strip()
            rest = re.sub(r"^and\s+|\s+and$", "", rest).strip()
            found.append(f"{spec.strip()}; {rest}" if rest else spec.strip())
    return found


def build(whl: Path, *, version: str, dist: Path, build: Path) -> Path:
    """dist/rubicon-broker_VERSION_ARCH.deb from the wheel of this checkout."""
    root = build / "deb-broker" / "root"
    shutil.rmtree(root.parent, ignore_errors=True)
    env_dir = root / OPT.relative_to("/")
    env_dir.parent.mkdir(parents=True)
    subprocess.run([PYTHON, "-m", "venv", str(env_dir)], check=True)
    python = env_dir / "bin" / "python"
    pip = [str(python), "-m", "pip", "install", "--quiet", "--no-compile"]
    subprocess.run([*pip, *broker_requirements(whl)], check=True)
    # Rubicon itself without its own dependencies: those are the launcher's (Qt).
    subprocess.run([*pip, "--no-deps", str(whl)], check=True)
    _relocate(env_dir)
    _drop_launcher(env_dir)
    _drop_tools(env_dir)
    for binary in elf_files(env_dir):
        subprocess.run(["strip", "--strip-unneeded", str(binary)], check=True)

    usr = root / "usr"
    (usr / "bin").mkdir(parents=True)
    (usr / "bin" / "rubicon-broker").symlink_to(f"{OPT}/bin/rubicon-broker")
    deb.install(
        HERE / "rubicon-broker.service", root / "lib" / "systemd" / "system" / f"{PACKAGE}.service"
    )
    deb.install(HERE / "default", root / "etc" / "default" / PACKAGE)
    deb.install_text(_pools_file(), root / "etc" / "rubicon" / "pools.toml")
    deb.install_gzipped(
        HERE / "rubicon-broker.8", usr / "share" / "man" / "man8" / "rubicon-broker.8.gz"
    )
    doc = usr / "share" / "doc" / PACKAGE
    deb.install(deb.ROOT / "docs" / "admin.md", doc / "admin.md")
    deb.install(deb.ROOT / "resources" / "pools.example.toml", doc / "pools.example.toml")
    version = deb.debian_version(version)
    deb.docs(root, PACKAGE, changelog=deb.changelog(PACKAGE, version, what="Packaged release."))
    deb.overrides(root, PACKAGE, HERE / "lintian-overrides")
    deb.normalize(root)
    for script in ("postinst", "prerm", "postrm"):
        deb.install(HERE / script, root / "DEBIAN" / script, mode=0o755)

    depends = deb.shlibs_depends(elf_files(env_dir), search=[env_dir / "lib"])
    # deb-systemd-helper and deb-systemd-invoke, for the maintainer scripts.
    needs = ("python3.11", "adduser", "init-system-helpers (>= 1.54~)", depends)
    deb.control(
        root,
        package=PACKAGE,
        version=version,
        relations={
            "Depends": ", ".join(part for part in needs if part),
            "Suggests": "postgresql, rubicon",
        },
        description=DESCRIPTION,
    )
    deb.install_text(
        f"/etc/default/{PACKAGE}\n/etc/rubicon/pools.toml\n", root / "DEBIAN" / "conffiles"
    )
    deb.md5sums(root)
    return deb.build(root, dist)


def _relocate(env_dir: Path) -> None:
    """Scripts name the interpreter where the environment will be, not where it was
    built; pyvenv.cfg names Debian's python, which does not move."""
    built = str(env_dir)
    for script in (env_dir / "bin").iterdir():
        if script.is_symlink() or not script.is_file():
            continue
        text = script.read_bytes()
        if text.startswith(b"#!") and built.encode() in text.split(b"\n", 1)[0]:
            script.write_bytes(text.replace(built.encode(), str(OPT).encode(), 1))
    for activate in env_dir.glob("bin/activate*"):
        activate.unlink()  # for shells; the service needs none, and they name the build path


def _drop_launcher(env_dir: Path) -> None:
    """The wheel carries both halves; the broker's package keeps its own."""
    (site,) = env_dir.glob("lib/python3.*/site-packages")
    shutil.rmtree(site / "launcher")
    for entry in ("bin/rubicon",):
        (env_dir / entry).unlink(missing_ok=True)
    shutil.rmtree(env_dir / "share", ignore_errors=True)  # the launcher's icons and menu entry
    for pycache in list(env_dir.rglob("__pycache__")):
        shutil.rmtree(pycache)


def _drop_tools(env_dir: Path) -> None:
    """What builds and inspects an environment: dpkg owns this one, so pip would
    only let an admin change files behind its back; the other commands are the
    libraries' own tools, which the service does not run."""
    kept = {"python", "python3", "python3.11", "rubicon-broker"}
    for entry in (env_dir / "bin").iterdir():
        if entry.name not in kept:
            entry.unlink()
    (site,) = env_dir.glob("lib/python3.*/site-packages")
    for name in ("pip", "setuptools", "_distutils_hack", "distutils-precedence.pth"):
        path = site / name
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink(missing_ok=True)
    for info in [*site.glob("pip-*.dist-info"), *site.glob("setuptools-*.dist-info")]:
        shutil.rmtree(info)
    shutil.rmtree(env_dir / "include", ignore_errors=True)


def _pools_file() -> str:
    """The example pools file, every line commented out: the broker serves no
    desktops until the admin describes them."""
    example = (deb.ROOT / "resources" / "pools.example.toml").read_text(encoding="utf-8")
    commented = "\n".join(f"# {line}" if line else "#" for line in example.splitlines())
    return (
        "# The pools this broker hands out (man rubicon-broker; every key is explained in\n"
        "# /usr/share/doc/rubicon-broker/admin.md). Until a [[pools]] table is here the\n"
        "# broker serves no desktops. The example below is commented out: fill in your\n"
        "# machines, then restart the service (a new database is filled from this file;\n"
        "# later, `rubicon-broker apply /etc/rubicon/pools.toml` brings edits in).\n"
        "#\n" + commented + "\n"
    )
