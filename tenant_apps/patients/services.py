"""Every write to patient records: create, update, archive, restore, consent.

Each function runs in one transaction on the clinic's schema and leaves one audit row
(ids and field names only: no patient data in the trail). Input is checked here as well
as in forms and serializers; a ValidationError carries a field map for both.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from dataclasses import dataclass, fields
from typing import Any

import phonenumbers
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone

from drcrm.tenancy import current_clinic
from shared_apps.accounts.models import User
from tenant_apps.audit.services import audit_record
from tenant_apps.patients.models import (
    Channel,
    ConsentEvent,
    ConsentMethod,
    Patient,
    PatientConsent,
    PatientNumberCounter,
    format_patient_number,
)


@dataclass
class PatientInput:
    """What a person may type about a patient (forms, the API and imports fill it)."""

    first_name: str = ""
    last_name: str = ""
    preferred_name: str = ""
    date_of_birth: dt.date | None = None
    sex: str = Patient.Sex.UNKNOWN
    phone: str = ""
    phone_alt: str = ""
    email: str = ""
    address_line1: str = ""
    address_line2: str = ""
    city: str = ""
    postcode: str = ""
    country: str = ""
    national_id: str = ""
    emergency_contact_name: str = ""
    emergency_contact_phone: str = ""
    referral_source: str = ""
    allergies: str = ""
    medical_alerts: str = ""
    front_desk_notes: str = ""


INPUT_FIELDS = tuple(field.name for field in fields(PatientInput))
PHONE_FIELDS = ("phone", "phone_alt", "emergency_contact_phone")


# --- normalising ---------------------------------------------------------------------------


def search_normalise(text: str) -> str:
    """Lower case without accents: "Zoë Ñúñez" -> "zoe nunez" (the index holds this form)."""
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(stripped.casefold().split())


def digits_of(text: str) -> str:
    return "".join(ch for ch in text if ch.isdigit())


def phone_to_e164(raw: str, *, region: str) -> str:
    """E.164 for a phone typed in any common format; `region` is the clinic's country."""
    try:
        number = phonenumbers.parse(raw, region or None)
    except phonenumbers.NumberParseException:
        raise ValidationError("Enter a phone number such as +44 7911 123456.") from None
    if not phonenumbers.is_valid_number(number):
        raise ValidationError("This is not a valid phone number.")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _clean(data: PatientInput, *, region: str) -> dict[str, Any]:
    errors: dict[str, list[str]] = {}
    values: dict[str, Any] = {}
    for name in INPUT_FIELDS:
        value = getattr(data, name)
        if isinstance(value, str):
            if "\x00" in value:  # PostgreSQL refuses NUL in text: a field error, not a 500
                errors[name] = ["Remove the invalid character."]
            value = value.strip()
        values[name] = value
    if not values["first_name"]:
        errors.setdefault("first_name", ["Enter the first name."])
    if not values["last_name"]:
        errors.setdefault("last_name", ["Enter the last name."])
    max_lengths = {
        f.name: f.max_length for f in Patient._meta.get_fields() if hasattr(f, "max_length")
    }
    for name, value in values.items():
        limit = max_lengths.get(name)
        if isinstance(value, str) and limit and len(value) > limit and name not in PHONE_FIELDS:
            errors.setdefault(name, []).append(f"Use at most {limit} characters.")
    birth = values["date_of_birth"]
    if birth is not None:
        if birth > timezone.localdate():
            errors["date_of_birth"] = ["The date of birth cannot be in the future."]
        elif birth.year < 1900:
            errors["date_of_birth"] = ["Enter a date of birth after 1900."]
    if values["sex"] not in Patient.Sex.values:
        errors["sex"] = ["Choose one of the options."]
    if values["email"]:
        try:
            validate_email(values["email"])
        except ValidationError:
            errors["email"] = ["Enter a valid email address."]
    if values["country"] and not (len(values["country"]) == 2 and values["country"].isalpha()):
        errors["country"] = ["Use a two-letter country code such as GB."]
    values["country"] = values["country"].upper()
    for name in PHONE_FIELDS:
        if values[name] and name not in errors:
            try:
                values[name] = phone_to_e164(values[name], region=region)
            except ValidationError as exc:
                errors[name] = exc.messages
    if errors:
        raise ValidationError(errors)
    return values


def _derived(values: dict[str, Any]) -> dict[str, Any]:
    return {
        "phone_digits": digits_of(values["phone"]),
        "phone_alt_digits": digits_of(values["phone_alt"]),
        "search_text": search_normalise(
            " ".join([values["first_name"], values["preferred_name"], values["last_name"]])
        ),
    }


def _region() -> str:
    return str(getattr(current_clinic(), "country", "") or "")


