"""The one-time tokens in emailed links (invites, password resets, email changes).

Made once, shown once (in the email), stored only as a SHA-256: 256 random bits need no
salt and no slow hash, and a database reader cannot use a link.
"""

from __future__ import annotations

import hashlib
import secrets

# secrets.token_urlsafe(32) is 43 characters; anything much longer is not one of ours and
# is refused before hashing, so a huge path segment costs nothing.
MAX_TOKEN_LENGTH = 64


def link_token_new() -> tuple[str, str]:
    """A fresh link token and the hash to store: (token, token_hash)."""
    token = secrets.token_urlsafe(32)
    return token, link_token_hash(token)


def link_token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def link_token_looks_valid(token: str) -> bool:
    return 0 < len(token) <= MAX_TOKEN_LENGTH
