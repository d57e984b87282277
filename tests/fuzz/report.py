"""The fuzz tier's one summary line, whether its tests ran in one process or several.

``tests/fuzz/conftest.py`` adds each process's summary here (an xdist worker sends
its own to the controller, which adds it on ``pytest_testnodedown``);
``tests/conftest.py``, loaded by every run including xdist's controller, prints the
merged line and writes ``HAVA_FUZZ_REPORT``.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from pathlib import Path
from typing import Any

#: One summary per process that ran fuzz cases.
SUMMARIES: list[dict[str, Any]] = []


def add_from_worker(workeroutput: dict[str, Any]) -> None:
    """Keep the summary an xdist worker sent, if it ran fuzz cases."""
    sent = workeroutput.get("fuzz_summary")
    if sent:
        SUMMARIES.append(json.loads(sent))


def merge_summaries(parts: list[dict[str, Any]]) -> dict[str, Any]:
    """One summary of the cases several processes sent (counts add up, details concatenate)."""
    statuses: Counter[str] = Counter()
    renewals: Counter[str] = Counter()
    by_operation: dict[str, dict[str, Any]] = {}
    samples: dict[str, str] = {}
    for part in parts:
        statuses.update(part["statuses"])
        renewals.update(part["session_renewals"])
        for label, seen in part["by_operation"].items():
            merged = by_operation.setdefault(label, {"cases": 0, "statuses": Counter()})
            merged["cases"] += seen["cases"]
            merged["statuses"].update(seen["statuses"])
        for key, body in part["first_body_per_status"].items():
            samples.setdefault(key, body)
    server_errors = [case for part in parts for case in part["server_error_cases"]]
    failures = [detail for part in parts for detail in part["failure_details"]]
    return {
        "cases": sum(part["cases"] for part in parts),
        "server_errors": sum(part["server_errors"] for part in parts),
        "failures": len({(f["operation"], f["message"].split("\n")[0]) for f in failures}),
        "operations": len(by_operation),
        "examples_per_operation": parts[0]["examples_per_operation"],
        "seed": parts[0]["seed"],
        "seconds": max(part["seconds"] for part in parts),
        "statuses": dict(sorted(statuses.items())),
        "by_operation": {
            label: {"cases": seen["cases"], "statuses": dict(sorted(seen["statuses"].items()))}
            for label, seen in sorted(by_operation.items())
        },
        "session_renewals": dict(renewals),
        "first_body_per_status": dict(sorted(samples.items())),
        "server_error_cases": server_errors[:50],
        "failure_details": failures,
    }


def write(terminalreporter: Any) -> None:
    """The ``fuzz:`` line of the run, and ``HAVA_FUZZ_REPORT`` when asked for."""
    if not SUMMARIES:
        return
    summary = SUMMARIES[0] if len(SUMMARIES) == 1 else merge_summaries(SUMMARIES)
    terminalreporter.write_line(
        f"fuzz: {summary['cases']} cases over {summary['operations']} operations in "
        f"{summary['seconds']} s (seed {summary['seed']}), {summary['server_errors']} 5xx, "
        f"{summary['failures']} distinct failures; statuses {summary['statuses']}; "
        f"sessions renewed {summary['session_renewals']}"
    )
    target = os.environ.get("HAVA_FUZZ_REPORT")
    if target:
        Path(target).write_text(json.dumps(summary, ensure_ascii=False, indent=2) + "\n")
