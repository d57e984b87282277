"""The e-mail channel end to end: SMTP to the local stack's receiver (it plays SES).

The seed's letter — to nomer@hava.kz, from the registered address, subject
«Изменить номер телефона», the new number and three photos — becomes a request
in the borrower's list and, once the SMS link confirms the number, in the
support desk with its three photos. Untrusted, incomplete, automatic and
duplicate mail does what README "E-mail channel" says.
"""

from __future__ import annotations

import re
import smtplib
import time
from collections.abc import Callable
from email.message import EmailMessage
from typing import Any

import pytest
import requests

from tests.e2e.conftest import LocalStack
from tests.e2e.test_phone_change_journey import STAFF_PASSWORD, create_staff, jpeg, wait_for
from tests.factories import test_phone
from tests.helpers import PASSWORD, form

pytestmark = pytest.mark.e2e
NOMER = "nomer@hava.kz"


def letter(
    sender: str,
    body: str,
    *,
    photos: int = 3,
    subject: str = "Изменить номер телефона",
    headers: dict[str, str] | None = None,
) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = NOMER
    message["Subject"] = subject
    for name, value in (headers or {}).items():
        message[name] = value
    message.set_content(body)
    for i, name in enumerate(["front.jpg", "back.jpg", "selfie.jpg"][:photos]):
        message.add_attachment(jpeg(i + 1), maintype="image", subtype="jpeg", filename=name)
    return message


def send(stack: LocalStack, message: EmailMessage, envelope_from: str | None = None) -> None:
    with smtplib.SMTP("127.0.0.1", stack.smtp_port, timeout=30) as smtp:
        smtp.send_message(message, from_addr=envelope_from)


def register(stack: LocalStack, n: int) -> tuple[dict[str, Any], dict[str, str]]:
    http = requests.Session()
    data = form(n)
    started = http.post(f"{stack.base_url}/v1/registrations", json=data, timeout=30).json()
    code = stack.latest_code(data["phone"])
    done = http.post(
        f"{stack.base_url}/v1/registrations/{started['registration_id']}/confirm",
        json={"code": code},
        timeout=30,
    )
    assert done.status_code == 201, done.text
    return data, {"Authorization": f"Bearer {done.json()['token']}"}


def emails_to(stack: LocalStack, address: str) -> list[dict[str, Any]]:
    return [m for m in stack.outbox() if m.get("channel") == "email" and m["to"] == address]


def wait_email(stack: LocalStack, address: str, count: int = 1) -> list[dict[str, Any]]:
    return wait_for(lambda: (found := emails_to(stack, address)) and len(found) >= count and found)


def my_requests(stack: LocalStack, auth: dict[str, str]) -> list[dict[str, Any]]:
    reply = requests.get(f"{stack.base_url}/v1/requests", headers=auth, timeout=10)
    assert reply.status_code == 200, reply.text
    items: list[dict[str, Any]] = reply.json()["items"]
    return items


