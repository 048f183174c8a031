"""The native modules' type stubs (``_core.pyi``, ``_tmk.pyi``, ``_mih.pyi``) say what the compiled modules are:
the same public functions, each with the same parameter names, order and defaults, and the same
constants (as python-xxhash checks its stub). A kernel added or changed without its stub fails here."""

from __future__ import annotations

import ast
import importlib
import inspect
from pathlib import Path

import pytest

PACKAGE = Path(importlib.import_module("ocsea_match").__file__).parent


def _stub(name: str) -> tuple[dict[str, list[tuple[str, str | None]]], set[str]]:
    """``({function: [(parameter, default source or None)]}, {constant})`` of a stub file."""
    tree = ast.parse((PACKAGE / f"{name}.pyi").read_text(encoding="utf-8"))
    functions: dict[str, list[tuple[str, str | None]]] = {}
    constants: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.FunctionDef):
            args = node.args.args
            defaults = [None] * (len(args) - len(node.args.defaults)) + [ast.unparse(d) for d in node.args.defaults]
            functions[node.name] = [(a.arg, d) for a, d in zip(args, defaults)]
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            constants.add(node.target.id)
    return functions, constants


@pytest.mark.parametrize("name", ["_core", "_tmk", "_mih", "_vics"])
def test_stub_matches_the_compiled_module(name: str) -> None:
    module = importlib.import_module(f"ocsea_match.{name}")
    functions, constants = _stub(name)
    public = {n: getattr(module, n) for n in dir(module) if not n.startswith("_") and n != "np"}
    compiled = {n: f for n, f in public.items() if callable(f)}
    assert set(compiled) == set(functions), "functions in the module but not the stub, or the other way round"
    assert {n for n in public if n not in compiled} == constants
    for fname, func in compiled.items():
        parameters = [(p.name, None if p.default is inspect.Parameter.empty else repr(p.default))
                      for p in inspect.signature(func).parameters.values()]
        assert parameters == functions[fname], fname
