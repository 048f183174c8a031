"""Architecture rules the code keeps (docs/ARCHITECTURE.md, "Checks"), read from the source with ``ast``:

(a) no module of src/ocsea_match uses another module's private names: no ``from .x import _y``,
    no ``x._y`` on a module imported from the package, no ``obj._y`` where ``_y`` is a private
    name that only another package module defines (an attribute of its objects);
(b) no Python module over 450 lines.

Importing a package-private *module* (``from . import _core``, ``from ._index_store import Flat``)
is fine: the underscore then marks the module as internal to the package, not its names.

ALLOWED_* list today's violations, each one to be removed by the branch that mends it (issue #12:
``pipeline`` and ``vocab``); the integrator empties both lists at merge. An entry that no longer
occurs fails the test too, so the lists only ever shrink.
"""

from __future__ import annotations

import ast
from collections import Counter
from pathlib import Path

PKG = Path(__file__).resolve().parents[1] / "src" / "ocsea_match"
MAX_LINES = 450

# (a) "module: name" -> how many uses are tolerated (none since issue #12; keep it empty)
ALLOWED_PRIVATE_USES: dict[str, int] = {}

# (b) module -> its tolerated length (none since issue #12; split a module instead)
ALLOWED_LONG_MODULES: dict[str, int] = {}


def _modules() -> dict[str, ast.Module]:
    return {p.relative_to(PKG).as_posix(): ast.parse(p.read_text(encoding="utf-8")) for p in sorted(PKG.rglob("*.py"))}


def _is_package_module(package: Path, name: str) -> bool:
    return (package / f"{name}.py").is_file() or (package / name).is_dir() or any(package.glob(f"{name}.*.so")) \
        or (package / f"{name}.pyx").is_file()


def _target_package(module: str, node: ast.ImportFrom) -> Path | None:
    """The folder of the package module ``node`` imports from, None when it is not this package."""
    if node.level == 0:
        if not (node.module or "").startswith("ocsea_match"):
            return None
        parts = (node.module or "").split(".")[1:]
        return PKG.joinpath(*parts)
    base = (PKG / module).parent
    for _ in range(node.level - 1):
        base = base.parent
    return base.joinpath(*(node.module or "").split(".")) if node.module else base


def _own_private_names(tree: ast.Module) -> set[str]:
    """Private names a module defines: functions, classes, assigned names and attributes."""
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            out.add(node.name)
        elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
            out.add(node.attr)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            out.add(node.id)
    return {n for n in out if n.startswith("_") and not n.startswith("__")}


def private_uses() -> Counter[str]:
    """Every cross-module private use in the package, as ``"module: where._name"`` counts."""
    modules = _modules()
    owners: dict[str, set[str]] = {}
    for name, tree in modules.items():
        for private in _own_private_names(tree):
            owners.setdefault(private, set()).add(name)
    found: Counter[str] = Counter()
    for module, tree in modules.items():
        own = _own_private_names(tree)
        imported_modules: dict[str, str] = {}  # local name -> module it names
        for node in ast.walk(tree):
            if not isinstance(node, ast.ImportFrom):
                continue
            package = _target_package(module, node)
            if package is None:
                continue
            for alias in node.names:
                if _is_package_module(package, alias.name):
                    imported_modules[alias.asname or alias.name] = alias.name  # private modules may be imported
                elif alias.name.startswith("_") and not alias.name.startswith("__"):
                    source = node.module.rsplit(".", 1)[-1] if node.module else package.name
                    found[f"{module}: {source}.{alias.name}"] += 1
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Attribute) and node.attr.startswith("_") and not node.attr.startswith("__")):
                continue
            value = node.value
            if isinstance(value, ast.Name) and value.id in ("self", "cls"):
                continue
            if isinstance(value, ast.Name) and value.id in imported_modules:
                found[f"{module}: {imported_modules[value.id]}.{node.attr}"] += 1
            elif node.attr not in own and owners.get(node.attr):
                found[f"{module}: .{node.attr}"] += 1  # an attribute only another module defines
    return found


def test_no_module_uses_another_modules_private_names() -> None:
    found = private_uses()
    new = {k: n for k, n in found.items() if n > ALLOWED_PRIVATE_USES.get(k, 0)}
    stale = {k: n for k, n in ALLOWED_PRIVATE_USES.items() if found.get(k, 0) < n}
    assert not new, f"private names of another module used (make them public or move the code): {new}"
    assert not stale, f"mended: lower or remove these entries of ALLOWED_PRIVATE_USES: {stale}"


def test_the_checker_tells_private_names_from_private_modules() -> None:
    """The rule on a made-up module: what it must flag and what it must let through."""
    tree = ast.parse("from .hashers import _run, hash_image\nfrom . import _core, files\n"
                     "files._crashed()\n_core.luma_from_rgb(x)\nself._own = 1\nother._own\n")
    assert _own_private_names(tree) == {"_own"}
    imports = [n for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)]
    assert _target_package("robust.py", imports[0]) == PKG / "hashers"
    assert _is_package_module(PKG, "_core") and _is_package_module(PKG, "files")
    assert not _is_package_module(PKG, "_run")


def test_no_module_is_over_450_lines() -> None:
    lengths = {p.relative_to(PKG).as_posix(): len(p.read_text(encoding="utf-8").splitlines())
               for p in sorted(PKG.rglob("*.py"))}
    long = {m: n for m, n in lengths.items() if n > MAX_LINES and n > ALLOWED_LONG_MODULES.get(m, 0)}
    stale = {m: n for m, n in ALLOWED_LONG_MODULES.items() if lengths.get(m, 0) <= MAX_LINES}
    assert not long, f"modules over {MAX_LINES} lines (split them, one module one job): {long}"
    assert not stale, f"now short enough: remove these entries of ALLOWED_LONG_MODULES: {stale}"
