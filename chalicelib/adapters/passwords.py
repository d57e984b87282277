"""argon2id password hashing (OWASP ASVS 5.0 App. C: t ≥ 2, m ≥ 19 MiB, p = 1)."""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from argon2 import PasswordHasher

TIME_COST = 2
MEMORY_COST_KIB = 19 * 1024
PARALLELISM = 1


@lru_cache(maxsize=1)
def hasher() -> PasswordHasher:
    """The one hasher of the process, with the parameters above."""
    # lazy: argon2-cffi ≈ 58 ms CPU at cold start; only hasher() needs it
    from argon2 import PasswordHasher, Type

    return PasswordHasher(
        time_cost=TIME_COST, memory_cost=MEMORY_COST_KIB, parallelism=PARALLELISM, type=Type.ID
    )


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    return hasher().hash("hava-dummy-password-for-equal-timing")


def hash_password(password: str) -> str:
    """An argon2id PHC string of ``password``."""
    return hasher().hash(password)


def verify_password(password_hash: str, password: str) -> tuple[bool, bool]:
    """``(matches, needs_rehash)``; never raises for a wrong password."""
    # lazy: argon2-cffi ≈ 58 ms CPU at cold start; only verify_password() needs it
    from argon2.exceptions import InvalidHashError, VerificationError

    try:
        hasher().verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False, False
    return True, hasher().check_needs_rehash(password_hash)


def burn_verify(password: str) -> None:
    """Spend one verify on a dummy hash, so unknown logins take as long as real ones."""
    verify_password(_dummy_hash(), password)
