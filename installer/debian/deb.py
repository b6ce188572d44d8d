"""What both Debian packages are made with: a staging root, its control file,
md5sums, compressed documents, and dpkg-deb.

Binary packages are built straight from a staging folder (no debian/rules
and no debhelper): the bundle and the broker's environment are already built
by the time they are packaged. dpkg-shlibdeps still names the exact library
packages the binaries need.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterable
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
MAINTAINER = "Rubicon developers <rubicon@example.org>"
HOMEPAGE = "https://example.org/rubicon"


def architecture() -> str:
    return subprocess.run(
        ["dpkg", "--print-architecture"], capture_output=True, text=True, check=True
    ).stdout.strip()


def install(source: Path, target: Path, *, mode: int = 0o644) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, target)
    target.chmod(mode)


def install_text(text: str, target: Path, *, mode: int = 0o644) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text, encoding="utf-8")
    target.chmod(mode)


def install_gzipped(source: Path, target: Path) -> None:
    """``target`` (ending .gz) with ``source`` compressed as Debian wants it:
    -9, and no name or time stamp inside, so that builds are reproducible."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with (
        target.open("wb") as raw,
        gzip.GzipFile(filename="", mode="wb", compresslevel=9, fileobj=raw, mtime=0) as out,
    ):
        out.write(source.read_bytes())
    target.chmod(0o644)


def docs(root: Path, package: str, *, changelog: str) -> None:
    """copyright and changelog.Debian.gz under /usr/share/doc/PACKAGE."""
    doc = root / "usr" / "share" / "doc" / package
    install(HERE / "copyright", doc / "copyright")
    with tempfile.TemporaryDirectory() as tmp:
        plain = Path(tmp) / "changelog.Debian"
        plain.write_text(changelog, encoding="utf-8")
        install_gzipped(plain, doc / "changelog.Debian.gz")


def debian_version(version: str) -> str:
    """The package's version: Rubicon's, and the first packaging of it (-1)."""
    return f"{version}-1"


def changelog(package: str, version: str, *, what: str) -> str:
    # A fixed date: the package's content does not change with the day it is built.
    return (
        f"{package} ({version}) unstable; urgency=medium\n\n"
        f"  * {what}\n\n"
        f" -- {MAINTAINER}  Mon, 07 Dec 2026 00:00:00 +0000\n"
    )


def overrides(root: Path, package: str, source: Path) -> None:
    install(source, root / "usr" / "share" / "lintian" / "overrides" / package)


def shlibs_depends(binaries: Iterable[Path], *, search: Iterable[Path]) -> str:
    """The Depends that dpkg-shlibdeps finds for ``binaries`` (libraries under
    ``search`` are the package's own and need nothing)."""
    binaries = sorted(binaries)
    if not binaries:
        return ""
    with tempfile.TemporaryDirectory() as tmp:
        # dpkg-shlibdeps wants to run at the top of a source package.
        (Path(tmp) / "debian").mkdir()
        (Path(tmp) / "debian" / "control").write_text(
            "Source: rubicon\n\nPackage: rubicon\nArchitecture: any\n"
        )
        found = subprocess.run(
            [
                "dpkg-shlibdeps",
                "-O",
                "--ignore-missing-info",
                *(f"-l{folder}" for folder in search),
                *(f"-e{path}" for path in binaries),
            ],
            capture_output=True,
            text=True,
            check=False,
            cwd=tmp,
        )
    if found.returncode != 0:
        errors = [line for line in found.stderr.splitlines() if "error" in line]
        raise SystemExit("dpkg-shlibdeps failed:\n" + "\n".join(errors))
    for line in found.stdout.splitlines():
        if line.startswith("shlibs:Depends="):
            return line.partition("=")[2]
    return ""


def installed_size(root: Path) -> int:
    """Kibibytes, as dpkg counts them for Installed-Size."""
    total = 0
    for path in root.rglob("*"):
        if path.is_relative_to(root / "DEBIAN"):
            continue
        total += 1 if path.is_symlink() or path.is_dir() else -(-path.stat().st_size // 1024)
    return total


def control(
    root: Path, *, package: str, version: str, relations: dict[str, str], description: str
) -> None:
    """DEBIAN/control: the fields both packages share, ``relations`` (Depends,
    Recommends, ...), Installed-Size, and ``description`` (a summary line, then
    paragraphs)."""
    fields = {
        "Package": package,
        "Version": version,
        "Architecture": architecture(),
        "Maintainer": MAINTAINER,
        "Section": "net",
        "Priority": "optional",
        **relations,
        "Homepage": HOMEPAGE,
        "Installed-Size": str(installed_size(root)),
    }
    lines = [f"{key}: {value}" for key, value in fields.items() if value]
    summary, _, body = description.strip().partition("\n")
    lines.append(f"Description: {summary}")
    for paragraph_line in body.strip("\n").splitlines():
        lines.append(" " + (paragraph_line if paragraph_line.strip() else "."))
    install_text("\n".join(lines) + "\n", root / "DEBIAN" / "control")


def md5sums(root: Path) -> None:
    lines = []
    for path in sorted(root.rglob("*")):
        if path.is_relative_to(root / "DEBIAN") or path.is_symlink() or not path.is_file():
            continue
        digest = hashlib.md5(path.read_bytes(), usedforsecurity=False).hexdigest()
        lines.append(f"{digest}  {path.relative_to(root)}")
    install_text("\n".join(lines) + "\n", root / "DEBIAN" / "md5sums")


def normalize(root: Path) -> None:
    """Folders 0755; programs 0755; shared libraries and other files 0644.

    A program is an executable file that is an ELF binary or a script: some
    wheels mark data files executable (pyVmomi's type stubs, certifi's tests)."""
    for path in [root, *root.rglob("*")]:
        if path.is_symlink():
            continue
        if path.is_dir():
            path.chmod(0o755)
        elif _shared_library(path.name):
            path.chmod(0o644)  # loaded, never run
        else:
            path.chmod(0o755 if path.stat().st_mode & 0o111 and _runnable(path) else 0o644)


def _shared_library(name: str) -> bool:
    return name.endswith(".so") or ".so." in name


def _runnable(path: Path) -> bool:
    with path.open("rb") as file:
        head = file.read(4)
    return head == b"\x7fELF" or head.startswith(b"#!")


def build(root: Path, dist: Path) -> Path:
    """dist/PACKAGE_VERSION_ARCH.deb from ``root``."""
    dist.mkdir(parents=True, exist_ok=True)
    fields = dict(
        line.split(": ", 1)
        for line in (root / "DEBIAN" / "control").read_text().splitlines()
        if ": " in line and not line.startswith(" ")
    )
    target = dist / f"{fields['Package']}_{fields['Version']}_{fields['Architecture']}.deb"
    env = {**os.environ, "SOURCE_DATE_EPOCH": "1796601600"}
    subprocess.run(
        ["dpkg-deb", "--root-owner-group", "-Zxz", "--build", str(root), str(target)],
        check=True,
        env=env,
    )
    print(f"built {target}")
    return target
