"""Imports inside functions of the Lambda code: find, measure, move or annotate (issue 11 §6).

An import stays inside a function only when it keeps a heavy package out of the cold
start; every other one goes to the top of its module. For each (importer, import
statement) this measures what the statement newly loads in a fresh interpreter that has
imported ``app`` (every Lambda function's cold start does) and the importer: a ``fork()``
per statement runs it and lists the new ``sys.modules`` and its CPU time. A statement is
kept lazy when it loads a third-party package, or more than three modules of the
standard library or of chalicelib, and gets a ``# lazy:`` comment naming the package and
the CPU time of importing it alone (``--cost``; a package never costs less than one it
imports), or the statement's own median when it loads no package. Other imports move to
the top; ``from m import name`` of a name the tests monkeypatch becomes ``m.name``.

The machine these figures come from is a loaded 2-core box shared by several people:
timings are CPU time (``time.process_time``, not wall), taken round-robin over the
modules (interleaved, so drift falls on all of them), and every figure is a median of
``--runs`` rounds. Earlier measurements (``--cache``, JSON lines: importer, stmt, ms,
new) are reused for statements that still exist and still load the same third-party
packages (one probe round re-checks what each loads); new or changed statements, and
those loading only the standard library (whose own figure is quoted), are timed again.

    python -m devstack.lazy_imports ROOT [--cache measured.jsonl] [--out measured.jsonl] \\
        [--cost devstack/import_costs.json] [--recost] [--exclude GLOB ...] [--runs 5] [--dry-run]

It rewrites ROOT's files in place (then run ``ruff check --fix --select I`` and
``ruff format`` on them), prints a summary and the files that keep lazy imports (the
ones pyproject.toml's per-file-ignores must list for PLC0415).
"""

from __future__ import annotations

import argparse
import ast
import collections
import fnmatch
import itertools
import json
import os
import re
import statistics
import subprocess
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

Row = dict[str, Any]
#: CPU ms of importing each package alone (medians of interleaved fresh interpreters)
COSTS = Path(__file__).with_name("import_costs.json")
STDLIB = set(sys.stdlib_module_names)
FIRST_PARTY = ("chalicelib", "app")
#: (top-level package among the new modules, label, the module whose import cost is quoted)
LABELS: list[tuple[str, str, str]] = [
    ("aws_encryption_sdk", "aws_encryption_sdk + cryptography", "aws_encryption_sdk"),
    ("fpdf", "fpdf2 + fontTools + PIL", "fpdf"),
    ("pynamodb", "pynamodb + botocore", "pynamodb.models"),
    ("boto3", "boto3 + botocore", "boto3"),
    ("aws_lambda_powertools", "powertools", "aws_lambda_powertools.logging"),
    ("PIL", "Pillow", "PIL.Image"),
    ("argon2", "argon2-cffi", "argon2"),
    ("phonenumbers", "phonenumbers", "phonenumbers"),
    ("stdnum", "python-stdnum", "stdnum.iban"),
    ("ua_parser", "ua-parser", "ua_parser"),
    ("email_validator", "email-validator", "email_validator"),
    ("zxcvbn", "zxcvbn's word lists", "zxcvbn.frequency_lists"),
    ("pyotp", "pyotp", "pyotp"),
    ("babel", "Babel", "babel.dates"),
    ("botocore", "botocore", "botocore.session"),
]
#: what a label already includes (so "pynamodb + botocore" is not also "botocore")
INCLUDES = {
    "pynamodb": {"botocore"},
    "aws_encryption_sdk": {"botocore", "boto3", "cryptography"},
    "boto3": {"botocore"},
    "fpdf": {"PIL", "fontTools"},
}
#: what importing a quoted module imports too (its cost cannot be lower)
COST_INCLUDES = {
    "pynamodb.models": ("botocore.session",),
    "aws_encryption_sdk": ("botocore.session", "boto3"),
    "boto3": ("botocore.session",),
    "fpdf": ("PIL.Image",),
}
STDLIB_LIMIT = FIRST_PARTY_LIMIT = 3
PACKAGES = {
    f"chalicelib.{p}" for p in ("services", "storage", "adapters", "domain", "workers", "api")
}


