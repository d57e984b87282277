"""The payout account: a Kazakh IBAN, checked and its bank recognised.

A Kazakh IBAN has 20 characters: ``KZ``, two check digits, the three-digit
bank code the National Bank assigns, and 13 characters of the account
(``KZkk bbbc cccc cccc cccc``). The check digits are verified with
python-stdnum's IBAN module (ISO 13616 / ISO 7064 mod 97-10); the bank comes
from ``BANKS``, a dated copy of the National Bank's bank code list.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from chalicelib.errors import InvalidIban
from chalicelib.i18n import N_

IBAN_LENGTH = 20
_SEPARATORS = re.compile(r"[\s\-]+")


@dataclass(frozen=True)
class Bank:
    """One bank of the National Bank's list: the code in the IBAN, names, BIC (SWIFT)."""

    code: str
    name_ru: str
    name_kk: str
    bic: str


@dataclass(frozen=True)
class PayoutAccount:
    """A validated payout account: the compact IBAN and its bank."""

    iban: str
    bank: Bank

    @property
    def display(self) -> str:
        """The IBAN in groups of four, as printed: ``KZ86 601A …``."""
        return format_iban(self.iban)

    @property
    def masked(self) -> str:
        """Only the bank code and the last four characters: for SMS, lists, logs."""
        return mask_iban(self.iban)


#: Date the bank table below was last compared with its sources.
BANKS_AS_OF = date(2026, 12, 1)
#: Where the bank codes come from.
BANKS_SOURCE = (
    "Справочник БИК Национального Банка РК (https://nationalbank.kz/ru/page/"
    "spravochnik-bik-rk-ps), as reproduced in public code; the official page itself "
    "was not reachable from here. Each code was cross-checked against published "
    "account numbers (IBAN + BIC pairs) of that bank; 722 Kaspi, 832 Citi, 913 Bank "
    "of China also appear in the National Bank's 2010 list (forum.banker.kz/topic/33308-s). "
    "Only banks that keep accounts of individuals are listed: the National Bank, "
    "the Treasury, the Development Bank, depositories, exchanges are not payout accounts. "
    "826 (АТФБанк) is in the 2010 list but no longer in the current one, so it is left out."
)

BANKS: dict[str, Bank] = {
    bank.code: bank
    for bank in (
        Bank(
            "601",
            "АО «Народный Банк Казахстана» (Halyk Bank)",
            "«Қазақстан Халық Банкі» АҚ",
            "HSBKKZKX",
        ),
        Bank("722", "АО «Kaspi Bank»", "«Kaspi Bank» АҚ", "CASPKZKA"),
        Bank("965", "АО «ForteBank»", "«ForteBank» АҚ", "IRTYKZKA"),
        Bank(
            "998",
            "АО «Alatau City Bank» (бывш. First Heartland Jusan Bank)",
            "«Alatau City Bank» АҚ",
            "TSESKZKA",
        ),
        Bank("856", "АО «Банк ЦентрКредит»", "«Банк ЦентрКредит» АҚ", "KCJBKZKX"),
        Bank("551", "АО «Фридом Банк Казахстан»", "«Фридом Банк Қазақстан» АҚ", "KSNVKZKA"),
        Bank("948", "АО «Евразийский Банк»", "«Еуразиялық банк» АҚ", "EURIKZKA"),
        Bank("914", "АО «Bereke Bank»", "«Bereke Bank» АҚ", "BRKEKZKA"),
        Bank("886", "АО «Home Credit Bank»", "«Home Credit Bank» АҚ", "INLMKZKA"),
        Bank("821", "АО «Bank RBK»", "«Bank RBK» АҚ", "KINCKZKA"),
        Bank("972", "АО «Отбасы банк»", "«Отбасы банк» АҚ", "HCSKKZKA"),
        Bank("949", "АО «Altyn Bank»", "«Altyn Bank» АҚ", "ATYNKZKA"),
        Bank("849", "АО «Нурбанк»", "«Нұрбанк» АҚ", "NURSKZKX"),
        Bank("832", "АО «Ситибанк Казахстан»", "«Ситибанк Қазақстан» АҚ", "CITIKZKA"),
        Bank(
            "913",
            "АО ДБ «Банк Китая в Казахстане»",
            "«Қазақстандағы Қытай Банкі» ЕБ АҚ",
            "BKCHKZKA",
        ),
        Bank(
            "930",
            "АО «Торгово-промышленный Банк Китая в г. Алматы»",
            "«Алматы қаласындағы Қытай сауда-өнеркәсіп Банкі» АҚ",
            "ICBKKZKX",
        ),
        Bank("432", "ДО АО «Банк ВТБ (Казахстан)»", "«Банк ВТБ (Қазақстан)» АҚ ЕҰ", "VTBAKZKZ"),
        Bank("435", "АО «Шинхан Банк Казахстан»", "«Шинхан Банк Қазақстан» АҚ", "SHBKKZKA"),
        Bank(
            "885",
            "АО ДБ «Казахстан-Зираат Интернешнл Банк»",
            "«Қазақстан-Зираат Халықаралық Банкі» ЕБ АҚ",
            "KZIBKZKA",
        ),
        Bank("246", "АО «Исламский Банк ADCB»", "«ADCB Ислам Банкі» АҚ", "HLALKZKZ"),
        Bank("896", "АО «Исламский банк «Заман-Банк»", "«Заман-Банк» Ислам банкі» АҚ", "ZAJSKZ22"),
        Bank("719", "АО «KMF Банк»", "«KMF Банк» АҚ", "KMFBKZKK"),
        Bank("563", "АО «Казпочта»", "«Қазпошта» АҚ", "KPSTKZKA"),
        Bank(
            "724", "АО «Коммерческий Банк БиЭнКей»", "«БиЭнКей Коммерциялық Банкі» АҚ", "MOKFKZKA"
        ),
    )
}


