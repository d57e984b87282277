"""The inbound worker on moto: SES's S3 object + notification → the app's ``inbound_worker``.

``devstack.mail.receive`` stores the raw message and queues the notification
exactly as the local SMTP receiver does; the tests hand it to the worker as the
SQS event source would, then run the notify worker and read the outbox.
"""

from __future__ import annotations

import re
from email.message import EmailMessage
from typing import Any

import pytest

from chalicelib.domain import requests as rules
from tests.factories import test_phone
from tests.helpers import Api, form, jpeg

INBOUND = "hava-inbound"
NOMER = "nomer@hava.kz"
SECURITY = "security@hava.kz"


def letter(
    sender: str,
    *,
    to: str = NOMER,
    subject: str = "Изменить номер телефона",
    body: str = "",
    photos: int = 3,
    headers: dict[str, str] | None = None,
    extra: list[tuple[bytes, str, str, str]] | None = None,
) -> bytes:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message["Message-ID"] = f"<{abs(hash((sender, subject, body, photos)))}@example.kz>"
    for name, value in (headers or {}).items():
        message[name] = value
    message.set_content(body)
    names = ["front.jpg", "back.jpg", "selfie.jpg"]
    for i in range(photos):
        message.add_attachment(jpeg(i), maintype="image", subtype="jpeg", filename=names[i])
    for data, maintype, subtype, name in extra or []:
        message.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
    return message.as_bytes()


class Inbound:
    def __init__(self, api: Api) -> None:
        from chalicelib.config import get_settings

        self.api = api
        self.s3 = api.aws.client("s3")
        self.sqs = api.aws.client("sqs")
        self.bucket = get_settings().documents_bucket
        self.url = self.sqs.get_queue_url(QueueName=INBOUND)["QueueUrl"]

    def send(
        self,
        raw: bytes,
        *,
        to: str = NOMER,
        source: str = "",
        verdict: str = "PASS",
        message_id: str | None = None,
    ) -> str:
        from devstack.mail import receive

        return receive(
            self.s3,
            self.sqs,
            raw,
            recipients=[to],
            source=source or "sender@example.kz",
            bucket=self.bucket,
            verdict=verdict,
            message_id=message_id,
        )

    def run(self) -> int:
        handled = 0
        for message in self.api.aws.queued(INBOUND):
            event = self.api.client.events.generate_sqs_event(
                message_bodies=[message["Body"]], queue_name=INBOUND
            )
            self.api.client.lambda_.invoke("inbound_worker", event)
            self.sqs.delete_message(QueueUrl=self.url, ReceiptHandle=message["ReceiptHandle"])
            handled += 1
        self.api.deliver()
        return handled

    def emails_to(self, address: str) -> list[dict[str, Any]]:
        return [
            m
            for m in self.api.aws.outbox()
            if m["channel"] == "email" and m["to"] == address.lower()
        ]


@pytest.fixture
def inbound(api: Api) -> Inbound:
    return Inbound(api)


def borrower(api: Api, n: int) -> tuple[dict[str, Any], str]:
    data = form(n)
    token = api.register(data)["token"]
    return data, token


def link_token(api: Api, phone: str) -> str:
    texts = api.sms_to(phone)
    tokens = [m.group(1) for t in texts if (m := re.search(r"/v1/phone-links/([\w-]+)", t))]
    assert tokens, texts
    return tokens[-1]


