"""Valid-looking but fictional personal data for tests, built on the domain rules."""

from __future__ import annotations

from datetime import date

from chalicelib.domain.iin import make_iin


def valid_iin(
    age_years: int = 30, sex: str = "M", serial: int = 1, today: date | None = None
) -> str:
    """A checksum-valid IIN of someone exactly ``age_years`` old on ``today``."""
    today = today or date.today()
    try:
        birth = today.replace(year=today.year - age_years)
    except ValueError:
        # Today is 29 February and that year is not leap: born on the 28th.
        birth = today.replace(year=today.year - age_years, day=28)
    return make_iin(birth, sex, serial)


def test_phone(n: int) -> str:
    """The ``n``-th fictional Kazakh mobile in E.164: ``+7 700 000 nn nn`` (n in 0..9999)."""
    if not 0 <= n <= 9999:
        raise ValueError("n must be in 0..9999.")
    # libphonenumber classifies the whole +7 700 xxx xx xx block as KZ MOBILE.
    return f"+7700000{n:04d}"


# Not a test despite its name: stop pytest collecting it where it is imported.
test_phone.__test__ = False  # type: ignore[attr-defined]
