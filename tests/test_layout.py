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
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
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
            if node.module is None or target == root.name:  # "from newarch import x": x may be a module
                sub = root.joinpath(*target.split(".")[1:])
                for a in node.names:
                    is_module = (sub / f"{a.name}.py").exists() or (sub / a.name / "__init__.py").exists()
                    found.append((node.lineno, f"{target}.{a.name}" if is_module else target))
            else:
                found.append((node.lineno, target))
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
