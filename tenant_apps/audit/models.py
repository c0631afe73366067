"""The clinic's audit trail: who did what to which record, when and from where.

Append-only: the database itself refuses UPDATE, DELETE and TRUNCATE on this table (see
migration 0002), so not even a bug in our code can rewrite history. It holds ids only,
never patient data; deleting a clinic drops its schema and this table with it.
"""

from __future__ import annotations

from django.db import models


class AuditEvent(models.Model):
    occurred_at = models.DateTimeField(auto_now_add=True, db_index=True)
    # Users live in `public`; an id (not a foreign key) keeps the event if a user is removed.
    actor_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    actor_email = models.CharField(max_length=254, blank=True)
    action = models.CharField(max_length=100)  # "<entity>.<verb>", e.g. "patient.view"
    target_type = models.CharField(max_length=100, blank=True)
    target_id = models.CharField(max_length=64, blank=True)
    source = models.CharField(max_length=100)  # web, api, task:<name>, command:<name>, system
    client_ip = models.GenericIPAddressField(null=True, blank=True)
    request_id = models.CharField(max_length=64, blank=True)
    # Ids and codes only (e.g. {"from": "booked", "to": "cancelled"}), never free text.
    details = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-occurred_at", "-id"]
        indexes = [models.Index(fields=["target_type", "target_id"])]

    def __str__(self) -> str:
        when = f"{self.occurred_at:%Y-%m-%d %H:%M:%S}"
        return f"{when} {self.action} {self.target_type}:{self.target_id}"
