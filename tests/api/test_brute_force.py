"""Sign-in back-off per identifier, per-address throttles and enumeration timing."""

from __future__ import annotations

import statistics
import threading
import time
from typing import Any

import pytest

from tests.conftest import FrozenClock
from tests.helpers import PASSWORD, Api, form

WRONG = "не-тот-пароль-вовсе"


def settings(monkeypatch: pytest.MonkeyPatch, **values: int) -> None:
    from chalicelib.config import reset_settings

    for name, value in values.items():
        monkeypatch.setenv(f"HAVA_{name.upper()}", str(value))
    reset_settings()


def failures_of(login: str) -> int:
    from chalicelib.services.auth import login_subject
    from chalicelib.storage import throttles

    return throttles.failure_state(login_subject(login))[0]


def back_off_trace(api: Api, frozen_clock: FrozenClock, login: str) -> list[Any]:
    """Statuses and Retry-After of a fixed sequence of wrong guesses, the clock moving."""
    trace: list[Any] = []
    clock = 0
    frozen_clock.at(clock)
    for _ in range(5):
        trace.append(api.login(login, WRONG).status)
    for wait in (1, 2, 4):
        held = api.login(login, WRONG)
        trace.append((held.status, held.headers.get("Retry-After")))
        clock += wait
        frozen_clock.at(clock)
        trace.append(api.login(login, WRONG).status)
    return trace


def test_five_failures_then_a_doubling_wait_refused_before_any_password_check(
    api: Api, monkeypatch: pytest.MonkeyPatch, frozen_clock: FrozenClock
) -> None:
    data = form()
    api.register(data)
    # GIVEN five wrong passwords in a row
    trace = back_off_trace(api, frozen_clock, data["iin"])
    # THEN each further attempt waits 1 s, 2 s, 4 s: 429 with Retry-After during the wait
    assert trace == [401] * 5 + [(429, "1"), 401, (429, "2"), 401, (429, "4"), 401]
    # AND the refusal comes before any argon2 work, even for the right password
    import chalicelib.services.auth as auth

    checks: list[str] = []
    monkeypatch.setattr(auth, "verify_password", lambda *a: checks.append("v") or (False, False))
    monkeypatch.setattr(auth, "burn_verify", lambda *a: checks.append("b"))
    held = api.login(data["iin"], PASSWORD)
    assert held.status == 429
    assert held.headers["Retry-After"] == "8"
    assert "восстановите пароль" in held.error["message"]
    assert checks == []


def test_the_right_password_after_the_wait_works_and_resets_the_count(
    api: Api, frozen_clock: FrozenClock
) -> None:
    data = form()
    api.register(data)
    frozen_clock.at(0)
    for _ in range(5):
        api.login(data["email"], WRONG)
    assert api.login(data["email"]).status == 429
    frozen_clock.at(1)
    assert api.login(data["email"]).status == 201
    assert failures_of(data["email"]) == 0
    # Five fresh failures are allowed again before any wait.
    assert [api.login(data["email"], WRONG).status for _ in range(5)] == [401] * 5
    # Another identifier of the same account is counted on its own.
    assert api.login(data["iin"]).status == 201


def test_the_wait_is_capped(
    api: Api, monkeypatch: pytest.MonkeyPatch, frozen_clock: FrozenClock
) -> None:
    settings(monkeypatch, login_delay_max_seconds=3)
    trace = back_off_trace(api, frozen_clock, "nobody@example.kz")
    assert trace[5::2] == [(429, "1"), (429, "2"), (429, "3")]


def test_unknown_and_malformed_logins_are_throttled_exactly_like_real_ones(
    api: Api, monkeypatch: pytest.MonkeyPatch, frozen_clock: FrozenClock
) -> None:
    settings(monkeypatch, login_per_ip_per_minute=1_000)
    data = form()
    api.register(data)
    real = back_off_trace(api, frozen_clock, data["phone"])
    assert back_off_trace(api, frozen_clock, "+7 700 999 88 77") == real
    assert back_off_trace(api, frozen_clock, "nobody@example.kz") == real
    assert back_off_trace(api, frozen_clock, "не логин вовсе") == real