def test_phone_change_by_email_files_the_request_and_the_link_confirms(
    api: Api, inbound: Inbound
) -> None:
    data, token = borrower(api, 301)
    new_phone = test_phone(302)
    inbound.send(
        letter(data["email"], body=f"Прошу сменить номер.\nНовый номер: {new_phone}"),
        source=data["email"],
    )
    assert inbound.run() == 1

    (reply,) = inbound.emails_to(data["email"])
    items = api.get("/v1/requests", token).body["items"]
    (request,) = [i for i in items if i["type"] == rules.PHONE_CHANGE]
    assert request["channel"] == "email"
    assert request["status"] == rules.AWAITING_DOCUMENTS
    assert request["request_id"] in reply["text"]
    assert reply["headers"]["Auto-Submitted"] == "auto-replied"
    assert reply["headers"]["In-Reply-To"].startswith("<")
    assert reply["subject"].startswith("Re: ")
    assert [d["status"] for d in request["documents"]] == [rules.DOC_ACCEPTED] * 3

    # The photos are checked copies at fresh keys, and the uploads worker leaves them alone.
    keys = {
        o["Key"]
        for o in inbound.s3.list_objects_v2(
            Bucket=inbound.bucket, Prefix=f"requests/{request['request_id']}/"
        ).get("Contents", [])
    }
    assert {k.split("/")[2] for k in keys} == set(rules.DOCUMENTS)
    assert len(keys) == 3 and all(k.endswith(".checked") for k in keys)

    link = link_token(api, new_phone)
    # Opening the link shows a page; only its button (a POST) confirms.
    page = api.client.http.get(f"/v1/phone-links/{link}", headers={"Accept": "text/html"})
    assert page.status_code == 200
    assert b'method="post"' in page.body
    assert api.get(f"/v1/phone-links/{link}").status == 200
    confirmed = api.post(f"/v1/phone-links/{link}")
    assert confirmed.status == 200, confirmed.body
    again = api.post(f"/v1/phone-links/{link}")
    assert again.status >= 400
    (request,) = [
        i for i in api.get("/v1/requests", token).body["items"] if i["type"] == rules.PHONE_CHANGE
    ]
    assert request["status"] == rules.IN_REVIEW
    assert request["phone_confirmed"] is True


def test_same_message_twice_files_one_request_and_one_reply(api: Api, inbound: Inbound) -> None:
    data, token = borrower(api, 311)
    raw = letter(data["email"], body=f"Новый номер {test_phone(312)}")
    inbound.send(raw, source=data["email"], message_id="ses-duplicate-1")
    inbound.send(raw, source=data["email"], message_id="ses-duplicate-1")
    inbound.run()
    items = api.get("/v1/requests", token).body["items"]
    assert len([i for i in items if i["type"] == rules.PHONE_CHANGE]) == 1
    assert len(inbound.emails_to(data["email"])) == 1


@pytest.mark.parametrize(
    ("photos", "body", "missing"),
    [
        (2, "Новый номер {phone}", "селфи"),
        (3, "Номер не скажу", "новый номер"),
    ],
)
def test_missing_parts_are_named_and_nothing_is_filed(
    api: Api, inbound: Inbound, photos: int, body: str, missing: str
) -> None:
    data, token = borrower(api, 321 + photos)
    inbound.send(
        letter(data["email"], body=body.format(phone=test_phone(330)), photos=photos),
        source=data["email"],
    )
    inbound.run()
    (reply,) = inbound.emails_to(data["email"])
    assert missing in reply["text"]
    assert "не хватает" in reply["text"]
    assert api.get("/v1/requests", token).body["items"] == []


def test_heic_is_answered_with_advice(api: Api, inbound: Inbound) -> None:
    data, _token = borrower(api, 341)
    heic = b"\x00\x00\x00\x18ftypheic" + b"\x00" * 64
    inbound.send(
        letter(
            data["email"],
            body=f"Новый номер {test_phone(342)}",
            photos=2,
            extra=[(heic, "image", "heic", "IMG_0001.HEIC")],
        ),
        source=data["email"],
    )
    inbound.run()
    (reply,) = inbound.emails_to(data["email"])
    assert "HEIC" in reply["text"] and "JPEG" in reply["text"]


@pytest.mark.parametrize("case", ["failing_verdicts", "unknown_sender"])
def test_untrusted_mail_creates_nothing_and_gets_the_neutral_reply(
    api: Api, inbound: Inbound, case: str
) -> None:
    data, token = borrower(api, 351)
    sender = data["email"] if case == "failing_verdicts" else "stranger@example.kz"
    inbound.send(
        letter(sender, body=f"Новый номер {test_phone(352)}"),
        source=sender,
        verdict="FAIL" if case == "failing_verdicts" else "PASS",
    )
    inbound.run()
    (reply,) = inbound.emails_to(sender)
    assert "Если этот адрес принадлежит личному кабинету" in reply["text"]
    assert api.get("/v1/requests", token).body["items"] == []
    assert not api.sms_to(test_phone(352))


