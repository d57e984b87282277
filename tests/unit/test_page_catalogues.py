"""The borrower pages' Kazakh catalogue covers every Russian source text (issue 14 §10).

The pages translate gettext-style: a Russian text is its own key (``t("…")`` in the
scripts, the static texts and labels of ``index.html``); ``i18n-kk.js`` maps each
to Kazakh. A text added without its translation would show in Russian on a Kazakh
page: this test names it.
"""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path

WEB = Path(__file__).resolve().parents[2] / "chalicelib" / "web"
CYRILLIC = re.compile(r"[А-Яа-яЁё]")
KAZAKH_LETTERS = set("әғқңөұүһіӘҒҚҢӨҰҮҺІ")
SCRIPTS = ("borrower.js", "ui.js", "api.js", "checks.js")
#: Russian texts kept as data (translated where they are shown).
TABLES = (
    "NEXT_STEP = {",
    "DOCUMENT_STATUS = {",
    "PROFILE_FIELDS = [",
    "CARD_TIPS =",
    "SELFIE_TIPS =",
    "EXPORT_SECTIONS = [",
)


class _StaticTexts(HTMLParser):
    """Text nodes and label-like attributes the page translates in place."""

    def __init__(self) -> None:
        super().__init__()
        self.texts: set[str] = set()
        self._skip: list[bool] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        for name in ("aria-label", "placeholder", "title", "alt"):
            if values.get(name) and CYRILLIC.search(values[name] or ""):
                self.texts.add(values[name] or "")
        if tag not in {"input", "img", "link", "meta", "br"}:
            self._skip.append("data-dynamic" in values or tag in {"script", "style", "title"})

    def handle_endtag(self, tag: str) -> None:
        if self._skip:
            self._skip.pop()

    def handle_data(self, data: str) -> None:
        text = data.strip()
        if text and not any(self._skip) and CYRILLIC.search(text):
            self.texts.add(text)


def kazakh_catalogue() -> dict[str, str]:
    source = (WEB / "i18n-kk.js").read_text(encoding="utf-8")
    body = source[source.index("export default {") + len("export default") :].strip().rstrip(";")
    catalogue: dict[str, str] = json.loads(body)
    return catalogue


def source_texts() -> set[str]:
    parser = _StaticTexts()
    parser.feed((WEB / "index.html").read_text(encoding="utf-8"))
    texts = set(parser.texts)
    for name in SCRIPTS:
        script = (WEB / name).read_text(encoding="utf-8")
        texts |= set(re.findall(r'\bt\("((?:[^"\\]|\\.)*)"', script))
        for table in TABLES:
            if table in script:
                start = script.index(table)
                end = script.index(";", start)
                quoted = re.findall(r'"([^"]*)"', script[start:end])
                texts |= {text for text in quoted if CYRILLIC.search(text)}
    return texts


def test_every_russian_text_of_the_pages_has_a_kazakh_translation() -> None:
    missing = sorted(source_texts() - set(kazakh_catalogue()))
    assert missing == []


def test_the_kazakh_texts_are_kazakh_not_transliterated_russian() -> None:
    catalogue = kazakh_catalogue()
    written = [text for text in catalogue.values() if len(text) > 40]
    # Every longer text uses the letters Russian lacks (ә, ғ, қ, ң, ө, ұ, ү, һ, і).
    assert [text for text in written if not KAZAKH_LETTERS & set(text)] == []
    # Placeholders survive translation.
    for source, text in catalogue.items():
        assert set(re.findall(r"\{\w+\}", source)) == set(re.findall(r"\{\w+\}", text)), source


def test_the_russian_catalogue_is_the_source_itself() -> None:
    assert "export default {};" in (WEB / "i18n-ru.js").read_text(encoding="utf-8")
