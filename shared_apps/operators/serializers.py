"""What the platform API reads and writes: the registry row and usage numbers of a clinic,
never a clinic record."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from provisioning.selectors import MAX_PAGE_SIZE, ClinicUsage
from provisioning.services import clinic_host
from provisioning.template import current_fingerprint
from shared_apps.clinics.models import Clinic


class ClinicUsageCountsSerializer(serializers.Serializer[Any]):
    members = serializers.IntegerField(source="member_count", help_text="Active memberships.")
    patients = serializers.IntegerField(source="patient_count")
    storage_bytes = serializers.IntegerField(
        help_text="Disk used by the clinic's schema: tables, indexes and TOAST."
    )


class ClinicSerializer(serializers.Serializer[Any]):  # of ClinicUsage
    """A clinic as operators see it (the same keys in lists and in one clinic)."""

    subdomain = serializers.CharField(source="clinic.subdomain")
    name = serializers.CharField(source="clinic.name")
    host = serializers.SerializerMethodField()
    status = serializers.ChoiceField(source="clinic.status", choices=Clinic.Status.choices)
    status_reason = serializers.CharField(source="clinic.status_reason")
    status_changed_at = serializers.DateTimeField(source="clinic.status_changed_at")
    plan = serializers.ChoiceField(source="clinic.plan", choices=Clinic.Plan.choices)
    clinic_type = serializers.ChoiceField(
        source="clinic.clinic_type", choices=Clinic.ClinicType.choices
    )
    country = serializers.CharField(source="clinic.country")
    time_zone = serializers.CharField(source="clinic.time_zone")
    currency = serializers.CharField(source="clinic.currency")
    created_at = serializers.DateTimeField(source="clinic.created_at")
    schema_up_to_date = serializers.SerializerMethodField(
        help_text="Whether the clinic's schema has every current migration."
    )
    owner_emails = serializers.ListField(child=serializers.EmailField())
    usage = ClinicUsageCountsSerializer(source="*")

    def get_host(self, usage: ClinicUsage) -> str:
        return clinic_host(usage.clinic.subdomain)

    def get_schema_up_to_date(self, usage: ClinicUsage) -> bool:
        return usage.clinic.schema_fingerprint == current_fingerprint()


class ClinicListQuerySerializer(serializers.Serializer[Any]):
    search = serializers.CharField(required=False, default="", max_length=200, allow_blank=True)
    status = serializers.ChoiceField(
        choices=Clinic.Status.choices, required=False, allow_blank=True, default=""
    )
    page = serializers.IntegerField(required=False, default=1, min_value=1, max_value=100_000)
    page_size = serializers.IntegerField(
        required=False, default=50, min_value=1, max_value=MAX_PAGE_SIZE
    )


class ClinicListSerializer(serializers.Serializer[Any]):
    count = serializers.IntegerField()
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = ClinicSerializer(many=True)


class ClinicCreateSerializer(serializers.Serializer[Any]):
    """Shapes only (generous caps keep megabyte strings out); the provisioning service
    checks the values and reports every bad one at once, in its own words."""

    name = serializers.CharField(max_length=1000)
    subdomain = serializers.CharField(max_length=200)
    clinic_type = serializers.CharField(max_length=100, help_text="medical or dental")
    owner_email = serializers.EmailField(
        max_length=254, help_text="The owner is sent an invite to this address."
    )
    country = serializers.CharField(
        max_length=100, required=False, default="", allow_blank=True, help_text="e.g. GB"
    )
    time_zone = serializers.CharField(max_length=100, required=False, default="UTC")
    currency = serializers.CharField(max_length=100, required=False, default="USD")
    plan = serializers.CharField(
        max_length=100,
        required=False,
        default=Clinic.Plan.TRIAL,
        help_text="trial, standard or premium",
    )


class SuspendSerializer(serializers.Serializer[Any]):
    reason = serializers.CharField(
        max_length=2000, allow_blank=True, help_text="Required; kept in the registry."
    )


class ResumeSerializer(serializers.Serializer[Any]):
    reason = serializers.CharField(max_length=2000, required=False, default="", allow_blank=True)
