"""The shape of the code, checked: one road to the data (the UI, the CLI and the server reach it through
:class:`~xid_app.project.Project`, never the store), and modules small enough to read in one sitting."""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "xid_app"
SHELLS = sorted([*PACKAGE.glob("ui/*.py"), PACKAGE / "cli.py", PACKAGE / "server.py", PACKAGE / "webauth.py"])
MOST_LINES = 400


def _imported_modules(path: Path) -> set[str]:
    """Every module a file imports, as absolute dotted names."""
    package = ["xid_app", *path.relative_to(PACKAGE).parent.parts]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            found.add(".".join([*base, *(node.module.split(".") if node.module else [])]))
    return found


@pytest.mark.parametrize("path", SHELLS, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_the_ui_cli_and_server_reach_the_data_only_through_project(path):
    store = sorted(m for m in _imported_modules(path) if m == "xid_app.store" or m.startswith("xid_app.store."))
    assert store == [], f"{path.name} imports {store}: go through xid_app.project.Project"


@pytest.mark.parametrize("path", sorted(PACKAGE.rglob("*.py")), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_modules_are_short_or_say_why_not(path):
    lines = len(path.read_text().splitlines())
    docstring = ast.get_docstring(ast.parse(path.read_text())) or ""
    assert lines <= MOST_LINES or "Why one module:" in docstring, (
        f"{path.name} has {lines} lines: split it by concept, or say at its top why it is one module")


def test_every_package_xid_imports_is_declared():
    """A fresh `pip install .` must bring everything the package imports (not by luck, through another's
    dependencies)."""
    import re
    import sys
    from importlib.metadata import packages_distributions

    pyproject = (PACKAGE.parent / "pyproject.toml").read_text()
    dependencies = pyproject.split("dependencies = [", 1)[1].split("]", 1)[0]
    declared = {re.split(r"[<>=\[ ]", line.strip().strip('",'))[0].lower().replace("_", "-")
                for line in dependencies.splitlines() if line.strip().startswith('"')}
    distributions = packages_distributions()
    imported = set()
    for path in PACKAGE.rglob("*.py"):
        imported |= {m.split(".")[0] for m in _imported_modules(path)}
    third_party = sorted(m for m in imported - set(sys.stdlib_module_names) if m != "xid_app")
    missing = [m for m in third_party
               if not {d.lower().replace("_", "-") for d in distributions.get(m, [m])} & declared]
    assert missing == [], f"imported but not in pyproject.toml's dependencies: {missing}"
