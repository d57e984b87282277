"""IIN parsing, check digit, century/sex digit, age and masking (DESIGN.md "IIN")."""

from __future__ import annotations

from datetime import date

import pytest

from chalicelib.domain.iin import (
    Iin,
    age_on,
    check_borrower_age,
    check_digit,
    make_iin,
    mask_iin,
    parse_iin,
)
from chalicelib.errors import InvalidValue
from tests.factories import valid_iin

# 960115 3 0001 ?: digits 9 6 0 1 1 5 3 0 0 0 1, weights 1..11:
# 9·1 + 6·2 + 0·3 + 1·4 + 1·5 + 5·6 + 3·7 + 0·8 + 0·9 + 0·10 + 1·11 = 92; 92 mod 11 = 4.
MALE_1996 = "960115300014"
# 960115 4 0010 ?: first pass 9 + 12 + 0 + 4 + 5 + 30 + 28 + 0 + 0 + 10 + 0 = 98;
# 98 mod 11 = 10 -> second pass, weights 3 4 5 6 7 8 9 10 11 1 2:
# 27 + 24 + 0 + 6 + 7 + 40 + 36 + 0 + 0 + 1 + 0 = 141; 141 mod 11 = 9.
SECOND_PASS_FEMALE_1996 = "960115400109"
# 960115 4 0016 ?: first pass 98 - 0 + 6·11 = 164 ≡ 10; second 141 + 6·2 = 153 ≡ 10.
NO_CHECK_DIGIT_BODY = "96011540016"


def test_given_hand_computed_iin_when_parsed_then_birth_date_and_sex_are_read() -> None:
    # WHEN
    iin = parse_iin(MALE_1996)
    # THEN
    assert iin == Iin(value=MALE_1996, birth_date=date(1996, 1, 15), sex="M")


def test_given_spaces_anywhere_when_parsed_then_they_are_ignored() -> None:
    assert parse_iin(" 9601 1530 0014 ").value == MALE_1996


def test_given_first_pass_gives_10_when_checked_then_second_pass_weights_decide() -> None:
    assert check_digit(SECOND_PASS_FEMALE_1996[:11]) == 9
    iin = parse_iin(SECOND_PASS_FEMALE_1996)
    assert (iin.birth_date, iin.sex) == (date(1996, 1, 15), "F")


def test_given_both_passes_give_10_when_checked_then_no_iin_exists() -> None:
    assert check_digit(NO_CHECK_DIGIT_BODY) is None
    for last in "0123456789":
        with pytest.raises(InvalidValue):
            parse_iin(NO_CHECK_DIGIT_BODY + last)


def test_given_wrong_check_digit_when_parsed_then_refused() -> None:
    with pytest.raises(InvalidValue, match="ИИН указан неверно"):
        parse_iin(MALE_1996[:11] + "5")


@pytest.mark.parametrize(
    ("marker", "year", "sex"),
    [
        ("1", 1896, "M"),
        ("2", 1896, "F"),
        ("3", 1996, "M"),
        ("4", 1996, "F"),
        ("5", 2006, "M"),
        ("6", 2006, "F"),
    ],
)
def test_given_century_sex_digit_when_parsed_then_century_and_sex_follow(
    marker: str, year: int, sex: str
) -> None:
    # GIVEN 7th digit 1/2 -> 1800s, 3/4 -> 1900s, 5/6 -> 2000s; odd = male
    value = make_iin(date(year, 1, 15), sex, 1)
    assert value[6] == marker
    # WHEN
    iin = parse_iin(value)
    # THEN
    assert (iin.birth_date, iin.sex) == (date(year, 1, 15), sex)


@pytest.mark.parametrize("marker", ["0", "7", "8", "9"])
def test_given_unknown_century_sex_digit_when_parsed_then_refused(marker: str) -> None:
    body = f"960115{marker}0001"
    digit = check_digit(body)
    assert digit is not None  # the checksum is fine: only the 7th digit is wrong
    with pytest.raises(InvalidValue):
        parse_iin(f"{body}{digit}")


