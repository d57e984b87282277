"""Valid-looking but fictional personal data for tests, built on the domain rules."""

from __future__ import annotations

from datetime import date, timedelta

from chalicelib.domain.iin import make_iin


def valid_iin(
    age_years: int = 30, sex: str = "M", serial: int = 1, today: date | None = None
) -> str:
    """A checksum-valid IIN of someone ``age_years`` old on ``today``; distinct per ``serial``.

    ``make_iin`` moves to the next serial when one admits no check digit, so
    neighbouring serials could give the same IIN: serials are spread 11 apart (never
    ten invalid in a row) and every 900 move the birth date one day back.
    """
    today = today or date.today()
    try:
        birth = today.replace(year=today.year - age_years)
    except ValueError:
        # Today is 29 February and that year is not leap: born on the 28th.
        birth = today.replace(year=today.year - age_years, day=28)
    birth -= timedelta(days=serial // 900)
    return make_iin(birth, sex, (serial % 900) * 11)


def test_phone(n: int) -> str:
    """The ``n``-th fictional Kazakh mobile in E.164: ``+7 700 000 nn nn`` (n in 0..9999)."""
    if not 0 <= n <= 9999:
        raise ValueError("n must be in 0..9999.")
    # libphonenumber classifies the whole +7 700 xxx xx xx block as KZ MOBILE.
    return f"+7700000{n:04d}"


# Not a test despite its name: stop pytest collecting it where it is imported.
test_phone.__test__ = False  # type: ignore[attr-defined]
