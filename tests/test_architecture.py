"""The house rules a newcomer relies on: layers only look down, no import circles, small modules and functions."""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "ragbot"
# Lowest first: a module may import its own layer and the layers below it, never one above.
LAYERS = [
    {"errors", "files", "terms", "urls", "console"},
    {"settings", "settings_file"},
    {"models", "userdata"},
    {"corpus", "readers", "library"},
    {"chunking"},
    {"answer", "question"},
    {"index"},
    {"retrieval", "brief_match"},
    {"citations", "claim_checks"},
    {"engines"},
    {"condense", "chain"},
    {"quiz", "evaluation"},
    {"app", "cli", "bench"},
]
MAX_MODULE_LINES = 350
MAX_FUNCTION_LINES = 60


def modules() -> dict[str, Path]:
    """Every module of the package by dotted name (a package by its own name)."""
    found = {}
    for path in SRC.rglob("*.py"):
        parts = path.relative_to(SRC.parent).with_suffix("").parts
        found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def imports(name: str, path: Path, known: dict[str, Path]) -> set[str]:
    """The ragbot modules a module imports, at its top or inside functions."""
    found = set()
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join([*package.split(".")[: len(package.split(".")) - node.level + 1], *([base] if base else [])])
            targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in known else base for a in node.names]
        else:
            continue
        for target in targets:
            while target and target not in known:
                target = target.rpartition(".")[0]
            if target and target != name:
                found.add(target)
    return found


def layer(name: str) -> int:
    top = name.split(".")[1] if "." in name else ""
    return next(i for i, members in enumerate(LAYERS) if top in members)


def graph() -> dict[str, set[str]]:
    known = modules()
    return {name: imports(name, path, known) for name, path in known.items()}


def test_every_module_has_a_layer() -> None:
    unplaced = sorted(n for n in modules() if "." in n and not any(n.split(".")[1] in members for members in LAYERS))
    assert not unplaced, f"add these to LAYERS: {unplaced}"


def test_no_arrow_from_a_lower_layer_to_a_higher_one() -> None:
    upward = [f"{a} -> {b}" for a, deps in graph().items() if "." in a for b in deps if "." in b and layer(b) > layer(a)]
    assert not upward, upward


def test_no_import_circles() -> None:
    edges = graph()
    done: set[str] = set()
    circles: list[list[str]] = []

    def visit(node: str, path: list[str]) -> None:
        if node in path:
            circles.append([*path[path.index(node) :], node])
            return
        if node in done:
            return
        for nxt in sorted(edges[node]):
            visit(nxt, [*path, node])
        done.add(node)

    for node in sorted(edges):
        visit(node, [])
    assert not circles, circles[:3]


def test_modules_and_functions_stay_small() -> None:
    too_long = []
    for name, path in modules().items():
        text = path.read_text(encoding="utf-8")
        if (lines := len(text.splitlines())) > MAX_MODULE_LINES:
            too_long.append(f"{name}: {lines} lines")
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and (n := node.end_lineno - node.lineno + 1) > MAX_FUNCTION_LINES:
                too_long.append(f"{name}.{node.name}: {n} lines")
    assert not too_long, too_long