def test_seed_letter_becomes_a_request_in_the_list_and_the_desk(local_stack: LocalStack) -> None:
    assert str(local_stack.smtp_port) in local_stack.output()  # printed at start
    data, auth = register(local_stack, 901)
    new_phone = test_phone(902)
    send(local_stack, letter(data["email"], f"Здравствуйте!\nНовый номер: {new_phone}"))

    (reply,) = wait_email(local_stack, data["email"])
    (request,) = wait_for(lambda: my_requests(local_stack, auth))
    assert request["channel"] == "email" and request["request_id"] in reply["text"]
    assert reply["headers"]["Auto-Submitted"] == "auto-replied"

    # The one-time link in the SMS to the new number confirms it.
    sms = wait_for(
        lambda: [
            m for m in local_stack.outbox() if m.get("to") == new_phone and "/v1/" in m["text"]
        ]
    )
    token = re.search(r"/v1/phone-links/([\w-]+)", sms[-1]["text"])
    assert token is not None
    link = f"{local_stack.base_url}/v1/phone-links/{token.group(1)}"
    page = requests.get(link, headers={"Accept": "text/html"}, timeout=10)
    assert page.status_code == 200 and "Подтвердить" in page.text
    assert requests.post(link, timeout=10).status_code == 200
    assert requests.post(link, timeout=10).status_code == 422  # single use

    (request,) = my_requests(local_stack, auth)
    assert request["status"] == "in_review"

    totp = create_staff(local_stack, "e2e.mail.support", "support")
    staff = requests.post(
        f"{local_stack.base_url}/admin/v1/sessions",
        json={"username": "e2e.mail.support", "password": STAFF_PASSWORD, "totp": totp.now()},
        timeout=30,
    ).json()["token"]
    staff_auth = {"Authorization": f"Bearer {staff}"}
    review = requests.get(
        f"{local_stack.base_url}/admin/v1/requests/{request['request_id']}",
        headers=staff_auth,
        timeout=10,
    )
    assert review.status_code == 200, review.text
    assert review.json()["channel"] == "email"
    links = [d["download_url"] for d in review.json()["documents"]]
    assert len(links) == 3
    for url in links:
        assert requests.get(url, timeout=10).content[:2] == b"\xff\xd8"

    # Staff say which photo is which (audited).
    relabel = requests.post(
        f"{local_stack.base_url}/admin/v1/requests/{request['request_id']}/documents",
        json={"documents": {"id_front": "selfie", "selfie": "id_front"}},
        headers=staff_auth,
        timeout=10,
    )
    assert relabel.status_code == 200, relabel.text
    assert PASSWORD  # the borrower's password never travels by mail


def test_untrusted_incomplete_automatic_and_duplicate_mail(local_stack: LocalStack) -> None:
    data, auth = register(local_stack, 911)

    # An unknown sender: the neutral reply, nothing created.
    send(local_stack, letter("stranger@example.kz", f"Новый номер {test_phone(912)}"))
    (neutral,) = wait_email(local_stack, "stranger@example.kz")
    assert "Если этот адрес принадлежит личному кабинету" in neutral["text"]

    # A missing photo, then a missing number: exactly what is missing.
    send(local_stack, letter(data["email"], f"Новый номер {test_phone(913)}", photos=2))
    first = wait_email(local_stack, data["email"])
    assert "селфи" in first[-1]["text"]
    send(local_stack, letter(data["email"], "без номера", subject="Re: Изменить номер телефона"))
    second = wait_email(local_stack, data["email"], 2)
    assert "новый номер" in second[-1]["text"]

    # An auto-reply: no answer at all.
    send(
        local_stack,
        letter(data["email"], "Я в отпуске", headers={"Auto-Submitted": "auto-replied"}),
    )
    time.sleep(3)
    assert len(emails_to(local_stack, data["email"])) == 2
    assert my_requests(local_stack, auth) == []

    # The same SES notification delivered twice (SQS is at-least-once): one request, one reply.
    import boto3

    from devstack.mail import receive

    def aws(service: str) -> Any:
        return boto3.client(
            service,
            endpoint_url=local_stack.aws_endpoint,
            region_name="eu-central-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )

    raw = letter(data["email"], f"Новый номер {test_phone(914)}").as_bytes()
    for _ in range(2):
        receive(
            aws("s3"),
            aws("sqs"),
            raw,
            recipients=[NOMER],
            source=data["email"],
            bucket="hava-documents-local",
            message_id="e2e-same-ses-message",
        )
    wait_for(lambda: my_requests(local_stack, auth))
    wait_email(local_stack, data["email"], 3)
    time.sleep(3)
    assert len(my_requests(local_stack, auth)) == 1
    assert len(emails_to(local_stack, data["email"])) == 3


def test_failing_verdicts_create_nothing(spawn_local_stack: Callable[..., LocalStack]) -> None:
    stack = spawn_local_stack(HAVA_LOCAL_MAIL_VERDICTS="fail")
    data, auth = register(stack, 921)
    send(stack, letter(data["email"], f"Новый номер {test_phone(922)}"))
    (reply,) = wait_email(stack, data["email"])
    assert "Если этот адрес принадлежит личному кабинету" in reply["text"]
    assert my_requests(stack, auth) == []
