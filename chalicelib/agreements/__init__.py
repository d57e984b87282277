"""The microcredit agreement: a versioned template in Russian and Kazakh, rendered to PDF.

``agreement_text`` fills the template of ``AgreementData.version`` (folder
``templates/<version>/<language>.txt``); ``render_agreement_pdf`` lays the same
text out with fpdf2 and the embedded DejaVu Sans font (it covers Cyrillic and
the Kazakh letters ә ғ қ ң ө ұ ү һ і). The output is deterministic: the PDF's
creation date is the document date from the data and its /ID is derived from
the content, so the same data always gives the same bytes and the same
``document_sha256``. Penalty, overpayment, extension, allocation and early
return clauses come from ``domain.regulation`` for the document date.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from chalicelib import clock
from chalicelib.domain import regulation
from chalicelib.domain.iban import PayoutAccount, format_iban, parse_payout_account
from chalicelib.domain.iin import mask_iin

if TYPE_CHECKING:
    from chalicelib.config import Settings

LANGUAGES = ("ru", "kk")
_HERE = Path(__file__).resolve().parent
TEMPLATES_DIR = _HERE / "templates"
FONT_REGULAR = _HERE / "fonts" / "DejaVuSans.ttf"
FONT_BOLD = _HERE / "fonts" / "DejaVuSans-Bold.ttf"

_ALLOCATION_LABELS = {
    "ru": {
        regulation.OVERDUE_PRINCIPAL: "задолженность по основному долгу",
        regulation.OVERDUE_INTEREST: "задолженность по вознаграждению",
        regulation.PENALTY: "неустойка",
        regulation.CURRENT_PRINCIPAL: "основной долг за текущий период",
        regulation.CURRENT_INTEREST: "вознаграждение, начисленное за текущий период",
        regulation.COSTS: "издержки Кредитора по получению исполнения",
    },
    "kk": {
        regulation.OVERDUE_PRINCIPAL: "негізгі борыш бойынша берешек",
        regulation.OVERDUE_INTEREST: "сыйақы бойынша берешек",
        regulation.PENALTY: "тұрақсыздық айыбы",
        regulation.CURRENT_PRINCIPAL: "ағымдағы кезеңдегі негізгі борыш",
        regulation.CURRENT_INTEREST: "ағымдағы кезеңде есептелген сыйақы",
        regulation.COSTS: "Кредитордың орындауды алу жөніндегі шығындары",
    },
}
_NOT_SIGNED = {"ru": "не подписан (оферта)", "kk": "қол қойылмаған (оферта)"}
_PAGE = {"ru": "стр.", "kk": "бет"}


@dataclass(frozen=True)
class Lender:
    """The lender's details as printed in the agreement (from configuration)."""

    name_ru: str
    name_kk: str
    bin: str
    licence: str
    address_ru: str
    address_kk: str
    account: PayoutAccount

    @classmethod
    def from_settings(cls, settings: Settings) -> Lender:
        """The lender configured by ``HAVA_LENDER_*``; a bad IBAN fails loudly."""
        return cls(
            name_ru=settings.lender_name_ru,
            name_kk=settings.lender_name_kk,
            bin=settings.lender_bin,
            licence=settings.lender_licence,
            address_ru=settings.lender_address_ru,
            address_kk=settings.lender_address_kk,
            account=parse_payout_account(settings.lender_iban),
        )


@dataclass(frozen=True)
class AgreementData:
    """Everything one agreement shows. Money in tenge, rates as daily fractions.

    ``signed_at``/``offer_sha256`` are empty for the offer the borrower reads;
    the signed copy carries the time of the SMS signature and the SHA-256 of
    the offer PDF that was signed (a PDF cannot contain its own hash).
    """

    number: str
    version: str
    document_date: date
    lender: Lender
    borrower_name: str
    borrower_iin: str
    payout: PayoutAccount
    amount: int
    term_days: int
    daily_rate: Decimal
    gesv_percent: Decimal
    interest: Decimal
    total: Decimal
    due_date: date
    penalty_daily_rate: Decimal
    signed_at: datetime | None = None
    offer_sha256: str | None = None
    #: What the borrower writes in the transfer's purpose; the agreement number if empty.
    payment_reference: str | None = None


def _date(d: date) -> str:
    return d.strftime("%d.%m.%Y")


def _rate(daily: Decimal) -> str:
    return regulation.format_percent(daily * 100)


def _moment(moment: datetime | None, language: str) -> str:
    if moment is None:
        return _NOT_SIGNED[language]
    return moment.astimezone(clock.KZ_TZ).strftime("%d.%m.%Y %H:%M:%S (UTC+5)")


@lru_cache(maxsize=8)
def _template(version: str, language: str) -> str:
    if language not in LANGUAGES:
        raise ValueError(f"Unknown agreement language {language!r}; expected one of {LANGUAGES}.")
    path = TEMPLATES_DIR / version / f"{language}.txt"
    if not path.is_file():
        raise ValueError(f"No agreement template {version!r} in {language!r}.")
    return path.read_text(encoding="utf-8")


