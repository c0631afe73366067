"""Patient records, their consent to be contacted, and merges (all in the clinic's schema).

Patients are numbered per clinic without gaps (`P-000123`): the next number comes from a
one-row counter locked inside the creating transaction, so a rolled-back creation gives its
number back. Search reads `search_text`, a lower-case, accent-free copy of the names the
services keep up to date, through a trigram index (pg_trgm lives in `public`).
"""

from __future__ import annotations

from django.contrib.postgres.indexes import GinIndex, OpClass
from django.db import models
from django.db.models.functions import Reverse, Upper

NUMBER_PREFIX = "P-"
NUMBER_DIGITS = 6


def format_patient_number(sequence: int) -> str:
    return f"{NUMBER_PREFIX}{sequence:0{NUMBER_DIGITS}d}"


class PatientNumberCounter(models.Model):
    """One row: the last patient number handed out in this clinic."""

    last_number = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"last patient number {self.last_number}"


class Patient(models.Model):
    class Sex(models.TextChoices):
        FEMALE = "female", "Female"
        MALE = "male", "Male"
        OTHER = "other", "Other"
        UNKNOWN = "unknown", "Not recorded"

    number = models.CharField(max_length=16, unique=True)
    sequence = models.PositiveIntegerField(unique=True)
    first_name = models.CharField(max_length=100)
    last_name = models.CharField(max_length=100)
    preferred_name = models.CharField(max_length=100, blank=True)
    date_of_birth = models.DateField(null=True, blank=True)
    sex = models.CharField(max_length=10, choices=Sex.choices, default=Sex.UNKNOWN)
    # E.164 ("+447700900123"); `*_digits` hold the digits only, for search in any format.
    phone = models.CharField(max_length=20, blank=True)
    phone_digits = models.CharField(max_length=20, blank=True, db_index=True)
    phone_alt = models.CharField(max_length=20, blank=True)
    phone_alt_digits = models.CharField(max_length=20, blank=True, db_index=True)
    email = models.EmailField(max_length=254, blank=True)
    address_line1 = models.CharField(max_length=200, blank=True)
    address_line2 = models.CharField(max_length=200, blank=True)
    city = models.CharField(max_length=100, blank=True)
    postcode = models.CharField(max_length=20, blank=True)
    country = models.CharField(max_length=2, blank=True)
    national_id = models.CharField(max_length=50, blank=True)
    emergency_contact_name = models.CharField(max_length=200, blank=True)
    emergency_contact_phone = models.CharField(max_length=20, blank=True)
    referral_source = models.CharField(max_length=200, blank=True)
    # Shown as a banner wherever the patient appears. Allergies and medical alerts are
    # clinical content: only roles with clinical.view read their details.
    allergies = models.TextField(blank=True)
    medical_alerts = models.TextField(blank=True)
    front_desk_notes = models.TextField(blank=True)
    is_archived = models.BooleanField(default=False)
    archived_at = models.DateTimeField(null=True, blank=True)
    # Set when this record was merged into another one (it is archived too).
    merged_into = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="merged_records"
    )
    search_text = models.TextField(blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    created_by_id = models.BigIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["last_name", "first_name", "sequence"]
        indexes = [
            GinIndex(OpClass("search_text", name="gin_trgm_ops"), name="patient_search_trgm"),
            # Search by a phone's last digits (its reverse starts with them: a btree prefix
            # scan, where a trigram index of digits is barely selective) and email in any case.
            models.Index(
                OpClass(Reverse("phone_digits"), name="text_pattern_ops"),
                name="patient_phone_reversed",
            ),
            models.Index(
                OpClass(Reverse("phone_alt_digits"), name="text_pattern_ops"),
                name="patient_phone_alt_reversed",
            ),
            models.Index(Upper("email"), name="patient_email_upper"),
            models.Index(fields=["date_of_birth"], name="patient_date_of_birth"),
            models.Index(fields=["email"], name="patient_email"),
            models.Index(fields=["is_archived", "last_name", "first_name"], name="patient_list"),
        ]

    def __str__(self) -> str:
        return f"{self.number} {self.first_name} {self.last_name}"

    @property
    def display_name(self) -> str:
        if self.preferred_name and self.preferred_name != self.first_name:
            return f"{self.first_name} ({self.preferred_name}) {self.last_name}"
        return f"{self.first_name} {self.last_name}"

    @property
    def has_alerts(self) -> bool:
        return bool(self.allergies.strip() or self.medical_alerts.strip())


class Channel(models.TextChoices):
    WHATSAPP = "whatsapp", "WhatsApp"
    SMS = "sms", "SMS"
    EMAIL = "email", "Email"


class ConsentMethod(models.TextChoices):
    IN_PERSON = "in_person", "In person"
    FORM = "form", "Signed form"
    MESSAGE = "message", "By message"


class PatientConsent(models.Model):
    """The current answer per patient and channel (absent: never asked = not opted in)."""

    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="consents")
    channel = models.CharField(max_length=10, choices=Channel.choices)
    opted_in = models.BooleanField(default=False)
    method = models.CharField(max_length=10, choices=ConsentMethod.choices, blank=True)
    recorded_at = models.DateTimeField()
    recorded_by_id = models.BigIntegerField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["patient", "channel"], name="consent_one_per_channel")
        ]

    def __str__(self) -> str:
        return f"{self.channel}: {'in' if self.opted_in else 'out'}"


