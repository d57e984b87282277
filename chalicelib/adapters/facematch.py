"""Automatic face-match / liveness check beside the human review of a phone change.

ARDFM rules for online microcredits call for biometric identification when the
phone number changes. The check is a pluggable provider chosen per stage by
``HAVA_FACE_MATCH_PROVIDER`` (``settings.face_match_provider``):

- ``none`` (default, local and test stages): ``NotCheckedProvider`` reports
  ``not_checked``. It never invents a score: staff see that no automatic check
  ran and decide from the photos alone.

Plugging in a real provider (e.g. a licensed biometric service that meets the
ARDFM rules):

1. Write a class with ``name`` and ``check(request_id, selfie_key, id_front_key)``
   returning ``FaceMatchResult``. Read the two objects from the documents bucket
   with ``adapters.aws.client("s3")`` (or hand the provider a presigned GET of
   ≤ 300 s, ``services.documents.download_url``); keep the images inside
   Kazakhstan (Law 94-V) and send nothing else about the borrower.
2. Map the provider's answer to ``status``: ``match`` / ``no_match`` /
   ``inconclusive`` / ``liveness_failed``; put its own score in ``score`` (its
   scale, documented in ``detail``) and nothing invented. Raise on transport or
   service failures: ``services.review_hooks`` stores them as ``error`` and the
   human review goes on.
3. Register it in ``_PROVIDERS`` under a name, set the variable per stage, and
   grant the function role what the provider needs (secret, network egress).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any, Protocol

from chalicelib.config import get_settings

NOT_CHECKED = "not_checked"
ERROR = "error"


@dataclass(frozen=True)
class FaceMatchResult:
    """What a provider concluded; ``score`` only when the provider gave one."""

    provider: str
    status: str
    score: float | None
    detail: str

    def as_dict(self) -> dict[str, Any]:
        """The result as stored in ``AppealModel.face_match``."""
        return asdict(self)


class FaceMatchProvider(Protocol):
    """Compares the selfie with the ID-card photo (and checks liveness, if it can)."""

    name: str

    def check(self, request_id: str, selfie_key: str, id_front_key: str) -> FaceMatchResult:
        """Run the check on two objects of the documents bucket."""
        ...


class ConfigurationError(RuntimeError):
    """The stage names a face-match provider that does not exist."""


class NotCheckedProvider:
    """No automatic check is configured: says so, with no score."""

    name = "none"

    def check(self, request_id: str, selfie_key: str, id_front_key: str) -> FaceMatchResult:
        """Report ``not_checked``."""
        return FaceMatchResult(
            provider=self.name,
            status=NOT_CHECKED,
            score=None,
            detail="Автоматическая проверка не настроена",
        )


_PROVIDERS: dict[str, Callable[[], FaceMatchProvider]] = {
    NotCheckedProvider.name: NotCheckedProvider,
}


def provider() -> FaceMatchProvider:
    """The provider configured for this stage."""
    name = get_settings().face_match_provider.strip().lower()
    factory = _PROVIDERS.get(name)
    if factory is None:
        known = ", ".join(sorted(_PROVIDERS))
        raise ConfigurationError(
            f"HAVA_FACE_MATCH_PROVIDER={name!r} is not a known face-match provider ({known})."
        )
    return factory()
