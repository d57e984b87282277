"""Inbound e-mail, pure parts: subject, new number, MIME walk, automatic mail, trust."""

from __future__ import annotations

from email.message import EmailMessage
from email.mime.base import MIMEBase
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import formataddr

import pytest

from chalicelib.domain import inbound_mail as mail
from tests.factories import test_phone


@pytest.mark.parametrize(
    "subject",
    [
        "Изменить номер телефона",
        "изменить НОМЕР телефона",
        "Re: Изменить номер телефона",
        "RE: Fwd: FW:  Изменить   номер телефона",
        "Отв: Изменить номер телефона!",
        "Телефон нөмірін өзгерту",
        "Fwd: ТЕЛЕФОН НӨМІРІН ӨЗГЕРТУ",
        "«Изменить номер телефона»",
    ],
)
def test_subject_matches_tolerantly(subject: str) -> None:
    assert mail.match_subject(subject) == mail.PHONE_CHANGE


@pytest.mark.parametrize("subject", ["", None, "Привет", "Изменить адрес", "номер телефона"])
def test_other_subjects_do_not_match(subject: str | None) -> None:
    assert mail.match_subject(subject) is None


def test_number_is_parsed_in_any_usual_spelling() -> None:
    phone = test_phone(7)  # +7700000xxxx
    local = "8 " + phone[2:5] + " " + phone[5:8] + " " + phone[8:10] + " " + phone[10:]
    assert mail.parse_new_number(f"Здравствуйте!\nМой новый номер: {local}\nСпасибо") == phone
    assert mail.parse_new_number(f"номер {phone}") == phone


def test_the_number_marked_new_wins_over_the_old_one() -> None:
    old, new = test_phone(1), test_phone(2)
    text = f"Старый номер {old} потерян.\nНовый номер: {new}"
    assert mail.parse_new_number(text) == new
    assert mail.parse_new_number(f"Жаңа нөмір: {new}\nескі {old}") == new


@pytest.mark.parametrize(
    "text", ["", "без номера", "+7 727 000 00 00 (городской)", "+7 912 345 67 89"]
)
def test_no_kazakh_mobile_number_gives_none(text: str) -> None:
    assert mail.parse_new_number(text) is None


def _nested(body_charset: str) -> bytes:
    outer = MIMEMultipart("mixed")
    outer["From"] = formataddr(("Борроуер", "Borrower1@Example.KZ"), charset="utf-8")
    outer["Subject"] = "Re: Изменить номер телефона"
    outer["Message-ID"] = "<abc@example.kz>"
    alternative = MIMEMultipart("alternative")
    alternative.attach(MIMEText("Новый номер: +7 700 000 00 02", "plain", body_charset))
    alternative.attach(MIMEText("<p>Новый номер</p>", "html", "utf-8"))
    related = MIMEMultipart("related")
    related.attach(alternative)
    inline = MIMEBase("image", "jpeg")
    inline.set_payload(b"\xff\xd8\xffinline")
    from email import encoders

    encoders.encode_base64(inline)
    inline.add_header("Content-Disposition", "inline", filename="лицевая.jpg")
    related.attach(inline)
    outer.attach(related)
    for name in ("оборот.png", "selfie.jpg"):
        part = MIMEBase("application", "octet-stream")
        part.set_payload(b"data-" + name.encode())
        encoders.encode_base64(part)
        part.add_header("Content-Disposition", "attachment", filename=name)
        outer.attach(part)
    return outer.as_bytes()


@pytest.mark.parametrize("charset", ["koi8-r", "windows-1251", "utf-8"])
def test_mime_walk_finds_body_and_attachments_in_nested_parts(charset: str) -> None:
    parsed = mail.read(_nested(charset), "borrower1@example.kz")
    assert "Новый номер" in parsed.body
    assert mail.parse_new_number(parsed.body) == "+77000000002"
    assert [a.filename for a in parsed.attachments] == ["лицевая.jpg", "оборот.png", "selfie.jpg"]
    assert parsed.attachments[0].data == b"\xff\xd8\xffinline"
    assert parsed.from_address == "borrower1@example.kz"
    assert parsed.message_id == "<abc@example.kz>"
    assert not parsed.automatic and not parsed.too_many_attachments
    assigned = mail.assign_documents([a.filename for a in parsed.attachments], mail_docs())
    assert assigned == {"id_front": 0, "id_back": 1, "selfie": 2}


def mail_docs() -> tuple[str, ...]:
    return ("id_front", "id_back", "selfie")


def test_unnamed_photos_are_assigned_in_order() -> None:
    assert mail.assign_documents(["a.jpg", "b.jpg", "c.jpg"], mail_docs()) == {
        "id_front": 0,
        "id_back": 1,
        "selfie": 2,
    }
    assert mail.assign_documents(["my_selfie.jpg", "x.jpg"], mail_docs()) == {
        "selfie": 0,
        "id_front": 1,
    }


def test_more_than_ten_attachments_is_flagged() -> None:
    message = EmailMessage()
    message["From"] = "a@example.kz"
    message.set_content("текст")
    for i in range(12):
        message.add_attachment(b"x", maintype="image", subtype="jpeg", filename=f"{i}.jpg")
    parsed = mail.read(message.as_bytes(), "a@example.kz")
    assert len(parsed.attachments) == mail.MAX_ATTACHMENTS
    assert parsed.too_many_attachments


@pytest.mark.parametrize(
    ("headers", "return_path", "automatic"),
    [
        ({}, "a@example.kz", False),
        ({"Auto-Submitted": "no"}, "a@example.kz", False),
        ({"Auto-Submitted": "auto-replied"}, "a@example.kz", True),
        ({"Auto-Submitted": "auto-generated"}, "a@example.kz", True),
        ({"Precedence": "bulk"}, "a@example.kz", True),
        ({"Precedence": "list"}, "a@example.kz", True),
        ({"Precedence": "junk"}, "a@example.kz", True),
        ({"List-Id": "<list.example.kz>"}, "a@example.kz", True),
        ({}, "", True),
        ({}, "<>", True),
        ({}, "MAILER-DAEMON@example.kz", True),
    ],
)
def test_automatic_mail_is_recognised(
    headers: dict[str, str], return_path: str, automatic: bool
) -> None:
    message = EmailMessage()
    message["From"] = "a@example.kz"
    for name, value in headers.items():
        message[name] = value
    message.set_content("текст")
    assert mail.is_automatic(message, return_path) is automatic


@pytest.mark.parametrize(
    ("spf", "dkim", "dmarc", "trusted"),
    [
        ("PASS", "PASS", "PASS", True),
        ("PASS", "FAIL", "GRAY", True),
        ("FAIL", "PASS", "PASS", True),
        ("FAIL", "FAIL", "PASS", False),
        ("PASS", "PASS", "FAIL", False),
        ("GRAY", "GRAY", "GRAY", False),
    ],
)
def test_verdicts(spf: str, dkim: str, dmarc: str, trusted: bool) -> None:
    receipt = {
        "spfVerdict": {"status": spf},
        "dkimVerdict": {"status": dkim},
        "dmarcVerdict": {"status": dmarc},
    }
    assert mail.verdicts_pass(receipt) is trusted
    assert mail.verdicts_pass({}) is False
