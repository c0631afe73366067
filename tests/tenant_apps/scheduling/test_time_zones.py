"""Daylight-saving changes in a clinic whose zone has them (clinic A: Europe/London).

2031-03-30 is the spring-forward Sunday (01:00 GMT becomes 02:00 BST: 01:30 never happens)
and 2031-10-26 the autumn one (02:00 BST becomes 01:00 GMT: 01:30 happens twice, and
means the first). Bookings across a change keep their real length in UTC and show the
local times on the appointment page and in the API; a weekly series keeps 10:00 local.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError

from tenant_apps.scheduling.clock import clinic_zone, day_bounds, local_datetime
from tenant_apps.scheduling.models import Appointment
from tenant_apps.scheduling.series import RecurrenceRule, series_book
from tenant_apps.scheduling.services import BookingRequest, schedule_exception_create

pytestmark = pytest.mark.django_db

SPRING = dt.date(2031, 3, 30)
AUTUMN = dt.date(2031, 10, 26)
UTC = dt.UTC


@pytest.fixture
def night_shift(calendar_a):
    """Dr Pat works 00:00-03:00 local on both change days (extra hours)."""
    for day in (SPRING, AUTUMN):
        schedule_exception_create(
            actor=None,
            practitioner=calendar_a.pat,
            date=day,
            kind="extra",
            starts=dt.time(0),
            ends=dt.time(3),
        )
    return calendar_a


@pytest.fixture
def api(calendar_a, clinic_a, api_client, receptionist_a):
    return api_client(clinic_a, receptionist_a)


@pytest.fixture
def desk(calendar_a, clinic_a, clinic_client, receptionist_a):
    return clinic_client(clinic_a, receptionist_a)


def book_local(api, calendar, starts: str, ends: str):
    """Book through the API with wall-clock times (no offset), as the front desk types them."""
    return api.post(
        "/api/v1/appointments/",
        {
            "patient": calendar.patient.pk,
            "practitioner": calendar.pat.pk,
            "appointment_type": calendar.checkup.pk,
            "starts_at": starts,
            "ends_at": ends,
        },
        format="json",
    )


@pytest.mark.parametrize(
    ("day", "utc_start", "utc_end", "offsets", "minutes"),
    [
        # 00:30 GMT to 02:30 BST: one real hour.
        (SPRING, "2031-03-30 00:30", "2031-03-30 01:30", ("+00:00", "+01:00"), 60),
        # 00:30 BST to 02:30 GMT: three real hours.
        (AUTUMN, "2031-10-25 23:30", "2031-10-26 02:30", ("+01:00", "+00:00"), 180),
    ],
)
def test_a_booking_across_the_change_keeps_its_real_length_and_local_times(
    night_shift, api, desk, day, utc_start, utc_end, offsets, minutes
):
    created = book_local(api, night_shift, f"{day}T00:30", f"{day}T02:30")
    assert created.status_code == 201, created.content
    appointment = Appointment.objects.get(pk=created.json()["id"])
    as_utc = (appointment.starts_at.astimezone(UTC), appointment.ends_at.astimezone(UTC))
    assert [f"{moment:%Y-%m-%d %H:%M}" for moment in as_utc] == [utc_start, utc_end]
    assert appointment.ends_at - appointment.starts_at == dt.timedelta(minutes=minutes)

    shown = api.get(f"/api/v1/appointments/{appointment.pk}/").json()
    assert shown["starts_at"] == f"{day}T00:30:00{offsets[0]}"
    assert shown["ends_at"] == f"{day}T02:30:00{offsets[1]}"

    page = desk.get(f"/calendar/appointments/{appointment.pk}/").content.decode()
    assert "00:30\u201302:30" in page  # local wall-clock times, an en dash between
    assert f"{minutes} min" in page


def test_a_repeated_autumn_time_means_the_first(night_shift, api):
    created = book_local(api, night_shift, f"{AUTUMN}T01:30", f"{AUTUMN}T01:45")
    assert created.status_code == 201, created.content
    appointment = Appointment.objects.get(pk=created.json()["id"])
    assert appointment.starts_at.astimezone(UTC) == dt.datetime(2031, 10, 26, 0, 30, tzinfo=UTC)
    assert created.json()["starts_at"] == "2031-10-26T01:30:00+01:00"


def test_a_time_the_clocks_skip_is_a_field_error_everywhere(night_shift, api, desk):
    with pytest.raises(ValidationError) as refused:
        local_datetime(SPRING, dt.time(1, 30), zone=clinic_zone())
    assert "does not exist" in refused.value.message_dict["starts_at"][0]

    response = book_local(api, night_shift, f"{SPRING}T01:30", f"{SPRING}T02:45")
    assert response.status_code == 400
    assert "does not exist" in response.json()["error"]["fields"]["starts_at"][0]

    series = api.post(
        "/api/v1/appointment-series/",
        {
            "patient": night_shift.patient.pk,
            "practitioner": night_shift.pat.pk,
            "appointment_type": night_shift.checkup.pk,
            "starts_at": f"{SPRING}T01:30",
            "count": 2,
        },
        format="json",
    )
    assert series.status_code == 400
    assert "starts_at" in series.json()["error"]["fields"]
    assert not Appointment.objects.exists()


@pytest.mark.parametrize(
    ("first", "utc_hours"),
    [
        (dt.date(2031, 3, 24), [10, 9, 9]),  # GMT, then BST
        (dt.date(2031, 10, 20), [9, 10, 10]),  # BST, then GMT
    ],
)
def test_a_weekly_series_keeps_ten_oclock_local_across_the_change(
    calendar_a, api, first, utc_hours
):
    start = dt.datetime.combine(first, dt.time(10), tzinfo=clinic_zone())
    booked = series_book(
        actor=None,
        booking=BookingRequest(
            patient=calendar_a.patient,
            practitioner=calendar_a.pat,
            appointment_type=calendar_a.checkup,
            starts_at=start,
        ),
        rule=RecurrenceRule(interval_weeks=1, count=3),
    )
    assert [a.starts_at.astimezone(UTC).hour for a in booked.appointments] == utc_hours
    assert {a.starts_at.astimezone(clinic_zone()).time() for a in booked.appointments} == {
        dt.time(10)
    }
    shown = api.get(f"/api/v1/appointment-series/{booked.series.pk}/").json()
    assert [a["starts_at"][11:16] for a in shown["appointments"]] == ["10:00"] * 3


def test_the_series_page_shows_local_times_after_the_change(calendar_a, desk):
    start = dt.datetime.combine(dt.date(2031, 3, 24), dt.time(10), tzinfo=clinic_zone())
    booked = series_book(
        actor=None,
        booking=BookingRequest(
            patient=calendar_a.patient,
            practitioner=calendar_a.pat,
            appointment_type=calendar_a.checkup,
            starts_at=start,
        ),
        rule=RecurrenceRule(interval_weeks=1, count=2),
    )
    page = desk.get(f"/calendar/appointments/{booked.appointments[1].pk}/series/").content.decode()
    assert "Mon 31 Mar 2031, 10:00" in page
    assert "09:00" not in page


def test_a_clinic_day_lasts_23_or_25_hours_on_the_dst_days(calendar_a):
    zone = clinic_zone()
    lengths = {}
    for day in (dt.date(2031, 3, 30), dt.date(2031, 6, 1), dt.date(2031, 10, 26)):
        starts, ends = day_bounds(day, zone=zone)
        lengths[day] = ends - starts
    assert lengths == {
        dt.date(2031, 3, 30): dt.timedelta(hours=23),
        dt.date(2031, 6, 1): dt.timedelta(hours=24),
        dt.date(2031, 10, 26): dt.timedelta(hours=25),
    }
