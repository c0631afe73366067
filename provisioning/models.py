"""Provisioning's own records in `public`: the clinic-schema template and self-service signups."""

from __future__ import annotations

from django.db import models
from django.db.models.functions import Lower


class SchemaTemplate(models.Model):
    """The SQL that creates a clinic schema at the current migration state.

    Built from a schema migrated the slow way (provisioning/template.py), stored with the
    fingerprint of the migrations it contains; a clinic is created by replaying `sql` under
    its own schema name. A row whose fingerprint is not the code's current one is stale and
    is rebuilt before the next clinic is created.
    """

    fingerprint = models.CharField(max_length=64, unique=True)
    # The template's DDL and rows (django_migrations, content types), with the schema's
    # name replaced by a placeholder.
    sql = models.TextField()
    migrations = models.JSONField(default=list, help_text="[app, name] pairs it contains.")
    pg_dump_version = models.CharField(max_length=100, blank=True)
    build_seconds = models.FloatField(default=0)
    built_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-built_at"]

    def __str__(self) -> str:
        return f"schema template {self.fingerprint[:12]}"


class ClinicSignup(models.Model):
    """Someone asking for a new clinic on the public site, from form to first sign-in.

    The password is kept only as Django's hash; the verification and hand-off links store
    only SHA-256 digests of their tokens (drcrm/link_tokens.py).
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting for email verification"
        PROVISIONING = "provisioning", "Creating the clinic"
        COMPLETED = "completed", "Clinic created"
        FAILED = "failed", "Could not create the clinic"

    clinic_name = models.CharField(max_length=200)
    subdomain = models.CharField(max_length=63)
    clinic_type = models.CharField(max_length=10)
    country = models.CharField(max_length=2)
    time_zone = models.CharField(max_length=64)
    currency = models.CharField(max_length=3)
    owner_name = models.CharField(max_length=200)
    owner_email = models.EmailField(max_length=254)
    password_hash = models.CharField(max_length=256)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING)
    verification_token_hash = models.CharField(max_length=64, unique=True)
    verification_expires_at = models.DateTimeField()
    verified_at = models.DateTimeField(null=True, blank=True)
    # The progress page's address; known only to the browser that verified the email.
    progress_token_hash = models.CharField(max_length=64, blank=True, db_index=True)
    # One-time token that signs the new owner in on the clinic's own host.
    handoff_token_hash = models.CharField(max_length=64, blank=True, db_index=True)
    handoff_expires_at = models.DateTimeField(null=True, blank=True)
    handoff_used_at = models.DateTimeField(null=True, blank=True)
    progress_step = models.CharField(max_length=40, blank=True)
    failure_reason = models.CharField(max_length=500, blank=True)
    clinic = models.ForeignKey(
        "clinics.Clinic", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(Lower("subdomain"), "status", name="signup_subdomain_status")]

    def __str__(self) -> str:
        return f"signup for {self.subdomain}"
