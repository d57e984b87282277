"""Valid values for the rules ``openapi.json`` names by a ``format`` but JSON Schema cannot state.

The document declares every bound, pattern and enum the validation enforces. What
no JSON Schema keyword can express - a check digit, an age read from the IIN, a
number plan, a date relative to today, a password list, a secret the server holds,
a cursor the server wrote - it names with a ``format`` (described beside each field)
and this module gives schemathesis a strategy that draws only values the server
accepts, so the positive-data check (ST202) tests the declaration, not luck.

``register()`` runs before the document is loaded (``test_openapi_fuzz.py``).
Rules across fields of one request (``password_confirm`` equal to ``password``, a
cursor pinned to the list it pages) need no strategy of their own: every value of
``new-password`` is the same, and ``cross_field_rules`` in the test fixes the rest.
"""

from __future__ import annotations

import base64
import json
import string
import unicodedata
from datetime import date, timedelta

import schemathesis
from hypothesis import strategies as st

from chalicelib.config import get_settings
from chalicelib.domain import iban as iban_rules
from chalicelib.domain.iin import make_iin
from tests.helpers import PASSWORD

#: Every fuzzed borrower signs up with ``PASSWORD``; a fuzzed password change moves to this.
NEW_PASSWORD = "синий-кит-ныряет-глубоко"
#: Kazakh mobile operator codes (+7 7xx) that phonenumbers knows as KZ mobiles.
MOBILE_CODES = ("700", "701", "702", "705", "707", "708", "747", "771", "775", "776", "777", "778")


#: Lengths at and one past every bound of the document's ``text`` fields: the coverage
#: phase asks for values of exactly those lengths.
TEXT_LENGTHS = (
    *(0, 1, 2, 3, 4, 5, 9, 10, 11),
    *(63, 64, 65, 99, 100, 101, 127, 128, 129, 253, 254, 255, 499, 500, 501, 1999, 2000, 2001),
)


#: Letters, digits, punctuation, symbols and spaces of any script: no control, format,
#: private-use or unassigned code points, no combining marks, and only characters NFC
#: leaves alone (U+FB44 decomposes into two), so the server counts the lengths drawn.
def _nfc_stable(char: str) -> bool:
    return unicodedata.normalize("NFC", char) == char


_INNER = st.characters(categories=("L", "N", "P", "S", "Zs")).filter(_nfc_stable)
_EDGE = st.characters(categories=("L", "N", "P", "S")).filter(_nfc_stable)


#: Longer middles repeat a drawn run of up to this many characters. The document's
#: bounds reach 2000, and schemathesis asks for an exact length by drawing until one
#: fits: drawn one character at a time, each such value cost ~10 ms and collecting
#: the fuzz tier took 134 s; the server's checks see length and script, not variety.
_RUN = 16


