"""The imports of the three packages, read from their source with :mod:`ast` (nothing is
imported): what tests/test_architecture.py holds to the floor plan."""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("ledger", "exchange", "api")



@dataclass
class Module:
    name: str
    path: Path
    tree: ast.Module
    imports: set[str] = field(default_factory=set)
    type_imports: set[str] = field(default_factory=set)  # under ``if TYPE_CHECKING:``
    private: list[str] = field(default_factory=list)


def module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def load() -> dict[str, Module]:
    modules: dict[str, Module] = {}
    for package in PACKAGES:
        for path in sorted((REPO / package).rglob("*.py")):
            name = module_name(path)
            modules[name] = Module(name, path, ast.parse(path.read_text(), str(path)))
    for module in modules.values():
        read_imports(module, modules)
    return modules


def _absolute(module: Module, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    base = module.name.split(".")
    if module.path.name != "__init__.py":
        base = base[:-1]
    base = base[:len(base) - node.level + 1]
    return ".".join(base + ([node.module] if node.module else []))


def read_imports(module: Module, modules: dict[str, Module]) -> None:
    """Fill in the modules it imports and the private names it takes from other modules."""
    bound: dict[str, str] = {}  # local name -> module it stands for
    typing_only = {id(inner) for node in ast.walk(module.tree) if isinstance(node, ast.If)
                   and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING"
                   for inner in node.body}
    for node in ast.walk(module.tree):
        imports = module.type_imports if id(node) in typing_only else module.imports
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name in modules:
                    imports.add(alias.name)
                    bound[alias.asname or alias.name] = alias.name
        elif isinstance(node, ast.ImportFrom):
            source = _absolute(module, node)
            if source.split(".")[0] not in PACKAGES:
                continue
            for alias in node.names:
                full = f"{source}.{alias.name}"
                if full in modules:
                    imports.add(full)
                    bound[alias.asname or alias.name] = full
                else:
                    imports.add(source)
                    if _is_private(alias.name) and source != module.name:
                        module.private.append(f"from {source} import {alias.name}")
    for node in ast.walk(module.tree):
        if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
                and node.value.id in bound and _is_private(node.attr)):
            module.private.append(f"{bound[node.value.id]}.{node.attr}")
    module.imports.discard(module.name)
    module.type_imports.discard(module.name)
    folder = module.name.rpartition(".")[0] if module.path.name != "__init__.py" else module.name
    for target in sorted(module.imports | module.type_imports):
        parent, _, last = target.rpartition(".")
        if _is_private(last) and parent != folder:
            module.private.append(f"import {target}")


def _is_private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")
