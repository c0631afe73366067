"""The patient page, the create and edit forms, archive/restore, consent and the read audit."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.db import transaction
from django.utils import timezone
from django_tenants.utils import tenant_context

from shared_apps.accounts.models import Role
from tenant_apps.audit.models import AuditEvent
from tenant_apps.patients.models import ConsentEvent, Patient, PatientConsent
from tenant_apps.patients.services import PatientInput, patient_create
from tests import factories
from tests.isolation.markers import assert_no_marker, marker

pytestmark = pytest.mark.django_db

MOBILE = "+44 7911 123456"
ALLERGY = "Penicillin anaphylaxis"
ALERT = "Pacemaker fitted"


def form_data(**overrides: Any) -> dict[str, str]:
    data = {
        "first_name": "Zoë",
        "last_name": "Núñez",
        "preferred_name": "",
        "date_of_birth": "1984-03-02",
        "sex": "female",
        "phone": "07911 123456",
        "phone_alt": "",
        "email": "zoe@example.com",
        "address_line1": "1 High Street",
        "address_line2": "",
        "city": "London",
        "postcode": "N1 1AA",
        "country": "GB",
        "national_id": "",
        "emergency_contact_name": "",
        "emergency_contact_phone": "",
        "referral_source": "",
        "allergies": "",
        "medical_alerts": "",
        "front_desk_notes": "",
    }
    data.update(overrides)
    return data


def make_patient(clinic: Any, **fields: Any) -> Patient:
    values = {"first_name": "Ada", "last_name": "Lovelace", **fields}
    with tenant_context(clinic):
        return patient_create(actor=None, data=PatientInput(**values))


def member(clinic: Any, role: str) -> Any:
    user = factories.user_create()
    factories.membership_add(user=user, clinic=clinic, role=role)
    return user


def in_clinic(clinic: Any, read: Any) -> Any:
    with tenant_context(clinic):
        return read()


# --- create ---------------------------------------------------------------------------------


def test_creating_numbers_patients_without_gaps_even_after_a_failed_create(
    clinic_a, receptionist_a, clinic_client
):
    client = clinic_client(clinic_a, receptionist_a)
    first = client.post("/patients/new/", form_data())
    assert first.status_code == 302
    failed = client.post("/patients/new/", form_data(first_name="Bob", phone="12"))
    assert failed.status_code == 400
    second = client.post("/patients/new/", form_data(first_name="Bob", phone="", email=""))
    assert second.status_code == 302
    numbers = in_clinic(
        clinic_a,
        lambda: list(Patient.objects.order_by("sequence").values_list("number", flat=True)),
    )
    assert numbers == ["P-000001", "P-000002"]
    patient = in_clinic(clinic_a, lambda: Patient.objects.get(number="P-000001"))
    assert first["Location"] == f"/patients/{patient.pk}/"
    assert patient.phone == "+447911123456"


def create_then_fail() -> None:
    with transaction.atomic():
        patient_create(actor=None, data=PatientInput(first_name="A", last_name="B"))
        raise RuntimeError("something after the insert failed")


def test_a_creation_rolled_back_inside_its_transaction_gives_its_number_back(clinic_a):
    with tenant_context(clinic_a):
        with pytest.raises(RuntimeError):
            create_then_fail()
        patient = patient_create(actor=None, data=PatientInput(first_name="C", last_name="D"))
    assert patient.number == "P-000001"


def test_the_new_patient_page_shows_errors_inline_and_keeps_what_was_typed(
    clinic_a, receptionist_a, clinic_client
):
    client = clinic_client(clinic_a, receptionist_a)
    future = (timezone.localdate() + dt.timedelta(days=3)).isoformat()
    response = client.post(
        "/patients/new/", form_data(phone="not a phone", date_of_birth=future, first_name="Kept")
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert "The date of birth cannot be in the future." in html
    assert 'value="Kept"' in html
    assert 'value="not a phone"' in html
    assert in_clinic(clinic_a, Patient.objects.count) == 0


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("phone", "+44 7911"),
        ("first_name", "Ab\x00c"),
        ("front_desk_notes", "x" * 100_000),
        ("last_name", "y" * 100_000),
        ("date_of_birth", "2020-02-30"),
        ("email", "not-an-email"),
        ("first_name", ""),
    ],
)
def test_bad_input_is_a_field_error_never_a_crash(
    clinic_a, receptionist_a, clinic_client, field, value
):
    response = clinic_client(clinic_a, receptionist_a).post(
        "/patients/new/", form_data(**{field: value})
    )
    assert response.status_code == 400
    assert f'id="id_{field}"' in response.content.decode()
    assert response.context["form"].errors[field]
    assert in_clinic(clinic_a, Patient.objects.count) == 0


def test_a_likely_duplicate_is_shown_before_saving_and_can_be_created_anyway(
    clinic_a, receptionist_a, clinic_client
):
    existing = make_patient(clinic_a, first_name="Zoe", last_name="Nunez", phone=MOBILE)
    client = clinic_client(clinic_a, receptionist_a)
    # Same phone typed another way.
    warned = client.post("/patients/new/", form_data(first_name="Other", phone="+447911123456"))
    assert warned.status_code == 200
    assert f'href="/patients/{existing.pk}/"' in warned.content.decode()
    assert 'data-testid="create-anyway"' in warned.content.decode()
    assert in_clinic(clinic_a, Patient.objects.count) == 1
    created = client.post(
        "/patients/new/", form_data(first_name="Other", phone="+447911123456", create_anyway="on")
    )
    assert created.status_code == 302
    assert in_clinic(clinic_a, Patient.objects.count) == 2


def test_same_name_with_other_accents_and_case_and_same_birth_date_is_a_duplicate(
    clinic_a, receptionist_a, clinic_client
):
    existing = make_patient(
        clinic_a, first_name="ZOE", last_name="nunez", date_of_birth=dt.date(1984, 3, 2)
    )
    client = clinic_client(clinic_a, receptionist_a)
    warned = client.post("/patients/new/", form_data(phone=""))
    assert [p.pk for p in warned.context["duplicates"]] == [existing.pk]
    other_birthday = client.post("/patients/new/", form_data(phone="", date_of_birth="1990-01-01"))
    assert other_birthday.status_code == 302


# --- edit -----------------------------------------------------------------------------------


def test_editing_shows_errors_inline_and_saves_once_fixed(clinic_a, receptionist_a, clinic_client):
    patient = make_patient(clinic_a, phone=MOBILE)
    client = clinic_client(clinic_a, receptionist_a)
    page = client.get(f"/patients/{patient.pk}/edit/")
    assert page.status_code == 200
    assert 'value="Ada"' in page.content.decode()
    bad = client.post(f"/patients/{patient.pk}/edit/", form_data(first_name="Ada", phone="0000"))
    assert bad.status_code == 400
    assert bad.context["form"].errors["phone"]
    assert in_clinic(clinic_a, lambda: Patient.objects.get(pk=patient.pk).first_name) == "Ada"
    good = client.post(f"/patients/{patient.pk}/edit/", form_data(first_name="Augusta"))
    assert good.status_code == 302
    saved = in_clinic(clinic_a, lambda: Patient.objects.get(pk=patient.pk))
    assert (saved.first_name, saved.number) == ("Augusta", patient.number)


def test_a_receptionist_sees_that_there_are_alerts_but_never_their_text(
    clinic_a, receptionist_a, clinic_client
):
    patient = make_patient(clinic_a, allergies=ALLERGY, medical_alerts=ALERT)
    client = clinic_client(clinic_a, receptionist_a)
    for path in (f"/patients/{patient.pk}/", f"/patients/{patient.pk}/edit/"):
        html = client.get(path).content.decode()
        assert "This patient has allergies/medical alerts — ask a clinician" in html, path
        assert ALLERGY not in html, path
        assert ALERT not in html, path
        assert 'name="allergies"' not in html


def test_a_receptionists_edit_keeps_the_alerts_on_file(clinic_a, receptionist_a, clinic_client):
    patient = make_patient(clinic_a, allergies=ALLERGY, medical_alerts=ALERT)
    response = clinic_client(clinic_a, receptionist_a).post(
        f"/patients/{patient.pk}/edit/",
        form_data(first_name="Ada", allergies="", medical_alerts="wiped"),
    )
    assert response.status_code == 302
    saved = in_clinic(clinic_a, lambda: Patient.objects.get(pk=patient.pk))
    assert (saved.allergies, saved.medical_alerts, saved.first_name) == (ALLERGY, ALERT, "Ada")


def test_a_practitioner_reads_and_edits_the_alerts(clinic_a, practitioner_a, clinic_client):
    patient = make_patient(clinic_a, allergies=ALLERGY)
    client = clinic_client(clinic_a, practitioner_a)
    html = client.get(f"/patients/{patient.pk}/").content.decode()
    assert ALLERGY in html
    assert "ask a clinician" not in html
    response = client.post(
        f"/patients/{patient.pk}/edit/", form_data(first_name="Ada", medical_alerts=ALERT)
    )
    assert response.status_code == 302
    saved = in_clinic(clinic_a, lambda: Patient.objects.get(pk=patient.pk))
    assert (saved.allergies, saved.medical_alerts) == ("", ALERT)


def test_a_patient_without_alerts_has_no_banner(clinic_a, receptionist_a, clinic_client):
    patient = make_patient(clinic_a)
    html = clinic_client(clinic_a, receptionist_a).get(f"/patients/{patient.pk}/").content
    assert b'data-testid="patient-alerts"' not in html


# --- the page, archive, restore -------------------------------------------------------------


def test_the_page_shows_the_header_and_sections_and_front_desk_notes(
    clinic_a, receptionist_a, clinic_client
):
    patient = make_patient(
        clinic_a,
        preferred_name="Addie",
        date_of_birth=dt.date(1990, 1, 1),
        phone=MOBILE,
        front_desk_notes="Prefers mornings",
    )
    html = clinic_client(clinic_a, receptionist_a).get(f"/patients/{patient.pk}/").content.decode()
    for text in ("Ada (Addie) Lovelace", "P-000001", "+447911123456", "Prefers mornings"):
        assert text in html
    for section in ("Appointments", "Clinical notes", "Prescriptions", "Billing", "Documents"):
        assert section in html


def test_each_opening_of_the_page_is_an_audit_event(clinic_a, receptionist_a, clinic_client):
    patient = make_patient(clinic_a)
    client = clinic_client(clinic_a, receptionist_a)
    client.get(f"/patients/{patient.pk}/")
    client.get(f"/patients/{patient.pk}/")
    views = in_clinic(
        clinic_a,
        lambda: list(AuditEvent.objects.filter(action="patient.viewed", target_id=str(patient.pk))),
    )
    assert len(views) == 2
    assert {(e.actor_id, e.target_type) for e in views} == {(receptionist_a.pk, "patients.patient")}


def test_archive_needs_confirmation_and_restore_brings_it_back(
    clinic_a, receptionist_a, clinic_client
):
    patient = make_patient(clinic_a)
    client = clinic_client(clinic_a, receptionist_a)
    unconfirmed = client.post(f"/patients/{patient.pk}/archive/")
    assert unconfirmed.status_code == 400
    assert not in_clinic(clinic_a, lambda: Patient.objects.get(pk=patient.pk).is_archived)
    assert client.get(f"/patients/{patient.pk}/archive/").status_code == 405
    archived = client.post(f"/patients/{patient.pk}/archive/", {"confirm": "yes"})
    assert archived.status_code == 302
    assert in_clinic(clinic_a, lambda: Patient.objects.get(pk=patient.pk).is_archived)
    assert b'data-testid="archived-badge"' in client.get(f"/patients/{patient.pk}/").content
    assert client.post(f"/patients/{patient.pk}/restore/").status_code == 302
    assert not in_clinic(clinic_a, lambda: Patient.objects.get(pk=patient.pk).is_archived)


# --- consent --------------------------------------------------------------------------------


def test_an_opt_in_needs_to_say_how_it_was_given(clinic_a, receptionist_a, clinic_client):
    patient = make_patient(clinic_a, phone=MOBILE)
    client = clinic_client(clinic_a, receptionist_a)
    url = f"/patients/{patient.pk}/consent/opt-in/"
    refused = client.post(url, {"channel": "whatsapp", "method": ""})
    assert refused.status_code == 400
    assert "Say how the patient agreed" in refused.content.decode()
    assert in_clinic(clinic_a, PatientConsent.objects.count) == 0
    recorded = client.post(url, {"channel": "whatsapp", "method": "in_person", "note": "at desk"})
    assert recorded.status_code == 302
    consent = in_clinic(clinic_a, lambda: PatientConsent.objects.get(patient_id=patient.pk))
    assert (consent.channel, consent.opted_in, consent.method) == ("whatsapp", True, "in_person")
    assert consent.recorded_by_id == receptionist_a.pk


def test_an_opt_out_is_one_click_and_wins_and_the_history_is_kept(
    clinic_a, receptionist_a, clinic_client
):
    patient = make_patient(clinic_a, phone=MOBILE)
    client = clinic_client(clinic_a, receptionist_a)
    client.post(f"/patients/{patient.pk}/consent/opt-in/", {"channel": "sms", "method": "form"})
    out = client.post(f"/patients/{patient.pk}/consent/opt-out/", {"channel": "sms"})
    assert out.status_code == 302
    consent = in_clinic(clinic_a, lambda: PatientConsent.objects.get(patient_id=patient.pk))
    assert consent.opted_in is False
    history = in_clinic(
        clinic_a,
        lambda: list(
            ConsentEvent.objects.filter(patient_id=patient.pk).values_list("opted_in", flat=True)
        ),
    )
    assert history == [False, True]
    html = client.get(f"/patients/{patient.pk}/").content.decode()
    assert "opted out" in html
    assert "opted in (Signed form)" in html
    assert client.post(f"/patients/{patient.pk}/consent/opt-out/", {}).status_code == 400


# --- escaping, roles, clinics ---------------------------------------------------------------


def test_user_text_is_escaped_everywhere(clinic_a, owner_a, clinic_client):
    script = "<script>alert(1)</script>"
    patient = make_patient(
        clinic_a,
        first_name=script,
        last_name=script,
        preferred_name=script,
        front_desk_notes=script,
        allergies=script,
        phone=MOBILE,
    )
    client = clinic_client(clinic_a, owner_a)
    client.post(
        f"/patients/{patient.pk}/consent/opt-in/",
        {"channel": "email", "method": "message", "note": script},
    )
    for path in (f"/patients/{patient.pk}/", f"/patients/{patient.pk}/edit/"):
        html = client.get(path).content.decode()
        assert script not in html, path
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html, path
    warned = client.post("/patients/new/", form_data(first_name="X", phone=MOBILE))
    assert script not in warned.content.decode()


@pytest.mark.parametrize(
    ("role", "may_view", "may_manage"),
    [
        (Role.OWNER, True, True),
        (Role.ADMIN, True, True),
        (Role.PRACTITIONER, True, True),
        (Role.ASSISTANT, True, True),
        (Role.RECEPTIONIST, True, True),
        (Role.BILLING, True, False),
    ],
)
def test_who_may_open_and_change_patient_records(
    clinic_a, clinic_client, role, may_view, may_manage
):
    patient = make_patient(clinic_a, phone=MOBILE)
    client = clinic_client(clinic_a, member(clinic_a, role))
    base = f"/patients/{patient.pk}"
    assert (client.get(f"{base}/").status_code == 200) is may_view
    refused = {
        "new": client.get("/patients/new/").status_code,
        "edit": client.get(f"{base}/edit/").status_code,
        "archive": client.post(f"{base}/archive/", {"confirm": "yes"}).status_code,
        "restore": client.post(f"{base}/restore/").status_code,
        "opt-in": client.post(
            f"{base}/consent/opt-in/", {"channel": "sms", "method": "form"}
        ).status_code,
        "opt-out": client.post(f"{base}/consent/opt-out/", {"channel": "sms"}).status_code,
    }
    if may_manage:
        assert 403 not in refused.values(), refused
    else:
        assert set(refused.values()) == {403}, refused
        assert in_clinic(clinic_a, PatientConsent.objects.count) == 0
        assert not in_clinic(clinic_a, lambda: Patient.objects.get(pk=patient.pk).is_archived)
        html = client.get(f"{base}/").content.decode()
        assert f"{base}/edit/" not in html
        assert f"{base}/archive/" not in html


def test_signed_out_visitors_are_sent_to_sign_in(clinic_a, clinic_client):
    patient = make_patient(clinic_a)
    response = clinic_client(clinic_a).get(f"/patients/{patient.pk}/")
    assert response.status_code == 302
    assert "/sign-in/" in response["Location"]


def test_clinic_b_patients_never_reach_clinic_a(
    clinic_a, clinic_b, owner_a, outsider_b, clinic_client
):
    a_marker, b_marker = marker(clinic_a, "patient"), marker(clinic_b, "patient")
    mine = make_patient(clinic_a, first_name=a_marker, last_name="Same", phone=MOBILE)
    theirs = make_patient(clinic_b, first_name=b_marker, last_name="Same", phone=MOBILE)
    only_b = make_patient(clinic_b, first_name=b_marker, last_name="Extra")
    # One schema each: B's ids mean nothing on A's host (this one is not an id in A).
    assert not in_clinic(clinic_a, lambda: Patient.objects.filter(pk=only_b.pk).exists())
    assert theirs.number == mine.number == "P-000001"  # numbering is per clinic too
    client = clinic_client(clinic_a, owner_a)
    for path in (f"/patients/{only_b.pk}/", f"/patients/{only_b.pk}/edit/"):
        assert client.get(path).status_code == 404
    for path in (f"/patients/{only_b.pk}/archive/", f"/patients/{only_b.pk}/consent/opt-out/"):
        assert client.post(path, {"confirm": "yes", "channel": "sms"}).status_code == 404
    responses = [
        client.get(f"/patients/{mine.pk}/"),
        client.get(f"/patients/{mine.pk}/edit/"),
        # The duplicate check looks only in this clinic (B has a patient with this phone).
        client.post("/patients/new/", form_data(first_name="New", last_name="Same", phone=MOBILE)),
    ]
    for response in responses:
        assert a_marker in response.content.decode()
        assert_no_marker(response.content, b_marker)
    assert not in_clinic(clinic_b, lambda: Patient.objects.get(pk=only_b.pk).is_archived)
    # B's owner on A's host is no member there.
    assert clinic_client(clinic_a, outsider_b).get(f"/patients/{mine.pk}/").status_code in (
        302,
        403,
    )


NASTY = ["\x00", "x" * 100_000, "<script>alert(1)</script>", "-1", "9" * 40]


def test_no_value_in_any_field_is_a_server_error(clinic_a, practitioner_a, clinic_client):
    patient = make_patient(clinic_a, phone=MOBILE)
    client = clinic_client(clinic_a, practitioner_a)
    urls = ("/patients/new/", f"/patients/{patient.pk}/edit/")
    for name in [*form_data(), "create_anyway"]:
        for value in NASTY:
            for url in urls:
                response = client.post(url, form_data(**{name: value}))
                assert response.status_code in (200, 302, 400), (url, name, value[:10])
    for value in NASTY:
        for action in ("opt-in", "opt-out"):
            url = f"/patients/{patient.pk}/consent/{action}/"
            data = {"channel": value, "method": value, "note": value}
            assert client.post(url, data).status_code == 400, (action, value[:10])
        note = {"channel": "sms", "method": "form", "note": value}
        response = client.post(f"/patients/{patient.pk}/consent/opt-in/", note)
        assert response.status_code in (302, 400), value[:10]


def test_duplicates_of_matches_either_phone_and_leaves_out_the_record_being_edited(clinic_a):
    from tenant_apps.patients.selectors import duplicates_of

    by_alt = make_patient(clinic_a, first_name="Alt", phone="07400 123456", phone_alt=MOBILE)
    by_name = make_patient(clinic_a, first_name="Élodie", last_name="O'Brien",
                           date_of_birth=dt.date(1970, 1, 1))  # fmt: skip
    make_patient(
        clinic_a, first_name="Elodie", last_name="OBrien", date_of_birth=dt.date(1970, 1, 1)
    )
    with tenant_context(clinic_a):
        assert [p.pk for p in duplicates_of(data=PatientInput(phone="07911123456"))] == [by_alt.pk]
        same = PatientInput(
            first_name="elodie", last_name="o'brien", date_of_birth=by_name.date_of_birth
        )
        assert [p.pk for p in duplicates_of(data=same)] == [by_name.pk]
        assert duplicates_of(data=same, exclude_id=by_name.pk) == []
        # Unparseable phones and names without a birth date match nothing.
        assert (
            duplicates_of(data=PatientInput(first_name="Alt", last_name="Lovelace", phone="x"))
            == []
        )
