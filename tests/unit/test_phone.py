"""Kazakh mobile normalisation, masking and the login-kind heuristic (DESIGN.md "Phones")."""

from __future__ import annotations

import pytest

from chalicelib.domain.phone import mask_phone, normalize_kz_mobile
from chalicelib.errors import InvalidValue
from tests.factories import test_phone as fictional_phone


@pytest.mark.parametrize(
    "raw",
    [
        "8 700 000 12 34",
        "+7 (700) 000-12-34",
        "+7 700 000 12 34",
        "87000001234",
        "77000001234",
        "7000001234",
        "8(700)0001234",
        " +77000001234 ",
    ],
)
def test_given_usual_spelling_when_normalized_then_e164(raw: str) -> None:
    assert normalize_kz_mobile(raw) == "+77000001234"


@pytest.mark.parametrize("n", [0, 1, 42, 9999])
def test_given_fictional_test_number_when_normalized_then_kz_mobile(n: int) -> None:
    assert normalize_kz_mobile(fictional_phone(n)) == fictional_phone(n)


@pytest.mark.parametrize("raw", ["+7 916 000 12 34", "8 916 000 12 34"])
def test_given_russian_mobile_when_normalized_then_only_kazakh_numbers_accepted(
    raw: str,
) -> None:
    with pytest.raises(InvalidValue, match="только казахстанские"):
        normalize_kz_mobile(raw)


def test_given_astana_landline_when_normalized_then_asks_for_mobile() -> None:
    with pytest.raises(InvalidValue, match="мобильного, а не городского"):
        normalize_kz_mobile("+7 7172 00 12 34")


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "   ",
        "hello",
        "+7 700 000 12 3",
        "+7 700 000 12 345",
        "+7 700 000 12 34 ext 5",
        "+1 650 253 0000",
        "8" * 40,
    ],
)
def test_given_not_a_kazakh_mobile_when_normalized_then_refused(raw: str) -> None:
    with pytest.raises(InvalidValue):
        normalize_kz_mobile(raw)


def test_given_not_a_string_when_normalized_then_refused() -> None:
    with pytest.raises(InvalidValue):
        normalize_kz_mobile(87000001234)  # type: ignore[arg-type]


def test_given_e164_when_masked_then_operator_code_and_last_two_digits_show() -> None:
    assert mask_phone("+77011234567") == "+7 701 ••• •• 67"


def test_given_not_kz_e164_when_masked_then_value_error() -> None:
    with pytest.raises(ValueError):
        mask_phone("8 701 123 45 67")
