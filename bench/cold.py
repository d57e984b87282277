"""Fresh-process timings and the import-time breakdown behind them.

Every command runs with the bench's own interpreter (``sys.executable``) from the
repository root. Samples of the commands being compared are interleaved, and the
order flips every round (A B, B A, ...), so drift on a busy machine falls on
both sides; one unrecorded warm-up round first fills the bytecode caches.
"""

from __future__ import annotations

import json
import re
import statistics
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
TIMEOUT_SECONDS = 120


@dataclass
class Samples:
    """Wall times (ms) of one command, and what its runs printed (JSON lines)."""

    wall_ms: list[float] = field(default_factory=list)
    reports: list[dict[str, Any]] = field(default_factory=list)

    @property
    def median_ms(self) -> float:
        return statistics.median(self.wall_ms)


def run_once(argv: list[str], env: Mapping[str, str]) -> tuple[float, str]:
    """Wall time (ms) of one fresh process, and its stdout; raises if it fails."""
    started = time.perf_counter()
    done = subprocess.run(
        argv,
        cwd=REPO_ROOT,
        env=dict(env),
        capture_output=True,
        text=True,
        timeout=TIMEOUT_SECONDS,
        check=False,
    )
    elapsed = (time.perf_counter() - started) * 1000
    if done.returncode != 0:
        raise RuntimeError(
            f"{' '.join(argv)} exited {done.returncode}:\n{done.stdout[-2000:]}\n"
            f"{done.stderr[-4000:]}"
        )
    return elapsed, done.stdout


def interleaved(
    commands: Mapping[str, list[str]],
    env: Mapping[str, str],
    runs: int,
    extra_env: Mapping[str, Mapping[str, str]] | None = None,
) -> dict[str, Samples]:
    """``runs`` timed samples of each command, interleaved, after one warm-up round.

    ``extra_env`` adds variants: name → environment additions for the first command.
    """
    first = next(iter(commands.values()))
    argv = dict(commands) | {name: first for name in extra_env or {}}
    envs = {name: {**env, **(extra_env or {}).get(name, {})} for name in argv}
    names = list(argv)
    samples = {name: Samples() for name in names}
    for name in names:
        run_once(argv[name], envs[name])
    for round_no in range(runs):
        order = names if round_no % 2 == 0 else names[::-1]
        for name in order:
            elapsed, stdout = run_once(argv[name], envs[name])
            samples[name].wall_ms.append(elapsed)
            last = stdout.strip().splitlines()[-1:] or [""]
            if last[0].startswith("{"):
                samples[name].reports.append(json.loads(last[0]))
    return samples


def python(*args: str) -> list[str]:
    """A command line for this interpreter."""
    return [sys.executable, *args]


# --- python -X importtime ---------------------------------------------------

_LINE = re.compile(r"^import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)\s*$")
FIRST_PARTY = ("app", "chalicelib", "bench")


@dataclass
class ImportNode:
    """One module of an ``-X importtime`` tree (times in ms)."""

    name: str
    self_ms: float
    cumulative_ms: float
    children: list[ImportNode] = field(default_factory=list)


def parse_importtime(stderr: str) -> list[ImportNode]:
    """The import tree of ``-X importtime`` output (children are printed before parents)."""
    pending: dict[int, list[ImportNode]] = {}
    roots: list[ImportNode] = []
    for line in stderr.splitlines():
        match = _LINE.match(line)
        if not match:
            continue
        self_us, cumulative_us, indent, name = match.groups()
        level = (len(indent) - 1) // 2
        node = ImportNode(name, int(self_us) / 1000, int(cumulative_us) / 1000)
        node.children = pending.pop(level + 1, [])
        if level == 0:
            roots.append(node)
        else:
            pending.setdefault(level, []).append(node)
    return roots


#: The importer of a top-level entry: the ``-c``/``-m`` script itself, or an
#: ``import`` statement inside a function (run at first use, e.g. during a request).
TOP_LEVEL = "<script, or an import inside a function>"


def _is_first_party(name: str) -> bool:
    return name.split(".", maxsplit=1)[0] in FIRST_PARTY


def _is_stdlib(name: str) -> bool:
    return name.split(".", maxsplit=1)[0] in sys.stdlib_module_names


def third_party_edges(roots: list[ImportNode]) -> list[dict[str, Any]]:
    """Each place where a library (not the standard library) is imported, with its cost.

    Python imports a module once, so the cost lands on whichever importer ran
    first: the list says which line to make lazy (or remove) to save that time.
    """
    edges: list[dict[str, Any]] = []

    def walk(node: ImportNode, importer: str) -> None:
        if _is_first_party(node.name):
            for child in node.children:
                walk(child, node.name)
        elif not _is_stdlib(node.name) and node.cumulative_ms >= 1.0:
            edges.append(
                {"importer": importer, "module": node.name, "cumulative_ms": node.cumulative_ms}
            )

    for root in roots:
        walk(root, TOP_LEVEL)
    return sorted(edges, key=lambda e: -float(e["cumulative_ms"]))


def first_party_modules(roots: list[ImportNode]) -> list[dict[str, Any]]:
    """Cumulative import time of every first-party module (what ``import app`` pulls in)."""
    found: list[dict[str, Any]] = []

    def walk(node: ImportNode) -> None:
        if _is_first_party(node.name):
            found.append({"module": node.name, "cumulative_ms": node.cumulative_ms})
        for child in node.children:
            walk(child)

    for root in roots:
        walk(root)
    return sorted(found, key=lambda e: -float(e["cumulative_ms"]))


def importtime(argv_tail: list[str], env: Mapping[str, str]) -> list[ImportNode]:
    """Run ``python -X importtime <argv_tail>`` once (after a warm-up) and parse it."""
    argv = python("-X", "importtime", *argv_tail)
    subprocess.run(argv, cwd=REPO_ROOT, env=dict(env), capture_output=True, check=False)
    done = subprocess.run(
        argv,
        cwd=REPO_ROOT,
        env=dict(env),
        capture_output=True,
        text=True,
        timeout=TIMEOUT_SECONDS,
        check=False,
    )
    return parse_importtime(done.stderr)
