"""Kazakh IBAN: validation with python-stdnum, normalisation, bank recognition."""

from __future__ import annotations

import pytest

from chalicelib.domain.iban import (
    BANKS,
    BANKS_SOURCE,
    bank_for,
    format_iban,
    mask_iban,
    normalize_iban,
    parse_payout_account,
    validate_kz_iban,
)
from chalicelib.errors import InvalidIban, InvalidValue


def kz_iban(bban: str) -> str:
    """A KZ IBAN with correct ISO 7064 mod 97-10 check digits for ``bban`` (16 chars)."""
    assert len(bban) == 16
    digits = "".join(str(int(c, 36)) for c in bban + "KZ00")
    return f"KZ{98 - int(digits) % 97:02d}{bban}"


HALYK = kz_iban("601A000000001234")  # KZ11601A000000001234
KASPI = kz_iban("722S000000686267")


def test_helper_matches_known_check_digits() -> None:
    assert HALYK == "KZ11601A000000001234"
    # The National Bank's published example IBAN.
    assert kz_iban("125KZT5004100100") == "KZ86125KZT5004100100"


@pytest.mark.parametrize(
    "raw",
    [HALYK, HALYK.lower(), " kz11 601a 0000 0000 1234 ", "KZ11-601A-0000-0000-1234"],
)
def test_normalised_and_valid(raw: str) -> None:
    assert validate_kz_iban(raw) == HALYK


@pytest.mark.parametrize(
    ("code", "bic"),
    [
        ("601", "HSBKKZKX"),
        ("722", "CASPKZKA"),
        ("965", "IRTYKZKA"),
        ("998", "TSESKZKA"),
        ("856", "KCJBKZKX"),
        ("551", "KSNVKZKA"),
        ("948", "EURIKZKA"),
        ("914", "BRKEKZKA"),
        ("886", "INLMKZKA"),
        ("821", "KINCKZKA"),
        ("972", "HCSKKZKA"),
    ],
)
def test_major_banks_are_recognised(code: str, bic: str) -> None:
    account = parse_payout_account(kz_iban(f"{code}0000000000042"))
    assert account.bank.bic == bic
    assert account.bank.code == code
    assert BANKS[code].name_kk


def test_kaspi() -> None:
    account = parse_payout_account(KASPI)
    assert account.bank.name_ru == "АО «Kaspi Bank»"
    assert account.display == format_iban(KASPI)


def test_wrong_check_digits() -> None:
    wrong = "KZ12" + HALYK[4:]
    with pytest.raises(InvalidIban, match="Контрольные цифры"):
        validate_kz_iban(wrong)


def test_one_typo_is_caught() -> None:
    typo = HALYK[:-1] + "5"
    with pytest.raises(InvalidIban):
        validate_kz_iban(typo)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("", "Укажите номер счёта"),
        (None, "Укажите номер счёта"),
        (12345, "Укажите номер счёта"),
        ("DE89370400440532013000", "начинается с KZ"),
        ("KZ11601A00000000123", "20 знаков; указано 19"),
        ("KZ11601A0000000012345", "указано 21"),
        ("KZ11601A00000000123Ж", "латинские буквы"),
        ("KZ11601A000000001_34", "латинские буквы"),
    ],
)
def test_refusals_are_russian(raw: object, message: str) -> None:
    with pytest.raises(InvalidIban, match=message):
        validate_kz_iban(raw)


def test_bank_code_must_be_digits() -> None:
    # Check digits right, but the bank code is letters: a format error.
    with pytest.raises(InvalidIban, match="кода банка"):
        validate_kz_iban(kz_iban("ABC0000000000042"))


def test_unknown_bank_code_is_refused() -> None:
    # 125 is the National Bank itself: a valid IBAN, not a borrower's payout account.
    iban = "KZ86125KZT5004100100"
    assert validate_kz_iban(iban) == iban
    assert bank_for(iban) is None
    with pytest.raises(InvalidIban, match="кодом 125"):
        parse_payout_account(iban)


def test_invalid_iban_is_an_invalid_value() -> None:
    assert issubclass(InvalidIban, InvalidValue)


def test_masking_and_formatting() -> None:
    assert format_iban("kz11601a000000001234") == "KZ11 601A 0000 0000 1234"
    assert mask_iban(HALYK) == "KZ** 601* **** **** 1234"
    assert mask_iban("nonsense") == "KZ** **** **** **** ****"
    assert normalize_iban(" kz11 601a ") == "KZ11601A"


def test_bank_table_is_dated_and_sourced() -> None:
    assert "nationalbank.kz" in BANKS_SOURCE
    assert all(len(code) == 3 and code.isdigit() for code in BANKS)
    assert all(len(bank.bic) == 8 and bank.bic[4:6] == "KZ" for bank in BANKS.values())