# --- find ------------------------------------------------------------------------


def shipped_files(root: Path) -> list[Path]:
    return [root / "app.py", *sorted((root / "chalicelib").rglob("*.py"))]


def excluded(rel: str, patterns: Sequence[str]) -> bool:
    return any(fnmatch.fnmatch(rel, p) for p in patterns)


def find(root: Path, exclude: Sequence[str] = ()) -> list[Row]:
    """Every import statement inside a function (outside ``if TYPE_CHECKING:``)."""
    rows: list[Row] = []
    for path in shipped_files(root):
        rel = str(path.relative_to(root))
        if excluded(rel, exclude):
            continue
        parts = list(path.relative_to(root).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        package = parts if path.name == "__init__.py" else parts[:-1]
        tree = ast.parse(path.read_text(encoding="utf-8"))

        def visit(
            node: ast.AST,
            func: str | None,
            rel: str = rel,
            parts: list[str] = parts,
            package: list[str] = package,
        ) -> None:
            for child in ast.iter_child_nodes(node):
                if isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                    continue
                if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                    visit(child, child.name if func is None else func)
                elif isinstance(child, ast.Import | ast.ImportFrom) and func is not None:
                    if isinstance(child, ast.Import):
                        mods = [a.name for a in child.names]
                        stmt = "import " + ", ".join(mods)
                    else:
                        base = package[: len(package) - child.level + 1] if child.level else []
                        module = ".".join([*base, child.module] if child.module else base)
                        mods = [module]
                        stmt = f"from {module} import " + ", ".join(a.name for a in child.names)
                    rows.append(
                        {
                            "file": rel,
                            "line": child.lineno,
                            "end": child.end_lineno,
                            "col": child.col_offset,
                            "importer": ".".join(parts),
                            "func": func,
                            "mods": mods,
                            "names": [a.name for a in child.names],
                            "asnames": [a.asname or a.name for a in child.names],
                            "stmt": stmt,
                            "src": ast.unparse(child),
                        }
                    )
                else:
                    visit(child, func)

        visit(tree, None)
    return rows


# --- measure -----------------------------------------------------------------------

_PROBE = r"""
import json, os, sys, time
importer, stmts = sys.argv[1], json.loads(sys.argv[2])
__import__("app")  # every Lambda function's cold start imports the app first
__import__(importer)
for stmt in stmts:
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read)
        before = set(sys.modules)
        started = time.process_time()
        try:
            exec(stmt, {})
            out = {"ms": round((time.process_time() - started) * 1000, 2),
                   "new": sorted(set(sys.modules) - before)}
        except BaseException as exc:
            out = {"error": repr(exc)[-300:]}
        os.write(write, json.dumps(out).encode())
        os._exit(0)
    os.close(write)
    data = b""
    while chunk := os.read(read, 1 << 16):
        data += chunk
    os.close(read)
    os.waitpid(pid, 0)
    print(json.dumps({"importer": importer, "stmt": stmt, **json.loads(data)}))
"""


def _env() -> dict[str, str]:
    return dict(os.environ, AWS_DEFAULT_REGION=os.environ.get("AWS_DEFAULT_REGION", "eu-central-1"))


def probe(root: Path, pairs: Iterable[tuple[str, str]]) -> dict[tuple[str, str], Row]:
    """One round: per importer one fresh interpreter, per statement one fork."""
    by_importer: dict[str, list[str]] = collections.defaultdict(list)
    for importer, stmt in pairs:
        if stmt not in by_importer[importer]:
            by_importer[importer].append(stmt)
    found: dict[tuple[str, str], Row] = {}
    for importer, stmts in by_importer.items():
        done = subprocess.run(  # noqa: S603 - this interpreter, our own code
            [sys.executable, "-c", _PROBE, importer, json.dumps(stmts)],
            cwd=root,
            env=_env(),
            capture_output=True,
            text=True,
            check=False,
        )
        for line in done.stdout.splitlines():
            row = json.loads(line)
            found[(row["importer"], row["stmt"])] = row
        for stmt in stmts:
            found.setdefault(
                (importer, stmt), {"importer": importer, "stmt": stmt, "error": done.stderr[-300:]}
            )
    return found


def third_party(new: Iterable[str]) -> set[str]:
    tops = {name.split(".")[0] for name in new}
    return {t for t in tops if t not in STDLIB and not t.startswith("_") and t not in FIRST_PARTY}


def stdlib_new(new: Iterable[str]) -> list[str]:
    return [n for n in new if n.split(".")[0] in STDLIB or n.startswith("_")]


def first_party_new(new: Iterable[str]) -> list[str]:
    return [n for n in new if n.split(".")[0] in FIRST_PARTY]


def heavy(new: Iterable[str]) -> bool:
    """Worth keeping out of the cold start: a third-party package, or more than a few
    modules of the standard library or of our own code."""
    new = list(new)
    return bool(
        third_party(new)
        or len(stdlib_new(new)) > STDLIB_LIMIT
        or len(first_party_new(new)) > FIRST_PARTY_LIMIT
    )


def measure(
    root: Path, rows: list[Row], cache: dict[tuple[str, str], Row], runs: int
) -> dict[tuple[str, str], Row]:
    """Marginal load of each (importer, stmt): cached where still the same, else timed."""
    pairs = list(dict.fromkeys((r["importer"], r["stmt"]) for r in rows))
    first = probe(root, pairs)
    result: dict[tuple[str, str], Row] = {}
    fresh: list[tuple[str, str]] = []
    for key in pairs:
        now, before = first[key], cache.get(key)
        if "error" in now:
            result[key] = now
        elif (
            before
            and "error" not in before
            and third_party(before["new"]) == third_party(now["new"])
            and (
                third_party(now["new"])
                or not heavy(now["new"])
                or "runs" in before  # a median this tool timed
            )
        ):
            # the same third-party packages: a kept import's comment quotes the package's
            # cost (--cost), not this figure; a standard-library-only one is timed anew
            result[key] = {**before, **now, "ms": before["ms"], "source": "cache"}
        else:
            fresh.append(key)
    samples = {key: [first[key]["ms"]] for key in fresh}
    for _ in range(runs - 1):
        for key, row in probe(root, fresh).items():
            if "ms" in row:
                samples[key].append(row["ms"])
    for key in fresh:
        result[key] = {
            **first[key],
            "ms": statistics.median(samples[key]),
            "runs": len(samples[key]),
            "source": "measured",
        }
    return result


def module_costs(root: Path, groups: Sequence[str], runs: int) -> dict[str, float]:
    """Median CPU ms of importing each group ("a + b") in a fresh interpreter, interleaved."""
    samples: dict[str, list[float]] = {g: [] for g in groups}
    for round_no in range(runs):
        for group in groups if round_no % 2 == 0 else list(reversed(groups)):
            code = (
                "import time; t = time.process_time(); "
                + "; ".join(f"import {m}" for m in group.split(" + "))
                + "; print((time.process_time() - t) * 1000)"
            )
            done = subprocess.run(  # noqa: S603 - this interpreter, our own code
                [sys.executable, "-c", code],
                cwd=root,
                env=_env(),
                capture_output=True,
                text=True,
                check=True,
            )
            samples[group].append(float(done.stdout))
    return {g: round(statistics.median(v), 1) for g, v in samples.items()}


# --- apply -------------------------------------------------------------------------


def patched_names(root: Path) -> set[tuple[str, str]]:
    """(module, attribute) pairs the tests replace with ``monkeypatch.setattr(mod, "name", …)``:
    importing such a name by value at the top would bind the original for good."""
    found: set[tuple[str, str]] = set()
    for path in (root / "tests").rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        aliases: dict[str, str] = {}
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                for a in node.names:
                    aliases[a.asname or a.name] = f"{node.module}.{a.name}"
            elif isinstance(node, ast.Import):
                for a in node.names:
                    if a.asname:
                        aliases[a.asname] = a.name
        for var, attr in re.findall(r"setattr\(\s*([A-Za-z_][\w.]*)\s*,\s*\"(\w+)\"", text):
            head, _, rest = var.partition(".")
            if head in aliases:
                module = aliases[head] + ("." + rest if rest else "")
                found.add((module, attr))
        for target in re.findall(r"setattr\(\s*\"(chalicelib\.[\w.]+)\"", text):
            module, _, attr = target.rpartition(".")
            found.add((module, attr))
    return found


def classify(row: Row, marg: dict[tuple[str, str], Row], patched: set[tuple[str, str]]) -> str:
    m = marg.get((row["importer"], row["stmt"]))
    if m is None or "error" in m:
        return "lazy"
    if heavy(m["new"]):
        return "lazy"
    if row["stmt"].startswith("from ") and any(
        (row["mods"][0], name) in patched for name in row["names"]
    ):
        return "qualify"
    return "move"


def labels_of(run: list[tuple[Row, Row]]) -> tuple[list[str], list[str], float]:
    """The labels of what a run of kept imports loads, the modules whose cost is quoted,
    and the run's own figure (used when only the standard library is loaded)."""
    third: set[str] = set()
    for _, m in run:
        third |= third_party(m["new"])
    labels: list[str] = []
    modules: list[str] = []
    for key, label, cost_module in LABELS:
        if key in third:
            labels.append(label)
            modules.append(cost_module)
            third -= INCLUDES.get(key, set())
    row, m = max(run, key=lambda x: float(x[1]["ms"]))
    if not labels:
        counts = [
            f"{len(found)} {kind} modules"
            for kind, found in (
                ("chalicelib", first_party_new(m["new"])),
                ("stdlib", stdlib_new(m["new"])),
            )
            if len(found) > STDLIB_LIMIT
        ]
        module = row["mods"][0]
        text = " + ".join(counts)
        labels.append(text if module.startswith("chalicelib") else f"{module} ({text})")
    return labels, modules, float(m["ms"])


def quoted_cost(modules: list[str], cost: dict[str, float], root: Path, runs: int) -> float:
    """The cost of importing ``modules`` together; never below a package it includes
    (a smaller figure for the superset is noise of the loaded machine)."""
    key = " + ".join(sorted(modules))
    if key not in cost:  # a combination not measured yet: measure it now
        cost.update(module_costs(root, [key], runs))
    parts = [cost.get(m, 0.0) for m in modules]
    parts += [cost.get(inc, 0.0) for m in modules for inc in COST_INCLUDES.get(m, ())]
    return max([cost[key], *parts])


def target_of(row: Row) -> str | None:
    module = row["mods"][0]
    if module in PACKAGES:
        short = module.removeprefix("chalicelib.").split(".")[-1]
        return ", ".join(f"{short}.{n}" for n in row["names"])
    return module.removeprefix("chalicelib.") if module.startswith("chalicelib.") else None


def reason_lines(
    run: list[tuple[Row, Row]], col: int, cost: dict[str, float], root: Path, runs: int
) -> list[str]:
    labels, modules, own_ms = labels_of(run)
    ms = quoted_cost(modules, cost, root, runs) if modules else own_ms
    targets = [t for t in (target_of(row) for row, _ in run) if t]
    text = " + ".join(labels)
    head = f"# lazy: {text} ≈ {ms:.0f} ms CPU at cold start"
    if targets:
        names = ", ".join(dict.fromkeys(targets))
        verb = "loads" if len(targets) == 1 else "load"
        head = f"# lazy: {names} {verb} {text} (≈ {ms:.0f} ms CPU at cold start)"
    tail = f"only {run[0][0]['func']}() needs it"
    pad = " " * col
    if len(f"{pad}{head}; {tail}") <= 100:
        return [f"{pad}{head}; {tail}\n"]
    if len(f"{pad}{head};") <= 100:
        return [f"{pad}{head};\n", f"{pad}# {tail}\n"]
    return [f"{pad}# lazy: {text} (≈ {ms:.0f} ms CPU at cold start);\n", f"{pad}# {tail}\n"]


def _innermost_function(tree: ast.AST, line: int) -> ast.AST:
    best: ast.AST | None = None
    for fn in ast.walk(tree):
        if (
            isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef)
            and fn.lineno <= line <= (fn.end_lineno or line)
            and (best is None or fn.lineno > getattr(best, "lineno", 0))
        ):
            best = fn
    assert best is not None
    return best


