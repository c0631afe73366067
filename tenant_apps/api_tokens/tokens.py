"""What a personal API token looks like, and the only form of it we keep (its SHA-256)."""

from __future__ import annotations

import hashlib
import re
import secrets

TOKEN_PREFIX = "drcrm_"  # noqa: S105 -- a label in front of every token, not a secret
# 32 random bytes: 256 bits, so a plain SHA-256 (no salt, no slow hash) is safe to store.
TOKEN_BYTES = 32
# Enough to tell tokens apart in a list ("drcrm_AbC123"), far too little to guess the rest.
DISPLAY_PREFIX_LENGTH = 12
_TOKEN_SHAPE = re.compile(rf"^{TOKEN_PREFIX}[A-Za-z0-9_-]{{43}}$")


def token_new() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(TOKEN_BYTES)


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def token_display_prefix(token: str) -> str:
    return token[:DISPLAY_PREFIX_LENGTH]


def token_has_our_shape(token: str) -> bool:
    """False for anything we could never have issued: no database lookup for junk."""
    return _TOKEN_SHAPE.match(token) is not None
