"""Clinic B's series, waitlist, offers and calendar setup never reach clinic A; B's ids are
404 on A (pages and API alike).

Both clinics get the same calendar, a series, waitlist entries and offers (so ids
collide); B has more of each, so some of B's ids exist only in B. Every name and note in B
carries "MARK-B". Only the schema keeps them apart.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from django_tenants.utils import tenant_context

from shared_apps.accounts.models import Role
from tenant_apps.scheduling.models import (
    Appointment,
    AppointmentSeries,
    AppointmentType,
    ClinicClosure,
    Practitioner,
    Room,
    ScheduleException,
    WaitlistEntry,
    WaitlistOffer,
)
from tenant_apps.scheduling.series import RecurrenceRule, series_book
from tenant_apps.scheduling.services import (
    AppointmentTypeInput,
    BookingRequest,
    appointment_cancel,
    appointment_type_create,
    clinic_closure_create,
    practitioner_create,
    room_create,
    schedule_exception_create,
)
from tenant_apps.scheduling.waitlist import WaitlistEntryInput, waitlist_entry_add
from tests.factories import membership_add, user_create
from tests.isolation.markers import assert_no_marker
from tests.support.scheduling import MONDAY, Calendar, calendar_setup

pytestmark = pytest.mark.django_db

MARK_B = "MARK-B"
WEEK = dt.timedelta(weeks=1)


@pytest.fixture
def calendar_a(clinic_a, practitioner_a, owner_a) -> Iterator[Calendar]:
    with tenant_context(clinic_a):
        yield calendar_setup(pat_user=practitioner_a, olivia_user=owner_a)


@pytest.fixture
def calendar_b(clinic_b, outsider_b) -> Calendar:
    colleague = user_create(email="practitioner@clinic-b.example", full_name="Bea B")
    membership_add(user=colleague, clinic=clinic_b, role=Role.PRACTITIONER)
    with tenant_context(clinic_b):
        return calendar_setup(pat_user=colleague, olivia_user=outsider_b, marker=MARK_B)


@dataclass
class Seeded:
    single_a: int  # an appointment of A outside any series
    series_appointment_a: int
    series_a: int
    only_b: dict[str, list[int]]  # kind -> ids B has and A lacks


def seed_one(calendar: Calendar, *, extra: int, mark: str = "") -> dict[str, list[int]]:
    """A series, a single appointment, waitlist entries and offers; `extra` more of each
    resource on B's side so some of its ids exist only there."""
    label = f"{mark} " if mark else ""
    ids: dict[str, list[int]] = {}
    booking = BookingRequest(
        patient=calendar.patient,
        practitioner=calendar.pat,
        appointment_type=calendar.checkup,
        starts_at=calendar.at(MONDAY, 10),
    )
    series = [
        series_book(
            actor=None,
            booking=BookingRequest(**{**booking.__dict__, "starts_at": calendar.at(MONDAY, 9 + n)}),
            rule=RecurrenceRule(count=2),
        )
        for n in range(1 + extra)
    ]
    ids["series"] = [s.series.pk for s in series]
    ids["series_appointments"] = [a.pk for s in series for a in s.appointments]
    single = calendar.book(patient=calendar.other_patient, starts_at=calendar.at(MONDAY, 15))
    ids["single"] = [single.pk]
    entries = [
        waitlist_entry_add(
            actor=None,
            data=WaitlistEntryInput(
                patient=patient, practitioner=practitioner, note=f"{label}waiting {n}"
            ),
        )
        for n, (patient, practitioner) in enumerate(
            [(calendar.other_patient, calendar.pat), (calendar.other_patient, None)][: 1 + extra]
        )
    ]
    ids["entries"] = [e.pk for e in entries]
    freed = calendar.book(starts_at=calendar.at(MONDAY + 2 * WEEK, 11))
    appointment_cancel(actor=None, appointment=freed, reason=f"{label}phoned")
    ids["offers"] = list(WaitlistOffer.objects.values_list("pk", flat=True))
    for n in range(extra):
        ids.setdefault("rooms", []).append(room_create(actor=None, name=f"{label}Room {n}").pk)
        ids.setdefault("types", []).append(
            appointment_type_create(
                actor=None, data=AppointmentTypeInput(name=f"{label}Type {n}")
            ).pk
        )
    ids["closures"] = [
        clinic_closure_create(
            actor=None,
            starts_on=dt.date(2031, 12, 25),
            ends_on=dt.date(2031, 12, 26),
            reason=f"{label}Christmas {n}",
        ).pk
        for n in range(1 + extra)
    ]
    ids["exceptions"] = [
        schedule_exception_create(
            actor=None,
            practitioner=calendar.olivia,
            date=dt.date(2031, 12, 1) + dt.timedelta(days=n),
            kind="leave",
            note=f"{label}leave {n}",
        ).pk
        for n in range(1 + extra)
    ]
    return ids


