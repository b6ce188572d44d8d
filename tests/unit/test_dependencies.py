"""The two installable halves: `pip install rubicon` brings the launcher and what it
imports; the extra `broker` brings the server and what it imports.

Each half's imports are read from its source (tests/helpers/imports, late and
``Lazy`` imports included), mapped to the distributions installed here that
provide them, and held against the requirement lists in pyproject.toml. A
broker package the launcher starts to import, or one the broker imports but
its extra does not name, fails here before a thin client or a broker server
meets it as an ImportError.
"""

from __future__ import annotations

import functools
import importlib.metadata
import subprocess
import sys
import tomllib
from pathlib import Path
from types import ModuleType

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

import broker_stub
import launcher
from broker_stub.main import SERVER_MODULES
from tests.helpers.imports import ImportGraph

ROOT = Path(__file__).resolve().parents[2]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
OWN = {"launcher", "broker_stub", "tests"}
# Modules of packages that are not installed on this OS, by their distribution.
NOT_HERE = {"win32cred": "pywin32", "pywintypes": "pywin32"}
# Named in a list though no module of ours imports them: uvicorn uses each
# when it is installed (a C HTTP parser, a faster event loop)...
SPEEDUPS = {"httptools", "uvloop"}
# ... and SQLAlchemy loads the PostgreSQL driver a postgresql+psycopg URL names.
LOADED_BY_NAME = {"psycopg"}
# Imported directly, but installed with (and pinned by) the one we name.
COMES_WITH = {
    "shiboken6": "pyside6-essentials",
    "starlette": "fastapi",
    "pydantic-core": "pydantic",
}


def declared(requirements: list[str]) -> set[str]:
    return {canonicalize_name(Requirement(r).name) for r in requirements}


def launcher_list() -> set[str]:
    return declared(PROJECT["dependencies"])


def broker_list() -> set[str]:
    extras = PROJECT["optional-dependencies"]
    hypervisors = ("libvirt", "vsphere", "proxmox", "hyperv")
    return declared(extras["broker"]).union(*(declared(extras[name]) for name in hypervisors))


@functools.cache  # each half is read once, however many tests ask
def third_party(package: ModuleType) -> dict[str, set[str]]:
    """Each distribution the package's modules import, and which modules import it."""
    graph = ImportGraph(package)
    providers = importlib.metadata.packages_distributions()
    found: dict[str, set[str]] = {}
    for name in graph.modules:
        for imported in graph.imported(name):
            top = imported.partition(".")[0]
            if not top or top in OWN or top in sys.stdlib_module_names:
                continue
            if top in NOT_HERE:
                distributions = [NOT_HERE[top]]
            else:
                assert top in providers, f"{name} imports {top}, which no distribution here has"
                distributions = providers[top]
            for distribution in map(canonicalize_name, distributions):
                distribution = COMES_WITH.get(distribution, distribution)
                found.setdefault(distribution, set()).add(name)
    return found


def test_the_reading_finds_each_halfs_libraries() -> None:
    launcher_uses = third_party(launcher)
    broker_uses = third_party(broker_stub)

    assert "launcher.core.broker" in launcher_uses["httpx"]  # a Lazy import
    assert "pyside6-essentials" in launcher_uses
    assert "broker_stub.app" in broker_uses["fastapi"]


def outside(package: ModuleType, allowed: set[str]) -> dict[str, list[str]]:
    """Each distribution ``package`` imports that ``allowed`` does not name, and
    which of its modules import it."""
    return {
        distribution: sorted(modules)
        for distribution, modules in third_party(package).items()
        if distribution not in allowed
    }


def test_the_launcher_imports_only_what_pip_install_rubicon_brings() -> None:
    assert outside(launcher, launcher_list()) == {}


def test_the_broker_imports_only_what_its_extras_bring() -> None:
    assert outside(broker_stub, broker_list()) == {}


def test_neither_list_names_what_its_half_does_not_import() -> None:
    assert launcher_list() - set(third_party(launcher)) == set()
    assert broker_list() - set(third_party(broker_stub)) == SPEEDUPS | LOADED_BY_NAME


def test_a_thin_client_carries_no_server_and_a_broker_no_qt() -> None:
    assert {"fastapi", "sqlalchemy", "uvicorn", "alembic"} & launcher_list() == set()
    assert "pyside6-essentials" not in broker_list()


def test_both_halves_and_the_distribution_have_one_version() -> None:
    assert launcher.__version__ == broker_stub.__version__
    assert importlib.metadata.version("rubicon") == launcher.__version__


def test_rubicon_broker_checks_for_every_package_of_the_server() -> None:
    providers = importlib.metadata.packages_distributions()
    checked = {canonicalize_name(d) for top in SERVER_MODULES for d in providers[top]}
    extra = declared(PROJECT["optional-dependencies"]["broker"])

    assert checked == extra - SPEEDUPS


def test_rubicon_broker_without_the_broker_packages_says_what_to_install() -> None:
    # As where two of them are not installed: importing them fails.
    blocked = (
        "import sys; sys.modules['fastapi'] = sys.modules['pyotp'] = None; "
        "from broker_stub.main import main; sys.exit(main())"
    )
    done = subprocess.run(
        [sys.executable, "-c", blocked, "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert done.returncode == 1
    assert done.stdout == ""
    assert "the broker's packages are not installed here (missing: fastapi, pyotp)" in done.stderr
    assert "pip install 'rubicon[broker]'" in done.stderr
    assert "Traceback" not in done.stderr


def test_the_broker_runs_without_the_libvirt_extra() -> None:
    # A broker of fixed hosts: neither libvirt-python nor defusedxml installed.
    blocked = (
        "import sys; sys.modules['libvirt'] = sys.modules['defusedxml'] = None; "
        "from broker_stub.main import main; sys.exit(main())"
    )
    for argv in (["--help"], ["init", "--help"], ["serve", "--help"], ["demo", "--help"]):
        done = subprocess.run(
            [sys.executable, "-c", blocked, *argv],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

        assert done.returncode == 0, done.stderr
        assert done.stdout.startswith("usage: rubicon-broker")


def test_rubicon_broker_with_them_runs_its_command_line() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "broker_stub.main", "--version"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"rubicon-broker {broker_stub.__version__}"
