"""Patient writes: numbering, normalising, validation, consent history, archive."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django_tenants.utils import tenant_context

from tenant_apps.audit.models import AuditEvent
from tenant_apps.patients.models import ConsentEvent, Patient, PatientConsent
from tenant_apps.patients.services import (
    PatientInput,
    consent_record,
    patient_archive,
    patient_create,
    patient_restore,
    patient_update,
    search_normalise,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def in_clinic_a(clinic_a):
    with tenant_context(clinic_a):
        yield clinic_a


def make(actor, **fields) -> Patient:
    return patient_create(
        actor=actor, data=PatientInput(**{"first_name": "Ana", "last_name": "Lima", **fields})
    )


def test_numbers_are_per_clinic_and_gapless_even_after_a_failed_creation(
    in_clinic_a, owner_a, clinic_b, outsider_b
):
    def create_then_fail() -> None:
        with transaction.atomic():
            make(owner_a)  # takes P-000002 ...
            raise RuntimeError("the request failed after the insert")  # ... and gives it back

    first = make(owner_a)
    with pytest.raises(RuntimeError):
        create_then_fail()
    second = make(owner_a)
    assert (first.number, second.number) == ("P-000001", "P-000002")
    with tenant_context(clinic_b):
        assert make(outsider_b).number == "P-000001"  # clinic B counts on its own


def test_phones_are_stored_as_e164_in_the_clinics_region(in_clinic_a, owner_a):
    patient = make(owner_a, phone="07911 123456", phone_alt="+33 6 12 34 56 78")
    assert (patient.phone, patient.phone_alt) == ("+447911123456", "+33612345678")
    assert patient.phone_digits == "447911123456"


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"phone": "12"}, "phone", "This is not a valid phone number."),
        ({"phone": "call me"}, "phone", "Enter a phone number such as"),
        ({"first_name": " "}, "first_name", "Enter the first name."),
        ({"last_name": "x" * 101}, "last_name", "Use at most 100 characters."),
        ({"first_name": "A\x00"}, "first_name", "Remove the invalid character."),
        ({"email": "not-an-email"}, "email", "Enter a valid email address."),
        ({"sex": "robot"}, "sex", "Choose one of the options."),
        ({"country": "GBR"}, "country", "two-letter country code"),
        (
            {"date_of_birth": timezone.localdate() + dt.timedelta(days=1)},
            "date_of_birth",
            "cannot be in the future",
        ),
    ],
)
def test_bad_input_is_a_field_error_and_saves_nothing(in_clinic_a, owner_a, fields, field, message):
    with pytest.raises(ValidationError) as raised:
        make(owner_a, **fields)
    assert message in " ".join(raised.value.message_dict[field])
    assert not Patient.objects.exists()


def test_search_text_is_lower_case_without_accents(in_clinic_a, owner_a):
    patient = make(owner_a, first_name="Zoë", last_name="Ñúñez-O'Brien", preferred_name="Zo")
    assert patient.search_text == "zoe zo nunez-o'brien"
    assert search_normalise("  ÉLODIE   Çelik ") == "elodie celik"


def test_updates_are_audited_with_field_names_only(in_clinic_a, owner_a):
    patient = make(owner_a, phone="07911 123456")
    patient_update(
        actor=owner_a,
        patient=patient,
        data=PatientInput(first_name="Ana", last_name="Lima-Souza", phone="+447911123456"),
    )
    event = AuditEvent.objects.filter(action="patient.updated").get()
    assert event.details == {"fields": ["last_name"]}
    assert "Souza" not in str(event.details)


def test_consent_history_is_kept_and_the_latest_answer_counts(in_clinic_a, owner_a):
    patient = make(owner_a)
    consent_record(actor=owner_a, patient=patient, channel="whatsapp", opted_in=True, method="form")
    consent_record(actor=owner_a, patient=patient, channel="whatsapp", opted_in=False)
    current = PatientConsent.objects.get(patient=patient, channel="whatsapp")
    assert current.opted_in is False
    history = list(ConsentEvent.objects.filter(patient=patient).values_list("opted_in", "method"))
    assert history == [(False, ""), (True, "form")]  # newest first
    assert ConsentEvent.objects.filter(recorded_by_email=owner_a.email).count() == 2


def test_opting_in_needs_to_say_how(in_clinic_a, owner_a):
    patient = make(owner_a)
    with pytest.raises(ValidationError) as raised:
        consent_record(actor=owner_a, patient=patient, channel="sms", opted_in=True)
    assert "method" in raised.value.message_dict
    with pytest.raises(ValidationError) as raised:
        consent_record(actor=owner_a, patient=patient, channel="pigeon", opted_in=False)
    assert "channel" in raised.value.message_dict
    assert not PatientConsent.objects.exists()


def test_archive_and_restore_but_never_restore_a_merged_record(in_clinic_a, owner_a):
    patient = make(owner_a)
    assert patient_archive(actor=owner_a, patient=patient).is_archived
    assert not patient_restore(actor=owner_a, patient=patient).is_archived
    survivor = make(owner_a)
    Patient.objects.filter(pk=patient.pk).update(is_archived=True, merged_into=survivor)
    with pytest.raises(ValidationError):
        patient_restore(actor=owner_a, patient=patient)