@pytest.fixture
def seeded(calendar_a, calendar_b, clinic_a, clinic_b, receptionist_a) -> Seeded:
    with tenant_context(clinic_a):
        a = seed_one(calendar_a, extra=0)
        a_ids = {
            "series": set(AppointmentSeries.objects.values_list("pk", flat=True)),
            "entries": set(WaitlistEntry.objects.values_list("pk", flat=True)),
            "offers": set(WaitlistOffer.objects.values_list("pk", flat=True)),
            "rooms": set(Room.objects.values_list("pk", flat=True)),
            "types": set(AppointmentType.objects.values_list("pk", flat=True)),
            "closures": set(ClinicClosure.objects.values_list("pk", flat=True)),
            "exceptions": set(ScheduleException.objects.values_list("pk", flat=True)),
            "appointments": set(Appointment.objects.values_list("pk", flat=True)),
        }
    with tenant_context(clinic_b):
        b = seed_one(calendar_b, extra=2, mark=MARK_B)
        # A practitioner only B has (B's receptionist-like colleague).
        extra_person = user_create(email="extra@clinic-b.example", full_name="MARK-B Extra")
        membership_add(user=extra_person, clinic=clinic_b, role=Role.RECEPTIONIST)
        b["practitioners"] = [
            practitioner_create(actor=None, user=extra_person, display_name=f"{MARK_B} Extra").pk
        ]
    with tenant_context(clinic_a):
        a_ids["practitioners"] = set(Practitioner.objects.values_list("pk", flat=True))
    only_b = {
        kind: [pk for pk in b[kind] if pk not in a_ids[kind]]
        for kind in (
            "series",
            "entries",
            "offers",
            "rooms",
            "types",
            "closures",
            "exceptions",
            "practitioners",
        )
    }
    only_b["appointments"] = [
        pk for pk in b["series_appointments"] + b["single"] if pk not in a_ids["appointments"]
    ]
    assert all(only_b.values()), only_b
    return Seeded(
        single_a=a["single"][0],
        series_appointment_a=a["series_appointments"][0],
        series_a=a["series"][0],
        only_b=only_b,
    )


def test_bs_own_pages_show_its_marker(seeded, clinic_b, clinic_client, outsider_b):
    client = clinic_client(clinic_b, outsider_b)
    for path in ("/calendar/waitlist/", "/calendar/waitlist/offers/", "/calendar/setup/"):
        assert MARK_B in client.get(path).content.decode(), path


def test_as_pages_never_show_b(seeded, calendar_a, clinic_a, clinic_client, owner_a):
    client = clinic_client(clinic_a, owner_a)
    pages = [
        ("/calendar/waitlist/", {}),
        ("/calendar/waitlist/", {"find": "MARK"}),
        ("/calendar/waitlist/", {"patient": calendar_a.other_patient.pk}),
        ("/calendar/waitlist/offers/", {}),
        (f"/calendar/appointments/{seeded.series_appointment_a}/series/", {}),
        ("/calendar/series/new/", {"appointment": seeded.single_a}),
        ("/calendar/setup/", {}),
        ("/calendar/setup/closures/", {}),
        ("/calendar/setup/practitioners/new/", {}),
        (f"/calendar/setup/practitioners/{calendar_a.olivia.pk}/", {}),
        (f"/calendar/setup/practitioners/{calendar_a.olivia.pk}/hours/", {}),
        (f"/calendar/setup/practitioners/{calendar_a.olivia.pk}/exceptions/", {}),
        (f"/calendar/setup/rooms/{calendar_a.chair_1.pk}/", {}),
        (f"/calendar/setup/types/{calendar_a.checkup.pk}/", {}),
        ("/calendar/setup/types/new/", {}),
    ]
    for path, params in pages:
        response = client.get(path, params)
        assert response.status_code == 200, (path, response.status_code)
        assert_no_marker(response.content, MARK_B)
    preview = client.post(
        f"/calendar/series/new/?appointment={seeded.single_a}",
        {"interval_weeks": "1", "ends": "count", "count": "3", "action": "preview"},
    )
    assert_no_marker(preview.content, MARK_B)