def _middle(n: int) -> st.SearchStrategy[str]:
    if n <= _RUN:
        return st.text(_INNER, min_size=n, max_size=n)
    run = st.text(_INNER, min_size=1, max_size=_RUN)
    return run.map(lambda r: (r * (n // len(r) + 1))[:n])


def _of_length(n: int) -> st.SearchStrategy[str]:
    if n <= 2:
        return st.text(_EDGE, min_size=n, max_size=n)
    return st.builds(lambda a, mid, b: a + mid + b, _EDGE, _middle(n - 2), _EDGE)


def text() -> st.SearchStrategy[str]:
    """``text``: any script, no control or format characters, no blanks at the edges."""
    lengths = st.one_of(st.integers(1, 30), st.sampled_from(TEXT_LENGTHS))
    return lengths.flatmap(_of_length)


def person_names() -> st.SearchStrategy[str]:
    """``person-name``: letters of any script, words joined by one space, hyphen or apostrophe."""
    word = st.text(st.characters(categories=("Lu", "Ll", "Lo")), min_size=1, max_size=12)
    joined = st.tuples(word, st.lists(st.tuples(st.sampled_from(" -'’"), word), max_size=2)).map(
        lambda parts: parts[0] + "".join(sep + w for sep, w in parts[1])
    )
    return joined


def iins() -> st.SearchStrategy[str]:
    """``iin``: a valid check digit, born 19-70 years ago (the borrower's age rule)."""
    today = date.today()
    births = st.dates(
        date(today.year - 69, 1, 1), date(today.year - 20, 12, 31)
    )  # well inside 19..70 whatever the day
    return st.builds(make_iin, births, st.sampled_from(("M", "F")), st.integers(0, 9000))


def kz_phones() -> st.SearchStrategy[str]:
    """``kz-phone``: a Kazakh mobile number, written +7 7xx xxx xx xx."""
    number = st.tuples(st.sampled_from(MOBILE_CODES), st.integers(0, 9_999_999)).map(
        lambda p: f"+7 {p[0]} {p[1] // 10000:03d} {p[1] // 100 % 100:02d} {p[1] % 100:02d}"
    )
    return number


def emails() -> st.SearchStrategy[str]:
    """``email``: an address ``email-validator`` accepts without DNS (ASCII local part)."""
    word = st.text(string.ascii_lowercase + string.digits, min_size=1, max_size=10)
    local = st.lists(word, min_size=1, max_size=3).flatmap(
        lambda words: st.sampled_from(".-_").map(lambda sep: sep.join(words))
    )
    tld = st.sampled_from(("kz", "com", "org", "net"))
    return st.builds(lambda a, b, c: f"{a}@{b}.{c}", local, word, tld)


def ibans() -> st.SearchStrategy[str]:
    """``iban-kz``: KZ, ISO 13616 check digits, a bank code from the National Bank's list."""

    def build(bank: str, account: str) -> str:
        bban = bank + account
        digits = "".join(str(int(c, 36)) for c in bban + "KZ00")
        check = 98 - int(digits) % 97
        return f"KZ{check:02d}{bban}"

    account = st.text(string.digits + string.ascii_uppercase, min_size=13, max_size=13)
    return st.builds(build, st.sampled_from(sorted(iban_rules.BANKS)), account)


def past_dates() -> st.SearchStrategy[str]:
    """``past-date``: ГГГГ-ММ-ДД, up to ten years back, not after today."""
    today = date.today()
    return st.dates(today - timedelta(days=3650), today - timedelta(days=1)).map(date.isoformat)


def future_dates() -> st.SearchStrategy[str]:
    """``future-date``: ГГГГ-ММ-ДД, from tomorrow up to ten years ahead."""
    today = date.today()
    return st.dates(today + timedelta(days=2), today + timedelta(days=3650)).map(date.isoformat)


def _b64(raw: str) -> str:
    return base64.urlsafe_b64encode(raw.encode()).decode("ascii").rstrip("=")


def _key(**values: str) -> str:
    return _b64(json.dumps({k: {"S": v} for k, v in values.items()}, sort_keys=True))


_ID = st.text(string.ascii_lowercase + string.digits, min_size=1, max_size=26)
_MOMENT = st.datetimes().map(lambda d: d.isoformat() + "Z")


def queue_cursors() -> st.SearchStrategy[str]:
    """``queue-cursor``: a page key of the review queue (pinned to ``type`` by the test)."""
    return st.builds(
        lambda r, c: _key(request_id=r, queue="phone_change#in_review", created_at=c),
        _ID,
        _MOMENT,
    )


def loan_cursors() -> st.SearchStrategy[str]:
    """``loan-cursor``: a page key of the loan list (pinned to ``status`` by the test)."""
    return st.builds(
        lambda a, ln, c: _key(account_id=a, loan_id=ln, status="submitted", created_at=c),
        _ID,
        _ID,
        _MOMENT,
    )


def loan_desk_cursors() -> st.SearchStrategy[str]:
    """``loan-desk-cursor``: the last row of the previous desk page."""
    return st.builds(lambda a, ln, c: _b64(json.dumps([a, ln, c])), _ID, _ID, _MOMENT)


def register() -> None:
    """Make schemathesis draw these formats from the strategies above."""
    formats = {
        "text": text(),
        "person-name": person_names(),
        "iin": iins(),
        "kz-phone": kz_phones(),
        "kz-phone-or-email": contacts(),
        "email": emails(),
        "iban-kz": ibans(),
        "past-date": past_dates(),
        "future-date": future_dates(),
        # The fuzzed accounts' password (a secret the server holds), and a new one that
        # passes the policy; every draw is the same, so ``…_confirm`` always matches.
        "password": st.just(PASSWORD),
        "new-password": st.just(NEW_PASSWORD),
        "consent-version": st.just(get_settings().consent_version),
        "queue-cursor": queue_cursors(),
        "loan-cursor": loan_cursors(),
        "loan-desk-cursor": loan_desk_cursors(),
    }
    for name, strategy in formats.items():
        schemathesis.openapi.format(name, strategy)


def b64encode(raw: str) -> str:
    """Unpadded base64url, as the server writes cursors."""
    return _b64(raw)


def b64decode(text: str) -> str:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode()


def contacts() -> st.SearchStrategy[str]:
    """``kz-phone-or-email``: either of the two."""
    return st.one_of(kz_phones(), emails())
