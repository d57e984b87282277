"""Fuzzing figures (issue 5, part 1): ``fuzz_cases`` and ``fuzz_5xx`` (target 0).

Runs ``tests/fuzz`` (schemathesis 4 against the real local stack, every
documented operation, real borrower and staff sessions - see
``tests/fuzz/conftest.py``) with pytest in a subprocess and reads the JSON
summary it writes (``HAVA_FUZZ_REPORT``):

- ``fuzz_cases``: requests schemathesis generated and sent (examples, coverage
  and fuzzing phases, every operation);
- ``fuzz_5xx``: answers with a status ≥ 500 among them (target 0);
- ``raw.fuzz``: statuses per operation, failed checks (status code, content
  type, headers or body not as documented) with a curl reproduction and the
  stack's log around each, the seed and the budget.

``python -m bench.fuzz [--examples N]`` measures and merges into
``bench/results.json``; ``make bench`` runs it with the ``make test`` budget,
``make fuzz`` runs the same tests with a bigger one.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
RESULTS_PATH = Path(__file__).resolve().parent / "results.json"
#: The ``make test`` budget (tests/fuzz/conftest.py DEFAULT_EXAMPLES).
EXAMPLES = 8
TIMEOUT_SECONDS = 1_800


def log(message: str) -> None:
    print(f"[bench.fuzz] {message}", file=sys.stderr, flush=True)


def measure(examples: int = EXAMPLES, seed: int | None = None) -> dict[str, Any]:
    """Run ``tests/fuzz`` once; the figures and the run's summary."""
    with tempfile.TemporaryDirectory(prefix="hava-fuzz-") as workdir:
        report = Path(workdir) / "fuzz.json"
        env = {k: v for k, v in os.environ.items() if not k.startswith("BENCH_")}
        env.update(HAVA_FUZZ_EXAMPLES=str(examples), HAVA_FUZZ_REPORT=str(report))
        if seed is not None:
            env["HAVA_FUZZ_SEED"] = str(seed)
        argv = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/fuzz"]
        log(f"{' '.join(argv[1:])} with {examples} examples per operation")
        began = time.perf_counter()
        done = subprocess.run(
            argv,
            cwd=REPO_ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=TIMEOUT_SECONDS,
            check=False,
        )
        seconds = time.perf_counter() - began
        if not report.exists():
            tail = (done.stdout + done.stderr).strip().splitlines()[-15:]
            raise RuntimeError(f"tests/fuzz wrote no report (exit {done.returncode}): {tail}")
        summary: dict[str, Any] = json.loads(report.read_text(encoding="utf-8"))
    summary["pytest_exit_code"] = done.returncode
    summary["pytest_summary"] = done.stdout.strip().splitlines()[-1:]
    summary["command"] = (
        f"HAVA_FUZZ_EXAMPLES={examples} {' '.join(argv[1:])}  (or: python -m bench.fuzz)"
    )
    summary["wall_seconds"] = round(seconds, 1)
    return {
        "fuzz_cases": summary["cases"],
        "fuzz_5xx": summary["server_errors"],
        "fuzz_failures": summary["failures"],
        "raw": summary,
    }


def merge(figures: dict[str, Any], path: Path = RESULTS_PATH) -> dict[str, Any]:
    """Write the fuzz figures into ``bench/results.json``, keeping everything else."""
    results: dict[str, Any] = json.loads(path.read_text("utf-8")) if path.exists() else {}
    for name in ("fuzz_cases", "fuzz_5xx", "fuzz_failures"):
        results[name] = figures[name]
    results.setdefault("raw", {})["fuzz"] = figures["raw"]
    path.write_text(json.dumps(results, ensure_ascii=False, indent=2) + "\n", "utf-8")
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.fuzz", description=__doc__)
    parser.add_argument("--examples", type=int, default=EXAMPLES)
    parser.add_argument("--seed", type=int, default=None)
    args = parser.parse_args(argv)
    measured = measure(args.examples, args.seed)
    merge(measured)
    print(f"fuzz_cases: {measured['fuzz_cases']}  fuzz_5xx: {measured['fuzz_5xx']} (target 0)")
    return 0 if measured["fuzz_5xx"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
