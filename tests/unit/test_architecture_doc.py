"""docs/architecture.md stays true to the tree: it names every part, and what it
names is there.

A part is a module or package directly under launcher/core, launcher/ui or
broker_stub (and launcher/app.py). The page names one in backticks by its path
from the repository (`launcher/core/trust.py`) or from its half
(`core/trust.py`, `values/`). Every path in backticks must exist; a test named
as `file::test_name` must be in that file, one named alone somewhere under
tests/; a dotted name that starts with a package of either half
(`core.settings.Layers`, `domain.lifecycle.machine_failed`) must be defined
there; a link must reach its page and heading. The broker's table of parts
lists the layers of tests/unit/broker_stub/test_layers.py, in their order.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

from tests.unit.broker_stub.test_layers import LAYERS

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
PAGE = DOCS / "architecture.md"
HALVES = (ROOT / "launcher", ROOT / "broker_stub")
# Where a path in backticks may start: the repository, or either half.
BASES = (ROOT, *HALVES)

PATH = re.compile(r"[\w.-]+(?:/[\w.-]*)+|[\w./-]+\.py")
DOTTED = re.compile(r"\w+(?:\.\w+)+")
LINK = re.compile(r"\]\(([^)\s]+)\)")


def prose(text: str) -> str:
    """The page with its fenced code blocks blanked out (shell examples name no parts)."""
    return re.sub(
        r"^```.*?^```", lambda m: "\n" * m[0].count("\n"), text, flags=re.MULTILINE | re.DOTALL
    )


def quoted(text: str) -> list[str]:
    """Everything the page puts in backticks, outside code blocks."""
    return re.findall(r"`([^`\n]+)`", prose(text))


def parts() -> list[Path]:
    """Every part of the two halves."""
    found = [ROOT / "launcher" / "app.py"]
    for folder in (ROOT / "launcher" / "core", ROOT / "launcher" / "ui", ROOT / "broker_stub"):
        for child in sorted(folder.iterdir()):
            if child.name.startswith(("_", ".")):
                continue
            if child.suffix == ".py" or (child / "__init__.py").is_file():
                found.append(child)
    return found


def names_of(part: Path) -> set[str]:
    """How the page may name ``part``: from the repository or from its half."""
    names = {part.relative_to(ROOT).as_posix()}
    for half in HALVES:
        if part.is_relative_to(half):
            names.add(part.relative_to(half).as_posix())
    return names | {f"{name}/" for name in names if part.is_dir()}


def unnamed(text: str, every: list[Path]) -> list[str]:
    said = set(quoted(text))
    return [part.relative_to(ROOT).as_posix() for part in every if not names_of(part) & said]


def missing_paths(text: str) -> list[str]:
    """Paths in backticks that lead nowhere, and `file::test` whose test is not there."""
    missing = []
    for token in quoted(text):
        path, _, test = token.partition("::")
        if path.startswith("../") or not PATH.fullmatch(path):
            continue  # beside the repository (../shared), or not a path
        found = [base / path for base in BASES if (base / path).exists()]
        if not any(not test or (f.is_file() and defines(f, [test])) for f in found):
            missing.append(token)
    return missing


def known_tests() -> set[str]:
    """The test modules and test functions under tests/, by name."""
    names = set()
    for path in (ROOT / "tests").rglob("test_*.py"):
        names.add(path.stem)
        tree = ast.parse(path.read_text(encoding="utf-8"))
        names.update(
            node.name
            for node in ast.walk(tree)
            if isinstance(node, ast.FunctionDef) and node.name.startswith("test_")
        )
    return names


def unknown_tests(text: str) -> list[str]:
    """Tests named alone in backticks (`test_no_circle_...`) that no file under tests/ has."""
    known = known_tests()
    return [t for t in quoted(text) if re.fullmatch(r"test_\w+", t) and t not in known]


def split_spans(text: str) -> list[int]:
    """Lines (1-based) where a span in backticks breaks across lines: it would go unchecked."""
    return [
        number
        for number, line in enumerate(prose(text).splitlines(), start=1)
        if line.count("`") % 2
    ]


def packages() -> dict[str, Path]:
    """The first word of a dotted name the page checks, and where it leads."""
    roots = {half.name: half for half in HALVES}
    for half in HALVES:
        roots.update({p.name: p for p in half.iterdir() if (p / "__init__.py").is_file()})
    return roots


def inside(node: ast.stmt, name: str) -> list[ast.stmt] | None:
    """What ``node`` defines as ``name`` holds (a class's body, else nothing); None if
    ``node`` does not define ``name``."""
    if isinstance(node, ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
        if node.name != name:
            return None
        return node.body if isinstance(node, ast.ClassDef) else []
    if isinstance(node, ast.Assign | ast.AnnAssign):
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        named = any(isinstance(t, ast.Name) and t.id == name for t in targets)
    elif isinstance(node, ast.ImportFrom | ast.Import):
        named = any((a.asname or a.name.split(".")[-1]) == name for a in node.names)
    else:
        return None
    return [] if named else None


def defines(path: Path, names: list[str]) -> bool:
    """Whether module ``path`` defines ``names[0]``, which defines ``names[1]``, ..."""
    body: list[ast.stmt] = ast.parse(path.read_text(encoding="utf-8")).body
    for name in names:
        found = [inner for node in body if (inner := inside(node, name)) is not None]
        if not found:
            return False
        body = found[-1]
    return True


def undefined_names(text: str) -> list[str]:
    """Dotted names in backticks that start in one of the halves and end nowhere."""
    roots = packages()
    undefined = []
    for token in quoted(text):
        name = token.removesuffix("()")
        if not DOTTED.fullmatch(name) or name.split(".")[0] not in roots:
            continue
        words = name.split(".")
        folder = roots[words[0]]
        module = folder / "__init__.py"
        rest = words[1:]
        while rest and ((folder / rest[0]).is_dir() or (folder / f"{rest[0]}.py").is_file()):
            folder = folder / rest[0]
            module = folder / "__init__.py" if folder.is_dir() else folder.with_suffix(".py")
            rest = rest[1:]
        if rest and not defines(module, rest):
            undefined.append(token)
    return undefined


def slug(heading: str) -> str:
    """A heading's anchor as GitHub makes it."""
    words = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return words.replace(" ", "-")


def broken_links(text: str, page: Path) -> list[str]:
    """Links to other files that lead nowhere, or to a heading they do not have."""
    broken = []
    for target in LINK.findall(prose(text)):
        if "://" in target:
            continue
        file, _, anchor = target.partition("#")
        linked = (page.parent / file).resolve() if file else page
        if not linked.is_file():
            broken.append(target)
        elif anchor:
            headings = re.findall(r"^#+ (.+)$", prose(linked.read_text(encoding="utf-8")), re.M)
            if anchor not in {slug(h) for h in headings}:
                broken.append(target)
    return broken


def broker_layers(text: str) -> list[set[str]]:
    """The broker's parts by layer, from the page's table (rows numbered from 0)."""
    section = text.partition("### Parts, lowest first")[2]
    rows = re.findall(r"^\| (\d+) \| ([^|]+) \|", section, flags=re.MULTILINE)
    assert [int(n) for n, _ in rows] == list(range(len(rows))), "layers numbered 0, 1, 2, ..."
    return [
        {token.removesuffix("/").removesuffix(".py") for token in re.findall(r"`([^`]+)`", cell)}
        for _, cell in rows
    ]


TEXT = PAGE.read_text(encoding="utf-8")


def test_the_page_names_every_part() -> None:
    assert unnamed(TEXT, parts()) == []


def test_every_path_the_page_names_is_there() -> None:
    assert missing_paths(TEXT) == []


def test_every_test_the_page_names_alone_is_there() -> None:
    assert unknown_tests(TEXT) == []


def test_no_span_in_backticks_breaks_across_lines() -> None:
    assert split_spans(TEXT) == []


def test_every_dotted_name_the_page_names_is_defined() -> None:
    assert undefined_names(TEXT) == []


def test_every_link_of_the_page_reaches_its_page_and_heading() -> None:
    assert broken_links(TEXT, PAGE) == []


def broker_parts() -> set[str]:
    return {p.stem for p in parts() if p.is_relative_to(ROOT / "broker_stub")}


def test_the_brokers_layers_are_the_ones_its_test_holds() -> None:
    assert broker_layers(TEXT) == [layer & broker_parts() for layer in LAYERS]


def test_the_page_is_checked_at_all() -> None:
    # What the checks above read: enough of each kind that a broken reading fails here.
    assert len(parts()) > 60
    assert len([t for t in quoted(TEXT) if PATH.fullmatch(t.partition("::")[0])]) > 80
    assert len([t for t in quoted(TEXT) if "::" in t]) > 5
    assert len(broker_layers(TEXT)) == len(LAYERS)


def test_a_part_left_out_is_caught() -> None:
    text = TEXT.replace("`core/trust.py`", "trust")

    assert unnamed(text, parts()) == ["launcher/core/trust.py"]
    # A part added to the tree and not to the page:
    new = ROOT / "broker_stub" / "quotas.py"
    assert unnamed(TEXT, [*parts(), new]) == ["broker_stub/quotas.py"]


def test_a_path_or_test_that_is_gone_is_caught() -> None:
    gone = "`core/registry.py` `tests/unit/launcher/test_layers.py::test_no_such_test`"

    assert missing_paths(TEXT + gone) == [
        "core/registry.py",
        "tests/unit/launcher/test_layers.py::test_no_such_test",
    ]


def test_a_name_that_is_gone_is_caught() -> None:
    gone = "`core.settings.Layer` `ui.mainwindow.MainWindow.no_such_method` `domain.gone.thing`"

    assert undefined_names(TEXT + gone) == [
        "core.settings.Layer",
        "ui.mainwindow.MainWindow.no_such_method",
        "domain.gone.thing",
    ]


def test_a_part_in_another_layer_is_caught() -> None:
    text = TEXT.replace("| 5 | `auth/` |", "| 5 | `auth/`, `app.py` |")

    assert text != TEXT
    assert broker_layers(text) != [layer & broker_parts() for layer in LAYERS]


def test_a_test_that_is_gone_or_a_broken_span_is_caught() -> None:
    assert unknown_tests(TEXT + "`test_the_core_never_imports_anything`") == [
        "test_the_core_never_imports_anything"
    ]
    assert split_spans("one `span\nbroken` here\n`whole`") == [1, 2]


def test_a_link_to_a_heading_that_is_gone_is_caught() -> None:
    text = "[x](protocols.md#how-secrets-reach-the-clients) [y](protocols.md#no-such-heading)"

    assert broken_links(text, PAGE) == ["protocols.md#no-such-heading"]
