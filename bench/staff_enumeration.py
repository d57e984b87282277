"""``staff_enumeration_timing_gap_ratio`` (issue 9 §2), measured like the borrowers' figure.

|median staff sign-in of an unknown username − median staff sign-in of an existing
one with a wrong password| ÷ median argon2id verify, interleaved through
``chalice.test.Client`` in the same moto (the back-off and the per-address window
are lifted for the measurement so both sides reach the password check).

Alone: ``python -m bench.staff_enumeration [--rounds N]`` (starts its own moto).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import statistics
import time
from typing import Any

WRONG = "совсем-не-тот-пароль"
LIFTED = {"HAVA_LOGIN_FREE_FAILURES": "1000000", "HAVA_LOGIN_PER_IP_PER_MINUTE": "1000000"}


def measure(rounds: int) -> dict[str, Any]:
    """The figure in the stack this process points at (``bench.scenario.local_stack``)."""
    from chalice.test import Client

    from app import app
    from bench.scenario import PASSWORD
    from chalicelib.adapters.passwords import hasher
    from chalicelib.config import reset_settings
    from tests.staffing import enrol_staff

    saved = {name: os.environ.get(name) for name in LIFTED}
    os.environ.update(LIFTED)
    reset_settings()
    try:
        enrol_staff("bench.support", "support", created_by="bench")
        sides = {"wrong_password": "bench.support", "unknown_username": "bench.nobody"}
        samples: dict[str, list[float]] = {name: [] for name in sides}
        verify_s: list[float] = []
        reference_hash = hasher().hash(PASSWORD)
        with Client(app, stage_name="local") as client, contextlib.redirect_stdout(io.StringIO()):

            def attempt(username: str) -> None:
                body = json.dumps({"username": username, "password": WRONG, "totp": "123456"})
                reply = client.http.post(
                    "/admin/v1/sessions",
                    headers={"Content-Type": "application/json", "User-Agent": "hava-bench"},
                    body=body,
                )
                if reply.status_code != 401:
                    raise RuntimeError(f"expected 401, got {reply.status_code}: {reply.body!r}")

            for username in sides.values():
                attempt(username)  # warm both paths
            steps = [*sides, "verify"]
            for i in range(rounds):
                for step in steps[i % len(steps) :] + steps[: i % len(steps)]:
                    started = time.perf_counter()
                    if step == "verify":
                        hasher().verify(reference_hash, PASSWORD)
                        verify_s.append(time.perf_counter() - started)
                    else:
                        attempt(sides[step])
                        samples[step].append(time.perf_counter() - started)
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        reset_settings()
    medians = {name: statistics.median(s) for name, s in samples.items()}
    verify_median = statistics.median(verify_s)
    gap = abs(medians["unknown_username"] - medians["wrong_password"])
    return {
        "ratio": round(gap / verify_median, 3),
        "rounds": rounds,
        "unknown_username_median_ms": round(medians["unknown_username"] * 1000, 3),
        "wrong_password_median_ms": round(medians["wrong_password"] * 1000, 3),
        "verify_median_ms": round(verify_median * 1000, 3),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.staff_enumeration")
    parser.add_argument("--rounds", type=int, default=30)
    args = parser.parse_args(argv)
    from bench.scenario import local_stack

    with local_stack():
        result = measure(args.rounds)
    verdict = "PASS" if result["ratio"] <= 0.2 else "FAIL"
    print(f"staff_enumeration_timing_gap_ratio {result['ratio']} (≤ 0.2: {verdict})")
    print(json.dumps(result, ensure_ascii=False, indent=2))
    return 0 if verdict == "PASS" else 1


if __name__ == "__main__":
    raise SystemExit(main())
