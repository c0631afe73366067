"""Platform operators' own records in `public`: API tokens and the operator audit trail.

Operators run the fleet (create, suspend, resume clinics); they never read clinic records,
so nothing here points into a clinic schema.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models


class OperatorToken(models.Model):
    """A Bearer token for `/api/platform/v1/`; only the SHA-256 of the token is stored."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="operator_tokens"
    )
    name = models.CharField(max_length=100)
    token_hash = models.CharField(max_length=64, unique=True)
    # The token's first characters, shown in lists so people can tell tokens apart.
    prefix = models.CharField(max_length=12)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"


class OperatorEvent(models.Model):
    """One operator action on the platform (append-only, like a clinic's audit trail)."""

    at = models.DateTimeField(auto_now_add=True, db_index=True)
    actor_id = models.BigIntegerField(null=True, blank=True)
    actor_email = models.CharField(max_length=254, blank=True)
    action = models.CharField(max_length=100)
    clinic_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    clinic_subdomain = models.CharField(max_length=63, blank=True)
    details = models.JSONField(default=dict, blank=True)
    # Where it came from (drcrm/request_context.py): "web", "api", "command:clinic", ...
    source = models.CharField(max_length=100, blank=True)
    client_ip = models.GenericIPAddressField(null=True, blank=True)
    request_id = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["-at"]

    def __str__(self) -> str:
        return f"{self.action} by {self.actor_email or 'system'}"
