"""What `make package` built, against the budgets of issue 12: sizes and a frozen start.

    python benchmarks/packages.py                # after make package; 9 starts of each
    python benchmarks/packages.py --runs 21
    python benchmarks/packages.py --smoke        # 1 start of each: what the tests run

Sizes: the portable folder (dist/rubicon) on disk, and its .tar.gz; the
launcher's .deb as downloaded and as installed (its Installed-Size, without
the libraries Depends brings, as dpkg counts it); the broker's .deb; and the
biggest parts of the portable folder, which say what bounds it.

Start: the frozen launcher (dist/rubicon/rubicon) against the same launcher
run from the virtualenv it was frozen from (build/venv-launcher), each
``--exit-when-shown`` on the offscreen platform, in turn, after one warm-up
start of each (benchmarks/launcher_startup.py measures them the same way).

Budgets: .deb ≤ 110 MB installed and ≤ 35 MB download; portable ≤ 120 MB;
a frozen start ≤ 1.2 x the virtualenv's.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks import common  # noqa: E402
from benchmarks.launcher_startup import Start, in_turn  # noqa: E402

MB = 1_000_000
DEB_INSTALLED_MB = 110
DEB_DOWNLOAD_MB = 35
PORTABLE_MB = 120
FROZEN_START = 1.2
# The parts of the portable folder reported on their own, by path inside _internal.
PARTS = {
    "ICU (Qt's Unicode data)": ["PySide6/Qt/lib/libicu*"],
    "Qt libraries and plug-ins": ["PySide6/Qt/lib/libQt6*", "PySide6/Qt/plugins"],
    "Qt's Python bindings": ["PySide6/*.so*", "shiboken6", "libpyside6*", "libshiboken6*"],
    "Python (libpython, stdlib)": ["libpython*", "python3.11", "base_library.zip"],
    "cryptography (keyring's Secret Service)": ["cryptography"],
    "pydantic (settings)": ["pydantic_core", "pydantic"],
    "system libraries (left to Depends in the .deb)": ["lib[!Qp]*.so*"],
}


def size(path: Path) -> int:
    if path.is_symlink():
        return 0
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


def deb_field(deb: Path, field: str) -> str:
    dpkg_deb = shutil.which("dpkg-deb")
    if dpkg_deb is None:
        raise SystemExit("dpkg-deb is not installed: apt-get install dpkg")
    return subprocess.run(
        [dpkg_deb, "--field", str(deb), field],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout.strip()


def sizes(dist: Path) -> list[str]:
    lines = []
    folder = dist / "rubicon"
    portable = size(folder)
    mark = "meets" if portable <= PORTABLE_MB * MB else "MISSES"
    lines.append(f"portable folder      {portable / MB:7.1f} MB  ({mark} <= {PORTABLE_MB} MB)")
    for tarball in sorted(dist.glob("rubicon-*.tar.gz")):
        lines.append(f"  as {tarball.name:<28} {tarball.stat().st_size / MB:7.1f} MB")
    internal = folder / "_internal"
    for name, patterns in PARTS.items():
        found = {p for pattern in patterns for p in internal.glob(pattern)}
        lines.append(f"  {name:<48} {sum(map(size, found)) / MB:6.1f} MB")
    for deb in sorted(dist.glob("rubicon*.deb")):
        download = deb.stat().st_size
        installed = int(deb_field(deb, "Installed-Size")) * 1024
        line = (
            f"{deb.name:<34} {download / MB:6.1f} MB download, {installed / MB:6.1f} MB installed"
        )
        if deb.name.startswith("rubicon_"):
            ok = download <= DEB_DOWNLOAD_MB * MB and installed <= DEB_INSTALLED_MB * MB
            line += (
                f"  ({'meets' if ok else 'MISSES'} <= {DEB_DOWNLOAD_MB} / {DEB_INSTALLED_MB} MB)"
            )
        lines.append(line)
    return lines


def starts(dist: Path, runs: int, workdir: Path) -> list[str]:
    frozen = [str(dist / "rubicon" / "rubicon"), "--exit-when-shown", "--log-dir", str(workdir)]
    python = ROOT / "build" / "venv-launcher" / "env" / "bin" / "python"
    source = [str(python), "-m", "launcher", "--exit-when-shown", "--log-dir", str(workdir)]
    ours, theirs = in_turn(frozen, source, runs, workdir)
    frozen_ms, source_ms = median_ms(ours), median_ms(theirs)
    wall = frozen_ms["wall"] / source_ms["wall"]
    cpu = frozen_ms["cpu"] / source_ms["cpu"]
    mark = "meets" if wall <= FROZEN_START else "MISSES"
    return [
        f"frozen start         {described(frozen_ms)}",
        f"virtualenv start     {described(source_ms)}",
        f"frozen / virtualenv  {wall:6.2f} x wall, {cpu:.2f} x CPU  ({mark} <= {FROZEN_START} x)",
    ]


def median_ms(starts: list[Start]) -> dict[str, float]:
    """Medians of the starts: wall and CPU in ms, peak memory in MiB."""
    return {
        "wall": statistics.median(s.seconds for s in starts) * 1000,
        "cpu": statistics.median(s.cpu for s in starts) * 1000,
        "peak": statistics.median(s.peak_kib for s in starts) / 1024,
    }


def described(medians: dict[str, float]) -> str:
    return (
        f"{medians['wall']:6.0f} ms (CPU {medians['cpu']:.0f} ms, peak {medians['peak']:.0f} MiB)"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--dist", type=Path, default=ROOT / "dist")
    parser.add_argument("--smoke", action="store_true", help="one start of each")
    args = parser.parse_args(argv)
    if not (args.dist / "rubicon" / "rubicon").exists():
        parser.error(f"no frozen launcher in {args.dist}: run make package first")
    print(common.machine_line())
    for line in sizes(args.dist):
        print(line)
    with tempfile.TemporaryDirectory(prefix="rubicon-packages-") as tmp:
        for line in starts(args.dist, 1 if args.smoke else args.runs, Path(tmp)):
            print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
