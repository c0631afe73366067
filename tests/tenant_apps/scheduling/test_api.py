"""The calendar API under `/api/v1/`: appointments, resources, hours and availability."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from django.utils import timezone

from shared_apps.accounts.models import Role
from tenant_apps.patients.services import patient_archive
from tenant_apps.scheduling.clock import clinic_zone
from tenant_apps.scheduling.models import (
    Appointment,
    AppointmentType,
    ClinicClosure,
    Practitioner,
    Room,
    ScheduleException,
)
from tenant_apps.scheduling.services import room_create
from tests import factories
from tests.support.scheduling import MONDAY

pytestmark = pytest.mark.django_db

API = "/api/v1"


def person_with(clinic: Any, role: str) -> Any:
    user = factories.user_create(email=f"{role}-calendar@example.com")
    factories.membership_add(user=user, clinic=clinic, role=role)
    return user


@pytest.fixture
def owner(api_client, clinic_a, owner_a):
    return api_client(clinic_a, owner_a)


@pytest.fixture
def desk(api_client, clinic_a, receptionist_a):
    return api_client(clinic_a, receptionist_a)


def booking(calendar, **fields: Any) -> dict[str, Any]:
    return {
        "patient": calendar.patient.pk,
        "practitioner": calendar.pat.pk,
        "appointment_type": calendar.checkup.pk,
        "starts_at": "2031-03-03T10:00",
        **fields,
    }


def post(client, path: str, body: Any) -> Any:
    return client.post(f"{API}{path}", body, format="json")


def fields_of(response) -> dict[str, list[str]]:
    return response.json()["error"]["fields"]


# --- booking ---------------------------------------------------------------------------------


def test_a_booking_in_clinic_time_answers_201_in_clinic_time(calendar_a, desk, receptionist_a):
    response = post(desk, "/appointments/", booking(calendar_a, front_desk_notes="Nervous"))
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["starts_at"] == "2031-03-03T10:00:00+00:00"
    assert body["ends_at"] == "2031-03-03T10:30:00+00:00"
    # The patient is named and numbered, nothing more.
    assert body["patient"] == {
        "id": calendar_a.patient.pk,
        "number": calendar_a.patient.number,
        "name": "Ana Lima",
    }
    assert body["room"] == {"id": calendar_a.chair_1.pk, "name": "Chair 1"}
    assert body["status"] == "booked"
    assert body["front_desk_notes"] == "Nervous"
    assert [
        (c["from_status"], c["to_status"], c["changed_by_id"]) for c in body["status_history"]
    ] == [("", "booked", receptionist_a.pk)]
    saved = Appointment.objects.get()
    assert saved.starts_at == calendar_a.at(MONDAY, 10)


def test_a_time_with_an_offset_is_that_instant_and_comes_back_in_summer_time(calendar_a, desk):
    summer_monday = "2031-06-02"
    response = post(
        desk, "/appointments/", booking(calendar_a, starts_at=f"{summer_monday}T09:00:00Z")
    )
    assert response.status_code == 201, response.content
    # 09:00 UTC is 10:00 BST.
    assert response.json()["starts_at"] == f"{summer_monday}T10:00:00+01:00"


def test_a_taken_slot_answers_409_naming_the_appointment_in_the_way(calendar_a, desk):
    first = post(desk, "/appointments/", booking(calendar_a)).json()
    response = post(
        desk,
        "/appointments/",
        booking(calendar_a, patient=calendar_a.other_patient.pk, starts_at="2031-03-03T10:15"),
    )
    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "slot_taken"
    assert error["message"].startswith("Dr Pat is already booked Mon 03 Mar 10:00-10:30")
    assert error["conflict"] == {
        "id": first["id"],
        "starts_at": "2031-03-03T10:00:00+00:00",
        "ends_at": "2031-03-03T10:30:00+00:00",
        "practitioner": {
            "id": calendar_a.pat.pk,
            "display_name": "Dr Pat",
            "colour": calendar_a.pat.colour,
        },
        "room": {"id": calendar_a.chair_1.pk, "name": "Chair 1"},
        "resource": "practitioner",
    }
    assert Appointment.objects.count() == 1


def test_a_taken_room_answers_409_for_the_room(calendar_a, desk):
    calendar_a.book(practitioner=calendar_a.olivia, room=calendar_a.chair_1)
    response = post(desk, "/appointments/", booking(calendar_a, room=calendar_a.chair_1.pk))
    assert response.status_code == 409
    assert response.json()["error"]["conflict"]["resource"] == "room"
    assert "Chair 1 is already booked" in response.json()["error"]["message"]
    assert Appointment.objects.count() == 1


def test_outside_hours_is_a_400_that_owners_may_override(calendar_a, desk, owner):
    lunch = booking(calendar_a, starts_at="2031-03-03T12:45", allow_outside_hours=True)
    refused = post(desk, "/appointments/", lunch)
    assert refused.status_code == 400
    assert refused.json()["error"]["code"] == "outside_hours"
    assert "Ask an owner" in fields_of(refused)["starts_at"][0]
    asked = post(owner, "/appointments/", {**lunch, "allow_outside_hours": False})
    assert asked.json()["error"]["code"] == "outside_hours"
    assert not Appointment.objects.exists()
    allowed = post(owner, "/appointments/", lunch)
    assert allowed.status_code == 201
    assert allowed.json()["outside_hours"] is True


def test_only_permitted_roles_overbook(calendar_a, desk, owner):
    calendar_a.book()
    squeeze = booking(calendar_a, patient=calendar_a.other_patient.pk, overbook=True)
    refused = post(desk, "/appointments/", squeeze)
    assert refused.status_code == 400
    assert "overbook" in fields_of(refused)
    allowed = post(owner, "/appointments/", squeeze)
    assert allowed.status_code == 201
    assert allowed.json()["is_overbooked"] is True


BAD_BOOKINGS = [
    ({"ends_at": "2031-03-03T09:30"}, "ends_at"),  # before the start
    ({"ends_at": "2031-03-03T10:00"}, "ends_at"),  # zero length
    ({"ends_at": "2031-03-04T10:00"}, "ends_at"),  # 24 hours
    ({"ends_at": "2031-03-05T10:00"}, "ends_at"),
    ({"appointment_type": "consult"}, "appointment_type"),  # Dr Pat does not offer it
    ({"room": "x-ray"}, "room"),  # not a room a check-up can use
    ({"patient": 999_999}, "patient"),
    ({"practitioner": 999_999}, "practitioner"),
    ({"appointment_type": 999_999}, "appointment_type"),
    ({"room": 999_999}, "room"),
    ({"patient": "abc"}, "patient"),
    ({"patient": 2**70}, "patient"),
    ({"practitioner": None}, "practitioner"),
    ({"starts_at": "tomorrow at ten"}, "starts_at"),
    ({"starts_at": "2031-03-03"}, "starts_at"),  # which time?
    ({"starts_at": "2031-02-30T10:00"}, "starts_at"),
    ({"starts_at": "9999-12-31T23:59"}, "starts_at"),
    ({"starts_at": 1700000000}, "starts_at"),
    ({"starts_at": "2031-03-30T01:30"}, "starts_at"),  # the clocks skip 01:00-02:00
    ({"ends_at": "2031-03-03T25:00"}, "ends_at"),
    ({"front_desk_notes": "x" * 2001}, "front_desk_notes"),
    ({"overbook": "perhaps"}, "overbook"),
]


@pytest.mark.parametrize(("change", "field"), BAD_BOOKINGS)
def test_bad_bookings_are_field_errors_and_save_nothing(calendar_a, desk, change, field):
    values = dict(change)
    if values.get("appointment_type") == "consult":
        values["appointment_type"] = calendar_a.consult.pk
    if values.get("room") == "x-ray":
        values["room"] = room_create(actor=None, name="X-ray").pk
    response = post(desk, "/appointments/", booking(calendar_a, **values))
    assert response.status_code == 400, response.content
    assert response.json()["error"]["code"] == "invalid"
    assert field in fields_of(response), fields_of(response)
    assert not Appointment.objects.exists()


def test_a_skipped_dst_time_says_why(calendar_a, desk):
    response = post(desk, "/appointments/", booking(calendar_a, starts_at="2031-03-30T01:30"))
    assert "does not exist in Europe/London" in fields_of(response)["starts_at"][0]


def test_an_archived_patient_cannot_be_booked(calendar_a, desk):
    patient_archive(actor=None, patient=calendar_a.patient)
    response = post(desk, "/appointments/", booking(calendar_a))
    assert response.status_code == 400
    assert "archived" in fields_of(response)["patient"][0]
    assert not Appointment.objects.exists()


@pytest.mark.parametrize("body", [[1, 2], "text", None])
def test_a_body_that_is_not_an_object_is_a_400(calendar_a, desk, body):
    response = desk.post(f"{API}/appointments/", json.dumps(body), content_type="application/json")
    assert response.status_code == 400
    assert not Appointment.objects.exists()


def test_a_missing_field_is_named(calendar_a, desk):
    response = post(desk, "/appointments/", {"patient": calendar_a.patient.pk})
    assert response.status_code == 400
    assert {"practitioner", "appointment_type", "starts_at"} <= set(fields_of(response))


# --- one appointment -------------------------------------------------------------------------


def test_detail_shows_the_status_history_and_junk_ids_are_404(calendar_a, desk):
    appointment = calendar_a.book()
    response = desk.get(f"{API}/appointments/{appointment.pk}/")
    assert response.status_code == 200
    assert response.json()["id"] == appointment.pk
    assert len(response.json()["status_history"]) == 1
    for junk in ("999999", "0", "99999999999999999999999", "abc"):
        missing = desk.get(f"{API}/appointments/{junk}/")
        assert missing.status_code == 404, junk
        assert missing.json()["error"]["code"] == "not_found"


def test_patch_changes_the_notes_and_nothing_else(calendar_a, desk):
    appointment = calendar_a.book()
    path = f"{API}/appointments/{appointment.pk}/"
    response = desk.patch(path, {"front_desk_notes": "Bring X-rays"}, format="json")
    assert response.status_code == 200
    assert response.json()["front_desk_notes"] == "Bring X-rays"
    refused = desk.patch(
        path, {"starts_at": "2031-03-03T11:00", "status": "arrived"}, format="json"
    )
    assert refused.status_code == 400
    assert "reschedule" in fields_of(refused)["starts_at"][0]
    assert "status" in fields_of(refused)
    appointment.refresh_from_db()
    assert (appointment.starts_at, appointment.status) == (calendar_a.at(MONDAY, 10), "booked")
    too_long = desk.patch(path, {"front_desk_notes": "x" * 2001}, format="json")
    assert too_long.status_code == 400


def test_reschedule_moves_keeps_the_length_and_refuses_a_taken_slot(calendar_a, desk):
    moving = calendar_a.book(appointment_type=calendar_a.cleaning)
    blocker = calendar_a.book(patient=calendar_a.other_patient, starts_at=calendar_a.at(MONDAY, 14))
    path = f"/appointments/{moving.pk}/reschedule/"
    moved = post(desk, path, {"starts_at": "2031-03-03T15:00"})
    assert moved.status_code == 200, moved.content
    assert (moved.json()["starts_at"], moved.json()["ends_at"]) == (
        "2031-03-03T15:00:00+00:00",
        "2031-03-03T15:45:00+00:00",
    )
    refused = post(desk, path, {"starts_at": "2031-03-03T14:15"})
    assert refused.status_code == 409
    assert refused.json()["error"]["conflict"]["id"] == blocker.pk
    outside = post(desk, path, {"starts_at": "2031-03-03T12:30"})
    assert outside.status_code == 400
    assert outside.json()["error"]["code"] == "outside_hours"
    bad = post(desk, path, {"starts_at": "2031-03-03T15:00", "ends_at": "2031-03-03T14:00"})
    assert "ends_at" in fields_of(bad)
    to_olivia = post(
        desk, path, {"starts_at": "2031-03-03T14:00", "practitioner": calendar_a.olivia.pk}
    )
    assert to_olivia.status_code == 200
    assert to_olivia.json()["practitioner"]["id"] == calendar_a.olivia.pk
    moving.refresh_from_db()
    assert moving.starts_at == calendar_a.at(MONDAY, 14)
    assert (
        post(desk, path, {"starts_at": "2031-03-03T15:00", "practitioner": 999_999}).status_code
        == 400
    )


def test_cancel_needs_a_reason_and_frees_the_slot(calendar_a, desk):
    appointment = calendar_a.book()
    path = f"/appointments/{appointment.pk}/cancel/"
    refused = post(desk, path, {"reason": "  "})
    assert refused.status_code == 400
    assert "reason" in fields_of(refused)
    cancelled = post(desk, path, {"reason": "Patient phoned"})
    assert cancelled.status_code == 200
    assert cancelled.json()["status"] == "cancelled"
    assert cancelled.json()["cancellation_reason"] == "Patient phoned"
    rebooked = post(
        desk, "/appointments/", booking(calendar_a, patient=calendar_a.other_patient.pk)
    )
    assert rebooked.status_code == 201
    # A cancelled appointment cannot move or be cancelled twice.
    assert (
        post(
            desk, f"/appointments/{appointment.pk}/reschedule/", {"starts_at": "2031-03-03T11:00"}
        ).status_code
        == 400
    )
    assert post(desk, path, {"reason": "again"}).status_code == 400


def test_status_changes_follow_the_allowed_moves(calendar_a, desk):
    appointment = calendar_a.book()
    path = f"/appointments/{appointment.pk}/status/"
    arrived = post(desk, path, {"status": "arrived"})
    assert arrived.status_code == 200
    assert [c["to_status"] for c in arrived.json()["status_history"]] == ["booked", "arrived"]
    for bad in ("cancelled", "booked-ish", "", None):
        response = post(desk, path, {"status": bad})
        assert response.status_code == 400, bad
        assert "status" in fields_of(response)
    post(desk, path, {"status": "in_progress"})
    refused = post(desk, path, {"status": "no_show"})
    assert "cannot become no-show" in fields_of(refused)["status"][0]
    appointment.refresh_from_db()
    assert appointment.status == "in_progress"


def test_a_no_show_cannot_take_back_a_slot_someone_else_holds(calendar_a, desk):
    missed = calendar_a.book()
    post(desk, f"/appointments/{missed.pk}/status/", {"status": "no_show"})
    calendar_a.book(patient=calendar_a.other_patient)
    response = post(desk, f"/appointments/{missed.pk}/status/", {"status": "arrived"})
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "slot_taken"


# --- the list --------------------------------------------------------------------------------


def test_the_list_filters_by_range_practitioner_patient_status_and_room(calendar_a, desk):
    tuesday = MONDAY.replace(day=4)
    a = calendar_a.book()
    b = calendar_a.book(practitioner=calendar_a.olivia, patient=calendar_a.other_patient)
    c = calendar_a.book(starts_at=calendar_a.at(tuesday, 9))
    later = calendar_a.book(starts_at=calendar_a.at(MONDAY.replace(day=24), 9))
    post(desk, f"/appointments/{c.pk}/cancel/", {"reason": "Away"})

    def ids(**params: Any) -> list[int]:
        response = desk.get(f"{API}/appointments/", {"from": "2031-03-03", **params})
        assert response.status_code == 200, response.content
        return [row["id"] for row in response.json()["results"]]

    assert ids() == [a.pk, b.pk, c.pk]  # a week from `from` by default
    assert ids(to="2031-03-03") == [a.pk, b.pk]  # a date `to` includes that day
    assert ids(to="2031-03-31") == [a.pk, b.pk, c.pk, later.pk]
    assert ids(practitioner=calendar_a.olivia.pk) == [b.pk]
    assert ids(patient=calendar_a.patient.pk) == [a.pk, c.pk]
    assert ids(status="booked") == [a.pk, b.pk]
    assert ids(status="cancelled,no_show") == [c.pk]
    assert ids(room=b.room_id) == [b.pk]
    assert ids(**{"from": "2031-03-03T10:30", "to": "2031-03-04T09:00"}) == []
    assert ids(practitioner=999_999) == []


def test_the_list_pages(calendar_a, desk):
    for hour in (9, 10, 11):
        calendar_a.book(starts_at=calendar_a.at(MONDAY, hour))
    response = desk.get(f"{API}/appointments/", {"from": "2031-03-03", "page_size": 2})
    body = response.json()
    assert body["count"] == 3
    assert len(body["results"]) == 2
    assert "page=2" in body["next"]
    assert desk.get(f"{API}/appointments/", {"from": "2031-03-03", "page": 9}).status_code == 404


def test_the_list_defaults_to_today_and_the_next_days(calendar_a, desk, owner_a):
    today = timezone.now().astimezone(clinic_zone()).date()
    booked = {
        days: calendar_a.book(
            actor=owner_a,
            allow_outside_hours=True,  # whatever weekday today is
            starts_at=calendar_a.at(today + dt.timedelta(days=days), 12),
        )
        for days in (0, 6, 7)
    }
    response = desk.get(f"{API}/appointments/")
    assert response.status_code == 200
    assert [row["id"] for row in response.json()["results"]] == [booked[0].pk, booked[6].pk]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"from": "2031-03-01", "to": "2031-06-01"}, "to"),  # more than 62 days
        ({"from": "2031-03-03", "to": "2031-03-02"}, "to"),
        ({"from": "yesterday"}, "from"),
        ({"from": "2031-13-01"}, "from"),
        ({"to": "0000-01-01"}, "to"),
        ({"from": "2031-03-30T01:30"}, "from"),
        ({"practitioner": "abc"}, "practitioner"),
        ({"patient": "-1"}, "patient"),
        ({"room": "99999999999999999999999"}, "room"),
        ({"status": "lost"}, "status"),
        ({"status": ","}, "status"),
    ],
)
def test_bad_list_filters_are_400(calendar_a, desk, params, field):
    response = desk.get(f"{API}/appointments/", params)
    assert response.status_code == 400
    assert field in fields_of(response)


# --- who may do what -------------------------------------------------------------------------


def test_reads_need_calendar_view_and_writes_need_manage_or_setup(calendar_a, api_client, clinic_a):
    billing = api_client(clinic_a, person_with(clinic_a, Role.BILLING))
    assert billing.get(f"{API}/appointments/").status_code == 403
    assert (
        billing.get(f"{API}/availability/", {"appointment_type": calendar_a.checkup.pk}).status_code
        == 403
    )
    assert post(billing, "/appointments/", booking(calendar_a)).status_code == 403
    assistant = api_client(clinic_a, person_with(clinic_a, Role.ASSISTANT))
    assert assistant.get(f"{API}/rooms/").status_code == 200
    assert post(assistant, "/appointments/", booking(calendar_a)).status_code == 201
    # Setting up the calendar is for owners and practice managers.
    assert post(assistant, "/rooms/", {"name": "Chair 9"}).status_code == 403
    admin = api_client(clinic_a, person_with(clinic_a, Role.ADMIN))
    assert post(admin, "/rooms/", {"name": "Chair 9"}).status_code == 201
    anonymous = api_client(clinic_a)
    assert anonymous.get(f"{API}/appointments/").status_code in (401, 403)
    assert Appointment.objects.count() == 1


def test_setup_endpoints_refuse_the_front_desk(calendar_a, desk):
    pat = calendar_a.pat.pk
    refused = [
        post(desk, "/rooms/", {"name": "Chair 9"}),
        desk.patch(f"{API}/rooms/{calendar_a.chair_1.pk}/", {"name": "X"}, format="json"),
        post(desk, "/appointment-types/", {"name": "Whitening"}),
        desk.patch(
            f"{API}/appointment-types/{calendar_a.checkup.pk}/",
            {"buffer_minutes": 5},
            format="json",
        ),
        post(desk, "/practitioners/", {"user_id": 1}),
        desk.patch(f"{API}/practitioners/{pat}/", {"colour": "#000000"}, format="json"),
        desk.put(f"{API}/practitioners/{pat}/working-hours/", {"periods": []}, format="json"),
        post(desk, f"/practitioners/{pat}/exceptions/", {"date": "2031-03-03", "kind": "leave"}),
        post(
            desk,
            "/clinic-closures/",
            {"starts_on": "2031-03-03", "ends_on": "2031-03-03", "reason": "x"},
        ),
    ]
    assert [r.status_code for r in refused] == [403] * len(refused)
    assert Room.objects.count() == 2
    assert calendar_a.pat.working_periods.count() == 10
    # ... but the front desk reads all of it.
    for path in (
        "/rooms/",
        "/appointment-types/",
        "/practitioners/",
        f"/practitioners/{pat}/working-hours/",
        f"/practitioners/{pat}/exceptions/",
        "/clinic-closures/",
    ):
        assert desk.get(f"{API}{path}").status_code == 200, path


# --- resources -------------------------------------------------------------------------------


def test_rooms_are_listed_created_renamed_and_retired(calendar_a, owner):
    listed = owner.get(f"{API}/rooms/").json()
    assert [room["name"] for room in listed["results"]] == ["Chair 1", "Chair 2"]
    created = post(owner, "/rooms/", {"name": "Surgery", "kind": "room"})
    assert created.status_code == 201
    assert created.json()["kind"] == "room"
    duplicate = post(owner, "/rooms/", {"name": "surgery"})
    assert "name" in fields_of(duplicate)
    assert "kind" in fields_of(post(owner, "/rooms/", {"name": "Lab", "kind": "garage"}))
    assert "name" in fields_of(post(owner, "/rooms/", {"name": "  "}))
    path = f"{API}/rooms/{created.json()['id']}/"
    retired = owner.patch(path, {"is_active": False}, format="json")
    assert retired.json() == {**created.json(), "is_active": False}
    assert owner.get(f"{API}/rooms/", {"active": "true"}).json()["count"] == 2
    assert owner.get(f"{API}/rooms/", {"active": "maybe"}).status_code == 400
    assert owner.get(f"{API}/rooms/999999/").status_code == 404


def test_appointment_types_are_created_and_changed(calendar_a, owner):
    created = post(
        owner,
        "/appointment-types/",
        {
            "name": "Whitening",
            "default_duration_minutes": 60,
            "buffer_minutes": 10,
            "price_hint": "120.50",
            "rooms": [calendar_a.chair_2.pk],
        },
    )
    assert created.status_code == 201, created.content
    body = created.json()
    assert (body["price_hint"], body["rooms"], body["colour"]) == (
        "120.50",
        [calendar_a.chair_2.pk],
        "#0d9488",
    )
    path = f"{API}/appointment-types/{body['id']}/"
    changed = owner.patch(path, {"default_duration_minutes": 75}, format="json").json()
    assert changed == {**body, "default_duration_minutes": 75}
    for bad, field in (
        ({"default_duration_minutes": 0}, "default_duration_minutes"),
        ({"default_duration_minutes": 24 * 60}, "default_duration_minutes"),
        ({"buffer_minutes": 241}, "buffer_minutes"),
        ({"price_hint": "-1"}, "price_hint"),
        ({"colour": "blue"}, "colour"),
        ({"rooms": [999_999]}, "rooms"),
        ({"name": "check-up"}, "name"),
    ):
        response = owner.patch(path, bad, format="json")
        assert response.status_code == 400, bad
        assert field in fields_of(response), (bad, fields_of(response))
    assert AppointmentType.objects.get(pk=body["id"]).default_duration_minutes == 75
    listed = owner.get(f"{API}/appointment-types/").json()
    assert [t["name"] for t in listed["results"]] == [
        "Check-up",
        "Cleaning",
        "Consultation",
        "Whitening",
    ]
    assert owner.get(f"{API}/appointment-types/{calendar_a.checkup.pk}/").json()["rooms"] == [
        calendar_a.chair_1.pk,
        calendar_a.chair_2.pk,
    ]


def test_practitioners_are_staff_of_this_clinic(calendar_a, owner, receptionist_a, outsider_b):
    listed = owner.get(f"{API}/practitioners/").json()
    assert [p["display_name"] for p in listed["results"]] == ["Dr Olivia", "Dr Pat"]
    created = post(
        owner,
        "/practitioners/",
        {"user_id": receptionist_a.pk, "appointment_types": [calendar_a.consult.pk]},
    )
    assert created.status_code == 201, created.content
    assert created.json()["display_name"] == "Rita Reception"
    assert created.json()["appointment_types"] == [calendar_a.consult.pk]
    again = post(owner, "/practitioners/", {"user_id": receptionist_a.pk})
    assert "user_id" in fields_of(again)
    # Someone of another clinic and no one at all get the same answer.
    for user_id in (outsider_b.pk, 99_999_999):
        refused = post(owner, "/practitioners/", {"user_id": user_id})
        assert fields_of(refused) == {
            "user_id": ["Only active staff of this clinic can take bookings."]
        }
    path = f"{API}/practitioners/{created.json()['id']}/"
    changed = owner.patch(path, {"colour": "#111111", "is_active": False}, format="json")
    assert changed.json()["colour"] == "#111111"
    assert changed.json()["appointment_types"] == [calendar_a.consult.pk]
    assert "colour" in fields_of(owner.patch(path, {"colour": "red"}, format="json"))
    assert "appointment_types" in fields_of(
        owner.patch(path, {"appointment_types": [999_999]}, format="json")
    )
    assert owner.get(f"{API}/practitioners/", {"active": "true"}).json()["count"] == 2
    assert Practitioner.objects.count() == 3


def test_working_hours_are_read_and_replaced_whole(calendar_a, owner):
    path = f"{API}/practitioners/{calendar_a.pat.pk}/working-hours/"
    week = owner.get(path).json()["periods"]
    assert len(week) == 10
    assert week[:2] == [
        {"weekday": 0, "starts": "09:00:00", "ends": "12:30:00"},
        {"weekday": 0, "starts": "13:30:00", "ends": "17:00:00"},
    ]
    saturday = {"periods": [{"weekday": 5, "starts": "10:00", "ends": "14:00"}]}
    assert owner.put(path, saturday, format="json").json() == {
        "periods": [{"weekday": 5, "starts": "10:00:00", "ends": "14:00:00"}]
    }
    for bad in (
        {"periods": [{"weekday": 0, "starts": "10:00", "ends": "09:00"}]},
        {
            "periods": [
                {"weekday": 0, "starts": "09:00", "ends": "12:00"},
                {"weekday": 0, "starts": "11:00", "ends": "13:00"},
            ]
        },
        {"periods": [{"weekday": 7, "starts": "09:00", "ends": "12:00"}]},
        {"periods": [{"weekday": 0, "starts": "9am", "ends": "12:00"}]},
        {"periods": "all week"},
        {},
    ):
        response = owner.put(path, bad, format="json")
        assert response.status_code == 400, bad
        assert any(name.startswith("periods") for name in fields_of(response)), fields_of(response)
    assert calendar_a.pat.working_periods.count() == 1
    assert owner.get(f"{API}/practitioners/999999/working-hours/").status_code == 404


def test_schedule_exceptions_are_added_listed_and_removed(calendar_a, owner):
    base = f"/practitioners/{calendar_a.pat.pk}/exceptions/"
    leave = post(owner, base, {"date": "2031-03-03", "kind": "leave", "note": "Dentist"})
    assert leave.status_code == 201
    extra = post(
        owner, base, {"date": "2031-03-08", "kind": "extra", "starts": "09:00", "ends": "12:00"}
    )
    assert extra.status_code == 201
    listed = owner.get(f"{API}{base}", {"from": "2031-03-04"}).json()
    assert [row["id"] for row in listed["results"]] == [extra.json()["id"]]
    for bad, field in (
        ({"date": "2031-03-03", "kind": "extra"}, "starts"),
        ({"date": "2031-03-03", "kind": "leave", "starts": "10:00"}, "ends"),
        ({"date": "2031-03-03", "kind": "leave", "starts": "10:00", "ends": "09:00"}, "ends"),
        ({"date": "03/03/2031", "kind": "leave"}, "date"),
        ({"date": "2031-03-03", "kind": "holiday"}, "kind"),
    ):
        assert field in fields_of(post(owner, base, bad)), bad
    path = f"{API}{base}{leave.json()['id']}/"
    # Olivia's path does not reach Pat's leave.
    assert (
        owner.delete(
            f"{API}/practitioners/{calendar_a.olivia.pk}/exceptions/{leave.json()['id']}/"
        ).status_code
        == 404
    )
    assert owner.delete(path).status_code == 204
    assert owner.delete(path).status_code == 404
    assert owner.delete(f"{API}{base}99999999999999999999999/").status_code == 404
    assert ScheduleException.objects.count() == 1


def test_clinic_closures_are_added_listed_and_removed(calendar_a, owner):
    created = post(
        owner,
        "/clinic-closures/",
        {"starts_on": "2031-12-25", "ends_on": "2031-12-26", "reason": "Christmas"},
    )
    assert created.status_code == 201
    assert created.json()["reason"] == "Christmas"
    for bad, field in (
        ({"starts_on": "2031-12-26", "ends_on": "2031-12-25", "reason": "x"}, "ends_on"),
        ({"starts_on": "2031-01-01", "ends_on": "2033-01-01", "reason": "x"}, "ends_on"),
        ({"starts_on": "2031-12-25", "ends_on": "2031-12-25", "reason": ""}, "reason"),
        ({"starts_on": "soon", "ends_on": "2031-12-25", "reason": "x"}, "starts_on"),
    ):
        assert field in fields_of(post(owner, "/clinic-closures/", bad)), bad
    assert owner.get(f"{API}/clinic-closures/", {"to": "2031-12-24"}).json()["count"] == 0
    assert owner.get(f"{API}/clinic-closures/", {"from": "2031-12-26"}).json()["count"] == 1
    path = f"{API}/clinic-closures/{created.json()['id']}/"
    assert owner.delete(path).status_code == 204
    assert owner.delete(path).status_code == 404
    assert not ClinicClosure.objects.exists()


# --- availability ----------------------------------------------------------------------------


def test_availability_lists_the_next_slots_in_clinic_time(calendar_a, desk):
    calendar_a.book(starts_at=calendar_a.at(MONDAY, 9))
    response = desk.get(
        f"{API}/availability/",
        {
            "appointment_type": calendar_a.checkup.pk,
            "practitioner": calendar_a.pat.pk,
            "from": "2031-03-03",
            "limit": 2,
        },
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["appointment_type"]["name"] == "Check-up"
    assert body["duration_minutes"] == 30
    assert body["slots"] == [
        {
            "starts_at": "2031-03-03T09:30:00+00:00",
            "ends_at": "2031-03-03T10:00:00+00:00",
            "practitioner": {
                "id": calendar_a.pat.pk,
                "display_name": "Dr Pat",
                "colour": calendar_a.pat.colour,
            },
            "room": {"id": calendar_a.chair_1.pk, "name": "Chair 1"},
        },
        {
            "starts_at": "2031-03-03T09:45:00+00:00",
            "ends_at": "2031-03-03T10:15:00+00:00",
            "practitioner": {
                "id": calendar_a.pat.pk,
                "display_name": "Dr Pat",
                "colour": calendar_a.pat.colour,
            },
            "room": {"id": calendar_a.chair_1.pk, "name": "Chair 1"},
        },
    ]
    anyone = desk.get(
        f"{API}/availability/",
        {"appointment_type": calendar_a.checkup.pk, "from": "2031-03-03T09:00", "limit": 3},
    ).json()
    assert [
        (s["starts_at"][11:16], s["practitioner"]["display_name"]) for s in anyone["slots"]
    ] == [
        ("09:00", "Dr Olivia"),
        ("09:15", "Dr Olivia"),
        ("09:30", "Dr Olivia"),
    ]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({}, "appointment_type"),
        ({"appointment_type": 999_999}, "appointment_type"),
        ({"appointment_type": "x"}, "appointment_type"),
        ({"practitioner": "Dr Pat"}, "practitioner"),
        ({"practitioner": 999_999}, "practitioner"),
        ({"practitioner": "olivia", "appointment_type": "consult"}, None),
        ({"practitioner": "pat", "appointment_type": "consult"}, "practitioner"),
        ({"days": 0}, "days"),
        ({"days": 63}, "days"),
        ({"limit": 101}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"from": "next week"}, "from"),
        ({"from": "2031-03-30T01:15"}, "from"),
    ],
)
def test_bad_availability_questions_are_400(calendar_a, desk, params, field):
    values = {"appointment_type": calendar_a.checkup.pk, "from": "2031-03-03", **params}
    for name in ("practitioner", "appointment_type"):
        if values.get(name) in ("pat", "olivia", "consult"):
            values[name] = getattr(calendar_a, values[name]).pk
    if not params:
        del values["appointment_type"]
    response = desk.get(f"{API}/availability/", values)
    if field is None:
        assert response.status_code == 200
        return
    assert response.status_code == 400, response.content
    assert field in fields_of(response)


# --- OpenAPI ---------------------------------------------------------------------------------


def test_the_schema_lists_every_calendar_endpoint_with_examples(api_client, clinic_a):
    response = api_client(clinic_a).get(f"{API}/schema/", HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    paths = response.json()["paths"]
    expected = {
        "/api/v1/appointments/": {"get", "post"},
        "/api/v1/appointments/{appointment_id}/": {"get", "patch"},
        "/api/v1/appointments/{appointment_id}/reschedule/": {"post"},
        "/api/v1/appointments/{appointment_id}/cancel/": {"post"},
        "/api/v1/appointments/{appointment_id}/status/": {"post"},
        "/api/v1/practitioners/": {"get", "post"},
        "/api/v1/practitioners/{practitioner_id}/": {"get", "patch"},
        "/api/v1/practitioners/{practitioner_id}/working-hours/": {"get", "put"},
        "/api/v1/practitioners/{practitioner_id}/exceptions/": {"get", "post"},
        "/api/v1/practitioners/{practitioner_id}/exceptions/{exception_id}/": {"delete"},
        "/api/v1/clinic-closures/": {"get", "post"},
        "/api/v1/clinic-closures/{closure_id}/": {"delete"},
        "/api/v1/rooms/": {"get", "post"},
        "/api/v1/rooms/{room_id}/": {"get", "patch"},
        "/api/v1/appointment-types/": {"get", "post"},
        "/api/v1/appointment-types/{appointment_type_id}/": {"get", "patch"},
        "/api/v1/availability/": {"get"},
    }
    for path, methods in expected.items():
        assert methods <= set(paths[path]), path
        for method in methods:
            assert '"examples"' in json.dumps(paths[path][method]), (path, method)
    create = paths["/api/v1/appointments/"]["post"]
    assert {"201", "400", "409"} <= set(create["responses"])
    assert "examples" in create["requestBody"]["content"]["application/json"]
    assert "409" in paths["/api/v1/appointments/{appointment_id}/reschedule/"]["post"]["responses"]
