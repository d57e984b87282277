"""``python -m bench.test_time``: the test suite's wall time against an older commit's.

Issue 11 §5 asks for ``make test`` at half the time of the commit before the work,
measured side by side. The suites differ (tests were added, renamed and moved
between tiers since), so the comparison runs *the same tests* on both sides:

1. a detached worktree of ``--base`` (this checkout's ``.venv`` linked in) runs its
   own ``make test`` command, ``pytest -q`` in one process, with a JUnit report;
2. this checkout collects its tests, and the old report's tests are matched onto
   them by module and test name (a test moved to another tier keeps its module
   name; one renamed since has no match and runs on the old side only);
3. this checkout runs the matched node ids the way ``make test`` does (``-n``).

The two runs go one after the other, so run it on an otherwise idle machine. It
prints both wall times and their ratio. ``--paths tests/unit`` narrows both sides
(to try the command itself in a minute).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PYTEST = [str(ROOT / ".venv" / "bin" / "pytest"), "-q", "-p", "no:cacheprovider"]


@dataclass
class Match:
    """Old tests found again in this checkout, and the ones that were not."""

    node_ids: list[str] = field(default_factory=list)
    unmatched: list[str] = field(default_factory=list)
    old_tests: int = 0


def match_tests(junit_xml: str, node_ids: Iterable[str]) -> Match:
    """Match a JUnit report's passed or failed tests onto collected pytest node ids.

    By (module file name, test name with its parameters) first; a name that stands in
    exactly one module of the new collection matches on its own.
    """
    by_module: dict[tuple[str, str], str] = {}
    by_name: defaultdict[str, list[str]] = defaultdict(list)
    for node_id in node_ids:
        path, name = node_id.split("::", 1)
        by_module[(Path(path).stem, name)] = node_id
        by_name[name].append(node_id)
    found: set[str] = set()
    result = Match()
    for case in ET.fromstring(junit_xml).iter("testcase"):
        if case.find("skipped") is not None:
            continue
        result.old_tests += 1
        module = str(case.get("classname", "")).rsplit(".", 1)[-1]
        name = str(case.get("name", ""))
        same = by_name.get(name, [])
        target = by_module.get((module, name)) or (same[0] if len(same) == 1 else None)
        if target is None:
            result.unmatched.append(f"{case.get('classname')}::{name}")
        else:
            found.add(target)
    result.node_ids = sorted(found)
    return result


def timed(command: list[str], cwd: Path, log: Path) -> tuple[float, int]:
    """Run ``command`` with its output in ``log``: wall seconds and exit code."""
    env = {**os.environ, "AWS_DEFAULT_REGION": os.environ.get("AWS_DEFAULT_REGION", "eu-central-1")}
    started = time.perf_counter()
    with log.open("w") as out:
        code = subprocess.run(
            command, check=False, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT
        ).returncode
    return time.perf_counter() - started, code


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.test_time", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--base", default="e257ad1", help="the older commit (default: before §5)")
    parser.add_argument("--workers", default="2", help="this side's -n (make test: auto)")
    parser.add_argument("--paths", nargs="*", default=[], help="narrow both sides to these")
    parser.add_argument("--keep", action="store_true", help="keep the worktree and logs")
    args = parser.parse_args(argv)

    work = Path(tempfile.mkdtemp(prefix="hava-test-time-"))
    base = work / "base"
    subprocess.run(
        ["git", "worktree", "add", "--detach", str(base), args.base], cwd=ROOT, check=True
    )
    try:
        (base / ".venv").symlink_to(ROOT / ".venv")
        junit = work / "base.xml"
        print(f"[test_time] {args.base}: pytest -q in one process", file=sys.stderr)
        old_s, old_code = timed(
            [*PYTEST, f"--junitxml={junit}", *args.paths], base, work / "base.log"
        )

        collected = subprocess.run(
            [*PYTEST, "--collect-only", *args.paths],
            check=False,
            cwd=ROOT,
            capture_output=True,
            text=True,
        ).stdout.splitlines()
        match = match_tests(junit.read_text(encoding="utf-8"), (c for c in collected if "::" in c))
        if not match.node_ids:
            print("[test_time] no old test is collected here: nothing to compare", file=sys.stderr)
            return 2
        ids = work / "ids.txt"
        ids.write_text("\n".join(match.node_ids) + "\n", encoding="utf-8")
        print(
            f"[test_time] this checkout: the {len(match.node_ids)} matched ids, -n {args.workers}",
            file=sys.stderr,
        )
        new_s, new_code = timed([*PYTEST, "-n", args.workers, f"@{ids}"], ROOT, work / "new.log")
    finally:
        if not args.keep:
            subprocess.run(
                ["git", "worktree", "remove", "--force", str(base)], cwd=ROOT, check=False
            )
    matched = len(match.node_ids)
    print(f"{args.base}, one process: {match.old_tests} tests in {old_s:.1f} s (exit {old_code})")
    print(f"this checkout, -n {args.workers}: {matched} ids in {new_s:.1f} s (exit {new_code})")
    print(f"ratio {new_s / old_s:.3f}; {len(match.unmatched)} old tests unmatched (renamed since)")
    if args.keep:
        print(f"logs and reports: {work}")
    else:
        shutil.rmtree(work, ignore_errors=True)
    return 0 if old_code == new_code == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