def _runs_of(kept: list[tuple[Row, Row]], lines: list[str]) -> list[list[tuple[Row, Row]]]:
    """Kept imports of one function with only blank or comment lines between them share
    one comment."""
    runs: list[list[tuple[Row, Row]]] = []
    for row, m in sorted(kept, key=lambda x: x[0]["line"]):
        last = runs[-1][-1][0] if runs else None
        if (
            last
            and last["func"] == row["func"]
            and all(
                not line.strip() or line.strip().startswith("#")
                for line in lines[last["end"] : row["line"] - 1]
            )
            and last["col"] == row["col"]
        ):
            runs[-1].append((row, m))
        else:
            runs.append([(row, m)])
    return runs


def _qualify(tree: ast.AST, row: Row, edits: dict[int, list[tuple[int, str, str]]]) -> str:
    """``from pkg.mod import name`` inside a function → ``mod.name`` there; the top import."""
    package, _, module = row["mods"][0].rpartition(".")
    fn = _innermost_function(tree, row["line"])
    renamed = dict(zip(row["asnames"], row["names"], strict=True))
    for node in ast.walk(fn):
        if isinstance(node, ast.Name) and node.id == module:
            raise SystemExit(f"{row['file']}:{row['line']}: {module} is a local name")
        if isinstance(node, ast.Name) and node.id in renamed:
            edits[node.lineno].append((node.col_offset, node.id, f"{module}.{renamed[node.id]}"))
    return f"from {package} import {module}"


