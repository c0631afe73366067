"""Personal API tokens: a member's key to this clinic's `/api/v1/`.

The table is in the clinic's schema, so a token exists only for the clinic it was made
for; another clinic's API has no row to match it against. Only a SHA-256 of the token is
kept (tokens are 256-bit random, so a fast hash is enough); the token is shown once.
"""

from __future__ import annotations

from django.db import models
from django.db.models.functions import Lower


class ApiToken(models.Model):
    # A plain id, like sessions: users live in `public` (see user_sessions.models).
    user_id = models.BigIntegerField(db_index=True)
    name = models.CharField(max_length=100)
    # The first characters of the token, shown in lists so people can tell tokens apart.
    prefix = models.CharField(max_length=16)
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            # A person tells their live tokens apart by name; revoked ones may reuse it.
            models.UniqueConstraint(
                "user_id",
                Lower("name"),
                condition=models.Q(revoked_at__isnull=True),
                name="api_token_active_name_unique",
            ),
        ]

    def __str__(self) -> str:
        return f"API token {self.prefix}… ({self.name})"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None
