"""What ships in the Lambda zip (app.py + chalicelib/) never depends on the dev tools."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _imported_modules(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_shipped_code_never_imports_devstack() -> None:
    shipped = [ROOT / "app.py", *sorted((ROOT / "chalicelib").rglob("*.py"))]
    offenders = {
        str(path.relative_to(ROOT)): sorted(
            name for name in _imported_modules(path) if name.split(".")[0] == "devstack"
        )
        for path in shipped
    }
    assert {path: names for path, names in offenders.items() if names} == {}


def test_local_stack_is_not_under_chalicelib() -> None:
    assert not (ROOT / "chalicelib" / "local").exists()
    assert (ROOT / "devstack" / "__main__.py").exists()