def _next_number() -> int:
    # The row lock serialises numbering; a rolled-back creation releases its number.
    counter, _ = PatientNumberCounter.objects.select_for_update().get_or_create(pk=1)
    counter.last_number += 1
    counter.save(update_fields=["last_number"])
    return counter.last_number


# --- writes ----------------------------------------------------------------------------------


def patient_create(*, actor: User | None, data: PatientInput) -> Patient:
    values = _clean(data, region=_region())
    with transaction.atomic():
        sequence = _next_number()
        patient = Patient.objects.create(
            number=format_patient_number(sequence),
            sequence=sequence,
            created_by_id=getattr(actor, "pk", None),
            **values,
            **_derived(values),
        )
        audit_record(actor=actor, action="patient.created", target=patient, details={})
    return patient


def patient_update(*, actor: User | None, patient: Patient, data: PatientInput) -> Patient:
    values = _clean(data, region=_region())
    with transaction.atomic():
        patient = Patient.objects.select_for_update().get(pk=patient.pk)
        changed = [name for name, value in values.items() if getattr(patient, name) != value]
        for name, value in {**values, **_derived(values)}.items():
            setattr(patient, name, value)
        patient.save()
        audit_record(
            actor=actor, action="patient.updated", target=patient, details={"fields": changed}
        )
    return patient


def patient_archive(*, actor: User | None, patient: Patient) -> Patient:
    with transaction.atomic():
        patient = Patient.objects.select_for_update().get(pk=patient.pk)
        if not patient.is_archived:
            patient.is_archived = True
            patient.archived_at = timezone.now()
            patient.save(update_fields=["is_archived", "archived_at", "updated_at"])
            audit_record(actor=actor, action="patient.archived", target=patient, details={})
    return patient


def patient_restore(*, actor: User | None, patient: Patient) -> Patient:
    with transaction.atomic():
        patient = Patient.objects.select_for_update().get(pk=patient.pk)
        if patient.merged_into_id is not None:
            raise ValidationError(
                {"is_archived": ["This record was merged into another one; open that one."]}
            )
        if patient.is_archived:
            patient.is_archived = False
            patient.archived_at = None
            patient.save(update_fields=["is_archived", "archived_at", "updated_at"])
            audit_record(actor=actor, action="patient.restored", target=patient, details={})
    return patient


def consent_record(
    *,
    actor: User | None,
    patient: Patient,
    channel: str,
    opted_in: bool,
    method: str = "",
    note: str = "",
) -> PatientConsent:
    """Record a patient's yes or no for one channel, keeping the history.

    Opting in needs to say how it was given; opting out never needs anything (one click,
    and it always wins: any later send re-checks the current answer).
    """
    errors: dict[str, list[str]] = {}
    if channel not in Channel.values:
        errors["channel"] = ["Choose WhatsApp, SMS or email."]
    if opted_in and method not in ConsentMethod.values:
        errors["method"] = ["Say how the patient agreed: in person, a form or a message."]
    if method and method not in ConsentMethod.values:
        errors["method"] = ["Choose in person, a form or a message."]
    if len(note) > 500 or "\x00" in note:
        errors["note"] = ["Use at most 500 characters."]
    if errors:
        raise ValidationError(errors)
    now = timezone.now()
    with transaction.atomic():
        consent, _ = PatientConsent.objects.select_for_update().update_or_create(
            patient=patient,
            channel=channel,
            defaults={
                "opted_in": opted_in,
                "method": method,
                "recorded_at": now,
                "recorded_by_id": getattr(actor, "pk", None),
            },
        )
        ConsentEvent.objects.create(
            patient=patient,
            channel=channel,
            opted_in=opted_in,
            method=method,
            note=note.strip(),
            recorded_at=now,
            recorded_by_id=getattr(actor, "pk", None),
            recorded_by_email=getattr(actor, "email", "") or "",
        )
        audit_record(
            actor=actor,
            action="patient.consent_recorded",
            target=patient,
            details={"channel": channel, "opted_in": opted_in},
        )
    return consent


# --- the patient page (record helper) ------------------------------------------------------


def patient_input_check(*, data: PatientInput) -> None:
    """Raise the ValidationError `patient_create` would, without writing anything.

    The create page checks the input before it looks for duplicates, so a person fixes
    their typing first and is only then asked whether this is someone already on file.
    """
    _clean(data, region=_region())


def patient_view_record(*, actor: User | None, patient: Patient) -> None:
    """A read audit: who opened this patient's record, and when (ids only, as every event)."""
    audit_record(actor=actor, action="patient.viewed", target=patient, details={})


# --- export (search helper) ----------------------------------------------------------------


def patients_export_record(
    *, actor: User | None, count: int, filtered: bool, include_archived: bool
) -> None:
    """The audit row of a CSV export: who took how many records (never the search text)."""
    audit_record(
        actor=actor,
        action="patient.exported",
        target_type="patients.patient",
        details={"count": count, "filtered": filtered, "include_archived": include_archived},
    )
