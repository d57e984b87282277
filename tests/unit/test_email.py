"""E-mail normalisation and masking."""

from __future__ import annotations

import pytest

from chalicelib.domain.email import mask_email, normalize_email
from chalicelib.errors import InvalidValue


@pytest.mark.parametrize(
    "raw", ["Ivan.Petrov@Example.KZ", "IVAN.PETROV@EXAMPLE.KZ", "  ivan.petrov@example.kz "]
)
def test_given_any_case_or_spaces_when_normalized_then_one_lower_case_address(raw: str) -> None:
    assert normalize_email(raw) == "ivan.petrov@example.kz"


@pytest.mark.parametrize(
    ("raw", "says"),
    [
        ("", "в виде name@example.kz"),
        ("ivan", "в виде name@example.kz"),
        ("ivan@", "в виде name@example.kz"),
        ("@example.kz", "в виде name@example.kz"),
        ("ivan@@example.kz", "в виде name@example.kz"),
        ("иван@mail.kz", "латинскими буквами"),
        ("ivan@localhost", "не хватает окончания после точки"),
        ("name@gmail", "не хватает окончания после точки"),
    ],
)
def test_given_invalid_address_when_normalized_then_told_what_is_wrong(raw: str, says: str) -> None:
    with pytest.raises(InvalidValue, match=says):
        normalize_email(raw)


def test_given_no_dns_when_normalized_then_no_lookup_is_needed() -> None:
    # A domain that does not exist still passes: deliverability is not checked.
    assert normalize_email("a@no-such-domain-hava.kz") == "a@no-such-domain-hava.kz"


def long_address(length: int) -> str:
    # 60-letter local part and 60-letter labels stay within the per-part limits.
    head = "a" * 60 + "@" + ".".join(["b" * 60] * 3) + "."
    return head + "c" * (length - len(head) - 3) + ".kz"


def test_given_address_of_254_characters_when_normalized_then_accepted() -> None:
    raw = long_address(254)
    assert len(raw) == 254
    assert normalize_email(raw) == raw


def test_given_address_over_254_characters_when_normalized_then_refused() -> None:
    raw = long_address(255)
    assert len(raw) == 255
    with pytest.raises(InvalidValue, match="не длиннее 254"):
        normalize_email(raw)


def test_given_not_a_string_when_normalized_then_refused() -> None:
    with pytest.raises(InvalidValue):
        normalize_email(None)  # type: ignore[arg-type]


def test_given_address_when_masked_then_first_letter_and_domain_show() -> None:
    assert mask_email("aigerim@example.kz") == "a•••@example.kz"


def test_given_not_an_address_when_masked_then_value_error() -> None:
    with pytest.raises(ValueError):
        mask_email("no-at-sign")
