"""Load figures (issue 5, part 6): the calculator, login and cabinet routes against a bare route.

A bounded run on the real local stack (``python -m devstack``, started as
the e2e tests start it) over HTTP on 127.0.0.1 only:

- routes: ``GET /health`` (the bare Chalice route: the middleware and nothing
  else), ``GET /v1/calculator?amount=50000&term_days=15``, ``POST /v1/sessions``
  (a real borrower's IIN and password: every login succeeds, verifies an argon2id
  hash and writes a session, so the back-off never starts) and ``GET /v1/me``
  with that borrower's bearer token;
- ``CONCURRENCY`` client threads, a new connection per request
  (``Connection: close``: ``chalice local`` has a flat ≈ 44 ms floor per request
  on kept-alive connections, see DESIGN.md, which would measure its server, not
  the app); the per-address login budget is lifted for the stack (``LOAD_LIMITS``),
  everything else is as deployed;
- after a warm-up of every route (``WARMUP_SECONDS``), ``ROUNDS`` rounds run every route for
  ``PHASE_SECONDS`` s each, interleaved so drift hits all routes alike; every
  phase is also capped at ``MAX_REQUESTS_PER_PHASE`` requests. Total ≤ 60 s;
- the load generator is this stdlib client (no tool to install on CI); it runs in
  the bench's process, the stack in its own, both on the same cores - which is why
  every figure is a ratio against the bare route of the same run.

Figures (merged into ``bench/results.json``):

- ``load_rps_ratio_vs_bare_route``: per route, successful requests per second ÷
  those of ``GET /health`` (1.0 = as fast as a route that does nothing);
- ``load_p99_ms``: per route, the 99th percentile latency in ms, raw -
  machine-specific, compare within one run only (``raw`` has p50/p99 and their
  ratios to the bare route);
- ``load_rss_growth_mb``: RSS of the stack process (moto, the API server and the
  pollers: one process), sampled from ``/proc/<pid>/status`` every 0.25 s, at
  the end minus at the start of the measured run; ``raw.rss`` has start, end,
  max and the least-squares slope in MB/min.

``python -m bench.load`` measures and merges; ``make bench`` runs it too.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

if TYPE_CHECKING:
    from tests.e2e.conftest import LocalStack

RESULTS_PATH = Path(__file__).resolve().parent / "results.json"
CONCURRENCY = 4
#: Warm-up per route before RSS is sampled. Login gets longer: its argon2id verifies
#: (19 MiB each) on the server's new thread per connection fill glibc's per-thread
#: malloc arenas, a one-off plateau of ≈ 200 MB here (with MALLOC_ARENA_MAX=2: ≈ 40
#: MB) that is reached within the first ≈ 60 concurrent logins and then stays flat.
WARMUP_SECONDS = {"health": 1.0, "calculator": 1.0, "login": 5.0, "cabinet": 1.5}
ROUNDS = 3
PHASE_SECONDS = 3.5
MAX_REQUESTS_PER_PHASE = 5_000
RSS_INTERVAL_SECONDS = 0.25
TIMEOUT = 30.0
BARE = "health"
#: Every request comes from 127.0.0.1: the per-address login budget would refuse the run.
LOAD_LIMITS = {"HAVA_LOGIN_PER_IP_PER_MINUTE": "1000000"}


def log(message: str) -> None:
    print(f"[bench.load] {message}", file=sys.stderr, flush=True)


@dataclass(frozen=True)
class Route:
    name: str
    method: str
    path: str
    body: bytes | None = None
    headers: tuple[tuple[str, str], ...] = ()


@dataclass
class Phase:
    """The requests of one route in one round."""

    latencies_s: list[float] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    seconds: float = 0.0

    @property
    def ok(self) -> int:
        return sum(n for status, n in self.statuses.items() if 200 <= status < 300)


def request(host: str, port: int, route: Route) -> tuple[int, float]:
    """One request on a new connection; (status, seconds until the body is read)."""
    headers = {"Connection": "close", "User-Agent": "hava-load", **dict(route.headers)}
    if route.body is not None:
        headers["Content-Type"] = "application/json"
    started = time.perf_counter()
    connection = http.client.HTTPConnection(host, port, timeout=TIMEOUT)
    try:
        connection.request(route.method, route.path, body=route.body, headers=headers)
        response = connection.getresponse()
        response.read()
        return response.status, time.perf_counter() - started
    finally:
        connection.close()


def run_phase(base_url: str, route: Route, seconds: float, cap: int) -> Phase:
    """``CONCURRENCY`` threads hammer ``route`` for ``seconds`` or ``cap`` requests."""
    parsed = urlparse(base_url)
    host, port = parsed.hostname or "127.0.0.1", parsed.port or 80
    phase = Phase()
    lock = threading.Lock()
    issued = 0
    deadline = time.perf_counter() + seconds

    def worker() -> None:
        nonlocal issued
        while time.perf_counter() < deadline:
            with lock:
                if issued >= cap:
                    return
                issued += 1
            try:
                status, elapsed = request(host, port, route)
            except OSError:
                status, elapsed = 0, 0.0
            with lock:
                phase.statuses[status] += 1
                if status:
                    phase.latencies_s.append(elapsed)

    began = time.perf_counter()
    threads = [threading.Thread(target=worker) for _ in range(CONCURRENCY)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    phase.seconds = time.perf_counter() - began
    return phase


def rss_mb(pid: int) -> float:
    """Resident set size of ``pid`` in MB (``VmRSS`` from ``/proc/<pid>/status``)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for pid {pid}")


