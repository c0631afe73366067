"""What `/api/v1/patients/` reads and writes (the API's shapes; the rules live in services).

Allergies and medical alerts are clinical content: `PatientSerializer` drops them unless
the context says the caller's role has clinical.view; `has_alerts` is there for everyone.
"""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from tenant_apps.patients.models import (
    Channel,
    ConsentEvent,
    ConsentMethod,
    Patient,
    PatientConsent,
)

CLINICAL_FIELDS = ("allergies", "medical_alerts")
# What the service checks again (lengths, phones, dates); here only the types and a ceiling
# well above every real value, so a 100 kB string answers a field error before any work.
PHONE_MAX_LENGTH = 50
TEXT_MAX_LENGTH = 10_000

PATIENT_FIELDS = [
    "id",
    "number",
    "first_name",
    "last_name",
    "preferred_name",
    "display_name",
    "date_of_birth",
    "sex",
    "phone",
    "phone_alt",
    "email",
    "address_line1",
    "address_line2",
    "city",
    "postcode",
    "country",
    "national_id",
    "emergency_contact_name",
    "emergency_contact_phone",
    "referral_source",
    "has_alerts",
    "allergies",
    "medical_alerts",
    "front_desk_notes",
    "is_archived",
    "archived_at",
    "merged_into",
    "created_at",
    "updated_at",
]


class PatientSerializer(serializers.ModelSerializer[Patient]):
    display_name = serializers.CharField(read_only=True)
    has_alerts = serializers.BooleanField(
        read_only=True,
        help_text="Whether the record has allergies or medical alerts (shown to every role).",
    )
    allergies = serializers.CharField(
        read_only=True, help_text="Only present for roles with clinical.view."
    )
    medical_alerts = serializers.CharField(
        read_only=True, help_text="Only present for roles with clinical.view."
    )

    class Meta:
        model = Patient
        fields = PATIENT_FIELDS
        read_only_fields = PATIENT_FIELDS

    def to_representation(self, instance: Patient) -> dict[str, Any]:
        data: dict[str, Any] = super().to_representation(instance)
        if not self.context.get("clinical", False):
            for name in CLINICAL_FIELDS:
                data.pop(name, None)
        return data


def _text(max_length: int, **kwargs: Any) -> serializers.CharField:
    return serializers.CharField(required=False, allow_blank=True, max_length=max_length, **kwargs)


class PatientWriteSerializer(serializers.Serializer[Any]):
    """The fields of `PatientInput`; on PATCH only those sent change."""

    # Blank names pass here so the service's field map reports them with everything else.
    first_name = serializers.CharField(max_length=100, allow_blank=True)
    last_name = serializers.CharField(max_length=100, allow_blank=True)
    preferred_name = _text(100)
    date_of_birth = serializers.DateField(required=False, allow_null=True)
    sex = serializers.ChoiceField(choices=Patient.Sex.choices, required=False)
    phone = _text(PHONE_MAX_LENGTH, help_text="Any common format; stored as E.164.")
    phone_alt = _text(PHONE_MAX_LENGTH)
    email = _text(254)
    address_line1 = _text(200)
    address_line2 = _text(200)
    city = _text(100)
    postcode = _text(20)
    country = _text(2, help_text="Two-letter code, e.g. GB.")
    national_id = _text(50)
    emergency_contact_name = _text(200)
    emergency_contact_phone = _text(PHONE_MAX_LENGTH)
    referral_source = _text(200)
    allergies = _text(TEXT_MAX_LENGTH, help_text="Needs clinical.view to write.")
    medical_alerts = _text(TEXT_MAX_LENGTH, help_text="Needs clinical.view to write.")
    front_desk_notes = _text(TEXT_MAX_LENGTH)


class PatientCreateSerializer(PatientWriteSerializer):
    confirm_duplicate = serializers.BooleanField(
        required=False,
        default=False,
        help_text="Send true to create the record although likely duplicates exist (409).",
    )


class DuplicateSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    number = serializers.CharField()


class DuplicateConflictSerializer(serializers.Serializer[Any]):
    error = serializers.DictField(help_text='{"code": "possible_duplicate", "message", "fields"}')
    duplicates = DuplicateSerializer(many=True)


class ConsentCurrentSerializer(serializers.Serializer[Any]):
    channel = serializers.ChoiceField(choices=Channel.choices)
    opted_in = serializers.BooleanField(help_text="Never asked counts as not opted in.")
    method = serializers.CharField(allow_blank=True)
    recorded_at = serializers.DateTimeField(allow_null=True)


class ConsentEventSerializer(serializers.ModelSerializer[ConsentEvent]):
    class Meta:
        model = ConsentEvent
        fields = ["id", "channel", "opted_in", "method", "note", "recorded_at", "recorded_by_email"]
        read_only_fields = fields


class ConsentsSerializer(serializers.Serializer[Any]):
    current = ConsentCurrentSerializer(many=True)
    history = ConsentEventSerializer(many=True)


class ConsentWriteSerializer(serializers.Serializer[Any]):
    channel = serializers.ChoiceField(choices=Channel.choices)
    opted_in = serializers.BooleanField()
    method = serializers.ChoiceField(
        choices=ConsentMethod.choices,
        required=False,
        allow_blank=True,
        help_text="Needed to opt in; opting out needs nothing.",
    )
    note = serializers.CharField(required=False, allow_blank=True, max_length=500)


def current_consents(consents: list[PatientConsent]) -> list[dict[str, Any]]:
    """One answer per channel, never-asked channels included (as not opted in)."""
    by_channel = {consent.channel: consent for consent in consents}
    rows = []
    for channel in Channel.values:
        consent = by_channel.get(channel)
        rows.append(
            {
                "channel": channel,
                "opted_in": bool(consent and consent.opted_in),
                "method": consent.method if consent else "",
                "recorded_at": consent.recorded_at if consent else None,
            }
        )
    return rows
