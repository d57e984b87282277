"""Password policy (DESIGN.md "Passwords": NIST SP 800-63B, ASVS 5.0)."""

from __future__ import annotations

import unicodedata

import pytest

from chalicelib.domain.password import (
    MSG_COMMON,
    MSG_LENGTH,
    MSG_MISMATCH,
    MSG_PERSONAL,
    check_password,
    is_common_password,
    normalize_password,
)
from chalicelib.errors import ValidationFailed

GOOD = "жёлтый кит плывёт"


def refused_fields(password: str, confirm: str, personal: tuple[str, ...] = ()) -> dict[str, str]:
    with pytest.raises(ValidationFailed) as info:
        check_password(password, confirm, personal)
    return info.value.fields


def test_given_passphrase_without_digits_or_capitals_when_checked_then_accepted() -> None:
    check_password(GOOD, GOOD)


@pytest.mark.parametrize("length", [8, 64, 256])
def test_given_length_from_8_to_256_when_checked_then_accepted(length: int) -> None:
    password = ("Tumar-Qazaq-" * 30)[:length]
    check_password(password, password)


@pytest.mark.parametrize("length", [0, 7, 257])
def test_given_length_outside_8_to_256_when_checked_then_range_is_stated(length: int) -> None:
    password = ("Tumar-Qazaq-" * 30)[:length]
    assert refused_fields(password, password) == {"password": MSG_LENGTH}
    assert "от 8 до 256" in MSG_LENGTH


def test_given_decomposed_letters_when_checked_then_counted_after_nfc() -> None:
    # GIVEN "ёёёё" typed as е + U+0308: 8 code points raw, 4 after NFC
    decomposed = unicodedata.normalize("NFD", "ёёёё")
    assert len(decomposed) == 8
    assert refused_fields(decomposed, decomposed) == {"password": MSG_LENGTH}


def test_given_composed_and_decomposed_confirmation_when_checked_then_they_match() -> None:
    check_password(GOOD, unicodedata.normalize("NFD", GOOD))


def test_given_different_confirmation_when_checked_then_mismatch_reported() -> None:
    assert refused_fields(GOOD, GOOD + "!") == {"password_confirm": MSG_MISMATCH}


def test_given_short_and_mismatched_when_checked_then_both_fields_reported_at_once() -> None:
    assert refused_fields("short", "shorter") == {
        "password": MSG_LENGTH,
        "password_confirm": MSG_MISMATCH,
    }


@pytest.mark.parametrize("password", ["password1", "PASSWORD123", "Qwerty123", "1q2w3e4r5t"])
def test_given_common_password_in_any_case_when_checked_then_refused(password: str) -> None:
    assert refused_fields(password, password) == {"password": MSG_COMMON}


def test_given_common_list_when_queried_then_loaded_from_zxcvbn() -> None:
    assert is_common_password("Iloveyou")
    assert not is_common_password(GOOD)


def test_given_password_containing_iin_when_checked_then_refused() -> None:
    password = "my960115300014pass"
    fields = refused_fields(password, password, ("960115300014", "77000001234", "Aigerim"))
    assert fields == {"password": MSG_PERSONAL}


def test_given_email_local_part_in_other_case_when_checked_then_refused() -> None:
    password = "AIGERIM-secret-2026"
    assert refused_fields(password, password, ("aigerim",)) == {"password": MSG_PERSONAL}


def test_given_personal_string_under_4_characters_when_checked_then_ignored() -> None:
    check_password(GOOD, GOOD, ("кит", "", "  "))


def test_given_not_strings_when_checked_then_refused_not_crashed() -> None:
    fields = refused_fields(None, None)  # type: ignore[arg-type]
    assert fields == {"password": MSG_LENGTH}


def test_given_decomposed_password_when_normalized_then_nfc() -> None:
    assert normalize_password("е\u0308") == "ё"
