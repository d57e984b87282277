"""Versioned texts of the consent to personal-data processing (Law 94-V).

Law of the Republic of Kazakhstan of 21 May 2013 No. 94-V «О персональных
данных и их защите»: personal data are collected and processed with the
subject's consent, which the operator must be able to show. Every wording ever
shown stays here under its version, so the version an account accepted always
resolves to the exact text. A new wording gets a new key and becomes current
through ``HAVA_CONSENT_VERSION``; accounts with an older version then have to
accept it at their next sign-in. The wording is the company lawyer's to approve.
"""

from __future__ import annotations

from chalicelib.errors import Forbidden
from chalicelib.i18n import N_

LAW = "Закон Республики Казахстан от 21 мая 2013 года № 94-V «О персональных данных и их защите»"

CONSENT_TEXTS: dict[str, str] = {
    "2026-01": (
        "Согласие на сбор и обработку персональных данных\n\n"
        f"В соответствии с {LAW.replace('Закон', 'Законом', 1)} я даю микрофинансовой "
        "организации, оказывающей услуги под брендом Hava (далее — Организация), согласие "
        "на сбор, обработку и хранение моих персональных данных: фамилии, имени, отчества, "
        "ИИН, даты рождения, пола, данных удостоверения личности, номера мобильного "
        "телефона, адреса электронной почты, фотографий удостоверения личности и "
        "фотографии с ним (биометрических данных), сведений о займах и заявках, а также "
        "сведений об устройствах и сетевых адресах, с которых я вхожу в личный кабинет.\n\n"
        "Цели: рассмотрение заявок на микрокредит, заключение и исполнение договоров, "
        "идентификация (в том числе биометрическая) при регистрации и при смене номера "
        "телефона или платёжных реквизитов, защита моей учётной записи, выполнение "
        "требований законодательства Республики Казахстан.\n\n"
        "Персональные данные хранятся в базах данных, расположенных на территории "
        "Республики Казахстан, в течение срока действия договоров и сроков, установленных "
        "законодательством. Я вправе знать, какие мои данные обрабатываются, получить их "
        "копию в личном кабинете, требовать их изменения и дополнения при наличии "
        "оснований и отозвать согласие, кроме случаев, когда это противоречит законам "
        "Республики Казахстан или при наличии неисполненного обязательства."
    ),
}


class ConsentRequired(Forbidden):
    """The account has not accepted the current consent text yet."""

    code = "consent_required"
    message = N_(
        "Изменился текст согласия на обработку персональных данных. "
        "Ознакомьтесь с ним и примите его, чтобы продолжить работу в кабинете."
    )


def consent_text(version: str) -> str | None:
    """The wording of ``version``, or None if no such version was ever published."""
    return CONSENT_TEXTS.get(version)