class ConsentEvent(models.Model):
    """Every change of a patient's consent, kept for ever (the proof)."""

    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="consent_events")
    channel = models.CharField(max_length=10, choices=Channel.choices)
    opted_in = models.BooleanField()
    method = models.CharField(max_length=10, choices=ConsentMethod.choices, blank=True)
    note = models.CharField(max_length=500, blank=True)
    recorded_at = models.DateTimeField()
    recorded_by_id = models.BigIntegerField(null=True, blank=True)
    recorded_by_email = models.CharField(max_length=254, blank=True)

    class Meta:
        ordering = ["-recorded_at", "-id"]

    def __str__(self) -> str:
        return f"{self.channel} {'opt-in' if self.opted_in else 'opt-out'}"


class PatientMerge(models.Model):
    """One merge: `merged` was folded into `survivor`; what moved is listed in `moved`."""

    survivor = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="merges_in")
    merged = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="merges_out")
    moved = models.JSONField(default=dict)  # {"consents": 2, ...}: counts per kind
    merged_at = models.DateTimeField(auto_now_add=True)
    merged_by_id = models.BigIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["-merged_at"]

    def __str__(self) -> str:
        return f"merge {self.merged_id} -> {self.survivor_id}"


class ImportJob(models.Model):
    """One CSV upload on its way in: the decoded text, the column mapping, then the result.

    The file lives here (in the clinic's own schema), never under a public URL; pages find
    a job by its random `token`, so ids are not guessable and another clinic's token is a
    404 like any unknown one.
    """

    class Status(models.TextChoices):
        UPLOADED = "uploaded", "Uploaded"
        VALIDATED = "validated", "Checked"
        QUEUED = "queued", "Importing"
        DONE = "done", "Imported"
        REFUSED = "refused", "Nothing imported"
        FAILED = "failed", "Failed"

    class Mode(models.TextChoices):
        ALL_OR_NOTHING = "all", "All or nothing"
        VALID_ONLY = "valid", "Only the valid rows"

    token = models.CharField(max_length=64, unique=True)
    filename = models.CharField(max_length=255, blank=True)
    content = models.TextField()
    encoding = models.CharField(max_length=20)
    delimiter = models.CharField(max_length=1, default=",")
    headers = models.JSONField(default=list)
    mapping = models.JSONField(default=dict)  # {"0": "first_name", ...}: column -> field
    mode = models.CharField(max_length=5, choices=Mode.choices, blank=True)
    skip_duplicates = models.BooleanField(default=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.UPLOADED)
    total_rows = models.PositiveIntegerField(default=0)
    valid_rows = models.PositiveIntegerField(default=0)
    error_rows = models.PositiveIntegerField(default=0)
    duplicate_rows = models.PositiveIntegerField(default=0)
    progress = models.PositiveIntegerField(default=0)  # rows done while importing
    created_count = models.PositiveIntegerField(default=0)
    # The first errors and duplicate warnings: [{"line": 7, "field": "phone", "message": ...}]
    errors = models.JSONField(default=list)
    duplicates = models.JSONField(default=list)
    failure = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    created_by_id = models.BigIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"import {self.pk} ({self.status})"