def test_parallel_wrong_guesses_are_each_counted(api: Api) -> None:
    data = form()
    api.register(data)
    barrier = threading.Barrier(8)
    statuses: list[int] = []

    def guess() -> None:
        barrier.wait()
        statuses.append(api.login(data["iin"], WRONG).status)

    threads = [threading.Thread(target=guess) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert statuses == [401] * 8
    assert failures_of(data["iin"]) == 8


def test_sign_in_attempts_per_address_are_limited(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings(monkeypatch, login_per_ip_per_minute=3)
    statuses = [api.login(f"user{i}@example.kz").status for i in range(3)]
    capped = api.login("another@example.kz")
    assert statuses == [401] * 3
    assert capped.status == 429
    assert 0 < int(capped.headers["Retry-After"]) <= 60


def test_the_address_window_is_charged_before_any_password_check(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    import chalicelib.services.auth as auth
    from chalicelib.storage import throttles

    data = form()
    api.register(data)
    # The window is charged on its own thread while the guard is read (issue 11 §7).
    events: list[str] = []
    charge, verify = throttles.consume, auth.verify_password

    def charged(*args: Any) -> str:
        key = charge(*args)
        events.append("charged")
        return key

    def checked(*args: Any) -> tuple[bool, bool]:
        events.append("verify")
        return verify(*args)

    monkeypatch.setattr(throttles, "consume", charged)
    monkeypatch.setattr(auth, "verify_password", checked)
    assert api.login(data["iin"]).status == 201
    assert api.login(data["iin"], WRONG).status == 401
    # THEN each password check came after its attempt was counted
    assert events == ["charged", "verify"] * 2


def test_over_the_address_limit_the_window_answers_first_and_no_password_is_checked(
    api: Api, monkeypatch: pytest.MonkeyPatch, frozen_clock: FrozenClock
) -> None:
    import chalicelib.services.auth as auth

    data = form()
    api.register(data)
    frozen_clock.at(0)
    for _ in range(5):
        api.login(data["email"], WRONG)  # the e-mail is now locked for a second
    settings(monkeypatch, login_per_ip_per_minute=1)
    checks: list[str] = []
    monkeypatch.setattr(auth, "verify_password", lambda *a: checks.append("v") or (True, False))
    monkeypatch.setattr(auth, "burn_verify", lambda *a: checks.append("b"))
    # WHEN the address is over its window: a locked, a known and an unknown login
    replies = [api.login(x) for x in (data["email"], data["iin"], "nobody@example.kz")]
    # THEN all three answer the address's 429 (not the login's lock), before any check
    assert [r.status for r in replies] == [429] * 3
    assert all("восстановите пароль" not in r.error["message"] for r in replies)
    assert all(0 < int(r.headers["Retry-After"]) <= 60 for r in replies)
    assert checks == []


def test_registration_and_recovery_per_address_are_limited(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings(monkeypatch, registration_per_ip_per_hour=2, recovery_per_ip_per_hour=2)
    assert [api.start(form()).status for _ in range(2)] == [202, 202]
    refused = api.start(form())
    assert refused.status == 429
    assert 0 < int(refused.headers["Retry-After"]) <= 3600
    logins = ("a@example.kz", "b@example.kz", "c@example.kz")
    replies = [api.post("/v1/password-recovery", {"login": x}) for x in logins]
    assert [r.status for r in replies] == [202, 202, 429]
    assert "Retry-After" in replies[-1].headers


# --- enumeration timing ---------------------------------------------------------------------


def _verify_median(rounds: int = 15) -> float:
    from chalicelib.adapters.passwords import hasher

    reference = hasher().hash(PASSWORD)
    samples = []
    for _ in range(rounds):
        started = time.perf_counter()
        hasher().verify(reference, PASSWORD)
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def _interleaved(api: Api, calls: dict[str, Any], rounds: int) -> dict[str, float]:
    samples: dict[str, list[float]] = {name: [] for name in calls}
    names = list(calls)
    for i in range(rounds):
        for name in names[i % 2 :] + names[: i % 2]:
            started = time.perf_counter()
            calls[name]()
            samples[name].append(time.perf_counter() - started)
    return {name: statistics.median(s) for name, s in samples.items()}


def test_login_takes_as_long_for_an_unknown_login_as_for_a_wrong_password(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The back-off would answer early after five failures: measure the password path.
    settings(monkeypatch, login_free_failures=10_000, login_per_ip_per_minute=10_000)
    data = form()
    api.register(data)
    for login in (data["email"], "nobody@example.kz"):
        api.login(login, WRONG)  # warm both paths
    medians = _interleaved(
        api,
        {
            "wrong_password": lambda: api.login(data["email"], WRONG),
            "unknown_login": lambda: api.login("nobody@example.kz", WRONG),
        },
        rounds=15,
    )
    verify = _verify_median()
    gap = abs(medians["wrong_password"] - medians["unknown_login"])
    assert gap <= 0.5 * verify, (medians, verify)


def test_recovery_start_takes_as_long_for_an_unknown_login(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings(
        monkeypatch,
        recovery_per_ip_per_hour=10_000,
        code_resend_cooldown_seconds=0,
        code_sends_per_hour=10_000,
        sms_per_phone_per_day=10_000,
        sms_per_ip_per_hour=10_000,
        sms_per_ip_per_day=10_000,
    )
    data = form()
    api.register(data)

    def start(login: str) -> None:
        assert api.post("/v1/password-recovery", {"login": login}).status == 202

    start(data["phone"])
    start("nobody@example.kz")
    medians = _interleaved(
        api,
        {"known": lambda: start(data["phone"]), "unknown": lambda: start("+7 700 999 88 77")},
        rounds=15,
    )
    verify = _verify_median()
    assert abs(medians["known"] - medians["unknown"]) <= 0.5 * verify, (medians, verify)


def test_ipv6_clients_share_the_per_address_limit_of_their_slash_64(
    api: Api, monkeypatch: pytest.MonkeyPatch, frozen_clock: FrozenClock
) -> None:
    from chalicelib.errors import RateLimited
    from chalicelib.services.auth import limit_address

    # GIVEN a limit of 3 sign-ins per address and minute
    settings(monkeypatch, login_per_ip_per_minute=3)
    frozen_clock.at(0)
    # WHEN one client rotates through addresses of its /64
    for host in ("::1", "::2", ":a1b2:c3d4:e5f6:789"):
        limit_address("login", f"2001:db8:77:1{host}")
    # THEN the fourth is refused like a fourth attempt from one address
    with pytest.raises(RateLimited):
        limit_address("login", "2001:db8:77:1:ffff:ffff:ffff:fffe")
    # AND the neighbouring /64 is another client; IPv4 addresses stay one each
    limit_address("login", "2001:db8:77:2::1")
    for _ in range(3):
        limit_address("login", "198.51.100.7")
    limit_address("login", "198.51.100.8")
    with pytest.raises(RateLimited):
        limit_address("login", "198.51.100.7")