class RssSampler:
    """Samples a process's RSS in a thread: (seconds since start, MB)."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.samples: list[tuple[float, float]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rss", daemon=True)
        self._began = 0.0

    def _run(self) -> None:
        while not self._stop.is_set():
            self.samples.append((time.perf_counter() - self._began, rss_mb(self.pid)))
            self._stop.wait(RSS_INTERVAL_SECONDS)

    def __enter__(self) -> RssSampler:
        self._began = time.perf_counter()
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()
        self.samples.append((time.perf_counter() - self._began, rss_mb(self.pid)))


def slope_mb_per_min(samples: list[tuple[float, float]]) -> float:
    """Least-squares slope of RSS over time."""
    if len(samples) < 2:
        return 0.0
    xs = [t for t, _ in samples]
    ys = [mb for _, mb in samples]
    return statistics.linear_regression(xs, ys).slope * 60


def percentile(values: list[float], q: float) -> float:
    """The ``q`` quantile (0 < q < 1) by the inclusive method."""
    if len(values) < 2:
        return values[0] if values else float("nan")
    return statistics.quantiles(values, n=1000, method="inclusive")[round(q * 1000) - 1]


# --- the stack and its borrower ---------------------------------------------------


@contextmanager
def load_stack() -> Iterator[LocalStack]:
    """The local stack in its own process, the login budget lifted."""
    from tests.e2e.conftest import start_local_stack

    saved = {name: os.environ.get(name) for name in LOAD_LIMITS}
    os.environ.update(LOAD_LIMITS)
    try:
        stack = start_local_stack(Path(tempfile.mkdtemp(prefix="hava-load-")))
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
    try:
        yield stack
    finally:
        stack.stop()


def borrower(stack: LocalStack) -> tuple[str, str, str]:
    """Register a borrower through the real flow; (login, password, session token)."""
    import requests

    from tests.helpers import PASSWORD, form

    data = form(4242)
    started = requests.post(f"{stack.base_url}/v1/registrations", json=data, timeout=TIMEOUT)
    started.raise_for_status()
    code = stack.latest_code(data["phone"])
    confirmed = requests.post(
        f"{stack.base_url}/v1/registrations/{started.json()['registration_id']}/confirm",
        json={"code": code},
        timeout=TIMEOUT,
    )
    confirmed.raise_for_status()
    return data["iin"], PASSWORD, str(confirmed.json()["token"])


def routes(login: str, password: str, token: str) -> list[Route]:
    return [
        Route(BARE, "GET", "/health"),
        Route("calculator", "GET", "/v1/calculator?amount=50000&term_days=15"),
        Route(
            "login",
            "POST",
            "/v1/sessions",
            body=json.dumps({"login": login, "password": password}).encode(),
        ),
        Route("cabinet", "GET", "/v1/me", headers=(("Authorization", f"Bearer {token}"),)),
    ]


# --- the run --------------------------------------------------------------------------


def measure(
    rounds: int = ROUNDS, phase_seconds: float = PHASE_SECONDS, cap: int = MAX_REQUESTS_PER_PHASE
) -> dict[str, Any]:
    """Run the bounded load and return the figures (and their raw numbers)."""
    began = time.perf_counter()
    with load_stack() as stack:
        login, password, token = borrower(stack)
        plan = routes(login, password, token)
        log(f"warm-up (s): {WARMUP_SECONDS}")
        for route in plan:
            warm = run_phase(stack.base_url, route, WARMUP_SECONDS[route.name], cap)
            if warm.ok == 0:
                raise RuntimeError(f"{route.name}: no success in warm-up {dict(warm.statuses)}")
        phases: dict[str, list[Phase]] = {route.name: [] for route in plan}
        log(f"{rounds} rounds x {len(plan)} routes x {phase_seconds} s, {CONCURRENCY} clients")
        with RssSampler(stack.process.pid) as rss:
            for _ in range(rounds):
                for route in plan:
                    phases[route.name].append(run_phase(stack.base_url, route, phase_seconds, cap))
        stack_log_tail = stack.output()[-2000:]
    return figures(phases, rss.samples, rounds, phase_seconds, cap, began, stack_log_tail)


def figures(
    phases: dict[str, list[Phase]],
    samples: list[tuple[float, float]],
    rounds: int,
    phase_seconds: float,
    cap: int,
    began: float,
    stack_log_tail: str,
) -> dict[str, Any]:
    per_route: dict[str, dict[str, Any]] = {}
    for name, runs in phases.items():
        latencies = [s for run in runs for s in run.latencies_s]
        statuses: Counter[int] = Counter()
        for run in runs:
            statuses.update(run.statuses)
        ok = sum(run.ok for run in runs)
        seconds = sum(run.seconds for run in runs)
        per_route[name] = {
            "requests": sum(statuses.values()),
            "ok": ok,
            "statuses": {str(k): v for k, v in sorted(statuses.items())},
            "seconds": round(seconds, 2),
            "rps": round(ok / seconds, 1),
            "p50_ms": round(percentile(latencies, 0.5) * 1000, 2),
            "p99_ms": round(percentile(latencies, 0.99) * 1000, 2),
        }
    bare = per_route[BARE]
    for row in per_route.values():
        row["rps_ratio_vs_bare"] = round(row["rps"] / bare["rps"], 3)
        row["p50_ratio_vs_bare"] = round(row["p50_ms"] / bare["p50_ms"], 2)
        row["p99_ratio_vs_bare"] = round(row["p99_ms"] / bare["p99_ms"], 2)
    rss_values = [mb for _, mb in samples]
    rss = {
        "samples": len(samples),
        "start_mb": round(rss_values[0], 1),
        "end_mb": round(rss_values[-1], 1),
        "max_mb": round(max(rss_values), 1),
        "slope_mb_per_min": round(slope_mb_per_min(samples), 2),
        "seconds": round(samples[-1][0], 1),
    }
    others = [name for name in per_route if name != BARE]
    return {
        "load_rps_ratio_vs_bare_route": {n: per_route[n]["rps_ratio_vs_bare"] for n in others},
        "load_p99_ms": {n: per_route[n]["p99_ms"] for n in per_route},
        "load_rss_growth_mb": round(rss_values[-1] - rss_values[0], 1),
        "raw": {
            "routes": per_route,
            "rss": rss,
            "setup": {
                "concurrency": CONCURRENCY,
                "rounds": rounds,
                "phase_seconds": phase_seconds,
                "max_requests_per_phase": cap,
                "warmup_seconds_per_route": WARMUP_SECONDS,
                "connections": "new per request (Connection: close)",
                "target": "127.0.0.1, python -m devstack",
                "client": "bench.load (stdlib http.client threads)",
            },
            "errors_in_stack_log": stack_log_tail.count("Traceback"),
            "seconds": round(time.perf_counter() - began, 1),
        },
    }


def merge(figures_: dict[str, Any], path: Path = RESULTS_PATH) -> dict[str, Any]:
    """Write the load figures into ``bench/results.json``, keeping everything else."""
    results: dict[str, Any] = json.loads(path.read_text("utf-8")) if path.exists() else {}
    for name in ("load_rps_ratio_vs_bare_route", "load_p99_ms", "load_rss_growth_mb"):
        results[name] = figures_[name]
    results.setdefault("raw", {})["load"] = figures_["raw"]
    path.write_text(json.dumps(results, ensure_ascii=False, indent=2) + "\n", "utf-8")
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.load", description=__doc__)
    parser.add_argument("--rounds", type=int, default=ROUNDS)
    parser.add_argument("--phase-seconds", type=float, default=PHASE_SECONDS)
    args = parser.parse_args(argv)
    if args.rounds * args.phase_seconds * 4 + sum(WARMUP_SECONDS.values()) > 60:
        parser.error("the run must stay within 60 s of load")
    measured = measure(args.rounds, args.phase_seconds)
    merge(measured)
    print(json.dumps(measured, ensure_ascii=False, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
