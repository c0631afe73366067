"""The secrets in emailed links: made once, shown once, stored only as a SHA-256."""

from __future__ import annotations

import hashlib
import secrets

# secrets.token_urlsafe(32) is 43 characters; anything much longer is not one of ours and
# is refused before hashing, so a huge path segment costs nothing.
MAX_TOKEN_LENGTH = 64


def token_new() -> tuple[str, str]:
    """A fresh link token and the hash to store: (token, token_hash)."""
    token = secrets.token_urlsafe(32)
    return token, token_hash(token)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def token_looks_valid(token: str) -> bool:
    return 0 < len(token) <= MAX_TOKEN_LENGTH
