"""Merging a duplicate patient record: everything moves, opt-outs win, audited, inspectable."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django_tenants.utils import tenant_context

from tenant_apps.audit.models import AuditEvent
from tenant_apps.patients.merge import MERGE_MOVERS, patient_merge
from tenant_apps.patients.models import (
    ConsentEvent,
    ConsentMethod,
    Patient,
    PatientConsent,
    PatientMerge,
)
from tenant_apps.patients.services import (
    PatientInput,
    consent_record,
    patient_archive,
    patient_create,
)
from tests.isolation.markers import assert_no_marker, marker

pytestmark = pytest.mark.django_db


def make(first: str = "Zoe", last: str = "Mills", **fields: Any) -> Patient:
    return patient_create(actor=None, data=PatientInput(first_name=first, last_name=last, **fields))


def consents_of(patient: Patient) -> dict[str, bool]:
    return {c.channel: c.opted_in for c in PatientConsent.objects.filter(patient=patient)}


@pytest.fixture
def pair(clinic_a: Any) -> Any:
    with tenant_context(clinic_a):
        survivor = make(phone="+44 7911 123456", date_of_birth=dt.date(1980, 5, 1))
        merged = make("Zoë", "Mills", email="zoe@example.com", allergies="Penicillin", city="Leeds")
        yield survivor, merged


def test_consents_and_their_history_move_and_an_opt_out_wins(pair, owner_a):
    survivor, merged = pair
    in_person = ConsentMethod.IN_PERSON
    consent_record(actor=owner_a, patient=survivor, channel="sms", opted_in=True, method=in_person)
    consent_record(actor=owner_a, patient=survivor, channel="email", opted_in=True, method="form")
    consent_record(actor=owner_a, patient=merged, channel="email", opted_in=False)
    consent_record(actor=owner_a, patient=merged, channel="whatsapp", opted_in=True, method="form")
    consent_record(actor=owner_a, patient=merged, channel="sms", opted_in=True, method="message")

    merge = patient_merge(actor=owner_a, survivor=survivor, merged=merged)

    # sms: the survivor's own yes; email: the merged record's no wins; whatsapp: theirs only.
    assert consents_of(survivor) == {"sms": True, "email": False, "whatsapp": True}
    assert PatientConsent.objects.get(patient=survivor, channel="sms").method == in_person
    assert not PatientConsent.objects.filter(patient=merged).exists()
    assert ConsentEvent.objects.filter(patient=survivor).count() == 5
    assert not ConsentEvent.objects.filter(patient=merged).exists()
    assert merge.moved["consents"] == 2  # email (opt-out won) and whatsapp (new)
    assert merge.moved["consent_events"] == 3


def test_the_survivor_keeps_its_details_fills_gaps_and_keeps_every_alert(pair, owner_a):
    survivor, merged = pair
    Patient.objects.filter(pk=survivor.pk).update(allergies="Latex")
    survivor.refresh_from_db()
    patient_merge(actor=owner_a, survivor=survivor, merged=merged)
    survivor.refresh_from_db()
    merged.refresh_from_db()
    assert survivor.first_name == "Zoe"  # its own
    assert survivor.phone == "+447911123456"
    assert survivor.email == "zoe@example.com"  # was empty: filled
    assert survivor.city == "Leeds"
    assert survivor.allergies == "Latex\nPenicillin"  # never lost in a merge
    assert merged.is_archived
    assert merged.merged_into_id == survivor.pk


def test_a_merge_is_audited_with_ids_only(pair, owner_a):
    survivor, merged = pair
    merge = patient_merge(actor=owner_a, survivor=survivor, merged=merged)
    event = AuditEvent.objects.get(action="patient.merged")
    assert event.actor_id == owner_a.pk
    assert event.target_id == str(survivor.pk)
    assert event.details["survivor"] == survivor.pk
    assert event.details["merged"] == merged.pk
    assert event.details["merge"] == merge.pk
    assert "Zo" not in str(event.details)
    assert "Penicillin" not in str(event.details)


def test_every_registered_mover_runs_and_is_counted(pair, owner_a, monkeypatch):
    survivor, merged = pair
    seen: list[tuple[int, int]] = []

    def appointments(to: Patient, source: Patient) -> int:
        seen.append((to.pk, source.pk))
        return 7

    monkeypatch.setattr(
        "tenant_apps.patients.merge.MERGE_MOVERS", [*MERGE_MOVERS, ("appointments", appointments)]
    )
    merge = patient_merge(actor=owner_a, survivor=survivor, merged=merged)
    assert seen == [(survivor.pk, merged.pk)]
    assert merge.moved["appointments"] == 7


def test_refusals_are_field_errors_and_change_nothing(pair, owner_a, clinic_a):
    survivor, merged = pair
    with pytest.raises(ValidationError) as itself:
        patient_merge(actor=owner_a, survivor=survivor, merged=survivor)
    assert "merged" in itself.value.message_dict

    patient_merge(actor=owner_a, survivor=survivor, merged=merged)
    third = make("Zoe", "Third")
    with pytest.raises(ValidationError) as again:
        patient_merge(actor=owner_a, survivor=third, merged=merged)
    assert "already merged" in again.value.message_dict["merged"][0]
    with pytest.raises(ValidationError) as into_merged:
        patient_merge(actor=owner_a, survivor=merged, merged=third)
    assert "survivor" in into_merged.value.message_dict

    archived = patient_archive(actor=owner_a, patient=make("Old", "Record"))
    with pytest.raises(ValidationError) as into_archived:
        patient_merge(actor=owner_a, survivor=archived, merged=third)
    assert "Restore" in into_archived.value.message_dict["survivor"][0]
    assert PatientMerge.objects.count() == 1
    third.refresh_from_db()
    assert not third.is_archived


# --- the pages ---------------------------------------------------------------------------------


def test_the_merge_page_compares_and_merges(clinic_a, owner_a, clinic_client, pair):
    survivor, merged = pair
    client = clinic_client(clinic_a, owner_a)
    found = client.get(f"/patients/{merged.pk}/merge/", {"q": survivor.number})
    assert found.status_code == 200
    assert f"?other={survivor.pk}" in found.content.decode()

    compare = client.get(f"/patients/{merged.pk}/merge/", {"other": survivor.pk})
    page = compare.content.decode()
    assert 'data-testid="merge-comparison"' in page
    assert "zoe@example.com" in page
    assert "+447911123456" in page

    done = client.post(f"/patients/{merged.pk}/merge/", {"other": survivor.pk, "survivor": "other"})
    assert done.status_code == 302
    assert done["Location"] == f"/patients/{survivor.pk}/"
    merged.refresh_from_db()
    assert merged.merged_into_id == survivor.pk

    listing = client.get("/patients/merges/").content.decode()
    assert f"{merged.number} Zoë Mills" in listing
    assert survivor.number in listing


def test_the_merge_note_shows_on_both_records(clinic_a, owner_a, pair):
    from django.template.loader import render_to_string

    survivor, merged = pair
    patient_merge(actor=owner_a, survivor=survivor, merged=merged)
    survivor.refresh_from_db()
    merged.refresh_from_db()
    on_merged = render_to_string("patients/_merge_note.html", {"patient": merged})
    on_survivor = render_to_string("patients/_merge_note.html", {"patient": survivor})
    assert f"merged into {survivor.number}" in on_merged
    assert f"Merged into this record: {merged.number}" in on_survivor


def test_a_refused_merge_answers_400_with_the_reason(clinic_a, owner_a, clinic_client, pair):
    survivor, merged = pair
    client = clinic_client(clinic_a, owner_a)
    no_choice = client.post(f"/patients/{merged.pk}/merge/", {"other": survivor.pk})
    assert no_choice.status_code == 400
    assert "Choose which record stays" in no_choice.content.decode()
    patient_archive(actor=owner_a, patient=survivor)
    refused = client.post(
        f"/patients/{merged.pk}/merge/", {"other": survivor.pk, "survivor": "other"}
    )
    assert refused.status_code == 400
    assert "Restore this archived record" in refused.content.decode()
    assert not PatientMerge.objects.exists()


def test_receptionists_cannot_merge(clinic_a, receptionist_a, clinic_client, pair):
    survivor, merged = pair
    client = clinic_client(clinic_a, receptionist_a)
    assert client.get(f"/patients/{merged.pk}/merge/").status_code == 403
    posted = client.post(
        f"/patients/{merged.pk}/merge/", {"other": survivor.pk, "survivor": "this"}
    )
    assert posted.status_code == 403
    assert not PatientMerge.objects.exists()
    assert client.get("/patients/merges/").status_code == 200  # inspecting is for everyone


def test_practitioners_may_merge(clinic_a, practitioner_a, clinic_client, pair):
    survivor, merged = pair
    client = clinic_client(clinic_a, practitioner_a)
    posted = client.post(
        f"/patients/{merged.pk}/merge/", {"other": survivor.pk, "survivor": "other"}
    )
    assert posted.status_code == 302
    assert PatientMerge.objects.get().survivor_id == survivor.pk


def test_clinic_a_cannot_merge_or_see_clinic_b_records(clinic_a, clinic_b, owner_a, clinic_client):
    b_marker = marker(clinic_b, "patient")
    with tenant_context(clinic_a):
        ours = [make("Ann", "Able") for _ in range(3)]
        our_ids = set(Patient.objects.values_list("pk", flat=True))
    with tenant_context(clinic_b):
        theirs = make(b_marker, "Other")
        while theirs.pk in our_ids:  # an id that exists only in B
            theirs = make(b_marker, "Other")
        patient_merge(actor=None, survivor=theirs, merged=make("Second", "Other"))
    client = clinic_client(clinic_a, owner_a)
    # B's record is unknown in A's schema: a 404, whichever side names it.
    assert client.get(f"/patients/{theirs.pk}/merge/").status_code == 404
    assert client.get(f"/patients/{ours[0].pk}/merge/", {"other": theirs.pk}).status_code == 404
    posted = client.post(f"/patients/{ours[0].pk}/merge/", {"other": theirs.pk, "survivor": "this"})
    assert posted.status_code == 404
    search = client.get(f"/patients/{ours[0].pk}/merge/", {"q": "Other"})  # B's last name
    assert_no_marker(search.content, b_marker)
    assert_no_marker(client.get("/patients/merges/").content, b_marker)
    with tenant_context(clinic_a):
        assert not PatientMerge.objects.exists()
