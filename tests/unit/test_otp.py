"""One-time codes (DESIGN.md "SMS codes": CSPRNG, ≥ 6 digits, hashed, bound to the request)."""

from __future__ import annotations

import pytest

from chalicelib.domain import otp
from chalicelib.domain.otp import code_digest, code_matches, new_code

KEY = b"k" * 32
OTHER_KEY = b"o" * 32


def test_given_default_when_code_made_then_six_ascii_digits() -> None:
    code = new_code()
    assert len(code) == 6
    assert code.isascii()
    assert code.isdigit()


def test_given_small_random_number_when_code_made_then_zero_padded(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(otp.secrets, "randbelow", lambda bound: 42)
    assert new_code() == "000042"
    assert new_code(8) == "00000042"


def test_given_many_codes_when_made_then_they_vary() -> None:
    assert len({new_code() for _ in range(50)}) > 40


@pytest.mark.parametrize("digits", [4, 5, 13])
def test_given_unsafe_or_silly_length_when_code_made_then_value_error(digits: int) -> None:
    with pytest.raises(ValueError):
        new_code(digits)


def test_given_code_when_digested_then_hex_sha256_and_not_the_code() -> None:
    digest = code_digest(KEY, "chal-1", "123456")
    assert len(digest) == 64
    assert "123456" not in digest
    assert digest == code_digest(KEY, "chal-1", "123456")


def test_given_right_code_when_matched_then_true() -> None:
    digest = code_digest(KEY, "chal-1", "012345")
    assert code_matches(KEY, "chal-1", "012345", digest)


@pytest.mark.parametrize(
    ("key", "challenge", "code"),
    [
        (KEY, "chal-1", "012346"),  # wrong code
        (KEY, "chal-2", "012345"),  # same code, another request
        (OTHER_KEY, "chal-1", "012345"),  # another key
    ],
)
def test_given_anything_else_when_matched_then_false(key: bytes, challenge: str, code: str) -> None:
    digest = code_digest(KEY, "chal-1", "012345")
    assert not code_matches(key, challenge, code, digest)


def test_given_split_moved_between_challenge_and_code_when_digested_then_differs() -> None:
    # "1" + "2345678" and "12" + "345678" concatenate alike; the encoding must not.
    assert code_digest(KEY, "1", "2345678") != code_digest(KEY, "12", "345678")


@pytest.mark.parametrize(
    "code", ["12345a", " 012345", "012345 ", "０１２３４５", "٠١٢٣٤٥", "", "12345", None, 12345]
)
def test_given_non_digit_input_when_matched_then_never_true(code: object) -> None:
    digest = code_digest(KEY, "chal-1", "012345")
    assert not code_matches(KEY, "chal-1", code, digest)  # type: ignore[arg-type]


def test_given_tampered_or_non_ascii_digest_when_matched_then_false() -> None:
    digest = code_digest(KEY, "chal-1", "012345")
    assert not code_matches(KEY, "chal-1", "012345", digest[:-1] + "0")
    assert not code_matches(KEY, "chal-1", "012345", "ж" * 64)


def test_given_empty_key_or_bad_code_when_digested_then_value_error() -> None:
    with pytest.raises(ValueError):
        code_digest(b"", "chal-1", "012345")
    with pytest.raises(ValueError):
        code_digest(KEY, "chal-1", "12ab56")