def test_given_valid_checksum_on_31_february_when_parsed_then_refused() -> None:
    # 960231 3 0001 ?: 9 + 12 + 0 + 8 + 15 + 6 + 21 + 0 + 0 + 0 + 11 = 82; 82 mod 11 = 5.
    assert check_digit("96023130001") == 5
    with pytest.raises(InvalidValue, match="ИИН указан неверно"):
        parse_iin("960231300015")


def test_given_29_february_when_parsed_then_leap_year_depends_on_century_digit() -> None:
    leap_2000 = "0002295" + "0001"
    common_1900 = "0002293" + "0001"
    for body in (leap_2000, common_1900):
        assert check_digit(body) is not None
    assert parse_iin(f"{leap_2000}{check_digit(leap_2000)}").birth_date == date(2000, 2, 29)
    with pytest.raises(InvalidValue):
        parse_iin(f"{common_1900}{check_digit(common_1900)}")


@pytest.mark.parametrize(
    "raw",
    ["", "96011530001", "9601153000145", "96011530001a", "٩٦٠١١٥٣٠٠٠١٤", "9601-1530-0014"],
)
def test_given_not_twelve_ascii_digits_when_parsed_then_asks_for_12_digits(raw: str) -> None:
    with pytest.raises(InvalidValue, match="12 цифр"):
        parse_iin(raw)


def test_given_not_a_string_when_parsed_then_refused() -> None:
    with pytest.raises(InvalidValue):
        parse_iin(960115300014)  # type: ignore[arg-type]


def test_given_birthday_not_yet_reached_when_age_computed_then_year_not_counted() -> None:
    assert age_on(date(2000, 6, 15), date(2026, 6, 14)) == 25
    assert age_on(date(2000, 6, 15), date(2026, 6, 15)) == 26


def test_given_born_on_29_february_when_common_year_then_ages_on_1_march() -> None:
    assert age_on(date(2004, 2, 29), date(2023, 2, 28)) == 18
    assert age_on(date(2004, 2, 29), date(2023, 3, 1)) == 19


TODAY = date(2026, 3, 10)


@pytest.mark.parametrize(
    ("birth", "allowed"),
    [
        (date(2007, 3, 10), True),  # 19 today
        (date(2007, 3, 11), False),  # 19 tomorrow: still 18
        (date(1955, 3, 11), True),  # 70, turns 71 tomorrow
        (date(1955, 3, 10), False),  # 71 today
    ],
)
def test_given_age_at_boundary_when_checked_then_19_to_70_inclusive(
    birth: date, allowed: bool
) -> None:
    iin = parse_iin(make_iin(birth, "F", 1))
    if allowed:
        check_borrower_age(iin, TODAY)
    else:
        with pytest.raises(InvalidValue, match="от 19 до 70 лет"):
            check_borrower_age(iin, TODAY)


def test_given_factory_iin_when_parsed_then_age_is_as_asked() -> None:
    iin = parse_iin(valid_iin(age_years=45, sex="F", today=TODAY))
    assert (age_on(iin.birth_date, TODAY), iin.sex) == (45, "F")


def test_given_serial_without_check_digit_when_making_iin_then_next_serial_used() -> None:
    value = make_iin(date(1996, 1, 15), "F", 16)
    assert value[:11] == "96011540017"
    assert parse_iin(value).value == value


@pytest.mark.parametrize(
    ("birth", "sex", "serial"),
    [(date(1996, 1, 15), "X", 1), (date(2100, 1, 1), "M", 1), (date(1996, 1, 15), "M", 10_000)],
)
def test_given_impossible_request_when_making_iin_then_value_error(
    birth: date, sex: str, serial: int
) -> None:
    with pytest.raises(ValueError):
        make_iin(birth, sex, serial)


def test_given_iin_when_masked_then_first_four_and_last_two_digits_show() -> None:
    assert mask_iin(MALE_1996) == "9601••••••14"


def test_given_not_an_iin_when_masked_then_value_error() -> None:
    with pytest.raises(ValueError):
        mask_iin("12345")
