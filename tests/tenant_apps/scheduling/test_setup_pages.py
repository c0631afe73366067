"""The calendar setup pages: who may open them, forms that save, and refusals shown on the
fields with nothing saved."""

from __future__ import annotations

import datetime as dt

import pytest

from tenant_apps.audit.models import AuditEvent
from tenant_apps.scheduling.models import (
    AppointmentType,
    ClinicClosure,
    Practitioner,
    Room,
    ScheduleException,
    WorkingPeriod,
)
from tests.support.scheduling import MONDAY

pytestmark = pytest.mark.django_db


@pytest.fixture
def owner(calendar_a, clinic_a, clinic_client, owner_a):
    return clinic_client(clinic_a, owner_a)


def text(response) -> str:
    return response.content.decode()


def test_only_setup_roles_open_the_pages(
    calendar_a, clinic_a, clinic_client, receptionist_a, practitioner_a, owner
):
    page = owner.get("/calendar/setup/")
    assert page.status_code == 200
    for name in ("Dr Pat", "Dr Olivia", "Chair 1", "Check-up", "Consultation"):
        assert name in text(page)
    for user in (receptionist_a, practitioner_a):
        client = clinic_client(clinic_a, user)
        assert client.get("/calendar/setup/").status_code == 403
        refused = client.post("/calendar/setup/rooms/new/", {"name": "Sneaky", "kind": "room"})
        assert refused.status_code == 403
    assert not Room.objects.filter(name="Sneaky").exists()


def test_add_a_practitioner_from_the_active_staff(calendar_a, owner, receptionist_a, owner_a):
    form = owner.get("/calendar/setup/practitioners/new/")
    # Pat and Olivia are on the calendar already: only the receptionist can be added.
    assert f'value="{receptionist_a.pk}"' in text(form)
    assert f'value="{owner_a.pk}"' not in text(form)
    refused = owner.post(
        "/calendar/setup/practitioners/new/",
        {"user": owner_a.pk, "colour": "#123456"},
    )
    assert refused.status_code == 400
    assert "Select a valid choice" in text(refused)
    response = owner.post(
        "/calendar/setup/practitioners/new/",
        {
            "user": receptionist_a.pk,
            "display_name": "Sam Hygienist",
            "colour": "#123456",
            "appointment_types": [calendar_a.cleaning.pk],
        },
    )
    sam = Practitioner.objects.get(user_id=receptionist_a.pk)
    assert response.status_code == 302
    assert response["Location"] == f"/calendar/setup/practitioners/{sam.pk}/hours/"
    assert sam.display_name == "Sam Hygienist"
    assert list(sam.appointment_types.all()) == [calendar_a.cleaning]


def test_editing_a_practitioner_shows_the_services_refusal_inline(calendar_a, owner):
    url = f"/calendar/setup/practitioners/{calendar_a.pat.pk}/"
    refused = owner.post(url, {"display_name": "Dr Pat", "colour": "blue", "is_active": "on"})
    assert refused.status_code == 400
    assert 'class="field-error"' in text(refused)
    assert "Use a colour like #2563eb." in text(refused)
    calendar_a.pat.refresh_from_db()
    assert calendar_a.pat.colour == "#2563eb"
    saved = owner.post(
        url,
        {
            "display_name": "Dr Pat Lee",
            "colour": "#000000",
            "appointment_types": [calendar_a.checkup.pk],
        },
    )
    assert saved.status_code == 302
    calendar_a.pat.refresh_from_db()
    assert (calendar_a.pat.display_name, calendar_a.pat.is_active) == ("Dr Pat Lee", False)
    assert list(calendar_a.pat.appointment_types.all()) == [calendar_a.checkup]


def test_rooms_are_added_and_renamed_but_never_twice(calendar_a, owner):
    added = owner.post("/calendar/setup/rooms/new/", {"name": "X-ray", "kind": "room"})
    assert added.status_code == 302
    room = Room.objects.get(name="X-ray")
    twice = owner.post("/calendar/setup/rooms/new/", {"name": "x-RAY", "kind": "room"})
    assert twice.status_code == 400
    assert "A room with this name exists already." in text(twice)
    assert Room.objects.filter(name__iexact="x-ray").count() == 1
    renamed = owner.post(
        f"/calendar/setup/rooms/{room.pk}/", {"name": "Imaging", "kind": "room", "is_active": "on"}
    )
    assert renamed.status_code == 302
    room.refresh_from_db()
    assert room.name == "Imaging"
    assert AuditEvent.objects.filter(action="room.updated", target_id=str(room.pk)).exists()


def test_appointment_types_with_rooms_buffer_and_field_errors(calendar_a, owner):
    fields = {
        "name": "Root canal",
        "default_duration_minutes": "90",
        "buffer_minutes": "15",
        "colour": "#aa0000",
        "price_hint": "250.00",
        "rooms": [calendar_a.chair_1.pk],
        "is_active": "on",
    }
    too_short = owner.post(
        "/calendar/setup/types/new/", {**fields, "default_duration_minutes": "3"}
    )
    assert too_short.status_code == 400
    assert "field-error" in text(too_short)
    duplicate = owner.post("/calendar/setup/types/new/", {**fields, "name": "check-up"})
    assert duplicate.status_code == 400
    assert "An appointment type with this name exists already." in text(duplicate)
    assert not AppointmentType.objects.filter(name="Root canal").exists()
    assert owner.post("/calendar/setup/types/new/", fields).status_code == 302
    root_canal = AppointmentType.objects.get(name="Root canal")
    assert (root_canal.default_duration_minutes, root_canal.buffer_minutes) == (90, 15)
    assert list(root_canal.rooms.all()) == [calendar_a.chair_1]
    edited = owner.post(
        f"/calendar/setup/types/{root_canal.pk}/", {**fields, "buffer_minutes": "500"}
    )
    assert edited.status_code == 400
    root_canal.refresh_from_db()
    assert root_canal.buffer_minutes == 15


