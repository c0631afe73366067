"""Links a person receives about their own account: password resets and email changes.

Each link is bound to the clinic whose host issued it and is refused anywhere else. Only a
SHA-256 of the token is stored; the emailed link is the only copy of the token itself.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


class _AccountLink(models.Model):
    clinic = models.ForeignKey("clinics.Clinic", on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        abstract = True

    @property
    def is_usable(self) -> bool:
        return self.used_at is None and timezone.now() < self.expires_at


class PasswordReset(_AccountLink):
    def __str__(self) -> str:
        return f"password reset {self.pk} for user {self.user_id}"


class EmailChange(_AccountLink):
    new_email = models.EmailField(max_length=254)

    def __str__(self) -> str:
        return f"email change {self.pk} for user {self.user_id}"
