"""Russian and Kazakh: what the server says to a borrower, in the borrower's language.

Russian is the source language: the texts in the code are the msgids, and a
Russian text needs no catalogue (only the Russian plural forms live in
``locale/ru``). Kazakh lives in ``locale/kk/LC_MESSAGES/messages.po``; its
compiled ``.mo`` is committed beside it (``make locale`` rebuilds it and
``tests/unit/test_i18n.py`` fails when the two disagree), so the Lambda package
needs no build step and no Babel to *translate*. A catalogue is read on first
use of its language (a Russian-only cold start reads none).

A message with numbers or names in it is a template plus parameters (``Msg``):
it renders in Russian as an ordinary ``str`` and can be rendered again in
Kazakh at the one place where errors become HTTP (``localise``), so the
template, not the filled-in text, is what the catalogue translates.

The language of a request comes from ``Accept-Language`` (``negotiate``): ``kk``
or ``kk-KZ`` (by q-value, against ``ru``) → Kazakh, anything else → Russian. The
account's language (``AccountModel.language``) decides SMS and e-mail.
"""

from __future__ import annotations

import gettext as _gettext
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

RU = "ru"
KK = "kk"
LANGUAGES = (RU, KK)
DEFAULT = RU
LOCALE_DIR = Path(__file__).resolve().parent / "locale"
DOMAIN = "messages"


def N_(text: str) -> str:  # noqa: N802 - the conventional gettext marker
    """Mark a Russian text for the catalogue without translating it (extraction keyword)."""
    return text


def normalise(value: object) -> str:
    """A stored or sent language as ``"ru"``/``"kk"`` (anything unknown → Russian)."""
    return KK if isinstance(value, str) and value.strip().lower() == KK else DEFAULT


def negotiate(header: str | None) -> str:
    """The language of an ``Accept-Language`` header: ``"kk"`` or ``"ru"``.

    The supported language with the highest q-value wins (``kk-KZ`` counts as
    ``kk``, ``ru-RU`` as ``ru``; ``q=0`` refuses); ties go to the one listed
    first; a header naming neither (or none at all, or a malformed one) → Russian.
    """
    if not header:
        return DEFAULT
    best, best_q = DEFAULT, -1.0
    for part in header[:512].split(","):
        tag, _, params = part.strip().partition(";")
        primary = tag.strip().lower().split("-", 1)[0]
        if primary not in LANGUAGES:
            continue
        q = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name.strip().lower() == "q":
                try:
                    q = float(value.strip())
                except ValueError:
                    q = 0.0
        if q > 0 and q > best_q:
            best, best_q = primary, q
    return best


@cache
def catalogue(language: str) -> _gettext.NullTranslations:
    """The compiled catalogue of ``language`` (read once per process, on first use)."""

    try:
        with (LOCALE_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.mo").open("rb") as handle:
            return _gettext.GNUTranslations(handle)
    except FileNotFoundError:
        return _gettext.NullTranslations()


def gettext(language: str, text: str) -> str:
    """``text`` (a Russian msgid) in ``language``; Russian and unknown texts unchanged."""
    if language == DEFAULT or not text:
        return text
    return catalogue(language).gettext(text)


def ngettext(language: str, singular: str, plural: str, n: int) -> str:
    """The plural form for ``n`` (Russian: one/few/many from ``locale/ru``; Kazakh: one/other)."""
    return catalogue(language).ngettext(singular, plural, n)


class Msg(str):
    """A Russian text that remembers its template and parameters, to be rendered again.

    Behaves as the rendered Russian ``str`` everywhere (comparisons, JSON, logs).
    ``plural``/``n``: the template is a singular msgid with this plural msgid,
    chosen by ``n`` per the language's plural rule. Parameter values that are
    themselves ``Msg`` are rendered in the same language.
    """

    template: str
    plural: str | None
    n: int | None
    params: dict[str, Any]

    def __new__(
        cls, template: str, plural: str | None = None, n: int | None = None, **params: Any
    ) -> Msg:
        self = super().__new__(cls, _render(DEFAULT, template, plural, n, params))
        self.template, self.plural, self.n, self.params = template, plural, n, params
        return self

    def render(self, language: str) -> str:
        """This message in ``language``."""
        return _render(language, self.template, self.plural, self.n, self.params)

    def __reduce__(self) -> Any:
        return (_rebuild, (self.template, self.plural, self.n, self.params))


def _rebuild(template: str, plural: str | None, n: int | None, params: dict[str, Any]) -> Msg:
    return Msg(template, plural, n, **params)


def _render(
    language: str, template: str, plural: str | None, n: int | None, params: Mapping[str, Any]
) -> str:
    if plural is not None and n is not None:
        text = ngettext(language, template, plural, n)
    else:
        text = gettext(language, template)
    if not params and n is None:
        return text
    values = {key: localise(value, language) for key, value in params.items()}
    return text.format(n=n, **values) if n is not None else text.format(**values)


def plural(singular: str, plural_: str, n: int, **params: Any) -> Msg:
    """A message chosen by ``n`` (``{n}`` in the texts is ``n``)."""
    return Msg(singular, plural_, n, **params)


def render(language: str, template: str, **params: Any) -> str:
    """``template`` (a Russian msgid) in ``language`` with ``params`` filled in."""
    return _render(language, template, None, None, params)


def valid_for_minutes(minutes: int) -> Msg:
    """«Действует 10 минут.» - how long a code lives, in either language's plural."""
    return plural("Действует {n} минуту.", "Действует {n} минут.", minutes)


def localise(text: Any, language: str) -> Any:
    """``text`` in ``language``: a ``Msg`` re-rendered, a plain ``str`` looked up as a msgid,
    a ``chalicelib.formats`` value (money, percent, date) formatted for the language."""
    if isinstance(text, Msg):
        return text.render(language)
    if isinstance(text, str):
        return gettext(language, text)
    localised = getattr(text, "localised", None)  # formats.Money, Percent, LongDate
    if callable(localised):
        return localised(language)
    return text


def localise_error(body: Any, language: str) -> None:
    """Translate an error body in place: ``error.message`` and each ``error.fields`` value."""
    if language == DEFAULT or not isinstance(body, dict):
        return
    error = body.get("error")
    if not isinstance(error, dict):
        return
    if "message" in error:
        error["message"] = localise(error["message"], language)
    fields = error.get("fields")
    if isinstance(fields, dict):
        error["fields"] = {name: localise(text, language) for name, text in fields.items()}