def week_post(**periods: tuple[str, str]) -> dict[str, str]:
    """{"d0_p0": ("08:00", "12:00")} -> the grid's field names."""
    data: dict[str, str] = {}
    for key, (starts, ends) in periods.items():
        data[f"{key}_starts"] = starts
        data[f"{key}_ends"] = ends
    return data


def test_the_working_week_grid(calendar_a, owner):
    url = f"/calendar/setup/practitioners/{calendar_a.pat.pk}/hours/"
    page = owner.get(url)
    assert page.status_code == 200
    assert 'name="d0_p0_starts" value="09:00"' in text(page)
    assert 'name="d0_p1_ends" value="17:00"' in text(page)
    saved = owner.post(
        url, week_post(d0_p0=("08:00", "12:00"), d0_p1=("13:00", "18:00"), d5_p0=("09:00", "13:00"))
    )
    assert saved.status_code == 302
    periods = list(
        WorkingPeriod.objects.filter(practitioner=calendar_a.pat).values_list(
            "weekday", "starts", "ends"
        )
    )
    assert periods == [
        (0, dt.time(8), dt.time(12)),
        (0, dt.time(13), dt.time(18)),
        (5, dt.time(9), dt.time(13)),
    ]


@pytest.mark.parametrize(
    ("periods", "message"),
    [
        (
            {"d1_p0": ("09:00", "13:00"), "d1_p1": ("12:00", "17:00")},
            "Tuesday: two periods overlap.",
        ),
        ({"d2_p0": ("09:00", "")}, "Give both a start and an end, or neither."),
        ({"d3_p0": ("12:00", "09:00")}, "The end must be after the start."),
        ({"d4_p0": ("9 o'clock", "12:00")}, "Enter a valid time."),
    ],
)
def test_a_bad_week_is_shown_on_the_grid_and_nothing_changes(calendar_a, owner, periods, message):
    url = f"/calendar/setup/practitioners/{calendar_a.pat.pk}/hours/"
    refused = owner.post(url, week_post(**periods))
    assert refused.status_code == 400
    assert message in text(refused)
    assert WorkingPeriod.objects.filter(practitioner=calendar_a.pat).count() == 10


def test_leave_and_extra_hours(calendar_a, owner):
    url = f"/calendar/setup/practitioners/{calendar_a.olivia.pk}/exceptions/"
    day = (dt.datetime.now(dt.UTC).date() + dt.timedelta(days=10)).isoformat()
    no_times = owner.post(url, {"date": day, "kind": "extra"})
    assert no_times.status_code == 400
    assert "Extra hours need a start and an end." in text(no_times)
    assert owner.post(url, {"date": day, "kind": "leave", "note": "Conference"}).status_code == 302
    leave = ScheduleException.objects.get(practitioner=calendar_a.olivia)
    page = owner.get(url)
    assert "Conference" in text(page)
    assert "All day" in text(page)
    # Another practitioner's path cannot delete it.
    wrong = owner.post(
        f"/calendar/setup/practitioners/{calendar_a.pat.pk}/exceptions/{leave.pk}/delete/"
    )
    assert wrong.status_code == 404
    assert owner.post(f"{url}{leave.pk}/delete/").status_code == 302
    assert not ScheduleException.objects.exists()


def test_clinic_closures(calendar_a, owner):
    refused = owner.post(
        "/calendar/setup/closures/",
        {"starts_on": "2031-12-26", "ends_on": "2031-12-25", "reason": "Christmas"},
    )
    assert refused.status_code == 400
    assert "The last day cannot be before the first." in text(refused)
    assert not ClinicClosure.objects.exists()
    saved = owner.post(
        "/calendar/setup/closures/",
        {"starts_on": "2031-12-25", "ends_on": "2031-12-26", "reason": "Christmas"},
    )
    assert saved.status_code == 302
    closure = ClinicClosure.objects.get()
    assert "Christmas" in text(owner.get("/calendar/setup/closures/"))
    assert owner.post(f"/calendar/setup/closures/{closure.pk}/delete/").status_code == 302
    assert not ClinicClosure.objects.exists()


@pytest.mark.parametrize(
    "path",
    [
        "/calendar/setup/practitioners/999999/",
        "/calendar/setup/practitioners/999999/hours/",
        "/calendar/setup/practitioners/999999/exceptions/",
        "/calendar/setup/rooms/999999/",
        "/calendar/setup/types/999999/",
        "/calendar/setup/practitioners/99999999999999999999/",
    ],
)
def test_unknown_ids_are_404(calendar_a, owner, path):
    assert owner.get(path).status_code == 404


def test_a_closure_made_here_stops_bookings(calendar_a, owner):
    owner.post(
        "/calendar/setup/closures/",
        {"starts_on": MONDAY.isoformat(), "ends_on": MONDAY.isoformat(), "reason": "Refit"},
    )
    from tenant_apps.scheduling.services import OutsideWorkingHours

    with pytest.raises(OutsideWorkingHours):
        calendar_a.book()
