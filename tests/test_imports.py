"""The shape of the house, read from the source (ast): who may import whom.

- ``vms.app`` composes the supervisor process and ``vms.worker_process`` a worker process;
  only the command line imports the first and only the first imports the second.
- Recording (``vms.cameras``) knows nothing of analytics or custody; analytics reads the
  recording side only through its frame buffers (``vms.cameras.frames``).
- No import circle, counting imports inside functions and under ``TYPE_CHECKING`` and each
  module's dependency on its package.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

VMS = Path(__file__).resolve().parent.parent / "vms"

#: Who may import a composition root.
ROOTS = {"vms.app": {"vms.cli"}, "vms.worker_process": {"vms.app"}}


def _module_names() -> dict[str, Path]:
    out = {}
    for path in VMS.rglob("*.py"):
        parts = list(path.relative_to(VMS.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


MODULES = _module_names()


def _resolve(name: str) -> str | None:
    """The vms module ``name`` names (``vms.evidence.audit.Actor`` -> ``vms.evidence.audit``)."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def _imported(module: str) -> Iterator[str]:
    """Every vms module ``module`` imports, anywhere in it (functions, TYPE_CHECKING)."""
    path = MODULES[module]
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                up = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*up, base] if base else up)
            names = [f"{base}.{a.name}" for a in node.names] or [base]
        else:
            continue
        for name in names:
            if name == "vms" or name.startswith("vms."):
                found = _resolve(name)
                if found is not None and found != module:
                    yield found


def _graph() -> dict[str, set[str]]:
    graph = {m: set(_imported(m)) for m in MODULES}
    for m in MODULES:  # importing a.b.c runs a.b's __init__ first
        parent = m.rpartition(".")[0]
        if parent in MODULES:
            graph[m].add(parent)
    return graph


GRAPH = _graph()


def _importers(target: str) -> set[str]:
    return {m for m, deps in GRAPH.items() if target in deps}


def test_the_walk_sees_the_imports() -> None:
    assert len(MODULES) > 100
    assert "vms.cameras.frames" in GRAPH["vms.detection.live"]
    assert "vms.custody.presence" in GRAPH["vms.worker_process"]  # a function-level import
    assert "vms.evidence.audit" in GRAPH["vms.evidence.cases"]  # from vms.evidence import audit


@pytest.mark.parametrize("root", sorted(ROOTS))
def test_only_the_next_root_up_imports_a_composition_root(root: str) -> None:
    assert _importers(root) == ROOTS[root]


def test_recording_knows_nothing_of_analytics_or_custody() -> None:
    bad = {
        (m, dep)
        for m, deps in GRAPH.items()
        if m.startswith("vms.cameras")
        for dep in deps
        if dep.startswith(("vms.detection", "vms.custody"))
    }
    assert not bad


def test_analytics_reads_recording_only_through_the_frame_buffers() -> None:
    used = {
        dep
        for m, deps in GRAPH.items()
        if m.startswith("vms.detection")
        for dep in deps
        if dep.startswith("vms.cameras")
    }
    assert used <= {"vms.cameras", "vms.cameras.frames"}


def test_no_import_circle() -> None:
    """Tarjan's strongly connected components: every one must be a single module."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    circles: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(GRAPH[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                circles.append(sorted(component))

    for v in sorted(GRAPH):
        if v not in index:
            visit(v)
    assert not circles, f"modules that import each other (directly or round about): {circles}"
