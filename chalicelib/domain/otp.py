"""One-time SMS codes: generation and keyed hashing bound to the request that asked for them."""

from __future__ import annotations

import hashlib
import hmac
import secrets

MIN_DIGITS = 6
MAX_DIGITS = 12
# Domain separation: the same key may also serve the blind indexes.
_CONTEXT = b"hava-otp-v1\x00"


def _is_code(code: object) -> bool:
    return (
        isinstance(code, str)
        and MIN_DIGITS <= len(code) <= MAX_DIGITS
        and code.isascii()
        and code.isdigit()
    )


def new_code(digits: int = MIN_DIGITS) -> str:
    """A zero-padded random code of ``digits`` digits from the OS CSPRNG."""
    # DESIGN.md "SMS codes": CSPRNG, at least 6 digits.
    if not MIN_DIGITS <= digits <= MAX_DIGITS:
        raise ValueError(f"digits must be in {MIN_DIGITS}..{MAX_DIGITS}.")
    return f"{secrets.randbelow(10**digits):0{digits}d}"


def code_digest(key: bytes, challenge_id: str, code: str) -> str:
    """Hex HMAC-SHA256 of ``code`` bound to ``challenge_id`` (store this, never the code)."""
    # DESIGN.md "SMS codes": stored hashed, bound to the request that asked for it.
    if not key:
        raise ValueError("An empty key would make the digest a plain hash.")
    if not _is_code(code):
        raise ValueError("A code is 6 to 12 ASCII digits.")
    cid = challenge_id.encode("utf-8")
    # Length-prefixed so no (challenge_id, code) pair can collide with another.
    message = _CONTEXT + len(cid).to_bytes(4, "big") + cid + code.encode("ascii")
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def code_matches(key: bytes, challenge_id: str, code: str, digest: str) -> bool:
    """Whether ``code`` is the one behind ``digest`` for this challenge (constant-time)."""
    if not _is_code(code) or not isinstance(digest, str) or not digest.isascii():
        return False
    expected = code_digest(key, challenge_id, code)
    return hmac.compare_digest(expected.encode("ascii"), digest.encode("ascii"))