def _rewrite_file(
    path: Path, file_rows: list[Row], kinds: list[str], comment: Any, *, write: bool
) -> bool:
    """Apply one file's moves, qualifications and comments; True if it keeps lazy imports."""
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    tree = ast.parse("".join(lines))
    tops = [n for n in tree.body if isinstance(n, ast.Import | ast.ImportFrom)]
    insert_after = tops[-1].end_lineno if tops else None
    to_add: list[str] = []
    deletions: set[int] = set()
    comments: dict[int, str] = {}
    edits: dict[int, list[tuple[int, str, str]]] = collections.defaultdict(list)
    kept: list[tuple[Row, Row]] = []
    for row, kind in zip(file_rows, kinds, strict=True):
        if kind == "lazy":
            kept.append((row, row["measured"]))
            continue
        deletions.update(range(row["line"], row["end"] + 1))
        to_add.append(row["src"] if kind == "move" else _qualify(tree, row, edits))
        above = row["line"] - 1  # its old '# lazy:' comment (a re-run) goes with it
        while above > 0 and lines[above - 1].strip().startswith("#"):
            above -= 1
        old = [n for n in range(above + 1, row["line"]) if "# lazy:" in lines[n - 1]]
        if old:
            deletions.update(range(old[0], row["line"]))
            if row["end"] < len(lines) and not lines[row["end"]].strip():
                deletions.add(row["end"] + 1)  # and the blank line after the import
    for run in _runs_of(kept, lines):
        first = run[0][0]
        above = first["line"] - 1
        while above > 0 and lines[above - 1].strip().startswith("#"):
            above -= 1
        old = [n for n in range(above + 1, first["line"]) if "# lazy:" in lines[n - 1]]
        if old:  # a re-run: the comment is written anew (the import may have changed)
            deletions.update(range(old[0], first["line"]))
        for prev, (row, _) in itertools.pairwise(run):  # old comments inside a run
            inside = [
                n for n in range(prev[0]["end"] + 1, row["line"]) if "# lazy:" in lines[n - 1]
            ]
            if inside:
                deletions.update(range(inside[0], row["line"]))
        comments[first["line"]] = "".join(comment(run, first["col"]))
    for ln, changes in edits.items():
        text = lines[ln - 1].encode()
        for col, old_name, new in sorted(set(changes), reverse=True):
            assert text[col : col + len(old_name.encode())] == old_name.encode(), (path, ln)
            text = text[:col] + new.encode() + text[col + len(old_name.encode()) :]
        lines[ln - 1] = text.decode()
    if insert_after is None and to_add:
        raise SystemExit(f"{path}: no top-level import to add the moved ones after")
    out: list[str] = []
    for i, line in enumerate(lines, start=1):
        out.append(comments.get(i, ""))
        if i not in deletions:
            out.append(line)
        if i == insert_after:
            out.extend(f"{s}\n" for s in dict.fromkeys(to_add))
    if write:
        path.write_text("".join(out), encoding="utf-8")
    return bool(kept)


