"""The agreement template and its PDF (Russian and Kazakh, embedded font, stable bytes)."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from chalicelib.agreements import (
    FONT_BOLD,
    FONT_REGULAR,
    AgreementData,
    Lender,
    agreement_text,
    document_sha256,
    render_agreement_pdf,
)
from chalicelib.config import get_settings
from chalicelib.domain.iban import parse_payout_account
from tests.factories import valid_iin

D = Decimal
IIN = valid_iin(age_years=30, serial=7, today=date(2026, 12, 1))
NAME = "Әлия Нұрланқызы Серікбаева"


def _data() -> AgreementData:
    return AgreementData(
        number="HV-2026-000123",
        version="2026-12",
        document_date=date(2026, 12, 1),
        lender=Lender.from_settings(get_settings()),
        borrower_name=NAME,
        borrower_iin=IIN,
        payout=parse_payout_account("KZ11601A000000001234"),
        amount=50_000,
        term_days=30,
        daily_rate=D("0.0028"),
        gesv_percent=D("152.3"),
        interest=D("4200.00"),
        total=D("54200.00"),
        due_date=date(2026, 12, 31),
        penalty_daily_rate=D("0.002"),
    )


@pytest.fixture(scope="module")
def data() -> AgreementData:
    return _data()


@pytest.fixture(scope="module")
def pdfs(data: AgreementData) -> dict[str, bytes]:
    return {language: render_agreement_pdf(data, language) for language in ("ru", "kk")}


def pdf_text(pdf: bytes) -> str:
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(pdf))
    # Collapse the justified spacing so phrases match across word gaps.
    return " ".join(" ".join(page.extract_text() or "" for page in reader.pages).split())


def test_russian_text_has_the_terms(data: AgreementData) -> None:
    text = agreement_text(data, "ru")
    for phrase in (
        "ДОГОВОР О ПРЕДОСТАВЛЕНИИ МИКРОКРЕДИТА № HV-2026-000123",
        "Сумма микрокредита: 50 000 ₸.",
        "Срок: 30 дней.",
        "Ставка вознаграждения: 0,28 % в день.",
        "(ГЭСВ): 152,3 %.",
        "Итого к возврату: 54 200 ₸.",
        "Дата погашения: 31.12.2026.",
        "неустойку в размере 0,2 % от просроченной суммы за каждый день просрочки",
        "не превышает 25 000 ₸ — 50 % суммы микрокредита",
        "После 90 дней просрочки неустойка и вознаграждение не начисляются.",
        "не более 2 раз, каждый раз не более чем на 45 дней",
        "1) задолженность по основному долгу; 2) задолженность по вознаграждению; 3) неустойка",
        "БИН 260140000015",
        "IBAN KZ72 6010 0000 0000 0000",
        "KZ11 601A 0000 0000 1234",
        "БИК HSBKKZKX",
        "Время подписания: не подписан (оферта).",
        NAME,
    ):
        assert phrase in text, phrase
    # The IIN is masked, never printed whole.
    assert IIN not in text
    assert f"{IIN[:4]}••••••{IIN[10:]}" in text


def test_kazakh_text_is_kazakh(data: AgreementData) -> None:
    text = agreement_text(data, "kk")
    for phrase in (
        "МИКРОКРЕДИТ БЕРУ ТУРАЛЫ ШАРТ",
        "Микрокредит сомасы: 50 000 ₸.",
        "Жылдық тиімді сыйақы мөлшерлемесі (ЖТСМ): 152,3 %.",
        "тұрақсыздық айыбын төлейді",
        "Қарыз алушы",
        "Қол қойылған уақыты: қол қойылмаған (оферта).",
    ):
        assert phrase in text, phrase
    assert set("әғқңөұүі") <= set(text.lower())


def test_signed_copy_shows_time_and_offer_hash(data: AgreementData) -> None:
    signed = replace(
        data,
        signed_at=datetime(2026, 12, 1, 9, 5, 7, tzinfo=UTC),
        offer_sha256="ab" * 32,
    )
    text = agreement_text(signed, "ru")
    assert "Время подписания: 01.12.2026 14:05:07 (UTC+5)." in text
    assert "ab" * 32 in text


def test_payment_reference(data: AgreementData) -> None:
    assert "В назначении платежа укажите: HV-2026-000123." in agreement_text(data, "ru")
    text = agreement_text(replace(data, payment_reference="HV-7Q4K-2M"), "kk")
    assert "Төлем мақсатында көрсетіңіз: HV-7Q4K-2M." in text


def test_unknown_language_or_version(data: AgreementData) -> None:
    with pytest.raises(ValueError):
        agreement_text(data, "en")
    with pytest.raises(ValueError):
        agreement_text(replace(data, version="1999-01"), "ru")


def test_pdf_parses_and_contains_the_key_phrases(pdfs: dict[str, bytes]) -> None:
    ru = pdf_text(pdfs["ru"])
    kk = pdf_text(pdfs["kk"])
    assert pdfs["ru"].startswith(b"%PDF-")
    assert "ДОГОВОР О ПРЕДОСТАВЛЕНИИ МИКРОКРЕДИТА" in ru
    assert "50 000 ₸" in ru
    assert NAME in ru
    assert "МИКРОКРЕДИТ БЕРУ ТУРАЛЫ ШАРТ" in kk
    assert "тұрақсыздық айыбы" in kk
    assert "50 000 ₸" in kk
    assert NAME in kk


def test_pdf_embeds_the_font(pdfs: dict[str, bytes]) -> None:
    assert b"/FontFile2" in pdfs["kk"]
    assert b"DejaVuSans" in pdfs["kk"]


def test_same_input_same_bytes(data: AgreementData, pdfs: dict[str, bytes]) -> None:
    again = render_agreement_pdf(data, "ru")
    assert again == pdfs["ru"]
    assert document_sha256(again) == document_sha256(pdfs["ru"])
    assert len(document_sha256(again)) == 64
    assert pdfs["ru"] != pdfs["kk"]


def test_the_font_has_every_kazakh_letter() -> None:
    from fontTools.ttLib import TTFont

    kazakh = (
        "ӘәҒғҚқҢңӨөҰұҮүҺһІі" + "АБВГДЕЁЖЗИЙКЛМНОПРСТУФХЦЧШЩЪЫЬЭЮЯабвгдеёжзийклмнопрстуфхцчшщъыьэюя"
    )
    for path in (FONT_REGULAR, FONT_BOLD):
        cmap = TTFont(str(path)).getBestCmap()
        missing = [c for c in kazakh + "₸«»—№•" if ord(c) not in cmap]
        assert not missing, (path.name, missing)


_OTHER_PROCESS = """
import sys
from tests.unit.test_agreement import document_sha256, render_agreement_pdf, _data
sys.stdout.write(document_sha256(render_agreement_pdf(_data(), "kk")))
"""


def test_same_bytes_in_another_process(pdfs: dict[str, bytes]) -> None:
    # Another interpreter with another hash seed: no set/dict order leaks into the PDF.
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    result = subprocess.run(
        [sys.executable, "-c", _OTHER_PROCESS],
        capture_output=True,
        text=True,
        env=env,
        check=True,
        timeout=120,
    )
    assert result.stdout == document_sha256(pdfs["kk"])
