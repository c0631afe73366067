"""The waitlist: entries, offers made when a slot is freed (best first), booking an offer,
the pages and the API, and patient merges moving appointments and entries."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.template.loader import render_to_string

from shared_apps.accounts.models import Role
from tenant_apps.audit.models import AuditEvent
from tenant_apps.patients.merge import patient_merge
from tenant_apps.patients.services import PatientInput, patient_archive, patient_create
from tenant_apps.scheduling.models import Appointment, WaitlistEntry, WaitlistOffer
from tenant_apps.scheduling.services import (
    AppointmentConflict,
    appointment_cancel,
    appointment_reschedule,
    appointment_status_change,
)
from tenant_apps.scheduling.waitlist import (
    WaitlistEntryInput,
    open_waitlist_offers,
    waitlist_entry_add,
    waitlist_entry_remove,
    waitlist_entry_update,
    waitlist_offer_accept,
    waitlist_offer_dismiss,
)
from tests import factories
from tests.support.scheduling import MONDAY

pytestmark = pytest.mark.django_db

WEEK = dt.timedelta(weeks=1)


def person(name: str):
    return patient_create(actor=None, data=PatientInput(first_name=name, last_name="Waiting"))


def wait(patient, **fields) -> WaitlistEntry:
    return waitlist_entry_add(actor=None, data=WaitlistEntryInput(patient=patient, **fields))


def offered_to(freed: Appointment) -> list[str]:
    offers = WaitlistOffer.objects.filter(freed_appointment=freed, status="open").order_by("id")
    return [offer.entry.patient.first_name for offer in offers]


# --- offers when a slot is freed ---------------------------------------------------------------


def test_a_cancelled_slot_is_offered_to_matching_entries_best_first(calendar_a):
    freed = calendar_a.book(starts_at=calendar_a.at(MONDAY, 10))  # Monday 10:00, Dr Pat, check-up
    later = calendar_a.book(
        patient=(holder := person("Later")), starts_at=calendar_a.at(MONDAY + 2 * WEEK, 10)
    )
    earlier = calendar_a.book(
        patient=(early := person("Earlier")), starts_at=calendar_a.at(MONDAY, 9)
    )
    wait(person("Anyone"))
    wait(person("Specific"), practitioner=calendar_a.pat, appointment_type=calendar_a.checkup)
    wait(holder, practitioner=calendar_a.pat, current_appointment=later)
    wait(
        person("Mornings"),
        preferred_weekdays=(0,),
        preferred_from=dt.time(9),
        preferred_until=dt.time(12),
    )
    # None of these suit the slot:
    wait(person("Olivia-only"), practitioner=calendar_a.olivia)
    wait(person("Cleaning"), appointment_type=calendar_a.cleaning)
    wait(person("Tuesdays"), preferred_weekdays=(1,))
    wait(person("Afternoons"), preferred_from=dt.time(14))
    wait(person("Too-early-end"), preferred_until=dt.time(10, 15))
    wait(early, current_appointment=earlier)  # already has an earlier slot
    archived = person("Archived")
    wait(archived)
    patient_archive(actor=None, patient=archived)
    wait(calendar_a.patient)  # the one cancelling is not offered their own slot

    appointment_cancel(actor=None, appointment=freed, reason="Patient phoned")

    assert offered_to(freed) == ["Specific", "Later", "Anyone", "Mornings"]
    assert AuditEvent.objects.filter(
        action="waitlist_offers.created", target_id=str(freed.pk)
    ).exists()
    assert [o.entry.patient.first_name for o in open_waitlist_offers()] == [
        "Specific",
        "Later",
        "Anyone",
        "Mornings",
    ]


def test_a_no_show_frees_the_slot_too_but_bookings_and_moves_do_not(calendar_a):
    wait(person("Keen"))
    appointment = calendar_a.book()
    appointment_reschedule(actor=None, appointment=appointment, starts_at=calendar_a.at(MONDAY, 11))
    appointment_status_change(actor=None, appointment=appointment, to_status="confirmed")
    assert not WaitlistOffer.objects.exists()
    appointment_status_change(actor=None, appointment=appointment, to_status="no_show")
    assert offered_to(appointment) == ["Keen"]
    # The no-show turns up after all: the slot is theirs again, so the offer is not shown.
    appointment_status_change(actor=None, appointment=appointment, to_status="arrived")
    assert list(open_waitlist_offers()) == []


def test_a_slot_taken_again_is_no_longer_offered_and_cannot_be_booked(calendar_a):
    entry = wait(person("Keen"))
    freed = calendar_a.book()
    appointment_cancel(actor=None, appointment=freed, reason="Patient phoned")
    offer = WaitlistOffer.objects.get(entry=entry)
    calendar_a.book(patient=calendar_a.other_patient)  # the front desk filled it by phone
    assert list(open_waitlist_offers()) == []
    with pytest.raises(AppointmentConflict):
        waitlist_offer_accept(actor=None, offer=offer)
    offer.refresh_from_db()
    entry.refresh_from_db()
    assert (offer.status, entry.status) == ("open", "waiting")


def test_booking_an_offer_books_the_slot_and_releases_the_later_appointment(
    calendar_a, receptionist_a
):
    keen = person("Keen")
    later = calendar_a.book(patient=keen, starts_at=calendar_a.at(MONDAY + 3 * WEEK, 15))
    entry = wait(keen, current_appointment=later)
    runner_up = wait(person("Runner-up"))
    freed = calendar_a.book()
    appointment_cancel(actor=None, appointment=freed, reason="Patient phoned")
    offer = WaitlistOffer.objects.get(entry=entry)

    booked = waitlist_offer_accept(actor=receptionist_a, offer=offer)

    assert (booked.patient, booked.starts_at, booked.ends_at) == (
        keen,
        freed.starts_at,
        freed.ends_at,
    )
    entry.refresh_from_db()
    offer.refresh_from_db()
    later.refresh_from_db()
    assert (offer.status, entry.status) == ("accepted", "booked")
    assert (later.status, later.cancellation_reason) == (
        "cancelled",
        "Moved to an earlier slot from the waitlist",
    )
    # The runner-up's offer of this slot is closed; the released later slot is offered instead.
    assert WaitlistOffer.objects.get(entry=runner_up, freed_appointment=freed).status == "dismissed"
    assert offered_to(later) == ["Runner-up"]
    assert AuditEvent.objects.filter(
        action="waitlist_offer.accepted", actor_id=receptionist_a.pk
    ).exists()


def test_booking_an_offer_can_keep_the_later_appointment(calendar_a):
    keen = person("Keen")
    later = calendar_a.book(patient=keen, starts_at=calendar_a.at(MONDAY + WEEK, 15))
    entry = wait(keen, current_appointment=later)
    freed = calendar_a.book()
    appointment_cancel(actor=None, appointment=freed, reason="Patient phoned")
    waitlist_offer_accept(
        actor=None, offer=WaitlistOffer.objects.get(entry=entry), cancel_current=False
    )
    later.refresh_from_db()
    assert later.status == "booked"
    with pytest.raises(ValidationError) as again:
        waitlist_offer_accept(actor=None, offer=WaitlistOffer.objects.get(entry=entry))
    assert "already booked or dismissed" in again.value.message_dict["offer"][0]


def test_dismissing_and_removing(calendar_a):
    first, second = wait(person("First")), wait(person("Second"))
    freed = calendar_a.book()
    appointment_cancel(actor=None, appointment=freed, reason="Patient phoned")
    waitlist_offer_dismiss(actor=None, offer=WaitlistOffer.objects.get(entry=first))
    waitlist_entry_remove(actor=None, entry=second)
    assert set(WaitlistOffer.objects.values_list("status", flat=True)) == {"dismissed"}
    assert list(open_waitlist_offers()) == []
    with pytest.raises(ValidationError):
        waitlist_entry_remove(actor=None, entry=second)


def test_a_past_slot_is_never_offered(calendar_a, owner_a):
    wait(person("Keen"))
    past = calendar_a.book(
        actor=owner_a, starts_at=calendar_a.at(dt.date(2020, 1, 6), 10), allow_outside_hours=True
    )
    appointment_cancel(actor=None, appointment=past, reason="Patient phoned")
    assert not WaitlistOffer.objects.exists()


# --- entries -------------------------------------------------------------------------------------


def test_bad_entries_are_field_errors_and_save_nothing(calendar_a):
    other_appointment = calendar_a.book(patient=calendar_a.other_patient)
    archived = person("Archived")
    patient_archive(actor=None, patient=archived)
    archived.refresh_from_db()
    cases = [
        ({"patient": archived}, "patient"),
        (
            {"practitioner": calendar_a.pat, "appointment_type": calendar_a.consult},
            "appointment_type",
        ),
        ({"preferred_from": dt.time(12), "preferred_until": dt.time(9)}, "preferred_until"),
        ({"preferred_weekdays": (7,)}, "preferred_weekdays"),
        ({"current_appointment": other_appointment}, "current_appointment"),
        ({"note": "x" * 201}, "note"),
    ]
    for fields, field in cases:
        data = {"patient": calendar_a.patient, **fields}
        with pytest.raises(ValidationError) as refused:
            waitlist_entry_add(actor=None, data=WaitlistEntryInput(**data))
        assert field in refused.value.message_dict, fields
    assert not WaitlistEntry.objects.exists()


def test_one_waiting_entry_per_patient_practitioner_and_type(calendar_a):
    entry = wait(calendar_a.patient, practitioner=calendar_a.pat)
    with pytest.raises(ValidationError) as refused:
        wait(calendar_a.patient, practitioner=calendar_a.pat)
    assert "already waiting" in refused.value.message_dict["patient"][0]
    wait(calendar_a.patient, practitioner=calendar_a.olivia)
    updated = waitlist_entry_update(
        actor=None,
        entry=entry,
        data=WaitlistEntryInput(
            patient=calendar_a.patient, practitioner=calendar_a.pat, note="Any time"
        ),
    )
    assert updated.note == "Any time"


# --- merging patients ---------------------------------------------------------------------------


def test_a_merge_moves_appointments_and_waitlist_entries_to_the_survivor(calendar_a, owner_a):
    duplicate = person("Duplicate")
    appointment = calendar_a.book(patient=duplicate)
    entry = wait(duplicate, current_appointment=appointment)
    merge = patient_merge(actor=owner_a, survivor=calendar_a.patient, merged=duplicate)
    appointment.refresh_from_db()
    entry.refresh_from_db()
    assert appointment.patient == calendar_a.patient
    assert entry.patient == calendar_a.patient
    assert (merge.moved["appointments"], merge.moved["waitlist_entries"]) == (1, 1)
    assert not Appointment.objects.filter(patient=duplicate).exists()


# --- pages ----------------------------------------------------------------------------------------


@pytest.fixture
def desk(calendar_a, clinic_a, clinic_client, receptionist_a):
    return clinic_client(clinic_a, receptionist_a)


def test_find_a_patient_then_add_them_on_the_page(calendar_a, desk):
    found = desk.get("/calendar/waitlist/", {"find": "Ben"})
    assert f"?patient={calendar_a.other_patient.pk}" in found.content.decode()
    form = desk.get("/calendar/waitlist/", {"patient": calendar_a.other_patient.pk})
    assert 'data-testid="entry-form"' in form.content.decode()
    refused = desk.post(
        "/calendar/waitlist/new/",
        {
            "patient": calendar_a.other_patient.pk,
            "practitioner": calendar_a.pat.pk,
            "appointment_type": calendar_a.consult.pk,
        },
    )
    assert refused.status_code == 400
    assert "Dr Pat does not offer Consultation." in refused.content.decode()
    assert not WaitlistEntry.objects.exists()
    added = desk.post(
        "/calendar/waitlist/new/",
        {
            "patient": calendar_a.other_patient.pk,
            "practitioner": calendar_a.pat.pk,
            "preferred_weekdays": ["0", "2"],
            "preferred_from": "09:00",
            "preferred_until": "12:00",
            "note": "Short notice is fine",
        },
    )
    assert added.status_code == 302
    entry = WaitlistEntry.objects.get()
    assert entry.preferred_weekdays == [0, 2]
    page = desk.get("/calendar/waitlist/").content.decode()
    assert "Ben" in page
    assert "Mon, Wed · 09:00-12:00" in page


def test_edit_and_remove_on_the_page(calendar_a, desk):
    entry = wait(calendar_a.patient)
    url = f"/calendar/waitlist/{entry.pk}/edit/"
    assert desk.get(url).status_code == 200
    refused = desk.post(url, {"preferred_from": "15:00", "preferred_until": "10:00"})
    assert refused.status_code == 400
    assert "The end of the window must be after its start." in refused.content.decode()
    assert desk.post(url, {"preferred_from": "15:00"}).status_code == 302
    entry.refresh_from_db()
    assert entry.preferred_from == dt.time(15)
    assert desk.post(f"/calendar/waitlist/{entry.pk}/remove/").status_code == 302
    entry.refresh_from_db()
    assert entry.status == "removed"


def test_the_offers_page_books_and_dismisses(calendar_a, desk):
    keen, other = wait(person("Keen")), wait(person("Other"))
    freed = calendar_a.book()
    appointment_cancel(actor=None, appointment=freed, reason="Patient phoned")
    page = desk.get("/calendar/waitlist/offers/").content.decode()
    offer_keen = WaitlistOffer.objects.get(entry=keen)
    offer_other = WaitlistOffer.objects.get(entry=other)
    assert f'data-testid="offer-{offer_keen.pk}"' in page
    assert "Mon 3 Mar, 10:00\u201310:30" in page  # an en dash
    dismissed = desk.post(
        f"/calendar/waitlist/offers/{offer_other.pk}/dismiss/", {"next": "https://evil.example/"}
    )
    assert dismissed["Location"] == "/calendar/waitlist/offers/"
    booked = desk.post(f"/calendar/waitlist/offers/{offer_keen.pk}/book/", {"cancel_current": "1"})
    new = Appointment.objects.get(patient=keen.patient)
    assert booked["Location"] == f"/calendar/appointments/{new.pk}/"
    again = desk.post(f"/calendar/waitlist/offers/{offer_keen.pk}/book/", follow=True)
    assert "already booked or dismissed" in again.content.decode()


def test_the_offers_fragment_renders_for_the_today_page(calendar_a):
    wait(person("Keen"))
    freed = calendar_a.book()
    appointment_cancel(actor=None, appointment=freed, reason="Patient phoned")
    html = render_to_string(
        "scheduling/_waitlist_offers.html",
        {"waitlist_offers": open_waitlist_offers(), "can": {"calendar_manage": True}},
    )
    assert "Keen Waiting" in html
    assert "Book this slot" in html


def test_roles_without_the_calendar_cannot_open_the_waitlist(calendar_a, clinic_a, clinic_client):
    billing = factories.user_create(email="billing@clinic-a.example")
    factories.membership_add(user=billing, clinic=clinic_a, role=Role.BILLING)
    client = clinic_client(clinic_a, billing)
    for path in ("/calendar/waitlist/", "/calendar/waitlist/offers/"):
        assert client.get(path).status_code == 403


# --- API ----------------------------------------------------------------------------------------


@pytest.fixture
def api(calendar_a, clinic_a, api_client, receptionist_a):
    return api_client(clinic_a, receptionist_a)


def test_api_adds_lists_changes_and_removes_entries(calendar_a, api):
    refused = api.post(
        "/api/v1/waitlist/",
        {"patient": calendar_a.patient.pk, "preferred_weekdays": [9]},
        format="json",
    )
    assert refused.status_code == 400
    assert "preferred_weekdays.0" in refused.json()["error"]["fields"]
    unknown = api.post("/api/v1/waitlist/", {"patient": 999999}, format="json")
    assert unknown.json()["error"]["fields"] == {"patient": ["No such patient."]}
    created = api.post(
        "/api/v1/waitlist/",
        {
            "patient": calendar_a.patient.pk,
            "practitioner": calendar_a.pat.pk,
            "preferred_from": "09:00",
            "preferred_until": "12:00",
        },
        format="json",
    )
    assert created.status_code == 201
    body = created.json()
    assert body["practitioner"]["display_name"] == "Dr Pat"
    assert body["patient"]["number"] == calendar_a.patient.number
    entry_id = body["id"]
    listed = api.get("/api/v1/waitlist/").json()
    assert [row["id"] for row in listed["results"]] == [entry_id]
    patched = api.patch(
        f"/api/v1/waitlist/{entry_id}/", {"preferred_until": "08:00"}, format="json"
    )
    assert patched.status_code == 400
    assert "preferred_until" in patched.json()["error"]["fields"]
    patched = api.patch(f"/api/v1/waitlist/{entry_id}/", {"note": "Mornings"}, format="json")
    assert (patched.json()["note"], patched.json()["preferred_from"]) == ("Mornings", "09:00:00")
    assert api.delete(f"/api/v1/waitlist/{entry_id}/").json()["status"] == "removed"
    assert api.get("/api/v1/waitlist/").json()["results"] == []
    assert len(api.get("/api/v1/waitlist/", {"status": "all"}).json()["results"]) == 1
    assert api.get("/api/v1/waitlist/", {"status": "nope"}).status_code == 400


def test_api_offers_book_and_dismiss(calendar_a, api):
    keen, other = wait(person("Keen")), wait(person("Other"))
    freed = calendar_a.book()
    appointment_cancel(actor=None, appointment=freed, reason="Patient phoned")
    offers = api.get("/api/v1/waitlist/offers/").json()
    assert [o["entry"]["id"] for o in offers] == [keen.pk, other.pk]
    assert offers[0]["freed_appointment"]["starts_at"] == "2031-03-03T10:00:00+00:00"
    dismissed = api.post(f"/api/v1/waitlist/offers/{offers[1]['id']}/dismiss/")
    assert dismissed.json()["status"] == "dismissed"
    booked = api.post(f"/api/v1/waitlist/offers/{offers[0]['id']}/book/", {}, format="json")
    assert booked.status_code == 201
    assert booked.json()["patient"]["id"] == keen.patient_id
    again = api.post(f"/api/v1/waitlist/offers/{offers[0]['id']}/book/", {}, format="json")
    assert again.status_code == 400
    assert api.post("/api/v1/waitlist/offers/999999/book/", {}, format="json").status_code == 404


def test_api_booking_a_taken_slot_is_409(calendar_a, api):
    entry = wait(person("Keen"))
    freed = calendar_a.book()
    appointment_cancel(actor=None, appointment=freed, reason="Patient phoned")
    offer = WaitlistOffer.objects.get(entry=entry)
    taken = calendar_a.book(patient=calendar_a.other_patient)
    response = api.post(f"/api/v1/waitlist/offers/{offer.pk}/book/", {}, format="json")
    assert response.status_code == 409
    assert response.json()["error"]["conflict"]["id"] == taken.pk
