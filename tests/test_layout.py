"""The import direction of newarch's packages follows the data flow (docs/architecture.md).

Read from the code's own imports with ``ast``: a package may import the shared core and the packages
upstream of it, never one downstream; nothing but the CLI imports ``commands``.
"""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "newarch"

# Upstream first. Core modules (model, errors, files, platforms) sit above all of them.
FLOW = ("sources", "render", "lint", "store", "plan", "verify", "status", "report", "commands")
CORE = ("model", "errors", "files", "platforms")
TOP = ("cli", "__main__")  # the entry points: may import anything


def _module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path: Path, root: Path) -> list[tuple[int, str]]:
    """Every newarch module ``path`` imports (at any depth of the file), with its line."""
    mod = _module_name(path, root)
    package = mod.split(".") if path.name == "__init__.py" else mod.split(".")[:-1]
    found: list[tuple[int, str]] = []
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    typing_only = {
        id(n)
        for block in ast.walk(tree)
        if isinstance(block, ast.If) and "TYPE_CHECKING" in ast.unparse(block.test)
        for stmt in block.body
        for n in ast.walk(stmt)
    }
    for node in ast.walk(tree):
        if id(node) in typing_only:  # not imported at run time
            continue
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names if a.name.split(".")[0] == root.name]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.split(".")[0] != root.name:
                continue
            # "from newarch.render import selectors" imports the module selectors (a name defined in the
            # package's __init__ is an import of the package)
            sub = root.joinpath(*target.split(".")[1:])
            for a in node.names:
                is_module = (sub / f"{a.name}.py").exists() or (sub / a.name / "__init__.py").exists()
                found.append((node.lineno, f"{target}.{a.name}" if is_module else target))
    return found


def _unit(module: str) -> str:
    """The package (or core/top module) a dotted module name belongs to."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def _rank(unit: str) -> int:
    if unit in CORE or unit == "":
        return -1
    if unit in TOP:
        return len(FLOW)
    return FLOW.index(unit) if unit in FLOW else -2  # -2: unknown, reported


def violations(root: Path = SRC) -> list[str]:
    out: list[str] = []
    for path in sorted(root.rglob("*.py")):
        here = _unit(_module_name(path, root))
        for line, target in _imports(path, root):
            there = _unit(target)
            if there == here:
                continue
            where = f"{path.relative_to(root.parent)}:{line}"
            if _rank(here) == -2 or _rank(there) == -2:
                out.append(f"{where}: {here or root.name} -> {there}: not in the layout table")
            elif there == "commands" and here not in TOP:
                out.append(f"{where}: {here} imports commands (only the CLI may)")
            elif _rank(there) > _rank(here):
                out.append(f"{where}: {here} imports {there}, which is downstream of it")
    return out


def import_cycles(root: Path = SRC) -> list[list[str]]:
    """Modules that import each other, directly or through others (lazy imports count: they run too)."""
    graph: dict[str, set[str]] = {}
    for path in root.rglob("*.py"):
        mod = _module_name(path, root)
        graph[mod] = {t for _line, t in _imports(path, root)} - {mod}
    graph = {m: {t for t in ts if t in graph} for m, ts in graph.items()}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    cycles: list[list[str]] = []

    def visit(v: str) -> None:  # Tarjan's strongly connected components
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp: list[str] = []
            while True:
                w = stack.pop()
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                cycles.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return cycles


def test_no_import_cycles():
    assert import_cycles() == []


def test_an_import_cycle_is_caught(tmp_path):
    root = _copy_tree(tmp_path)
    (root / "plan" / "a.py").write_text("from newarch.plan import b\n")
    (root / "plan" / "b.py").write_text("def f():\n    from newarch.plan.a import x\n    return x\n")
    assert import_cycles(root) == [["newarch.plan.a", "newarch.plan.b"]]


def test_imports_follow_the_data_flow():
    assert violations() == []


def test_every_package_is_in_the_layout_table():
    packages = {p.name for p in SRC.iterdir() if (p / "__init__.py").exists()} - {"data"}
    modules = {p.stem for p in SRC.glob("*.py")} - {"__init__"}
    assert packages <= set(FLOW), packages - set(FLOW)
    assert modules <= set(CORE) | set(TOP), modules - set(CORE) - set(TOP)


def _copy_tree(tmp_path: Path) -> Path:
    root = tmp_path / "newarch"
    for path in SRC.rglob("*.py"):
        dest = root / path.relative_to(SRC)
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_text(path.read_text(encoding="utf-8"), encoding="utf-8")
    return root


def test_a_backwards_import_is_caught(tmp_path):
    root = _copy_tree(tmp_path)
    assert violations(root) == []
    (root / "render" / "sneaky.py").write_text("def f():\n    from newarch.plan import planner\n    return planner\n")
    (root / "sources" / "sneaky.py").write_text("from ..store import snapshot\n")
    (root / "model_extra.py").write_text("import newarch.commands.options\n")
    found = violations(root)
    assert any(v.startswith("newarch/render/sneaky.py:2: render imports plan") for v in found), found
    assert any(v.startswith("newarch/sources/sneaky.py:1: sources imports store") for v in found), found
    assert any("model_extra.py:1" in v and "not in the layout table" in v for v in found), found
    assert len(found) == 3
