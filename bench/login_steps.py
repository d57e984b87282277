"""``python -m bench.login_steps``: where a warm sign-in's time goes, step by step.

``make bench`` gives ``login_over_verify_ratio``; this says why it is what it is.
Warm sign-ins through ``chalice.test.Client`` (as the bench's), each step of
``services.auth.login`` timed by wrapping it: the guard read (with the address
window charged at once), the wait for the window after it, the argon2 verify, the
session write, the post-sign-in checks; the route around them; a bare verify and
``GET /health`` interleaved. Then the emulator's price per request: the kinds of
request a sign-in makes, sent by a plain client to the same moto, interleaved.

``--moto-process`` runs moto in its own process instead of a thread of this one, to
tell the emulator's CPU under this process's GIL from its price per request.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import itertools
import statistics
import time
from collections import defaultdict
from collections.abc import Callable
from typing import Any

from bench.scenario import BASELINE_TABLE, PASSWORD, Borrower, Stack, local_stack

STEPS = {
    "_find_account": "guard read + failure counter (window charged at once)",
    "verify_password": "argon2 verify inside the sign-in",
    "start_session": "session write",
}


def ms(values: list[float]) -> float:
    return round(statistics.median(values) * 1000, 2)


def timing(into: list[float], fn: Callable[..., Any]) -> Callable[..., Any]:
    def timed(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            into.append(time.perf_counter() - started)

    return timed


def sign_in_steps(stack: Stack, logins: int) -> dict[str, list[float]]:
    """Each step's durations over ``logins`` warm sign-ins, with the route's and a verify's."""
    from chalice.test import Client

    from app import app
    from chalicelib import parallel
    from chalicelib.adapters.passwords import hasher
    from chalicelib.services import auth

    seen: defaultdict[str, list[float]] = defaultdict(list)
    patch = contextlib.ExitStack()
    with patch:
        for name in STEPS:
            original = getattr(auth, name)
            patch.callback(setattr, auth, name, original)
            setattr(auth, name, timing(seen[name], original))
        result = parallel.Pending.result
        patch.callback(setattr, parallel.Pending, "result", result)
        parallel.Pending.result = timing(seen["window wait"], result)  # type: ignore[method-assign]
        login = auth.login
        patch.callback(setattr, auth, "login", login)
        auth.login = timing(seen["auth.login"], login)

        with Client(app, stage_name="local") as client, contextlib.redirect_stdout(io.StringIO()):
            borrower = Borrower(client, stack)
            borrower.register()
            iin = borrower.form["iin"]
            for _ in range(5):
                borrower.login(iin)
            for values in seen.values():  # the wrappers keep these lists
                values.clear()
            reference = hasher().hash(PASSWORD)
            for _ in range(logins):
                started = time.perf_counter()
                borrower.login(iin)
                seen["route"].append(time.perf_counter() - started)
                started = time.perf_counter()
                hasher().verify(reference, PASSWORD)
                seen["bare verify"].append(time.perf_counter() - started)
                started = time.perf_counter()
                borrower.expect(200, borrower.call("GET", "/health"))
                seen["GET /health"].append(time.perf_counter() - started)
    return dict(seen)


def request_prices(stack: Stack, rounds: int) -> dict[str, list[float]]:
    """A plain client's round trip to the same moto, per kind of request, interleaved."""
    dynamodb = stack.harness_client("dynamodb")
    key = {"pk": {"S": "login-steps"}}
    dynamodb.put_item(TableName=BASELINE_TABLE, Item={**key, "n": {"N": "0"}})
    fresh = itertools.count()
    requests: dict[str, Callable[[], Any]] = {
        "GetItem": lambda: dynamodb.get_item(TableName=BASELINE_TABLE, Key=key),
        "PutItem": lambda: dynamodb.put_item(
            TableName=BASELINE_TABLE, Item={"pk": {"S": f"p{next(fresh)}"}}
        ),
        "PutItem, conditional": lambda: dynamodb.put_item(
            TableName=BASELINE_TABLE,
            Item={"pk": {"S": f"c{next(fresh)}"}},
            ConditionExpression="attribute_not_exists(pk)",
        ),
        "TransactGetItems, 2 items": lambda: dynamodb.transact_get_items(
            TransactItems=[
                {"Get": {"TableName": BASELINE_TABLE, "Key": key}},
                {"Get": {"TableName": BASELINE_TABLE, "Key": {"pk": {"S": "absent"}}}},
            ]
        ),
        "UpdateItem, conditional": lambda: dynamodb.update_item(
            TableName=BASELINE_TABLE,
            Key=key,
            UpdateExpression="ADD n :one",
            ConditionExpression="n < :cap",
            ExpressionAttributeValues={":one": {"N": "1"}, ":cap": {"N": "1000000000"}},
        ),
    }
    prices: defaultdict[str, list[float]] = defaultdict(list)
    for _ in range(rounds):
        for name, send in requests.items():
            started = time.perf_counter()
            send()
            prices[name].append(time.perf_counter() - started)
    return dict(prices)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.login_steps", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--logins", type=int, default=40, help="warm sign-ins timed")
    parser.add_argument("--rounds", type=int, default=60, help="requests of each kind")
    parser.add_argument("--moto-process", action="store_true", help="moto in its own process")
    args = parser.parse_args(argv)

    from bench import calls

    calls.install()
    with local_stack(moto_process=args.moto_process) as stack:
        steps = sign_in_steps(stack, args.logins)
        prices = request_prices(stack, args.rounds)
    where = "its own process" if args.moto_process else "a thread of this process"
    print(f"moto in {where}; medians of {args.logins} warm sign-ins (ms)")
    for name, values in steps.items():
        print(f"  {STEPS.get(name, name):55s} {ms(values):8.2f}")
    own = ms(steps["auth.login"]) - sum(ms(steps[name]) for name in [*STEPS, "window wait"])
    print(f"  {'the rest of auth.login (the app own code)':55s} {own:8.2f}")
    ratio = statistics.median(steps["route"]) / statistics.median(steps["bare verify"])
    print(f"  route / bare verify = {ratio:.3f}  (make bench: login_over_verify_ratio)")
    print(f"a plain client's request to the same moto, medians of {args.rounds} (ms)")
    for name, values in prices.items():
        print(f"  {name:55s} {ms(values):8.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