def test_neutral_reply_is_the_same_for_known_and_unknown_addresses(
    api: Api, inbound: Inbound
) -> None:
    data, _ = borrower(api, 356)
    inbound.send(letter(data["email"], body="x"), source=data["email"], verdict="FAIL")
    inbound.send(letter("nobody@example.kz", body="x"), source="nobody@example.kz")
    inbound.run()
    (known,) = inbound.emails_to(data["email"])
    (unknown,) = inbound.emails_to("nobody@example.kz")
    assert known["text"] == unknown["text"] and known["subject"] == unknown["subject"]


@pytest.mark.parametrize(
    ("headers", "source"),
    [
        ({"Auto-Submitted": "auto-replied"}, None),
        ({"Precedence": "bulk"}, None),
        ({}, "MAILER-DAEMON@example.kz"),
    ],
)
def test_automatic_mail_gets_no_reply(
    api: Api, inbound: Inbound, headers: dict[str, str], source: str | None
) -> None:
    data, token = borrower(api, 361)
    inbound.send(
        letter(data["email"], body=f"Новый номер {test_phone(362)}", headers=headers),
        source=source or data["email"],
    )
    inbound.run()
    assert inbound.emails_to(data["email"]) == []
    assert api.get("/v1/requests", token).body["items"] == []


def test_replies_are_rate_limited_per_address(api: Api, inbound: Inbound) -> None:
    for i in range(5):
        inbound.send(letter("spammer@example.kz", body=f"письмо {i}"), source="spammer@example.kz")
    inbound.run()
    assert len(inbound.emails_to("spammer@example.kz")) == 3


def test_break_in_report_from_the_registered_address_ends_every_session(
    api: Api, inbound: Inbound
) -> None:
    data, token = borrower(api, 371)
    assert api.get("/v1/me", token).status == 200
    inbound.send(
        letter(data["email"], to=SECURITY, subject="Взлом", body="Меня взломали", photos=0),
        to=SECURITY,
        source=data["email"],
    )
    inbound.run()
    assert api.get("/v1/me", token).status == 401
    login = api.login(data["phone"])
    assert login.status == 403 and login.error["code"] == "password_recovery_required"
    (reply,) = inbound.emails_to(data["email"])
    assert "сеансы" in reply["text"]


def test_break_in_report_from_anyone_else_is_the_anonymous_report(
    api: Api, inbound: Inbound
) -> None:
    _data, token = borrower(api, 381)
    inbound.send(
        letter("helper@example.kz", to=SECURITY, subject="Взлом", body="Кабинет взломан", photos=0),
        to=SECURITY,
        source="helper@example.kz",
    )
    inbound.run()
    assert api.get("/v1/me", token).status == 200  # nothing ended on an unproven word
    (reply,) = inbound.emails_to("helper@example.kz")
    assert "Если этот адрес принадлежит личному кабинету" in reply["text"]


def test_a_kazakh_account_gets_kazakh_replies_and_link_sms(api: Api, inbound: Inbound) -> None:
    data, token = borrower(api, 361)
    reply = api.call("PUT", "/v1/me/language", {"language": "kk"}, token=token)
    assert reply.status == 200
    heic = b"\x00\x00\x00\x18ftypheic" + b"\x00" * 64
    inbound.send(
        letter(data["email"], body="", photos=2, extra=[(heic, "image", "heic", "IMG_1.HEIC")]),
        source=data["email"],
    )
    inbound.run()
    (missing,) = inbound.emails_to(data["email"])
    assert missing["text"].startswith("Сәлеметсіз бе!\n\nТелефон нөмірін өзгерту өтінімін")
    assert "— хат мәтінінде жаңа ұялы телефон нөмірі (+7 7XX XXX XX XX)" in missing["text"]
    assert (
        "«IMG_1.HEIC» файлы қабылданбады: HEIC/HEIF пішіміне қолдау көрсетілмейді."
        in (missing["text"])
    )
    new_phone = test_phone(362)
    inbound.send(letter(data["email"], body=f"Жаңа нөмір {new_phone}"), source=data["email"])
    inbound.run()
    filed = inbound.emails_to(data["email"])[-1]
    assert "Телефон нөмірін өзгерту өтінімі қабылданды" in filed["text"]
    (sms,) = api.sms_to(new_phone)
    assert sms.startswith("Hava: бұл нөмірді кабинетіңіз үшін растау үшін мына сілтемені ашыңыз: ")
    assert "/v1/phone-links/" in sms and "сағат жарамды" in sms
