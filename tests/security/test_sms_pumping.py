"""Issue 9 §3: phone-change probing, notice floods and client text in SMS, replayed over HTTP."""

from __future__ import annotations

import re
import statistics
import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.e2e.conftest import LocalStack
from tests.factories import test_phone
from tests.helpers import PASSWORD, shape
from tests.security.conftest import Attacker, stack_with

pytestmark = pytest.mark.e2e

#: The attack sent 2 100 probes against a global budget of 2 000/hour. Scaled down
#: a hundred times: 100 probes against 20/hour, the daily cap per account at 5.
PROBES = 100
GLOBAL_PER_HOUR = 20
ATTEMPTS_PER_DAY = 5


@pytest.fixture(scope="module")
def pumping_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    stack = stack_with(
        tmp_path_factory,
        "pumping-stack",
        HAVA_SMS_GLOBAL_PER_HOUR=str(GLOBAL_PER_HOUR),
        HAVA_PHONE_CHANGE_ATTEMPTS_PER_DAY=str(ATTEMPTS_PER_DAY),
    )
    yield stack
    stack.stop()


def change_phone(who: Attacker, token: str, phone: str) -> tuple[Any, float]:
    began = time.perf_counter()
    reply = who.post(
        "/v1/phone-change-requests", {"password": PASSWORD, "new_phone": phone}, token=token
    )
    return reply, time.perf_counter() - began


def test_phone_change_probing_is_bounded_and_says_nothing(pumping_stack: LocalStack) -> None:
    who = Attacker(pumping_stack)
    # GIVEN a borrower of record and six accounts of the attacker
    owner, _ = who.register()
    tokens = [who.register()[1] for _ in range(6)]

    # WHEN three accounts ask for the owner's number and three for free numbers,
    # taken and free in turn (a busy machine slows both alike)
    taken: list[tuple[Any, float]] = []
    free: list[tuple[Any, float]] = []
    for n in range(3):
        taken.append(change_phone(who, tokens[n], owner["phone"]))
        free.append(change_phone(who, tokens[3 + n], test_phone(6000 + n)))

    # THEN every answer is 201 with the same body but for ids and dates
    for reply, _ in taken + free:
        assert reply.status_code == 201, reply.text
    assert {repr(shape(r.json())) for r, _ in taken + free} == {repr(shape(taken[0][0].json()))}
    assert {r.json()["status"] for r, _ in taken + free} == {"awaiting_documents"}
    # AND about the same time (the same reads, writes and one queued SMS)
    taken_ms = statistics.median(t for _, t in taken) * 1000
    free_ms = statistics.median(t for _, t in free) * 1000
    assert abs(taken_ms - free_ms) < max(100.0, 0.5 * free_ms), (taken_ms, free_ms)
    # AND the owner was told by SMS (no code in it), and nobody ever got a code for it
    who.wait_for_queue()
    told = [m["text"] for m in who.messages_to(owner["phone"])]
    notices = [t for t in told if "нельзя привязать к другому кабинету" in t]
    assert len(notices) == 3, told
    assert not any(re.search(r"\d{6}", t) for t in notices)

    # WHEN one account from one address fires PROBES more, half at the taken number
    prober = tokens[0]
    global_before = who.throttle_hits("sms-global#w3600#")
    replies = []
    for n in range(PROBES):
        number = owner["phone"] if n % 2 else test_phone(6100 + n)
        replies.append(change_phone(who, prober, number)[0])

    # THEN every probe was refused, first by the open request, then by the daily cap,
    # before any lookup: taken and free numbers got the very same answers
    statuses = [r.status_code for r in replies]
    assert set(statuses) == {409, 429}, statuses
    assert statuses.count(409) == ATTEMPTS_PER_DAY - 1
    by_kind: dict[bool, set[tuple[int, str]]] = {True: set(), False: set()}
    for n, r in enumerate(replies):
        by_kind[bool(n % 2)].add((r.status_code, r.json()["error"]["code"]))
    assert by_kind[True] == by_kind[False]
    # AND the refused probes charged nothing to the global budget
    assert who.throttle_hits("sms-global#w3600#") == global_before
    assert global_before < GLOBAL_PER_HOUR

    # AND a bystander still registers (code sent, account made)
    _, token = who.register()
    assert who.get("/v1/me", token=token).status_code == 200


def test_a_flood_of_sign_ins_and_password_changes_stays_within_the_notice_budget(
    attacker: Attacker,
) -> None:
    # GIVEN a borrower whose password the attacker knows
    victim, _ = attacker.register()
    attacker.wait_for_queue()
    before = len(attacker.messages_to(victim["phone"]))
    # WHEN 15 sign-ins with different User-Agents (some carrying the attacker's own words)
    agents = [
        f"Mozilla/5.0 (Windows NT 10.0; rv:12{n}.0) Gecko/20100101 Firefox/12{n}.0"
        for n in range(5)
    ]
    agents += [
        f"Mozilla/5.0 (Linux; Android 14) AppleWebKit/537.36 Chrome/12{n}.0 Mobile Safari/537.36"
        for n in range(5)
    ]
    agents += [f"Hava: WIN {n} - call +77001234567 hava-bonus.example" for n in range(3)]
    agents += [f"Hava: ВЫИГРЫШ {n}, позвоните +77001234567" for n in range(2)]
    token = ""
    for agent in agents:
        reply = attacker.sign_in(victim["iin"], user_agent=agent)
        assert reply.status_code == 201, reply.text
        token = reply.json()["token"]
    # AND six password changes
    password = PASSWORD
    for n in range(6):
        new = f"{PASSWORD}-{n}"
        changed = attacker.post(
            "/v1/me/password",
            {"current_password": password, "new_password": new, "new_password_confirm": new},
            token=token,
        )
        assert changed.status_code == 200, changed.text
        password = new
    # THEN the number got at most the hourly notice budget (4), device notices merged
    attacker.wait_for_queue()
    sent = [m["text"] for m in attacker.messages_to(victim["phone"])[before:]]
    assert 1 <= len(sent) <= 4, sent
    device = [t for t in sent if "нового устройства" in t]
    assert len({t.split("(")[1].split(",")[0] for t in device}) == len(device)
    # AND none of the attacker's words went out, to anyone
    everything = " ".join(
        m.get("text", "") + str(m.get("subject", "")) for m in attacker.stack.outbox()
    )
    for word in ("WIN", "ВЫИГРЫШ", "77001234567", "hava-bonus", "Gecko", "AppleWebKit"):
        assert word not in everything


def test_a_user_agent_of_arbitrary_text_never_reaches_a_message(attacker: Attacker) -> None:
    victim, _ = attacker.register()
    payload = "Hava: zaim odobren, perevedite 5000 KZT na kartu 4400 4300 1234 5678"
    assert attacker.sign_in(victim["phone"], user_agent=payload).status_code == 201
    attacker.wait_for_queue()
    notices = [
        m["text"] for m in attacker.messages_to(victim["phone"]) if "устройства" in m["text"]
    ]
    assert notices, "the new-device notice was not sent"
    assert "(браузер, неизвестная система, " in notices[-1]
    assert all("4400" not in m.get("text", "") for m in attacker.stack.outbox())
