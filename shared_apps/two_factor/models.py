"""Two-factor sign-in: one authenticator app (TOTP, RFC 6238) per user, and recovery codes.

Users are global, so a second factor set up once protects every clinic the person works in.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models


class TotpDevice(models.Model):
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="totp_device"
    )
    # The base32 shared secret, encrypted (a Fernet token, see secret_box.py): codes need
    # it in clear, so it cannot be hashed, but a database dump alone must not reveal it.
    # Read and write it only through secret_box.seal/unseal (the services do).
    secret = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)
    # Null until the user proves their app works by typing a code: only then is 2FA on.
    confirmed_at = models.DateTimeField(null=True, blank=True)
    # The last 30-second time step a code was accepted for: a code never works twice.
    last_used_step = models.BigIntegerField(default=0)
    # Moving to a new phone: the new app's secret waits here until it shows a right code,
    # so two-factor stays on (with the old phone) while the person sets up the new one.
    # Encrypted like `secret`; empty when no move is under way.
    pending_secret = models.TextField(blank=True)

    def __str__(self) -> str:
        return f"authenticator of user {self.user_id}"

    @property
    def is_confirmed(self) -> bool:
        return self.confirmed_at is not None


class RecoveryCode(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="recovery_codes"
    )
    code_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "code_hash"], name="recovery_code_unique"),
        ]

    def __str__(self) -> str:
        return f"recovery code {self.pk} of user {self.user_id}"