def _interest_free_clause(data: AgreementData, language: str) -> str:
    until = regulation.interest_free_until(data.document_date)
    if until is None:
        return ""
    days = (until - data.document_date).days
    if language == "ru":
        return (
            f"\n## Возврат без вознаграждения\nВ течение {days} календарных дней со дня "
            f"подписания договора (по {_date(until)} включительно) Заёмщик вправе вернуть "
            "всю сумму микрокредита без уплаты вознаграждения.\n"
        )
    return (
        f"\n## Сыйақысыз қайтару\nШартқа қол қойылған күннен бастап {days} күнтізбелік күн "
        f"ішінде ({_date(until)} қоса алғанда) Қарыз алушы микрокредиттің бүкіл сомасын "
        "сыйақы төлемей қайтаруға құқылы.\n"
    )


def agreement_text(data: AgreementData, language: str) -> str:
    """The filled template in ``language`` ("ru" or "kk"), lines marked ``#``/``##`` as headings."""
    template = _template(data.version, language)
    rules = regulation.rules_on(data.document_date)
    ru = language == "ru"
    lender = data.lender
    values = {
        "number": data.number,
        "payment_reference": data.payment_reference or data.number,
        "version": data.version,
        "document_date": _date(data.document_date),
        "lender_name": lender.name_ru if ru else lender.name_kk,
        "lender_bin": lender.bin,
        "lender_licence": lender.licence,
        "lender_address": lender.address_ru if ru else lender.address_kk,
        "lender_iban": format_iban(lender.account.iban),
        "lender_bank": lender.account.bank.name_ru if ru else lender.account.bank.name_kk,
        "lender_bic": lender.account.bank.bic,
        "borrower_name": data.borrower_name,
        "borrower_iin": mask_iin(data.borrower_iin),
        "payout_iban": format_iban(data.payout.iban),
        "payout_bank": data.payout.bank.name_ru if ru else data.payout.bank.name_kk,
        "payout_bic": data.payout.bank.bic,
        "amount": regulation.format_tenge(data.amount),
        "term_days": data.term_days,
        "term_days_word": regulation.plural_days_accusative(data.term_days),
        "daily_rate": _rate(data.daily_rate),
        "gesv": regulation.format_percent(data.gesv_percent),
        "interest": regulation.format_tenge(data.interest),
        "total": regulation.format_tenge(data.total),
        "due_date": _date(data.due_date),
        "penalty_rate": _rate(data.penalty_daily_rate),
        "penalty_max_days": rules.penalty_max_days,
        "penalty_max_days_word": regulation.plural_days(rules.penalty_max_days),
        "overpayment_cap": regulation.format_tenge(
            regulation.max_total_overpayment(data.amount, data.document_date)
        ),
        "overpayment_percent": regulation.format_percent(rules.overpayment_max_fraction * 100),
        "max_extensions": rules.max_extensions,
        "extension_days": rules.extension_max_days,
        "extension_days_word": regulation.plural_days_accusative(rules.extension_max_days),
        "extension_rate": _rate(rules.extension_daily_rate_max),
        "allocation_order": "; ".join(
            f"{i}) {_ALLOCATION_LABELS[language][bucket]}"
            for i, bucket in enumerate(rules.allocation_order, start=1)
        ),
        "interest_free_clause": _interest_free_clause(data, language),
        "signed_at": _moment(data.signed_at, language),
        "offer_sha256": data.offer_sha256 or "—",
    }
    return template.format_map(values)


def render_agreement_pdf(data: AgreementData, language: str) -> bytes:
    """The agreement as a PDF (A4, DejaVu Sans embedded); same data → same bytes."""
    # fpdf2 (and fontTools under it) are needed only here: imported on use.
    # lazy: fpdf2 + fontTools + PIL ≈ 657 ms CPU at cold start; only render_agreement_pdf() needs it
    from fpdf import FPDF
    from fpdf.enums import XPos, YPos

    text = agreement_text(data, language)
    footer = f"№ {data.number} · {data.version} · {_PAGE[language]}"

    class _Pdf(FPDF):
        def footer(self) -> None:
            self.set_y(-12)
            self.set_font("DejaVu", "", 8)
            self.cell(0, 6, f"{footer} {self.page_no()}/{{nb}}", align="C")

    pdf = _Pdf(format="A4")
    pdf.set_creation_date(datetime.combine(data.document_date, time(0), clock.KZ_TZ))
    pdf.set_lang(language)
    pdf.set_title(text.splitlines()[0].lstrip("# "))
    pdf.set_author(data.lender.name_ru if language == "ru" else data.lender.name_kk)
    pdf.add_font("DejaVu", "", str(FONT_REGULAR))
    pdf.add_font("DejaVu", "B", str(FONT_BOLD))
    pdf.set_margins(18, 16, 18)
    pdf.set_auto_page_break(auto=True, margin=18)
    pdf.add_page()
    for line in text.splitlines():
        if line.startswith("# "):
            pdf.set_font("DejaVu", "B", 13)
            pdf.multi_cell(0, 7, line[2:], align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        elif line.startswith("## "):
            pdf.ln(2)
            pdf.set_font("DejaVu", "B", 10.5)
            pdf.multi_cell(0, 6, line[3:], new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        elif not line.strip():
            pdf.ln(2)
        else:
            pdf.set_font("DejaVu", "", 9.5)
            pdf.multi_cell(0, 5, line, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    return bytes(pdf.output())


def document_sha256(pdf: bytes) -> str:
    """Hex SHA-256 of the document bytes (what the SMS signature is bound to)."""
    return hashlib.sha256(pdf).hexdigest()
