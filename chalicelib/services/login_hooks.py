"""What happens after a borrower signs in successfully (new-device notice, consent check)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from chalicelib.services.sessions import NewSession
    from chalicelib.storage.accounts import AccountModel


def after_sign_in(account: AccountModel, session: NewSession, user_agent: str | None) -> None:
    """Run the post-sign-in checks for ``account``."""
