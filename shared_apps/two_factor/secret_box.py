"""Authenticator secrets encrypted at rest, with keys that live outside the database.

A TOTP secret must be readable to compute codes, so it cannot be hashed like a password;
encrypting it means a database dump (or backup) alone computes nobody's codes. The keys
are settings.TWO_FACTOR_ENCRYPTION_KEYS: the first encrypts, every one decrypts, so a key
is rotated by putting the new one first and keeping the old ones after it.
"""

from __future__ import annotations

from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings

# Every Fernet token starts with its version byte 0x80 and a timestamp's leading zero
# bytes, which url-safe base64 writes as "gAAAAA"; a base32 secret never does (base32
# has no lower case).
SEALED_PREFIX = "gAAAAA"


class UnreadableSecret(Exception):
    """The stored value opens with none of the configured keys (a key was removed or
    changed, or the value is not a token at all)."""


@lru_cache(maxsize=4)
def _box(keys: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([Fernet(key) for key in keys])


def _current_box() -> MultiFernet:
    # Keyed by the tuple of keys, so settings overridden in tests take effect at once.
    return _box(tuple(settings.TWO_FACTOR_ENCRYPTION_KEYS))


def seal(secret: str) -> str:
    """The secret encrypted with the first key, as text for the database."""
    return _current_box().encrypt(secret.encode()).decode("ascii")


def unseal(token: str) -> str:
    """The secret `seal` encrypted; raises UnreadableSecret if no key opens it."""
    try:
        return _current_box().decrypt(token.encode("ascii")).decode()
    except (InvalidToken, UnicodeError) as exc:
        raise UnreadableSecret from exc


def reseal(token: str) -> str:
    """`token` encrypted again with the first key; raises UnreadableSecret if no key opens it."""
    try:
        return _current_box().rotate(token.encode("ascii")).decode("ascii")
    except (InvalidToken, UnicodeError) as exc:
        raise UnreadableSecret from exc


def is_sealed(value: str) -> bool:
    return value.startswith(SEALED_PREFIX)