def test_as_api_never_shows_b(seeded, clinic_a, api_client, owner_a):
    client = api_client(clinic_a, owner_a)
    for path, params in (
        ("/api/v1/waitlist/", {"status": "all"}),
        ("/api/v1/waitlist/offers/", {}),
        (f"/api/v1/appointment-series/{seeded.series_a}/", {}),
    ):
        response = client.get(path, params)
        assert response.status_code == 200, path
        assert_no_marker(response.content, MARK_B)


def test_bs_ids_are_404_on_as_pages(seeded, clinic_a, clinic_client, owner_a):
    client = clinic_client(clinic_a, owner_a)
    only_b = seeded.only_b
    gets = [f"/calendar/appointments/{pk}/series/" for pk in only_b["appointments"]]
    gets += [f"/calendar/series/new/?appointment={pk}" for pk in only_b["appointments"]]
    gets += [f"/calendar/waitlist/{pk}/edit/" for pk in only_b["entries"]]
    gets += [f"/calendar/waitlist/?patient={pk}" for pk in (10**6,)]
    gets += [f"/calendar/setup/practitioners/{pk}/" for pk in only_b["practitioners"]]
    gets += [f"/calendar/setup/practitioners/{pk}/hours/" for pk in only_b["practitioners"]]
    gets += [f"/calendar/setup/rooms/{pk}/" for pk in only_b["rooms"]]
    gets += [f"/calendar/setup/types/{pk}/" for pk in only_b["types"]]
    for path in gets:
        response = client.get(path)
        assert response.status_code == 404, path
        assert_no_marker(response.content, MARK_B)
    posts = [f"/calendar/waitlist/{pk}/remove/" for pk in only_b["entries"]]
    posts += [f"/calendar/waitlist/offers/{pk}/book/" for pk in only_b["offers"]]
    posts += [f"/calendar/waitlist/offers/{pk}/dismiss/" for pk in only_b["offers"]]
    posts += [f"/calendar/setup/closures/{pk}/delete/" for pk in only_b["closures"]]
    posts += [
        f"/calendar/setup/practitioners/{pk}/exceptions/1/delete/" for pk in only_b["practitioners"]
    ]
    for path in posts:
        assert client.post(path).status_code == 404, path


def test_bs_ids_are_404_or_unknown_on_as_api(seeded, clinic_a, clinic_b, api_client, owner_a):
    client = api_client(clinic_a, owner_a)
    only_b = seeded.only_b
    for pk in only_b["series"]:
        assert client.get(f"/api/v1/appointment-series/{pk}/").status_code == 404
        cancel = client.post(
            f"/api/v1/appointment-series/{pk}/cancel/",
            {"scope": "all", "reason": "x"},
            format="json",
        )
        assert cancel.status_code == 404
        move = client.post(
            f"/api/v1/appointment-series/{pk}/reschedule/",
            {"appointment": 1, "scope": "all", "starts_at": "2031-03-03T11:00"},
            format="json",
        )
        assert move.status_code == 404
    for pk in only_b["entries"]:
        assert client.get(f"/api/v1/waitlist/{pk}/").status_code == 404
        assert (
            client.patch(f"/api/v1/waitlist/{pk}/", {"note": "x"}, format="json").status_code == 404
        )
        assert client.delete(f"/api/v1/waitlist/{pk}/").status_code == 404
    for pk in only_b["offers"]:
        assert (
            client.post(f"/api/v1/waitlist/offers/{pk}/book/", {}, format="json").status_code == 404
        )
        assert client.post(f"/api/v1/waitlist/offers/{pk}/dismiss/").status_code == 404
    # B's appointment as the anchor of a change to A's series: unknown here.
    anchor = client.post(
        f"/api/v1/appointment-series/{seeded.series_a}/cancel/",
        {"appointment": only_b["appointments"][0], "scope": "this", "reason": "x"},
        format="json",
    )
    assert anchor.status_code == 400
    assert anchor.json()["error"]["fields"] == {"appointment": ["No such appointment."]}
    with tenant_context(clinic_b):
        statuses = set(WaitlistOffer.objects.values_list("status", flat=True))
    assert statuses == {"open"}  # nothing of B's was touched by A's requests
