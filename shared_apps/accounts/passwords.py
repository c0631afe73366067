"""Password rules beyond Django's own validators."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError

MAX_PASSWORD_LENGTH = 1024


class MaximumLengthValidator:
    """Refuses absurdly long passwords, which would only cost hashing time.

    Passphrases far past bcrypt's 72 bytes stay welcome: the bcrypt_sha256 hasher hashes
    the whole password first, so every character counts.
    """

    def __init__(self, max_length: int = MAX_PASSWORD_LENGTH) -> None:
        self.max_length = max_length

    def validate(self, password: str, user: Any = None) -> None:
        if len(password) > self.max_length:
            raise ValidationError(
                f"Use at most {self.max_length} characters.", code="password_too_long"
            )

    def get_help_text(self) -> str:
        return f"Your password can be a long passphrase, up to {self.max_length} characters."
