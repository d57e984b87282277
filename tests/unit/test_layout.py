"""What ships in the Lambda zip (app.py + chalicelib/) never depends on the dev tools."""

from __future__ import annotations

import ast
from fnmatch import fnmatch
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


def _function_level_import_groups(tree: ast.AST) -> list[list[ast.stmt]]:
    """Runs of adjacent import statements inside functions (outside ``if TYPE_CHECKING:``)."""
    groups: list[list[ast.stmt]] = []

    def walk(node: ast.AST, in_function: bool) -> None:
        for field in ("body", "orelse", "finalbody", "handlers"):
            block = getattr(node, field, None)
            if not isinstance(block, list):
                continue
            run: list[ast.stmt] = []
            for stmt in block:
                if in_function and isinstance(stmt, ast.Import | ast.ImportFrom):
                    run.append(stmt)
                    continue
                if run:
                    groups.append(run)
                    run = []
            if run:
                groups.append(run)
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                continue
            walk(child, in_function or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef))

    walk(tree, False)
    return groups


def _plc0415_waivers() -> tuple[list[str], list[str]]:
    """pyproject.toml's per-file waivers of PLC0415 for the Lambda code: (kept, temporary).
    Temporary ones follow a ``# temporary:`` comment that says until when."""
    kept: list[str] = []
    temporary: list[str] = []
    section = False
    target = kept
    for line in (ROOT / "pyproject.toml").read_text(encoding="utf-8").splitlines():
        if line.startswith("["):
            section = line.strip() == "[tool.ruff.lint.per-file-ignores]"
            continue
        if not section:
            continue
        if line.startswith("# temporary:"):
            target = temporary
        elif line.startswith("#"):
            target = kept
        elif "PLC0415" in line:
            pattern = line.split("=")[0].strip().strip('"')
            if pattern.startswith(("app.py", "chalicelib/")):
                target.append(pattern)
    return kept, temporary


def _shipped() -> list[Path]:
    return [ROOT / "app.py", *sorted((ROOT / "chalicelib").rglob("*.py"))]


def _waived(rel: str, patterns: list[str]) -> bool:
    return any(fnmatch(rel, p) or fnmatch(rel, p.replace("/**", "/*")) for p in patterns)


def test_every_import_inside_a_function_of_the_lambda_code_says_why() -> None:
    """ruff's PLC0415 is waived per file for the Lambda code; each waived import carries
    a ``# lazy:`` comment (on it or in the comment lines just above its run of imports)
    naming what it keeps out of the cold start. Files waived ``# temporary:`` wait for
    another branch's restructuring and are not checked yet."""
    _, temporary = _plc0415_waivers()
    unexplained: list[str] = []
    for path in _shipped():
        rel = str(path.relative_to(ROOT))
        if _waived(rel, temporary):
            continue
        lines = path.read_text(encoding="utf-8").splitlines()
        for run in _function_level_import_groups(ast.parse("\n".join(lines))):
            first = run[0].lineno - 1
            while first > 0 and lines[first - 1].strip().startswith("#"):
                first -= 1  # the comment lines just above the run
            span = lines[first : (run[-1].end_lineno or run[-1].lineno)]
            if not any("# lazy:" in line for line in span):
                unexplained.append(f"{rel}:{run[0].lineno}")
    assert unexplained == []


def test_every_waiver_of_the_import_rule_is_used() -> None:
    """A file listed for PLC0415 (not temporarily) still keeps a lazy import."""
    kept, _ = _plc0415_waivers()
    assert kept
    unused = []
    for pattern in kept:
        paths = [p for p in _shipped() if fnmatch(str(p.relative_to(ROOT)), pattern)]
        trees = [ast.parse(p.read_text(encoding="utf-8")) for p in paths]
        if not any(_function_level_import_groups(tree) for tree in trees):
            unused.append(pattern)
    assert unused == []
