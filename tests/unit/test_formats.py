"""What Babel's ru/kk locale data really gives for the server's money, percent and dates."""

from __future__ import annotations

from datetime import date

import pytest

from chalicelib import formats, i18n

NB = "\xa0"


@pytest.mark.parametrize(
    ("language", "amount", "text"),
    [
        ("ru", 63528, f"63{NB}528{NB}₸"),
        ("kk", 63528, f"63{NB}528{NB}₸"),
        ("ru", "4200.50", f"4{NB}200,50{NB}₸"),
        ("kk", "4200.5", f"4{NB}200,50{NB}₸"),
        ("ru", 150000, f"150{NB}000{NB}₸"),
    ],
)
def test_money(language: str, amount: object, text: str) -> None:
    assert formats.money(amount, language) == text


def test_percent_uses_each_locales_own_pattern() -> None:
    assert formats.percent(171, "ru") == f"171,0{NB}%"
    assert formats.percent("0.3", "ru") == f"0,3{NB}%"
    # CLDR's Kazakh percent pattern has no space before the sign.
    assert formats.percent(171, "kk") == "171,0%"


def test_long_dates() -> None:
    day = date(2026, 12, 23)
    assert formats.long_date(day, "ru") == f"23 декабря 2026{NB}г."
    # CLDR's long Kazakh date (Babel 2.18): year first, «ж.» for жылғы, month in the nominative.
    assert formats.long_date(day, "kk") == f"2026{NB}ж. 23 желтоқсан"
    assert formats.long_date(date(2027, 3, 1), "kk") == f"2027{NB}ж. 1 наурыз"


def test_values_render_inside_messages_per_language() -> None:
    text = i18n.Msg(
        "Hava: займ {amount} перечислен на ваш счёт. Сумма к возврату — в личном кабинете, "
        "вернуть до {due}",
        amount=formats.Money(63528),
        due=formats.LongDate(date(2026, 12, 23)),
    )
    assert text == (
        f"Hava: займ 63{NB}528{NB}₸ перечислен на ваш счёт. Сумма к возврату — в личном "
        f"кабинете, вернуть до 23 декабря 2026{NB}г."
    )
    assert text.render("kk") == (
        f"Hava: 63{NB}528{NB}₸ сомасындағы несие шотыңызға аударылды. Қайтарылатын сома — "
        f"жеке кабинетте, қайтару мерзімі: 2026{NB}ж. 23 желтоқсан."
    )
