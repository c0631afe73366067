"""Clinic B's calendar never reaches clinic A through the calendar API.

Both clinics get the same calendar, every name in B's carrying B's marker; B gets extra
rows, so some of B's ids exist only in B. Through A's session and A's token: lists,
availability and searches never show B's marker, B's ids are 404 (or a field error when
sent in a body), writes aimed at B's rows change nothing there. A's credentials are
refused on B's host.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from django_tenants.utils import tenant_context

from shared_apps.accounts.models import Role
from tenant_apps.patients.models import Patient
from tenant_apps.patients.services import PatientInput, patient_create
from tenant_apps.scheduling.models import Appointment, ClinicClosure, ScheduleException
from tenant_apps.scheduling.services import (
    AppointmentTypeInput,
    appointment_type_create,
    clinic_closure_create,
    room_create,
    schedule_exception_create,
)
from tests import factories
from tests.isolation.markers import assert_no_marker
from tests.support.scheduling import MONDAY, Calendar, calendar_setup
from tests.tenant_apps.api_tokens.helpers import token_for, with_token

pytestmark = pytest.mark.django_db

API = "/api/v1"
B_MARK = "MARK-B"
WEEK = {"from": "2031-03-01", "to": "2031-03-31"}


@dataclass
class Seeded:
    a: Calendar
    b: Calendar
    b_only: dict[str, list[int]]  # kind -> B's ids that A does not have


def _seed_a(clinic_a, practitioner_a, owner_a) -> Calendar:
    with tenant_context(clinic_a):
        calendar = calendar_setup(pat_user=practitioner_a, olivia_user=owner_a)
        calendar.book()
        return calendar


def _seed_b(clinic_b, outsider_b) -> tuple[Calendar, dict[str, list[Any]]]:
    colleague = factories.user_create(email="practitioner@clinic-b.example", full_name="Bea B")
    factories.membership_add(user=colleague, clinic=clinic_b, role=Role.PRACTITIONER)
    with tenant_context(clinic_b):
        calendar = calendar_setup(pat_user=colleague, olivia_user=outsider_b, marker=B_MARK)
        extra_patients = [
            patient_create(
                actor=None, data=PatientInput(first_name=f"{B_MARK} P{n}", last_name="Extra")
            )
            for n in range(3)
        ]
        extra_rooms = [room_create(actor=None, name=f"{B_MARK} Room {n}") for n in range(3)]
        extra_types = [
            appointment_type_create(actor=None, data=AppointmentTypeInput(name=f"{B_MARK} T{n}"))
            for n in range(3)
        ]
        appointments = [
            calendar.book(front_desk_notes=B_MARK),
            calendar.book(practitioner=calendar.olivia, front_desk_notes=B_MARK),
            *(
                calendar.book(starts_at=calendar.at(MONDAY, hour), front_desk_notes=B_MARK)
                for hour in (11, 14, 15)
            ),
        ]
        exceptions = [
            schedule_exception_create(
                actor=None,
                practitioner=calendar.pat,
                date=MONDAY + dt.timedelta(days=7 + n),
                kind="leave",
                note=B_MARK,
            )
            for n in range(3)
        ]
        closures = [
            clinic_closure_create(
                actor=None,
                starts_on=MONDAY + dt.timedelta(days=14 + n),
                ends_on=MONDAY + dt.timedelta(days=14 + n),
                reason=B_MARK,
            )
            for n in range(3)
        ]
    rows = {
        "patient": [calendar.patient, calendar.other_patient, *extra_patients],
        "appointment": appointments,
        "practitioner": [calendar.pat, calendar.olivia],
        "room": [calendar.chair_1, calendar.chair_2, *extra_rooms],
        "type": [calendar.checkup, calendar.cleaning, calendar.consult, *extra_types],
        "exception": exceptions,
        "closure": closures,
    }
    return calendar, rows


def _ids_in(clinic, model) -> set[int]:
    with tenant_context(clinic):
        return set(model.objects.values_list("pk", flat=True))


@pytest.fixture
def seeded(clinic_a, clinic_b, practitioner_a, owner_a, outsider_b) -> Seeded:
    from tenant_apps.scheduling.models import AppointmentType, Practitioner, Room

    a = _seed_a(clinic_a, practitioner_a, owner_a)
    b, rows = _seed_b(clinic_b, outsider_b)
    models = {
        "patient": Patient,
        "appointment": Appointment,
        "practitioner": Practitioner,
        "room": Room,
        "type": AppointmentType,
        "exception": ScheduleException,
        "closure": ClinicClosure,
    }
    b_only = {
        kind: [row.pk for row in rows[kind] if row.pk not in _ids_in(clinic_a, models[kind])]
        for kind in rows
    }
    # Each schema numbers its own rows; B has more, so some of its ids are B's alone.
    for kind in ("patient", "appointment", "room", "type", "exception", "closure"):
        assert b_only[kind], kind
    return Seeded(a=a, b=b, b_only=b_only)


@pytest.fixture(params=["session", "token"])
def a_client(request, api_client, clinic_a, owner_a):
    if request.param == "session":
        return api_client(clinic_a, owner_a)
    return with_token(clinic_a, token_for(clinic_a, owner_a))


def test_a_lists_only_its_own_calendar(a_client, seeded):
    pat = seeded.a.pat.pk
    expected_counts = {
        "/appointments/": 1,
        "/practitioners/": 2,
        "/rooms/": 2,
        "/appointment-types/": 3,
        "/clinic-closures/": 0,
        f"/practitioners/{pat}/exceptions/": 0,
    }
    for path, count in expected_counts.items():
        response = a_client.get(f"{API}{path}", WEEK if path == "/appointments/" else {})
        assert response.status_code == 200, path
        assert response.json()["count"] == count, path
        assert_no_marker(response.content, B_MARK)
    hours = a_client.get(f"{API}/practitioners/{pat}/working-hours/")
    assert len(hours.json()["periods"]) == 10


def test_availability_in_a_ignores_bs_bookings_and_resources(a_client, seeded):
    # B is fully booked at 10:00 and 11:00 on Monday; A only has Pat at 10:00.
    response = a_client.get(
        f"{API}/availability/",
        {"appointment_type": seeded.a.checkup.pk, "from": "2031-03-03T10:00", "limit": 10},
    )
    assert response.status_code == 200
    slots = response.json()["slots"]
    assert [(s["starts_at"][11:16], s["practitioner"]["display_name"]) for s in slots[:3]] == [
        ("10:00", "Dr Olivia"),
        ("10:15", "Dr Olivia"),
        ("10:30", "Dr Olivia"),
    ]
    assert_no_marker(response.content, B_MARK)
    for type_id in seeded.b_only["type"]:
        refused = a_client.get(f"{API}/availability/", {"appointment_type": type_id})
        assert refused.status_code == 400
        assert_no_marker(refused.content, B_MARK)


def test_bs_ids_are_404_for_a_and_nothing_of_b_changes(a_client, seeded, clinic_b):
    for appointment_id in seeded.b_only["appointment"]:
        base = f"{API}/appointments/{appointment_id}/"
        answers = [
            a_client.get(base),
            a_client.patch(base, {"front_desk_notes": "changed by A"}, format="json"),
            a_client.post(f"{base}reschedule/", {"starts_at": "2031-03-04T10:00"}, format="json"),
            a_client.post(f"{base}cancel/", {"reason": "A cancels"}, format="json"),
            a_client.post(f"{base}status/", {"status": "arrived"}, format="json"),
        ]
        assert [answer.status_code for answer in answers] == [404] * 5
        for answer in answers:
            assert_no_marker(answer.content, B_MARK)
    for room_id in seeded.b_only["room"]:
        assert a_client.get(f"{API}/rooms/{room_id}/").status_code == 404
        patched = a_client.patch(f"{API}/rooms/{room_id}/", {"name": "A's"}, format="json")
        assert patched.status_code == 404
    for type_id in seeded.b_only["type"]:
        assert a_client.get(f"{API}/appointment-types/{type_id}/").status_code == 404
    for practitioner_id in seeded.b_only["practitioner"]:
        for suffix in ("", "working-hours/", "exceptions/"):
            response = a_client.get(f"{API}/practitioners/{practitioner_id}/{suffix}")
            assert response.status_code == 404, suffix
        put = a_client.put(
            f"{API}/practitioners/{practitioner_id}/working-hours/", {"periods": []}, format="json"
        )
        assert put.status_code == 404
    pat = seeded.a.pat.pk
    for exception_id in seeded.b_only["exception"]:
        deleted = a_client.delete(f"{API}/practitioners/{pat}/exceptions/{exception_id}/")
        assert deleted.status_code == 404
    for closure_id in seeded.b_only["closure"]:
        assert a_client.delete(f"{API}/clinic-closures/{closure_id}/").status_code == 404
    with tenant_context(clinic_b):
        assert not Appointment.objects.exclude(status="booked").exists()
        assert not Appointment.objects.filter(front_desk_notes="changed by A").exists()
        assert ScheduleException.objects.count() == 3
        assert ClinicClosure.objects.count() == 3
        assert seeded.b.pat.working_periods.count() == 10


def test_bs_ids_in_a_booking_are_field_errors_and_nothing_is_saved(
    a_client, seeded, clinic_a, clinic_b
):
    b_ids = {
        "patient": seeded.b_only["patient"][0],
        "room": seeded.b_only["room"][0],
        "appointment_type": seeded.b_only["type"][0],
    }
    for field, b_id in b_ids.items():
        body = {
            "patient": seeded.a.other_patient.pk,
            "practitioner": seeded.a.olivia.pk,
            "appointment_type": seeded.a.consult.pk,
            "starts_at": "2031-03-04T10:00",
            field: b_id,
        }
        response = a_client.post(f"{API}/appointments/", body, format="json")
        assert response.status_code == 400, (field, response.content)
        assert_no_marker(response.content, B_MARK)
    with tenant_context(clinic_a):
        assert Appointment.objects.count() == 1
    with tenant_context(clinic_b):
        assert Appointment.objects.count() == 5


def test_as_credentials_do_not_open_bs_calendar(clinic_a, clinic_b, seeded):
    person = factories.user_create(email="locum-calendar@example.com")
    factories.membership_add(user=person, clinic=clinic_a, role=Role.PRACTITIONER)
    factories.membership_add(user=person, clinic=clinic_b, role=Role.PRACTITIONER)
    token = token_for(clinic_a, person)
    on_a = with_token(clinic_a, token).get(f"{API}/appointments/", WEEK)
    assert on_a.status_code == 200
    on_b = with_token(clinic_b, token)
    for path in ("/appointments/", "/practitioners/", "/rooms/", "/availability/"):
        refused = on_b.get(f"{API}{path}", WEEK)
        assert refused.status_code == 401, path
        assert_no_marker(refused.content, B_MARK)
    signed_in = Client(HTTP_HOST=factories.host_of(clinic_a))
    signed_in.post("/sign-in/", {"username": person.email, "password": factories.PASSWORD})
    copied = Client(HTTP_HOST=factories.host_of(clinic_b))
    copied.cookies[settings.SESSION_COOKIE_NAME] = signed_in.cookies[
        settings.SESSION_COOKIE_NAME
    ].value
    refused = copied.get(f"{API}/appointments/", WEEK)
    assert refused.status_code in (401, 403)
    assert_no_marker(refused.content, B_MARK)