def apply(
    root: Path,
    rows: list[Row],
    marg: dict[tuple[str, str], Row],
    *,
    cost: dict[str, float],
    runs: int,
    write: bool = True,
) -> Row:
    """Move, qualify or annotate every row's import; returns counts and lazy files."""
    patched = patched_names(root)
    by_file: dict[str, list[Row]] = collections.defaultdict(list)
    for row in rows:
        by_file[row["file"]].append(row)
    stats: collections.Counter[str] = collections.Counter()
    lazy_files: list[str] = []
    for fname, file_rows in sorted(by_file.items()):
        kinds = [classify(row, marg, patched) for row in file_rows]
        stats.update(kinds)
        for row, kind in zip(file_rows, kinds, strict=True):
            m = marg.get((row["importer"], row["stmt"]))
            if kind == "lazy" and (m is None or "error" in m):
                raise SystemExit(f"{fname}:{row['line']}: not measured: {m}")
            row["measured"] = m

        def comment(run: list[tuple[Row, Row]], col: int) -> list[str]:
            return reason_lines(run, col, cost, root, runs)

        if _rewrite_file(root / fname, file_rows, kinds, comment, write=write):
            lazy_files.append(fname)
    return {"counts": dict(stats), "lazy_files": lazy_files}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("root", type=Path)
    parser.add_argument(
        "--cache", type=Path, action="append", default=[], help="earlier measurements (JSONL)"
    )
    parser.add_argument(
        "--cost", type=Path, default=COSTS, help="package costs (JSON, updated in place)"
    )
    parser.add_argument("--out", type=Path, help="write this run's measurements here")
    parser.add_argument("--exclude", action="append", default=[], help="glob, relative to root")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--dry-run", action="store_true")
    parser.add_argument("--recost", action="store_true", help="time --cost's modules anew")
    args = parser.parse_args(argv)
    root = args.root.resolve()
    rows = find(root, args.exclude)
    cache: dict[tuple[str, str], Row] = {}
    for cache_file in args.cache:  # later files win
        for line in cache_file.read_text(encoding="utf-8").splitlines():
            row = json.loads(line)
            cache[(row["importer"], row["stmt"])] = row
    marg = measure(root, rows, cache, args.runs)
    if args.out:
        args.out.write_text(
            "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in marg.values()),
            encoding="utf-8",
        )
    cost = json.loads(args.cost.read_text(encoding="utf-8"))
    if args.recost:
        cost.update(module_costs(root, list(cost), args.runs))
    report = apply(root, rows, marg, cost=cost, runs=args.runs, write=not args.dry_run)
    args.cost.write_text(json.dumps(cost, indent=1) + "\n", encoding="utf-8")
    sources = collections.Counter(str(r.get("source", "error")) for r in marg.values())
    print(json.dumps({**report, "statements": len(rows), "pairs": dict(sources)}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
