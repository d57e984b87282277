"""The server's Russian/Kazakh catalogues: complete, compiled, plural forms, negotiation."""

from __future__ import annotations

import inspect
import io
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from chalicelib import errors, i18n

ROOT = Path(__file__).resolve().parents[2]
KEYWORDS = {"N_": None, "plural": (1, 2)}
KAZAKH_LETTERS = set("әғқңөұүһіӘҒҚҢӨҰҮҺІ")


def catalogue_path(language: str, suffix: str) -> Path:
    return i18n.LOCALE_DIR / language / "LC_MESSAGES" / f"messages.{suffix}"


def extracted() -> set[str]:
    """Every marked msgid of the server code (babel's extraction, as ``make locale`` runs it)."""
    found: set[str] = set()
    method_map = [("**.py", "python")]
    for _file, _line, message, _comments, _context in extract_from_dir(
        str(ROOT / "chalicelib"), method_map, keywords=KEYWORDS
    ):
        found.add(message if isinstance(message, str) else message[0])
    return found


def error_messages() -> set[str]:
    """The class-level message of every error of the tree (each one can reach a borrower)."""
    return {
        cls.message
        for _name, cls in inspect.getmembers(errors, inspect.isclass)
        if issubclass(cls, errors.HavaError)
    }


@pytest.mark.parametrize("language", ["kk", "ru"])
def test_compiled_catalogue_matches_its_po(language: str) -> None:
    with catalogue_path(language, "po").open("rb") as handle:
        catalog = read_po(handle, locale=language)
    compiled = io.BytesIO()
    write_mo(compiled, catalog, use_fuzzy=False)
    assert catalogue_path(language, "mo").read_bytes() == compiled.getvalue(), (
        "the .mo is stale: run `make locale` (or pybabel compile) and commit it"
    )


def test_every_server_text_has_a_kazakh_translation() -> None:
    with catalogue_path("kk", "po").open("rb") as handle:
        catalog = read_po(handle, locale="kk")
    translated: dict[str, object] = {}
    for message in catalog:
        if not message.id or message.fuzzy:
            continue
        key = message.id if isinstance(message.id, str) else message.id[0]
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        if all(strings):
            translated[key] = strings
    wanted = extracted() | error_messages()
    missing = sorted(wanted - set(translated))
    assert not missing, f"no Kazakh translation (run `make locale` and translate): {missing}"
    # AND the compiled catalogue answers each of them in Kazakh, not with the Russian msgid
    for msgid in wanted:
        assert i18n.gettext("kk", msgid) != msgid, msgid


def test_translations_keep_their_placeholders_and_are_written_in_kazakh() -> None:
    import string

    with catalogue_path("kk", "po").open("rb") as handle:
        catalog = read_po(handle, locale="kk")
    names = string.Formatter()
    for message in catalog:
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        wanted = {field for _, field, _, _ in names.parse(ids[0]) if field}
        for text in strings:
            assert {field for _, field, _, _ in names.parse(text) if field} == wanted, text
            assert text != ids[0], f"not translated: {text}"
            words = [w for w in text.split() if any("а" <= c.lower() <= "я" for c in w)]
            if len(words) >= 4:  # proper Kazakh, not transliterated Russian
                assert set(text) & KAZAKH_LETTERS, f"no Kazakh letter in: {text}"


def test_error_classes_are_marked_for_extraction() -> None:
    """A new error class whose message is not ``N_``-marked would be left out of the catalogue."""
    assert error_messages() <= extracted()


@pytest.mark.parametrize(
    ("n", "russian", "kazakh"),
    [
        (1, "Повторите через 1 минуту.", "1 минуттан кейін қайталаңыз."),
        (2, "Повторите через 2 минуты.", "2 минуттан кейін қайталаңыз."),
        (4, "Повторите через 4 минуты.", "4 минуттан кейін қайталаңыз."),
        (5, "Повторите через 5 минут.", "5 минуттан кейін қайталаңыз."),
        (11, "Повторите через 11 минут.", "11 минуттан кейін қайталаңыз."),
        (14, "Повторите через 14 минут.", "14 минуттан кейін қайталаңыз."),
        (21, "Повторите через 21 минуту.", "21 минуттан кейін қайталаңыз."),
        (22, "Повторите через 22 минуты.", "22 минуттан кейін қайталаңыз."),
        (25, "Повторите через 25 минут.", "25 минуттан кейін қайталаңыз."),
    ],
)
def test_rate_limit_wait_uses_each_languages_plural_forms(
    n: int, russian: str, kazakh: str
) -> None:
    error = errors.RateLimited(n * 60)
    assert error.message == f"Слишком много попыток. {russian}"
    assert i18n.localise(error.message, "kk") == f"Тым көп әрекет. {kazakh}"


@pytest.mark.parametrize(
    ("seconds", "russian"),
    [(1, "1 секунду"), (3, "3 секунды"), (11, "11 секунд"), (59, "59 секунд")],
)
def test_seconds_under_a_minute(seconds: int, russian: str) -> None:
    assert errors.wait_text(seconds) == russian
    assert i18n.localise(errors.wait_text(seconds), "kk") == f"{seconds} секундтан"


def test_plural_rules_are_the_cldr_ones() -> None:
    ru = i18n.catalogue("ru")
    assert [ru.ngettext("{n} минуту", "{n} минут", n) for n in (1, 3, 5, 21, 111)] == [
        "{n} минуту",
        "{n} минуты",
        "{n} минут",
        "{n} минуту",
        "{n} минут",
    ]
    kk = i18n.catalogue("kk")
    assert kk.info()["plural-forms"] == "nplurals=2; plural=(n != 1);"


@pytest.mark.parametrize(
    ("header", "language"),
    [
        (None, "ru"),
        ("", "ru"),
        ("kk", "kk"),
        ("KK-kz", "kk"),
        ("kk-KZ,kk;q=0.9,ru;q=0.8", "kk"),
        ("ru-RU,ru;q=0.9,kk;q=0.8", "ru"),
        ("ru;q=0.5, kk;q=0.6", "kk"),
        ("kk;q=0.5, ru;q=0.6", "ru"),
        ("en-US,en;q=0.9", "ru"),
        ("en, kk;q=0.1", "kk"),
        ("kk;q=0", "ru"),
        ("kk;q=abc", "ru"),
        ("kkj", "ru"),
        ("*", "ru"),
        (";;,,=", "ru"),
    ],
)
def test_accept_language_negotiation(header: str | None, language: str) -> None:
    assert i18n.negotiate(header) == language


def test_a_message_template_renders_in_both_languages_and_stays_a_russian_str() -> None:
    error = errors.CodeInvalid(
        i18n.N_("Неверный код подтверждения. Осталось попыток: {left}."), left=3
    )
    assert error.message == "Неверный код подтверждения. Осталось попыток: 3."
    assert str(error) == error.message
    assert i18n.localise(error.message, "kk") == "Растау коды қате. Қалған әрекет саны: 3."
    assert i18n.localise("текст не из каталога", "kk") == "текст не из каталога"