def normalize_iban(raw: str) -> str:
    """Drop spaces and dashes, upper-case: ``kz86 601a…`` → ``KZ86601A…``."""
    return _SEPARATORS.sub("", raw or "").upper()


def format_iban(iban: str) -> str:
    """Groups of four separated by spaces."""
    compact = normalize_iban(iban)
    return " ".join(compact[i : i + 4] for i in range(0, len(compact), 4))


def mask_iban(iban: str) -> str:
    """``KZ** 601* **** **** 1234``: enough to recognise, not enough to reuse."""
    compact = normalize_iban(iban)
    if len(compact) != IBAN_LENGTH:
        return "KZ** **** **** **** ****"
    masked = "KZ**" + compact[4:7] + "*" * 9 + compact[-4:]
    return format_iban(masked)


def bank_for(iban: str) -> Bank | None:
    """The bank of a (normalised) Kazakh IBAN, or None when the code is not in ``BANKS``."""
    return BANKS.get(normalize_iban(iban)[4:7])


def validate_kz_iban(raw: object) -> str:
    """The compact IBAN if ``raw`` is a valid Kazakh IBAN; else ``InvalidIban`` (Russian)."""
    if not isinstance(raw, str) or not raw.strip():
        raise InvalidIban(N_("Укажите номер счёта (IBAN)."))
    compact = normalize_iban(raw)
    if not compact.isascii() or not compact.isalnum():
        raise InvalidIban(N_("IBAN может содержать только латинские буквы и цифры."))
    if not compact.startswith("KZ"):
        raise InvalidIban(N_("Нужен счёт в казахстанском банке: IBAN начинается с KZ."))
    if len(compact) != IBAN_LENGTH:
        raise InvalidIban(
            N_("Казахстанский IBAN содержит {length} знаков; указано {given}."),
            length=IBAN_LENGTH,
            given=len(compact),
        )
    # stdnum loads its country table on first use: imported here, off the cold start.
    # lazy: python-stdnum ≈ 114 ms CPU at cold start; only validate_kz_iban() needs it
    from stdnum import iban as stdnum_iban
    from stdnum.exceptions import InvalidChecksum, ValidationError

    try:
        return str(stdnum_iban.validate(compact, check_country=True))
    except InvalidChecksum as exc:
        raise InvalidIban(
            N_("Контрольные цифры IBAN не сходятся: проверьте, нет ли опечатки.")
        ) from exc
    except ValidationError as exc:
        raise InvalidIban(
            N_(
                "Неверный формат IBAN: после KZ и двух контрольных цифр идут 3 цифры "
                "кода банка и 13 знаков номера счёта."
            )
        ) from exc


def parse_payout_account(raw: object) -> PayoutAccount:
    """Validate ``raw`` and recognise its bank; an unknown bank code is refused."""
    iban = validate_kz_iban(raw)
    bank = bank_for(iban)
    if bank is None:
        raise InvalidIban(
            N_(
                "Банк с кодом {code} не найден в справочнике банков Казахстана. "
                "Проверьте номер счёта или укажите счёт в другом банке."
            ),
            code=iban[4:7],
        )
    return PayoutAccount(iban=iban, bank=bank)
