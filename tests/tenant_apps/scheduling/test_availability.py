"""Finding time: `next_available_slots` against hours, breaks, leave, closures, bookings,
buffers, rooms, several practitioners and daylight-saving days."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tenant_apps.scheduling.availability import next_available_slots
from tenant_apps.scheduling.clock import clinic_zone
from tenant_apps.scheduling.services import (
    AppointmentTypeInput,
    appointment_type_update,
    clinic_closure_create,
    practitioner_update,
    room_update,
    schedule_exception_create,
    working_week_set,
)
from tests.support.scheduling import MONDAY

pytestmark = pytest.mark.django_db

TUESDAY = MONDAY + dt.timedelta(days=1)
SATURDAY = MONDAY + dt.timedelta(days=5)
# Europe/London (clinic A): clocks go forward on 30 March 2031 and back on 26 October.
SPRING_FORWARD = dt.date(2031, 3, 30)
FALL_BACK = dt.date(2031, 10, 26)


def slots(calendar, *, type_name="checkup", who="pat", day=MONDAY, **kwargs):
    values = {
        "appointment_type": getattr(calendar, type_name),
        "practitioner": getattr(calendar, who) if who else None,
        "starts_from": calendar.at(day, 0),
        "days": 1,
        "limit": 100,
        **kwargs,
    }
    return next_available_slots(**values)


def local_times(found) -> list[str]:
    return [f"{slot.starts_at.astimezone(clinic_zone()):%H:%M}" for slot in found]


def quarter_hours(first: str, last: str) -> list[str]:
    """ "09:00".."10:00" as ["09:00", "09:15", ..., "10:00"]."""
    start, end = (int(t[:2]) * 60 + int(t[3:]) for t in (first, last))
    return [f"{minute // 60:02d}:{minute % 60:02d}" for minute in range(start, end + 1, 15)]


def test_a_day_of_slots_fits_the_hours_on_the_quarter_hour_and_skips_lunch(calendar_a):
    found = slots(calendar_a)
    # 09:00-12:30 then 13:30-17:00: a 30-minute check-up starts by 12:00 and by 16:30.
    assert local_times(found) == quarter_hours("09:00", "12:00") + quarter_hours("13:30", "16:30")
    for slot in found:
        assert slot.ends_at - slot.starts_at == dt.timedelta(minutes=30)
        assert slot.practitioner == calendar_a.pat
        assert slot.room == calendar_a.chair_1  # the first free chair by name


def test_partial_leave_removes_its_stretch_and_whole_day_leave_the_day(calendar_a):
    schedule_exception_create(
        actor=None,
        practitioner=calendar_a.pat,
        date=MONDAY,
        kind="leave",
        starts=dt.time(10),
        ends=dt.time(11),
    )
    morning = [t for t in local_times(slots(calendar_a)) if t < "12:30"]
    assert morning == ["09:00", "09:15", "09:30", *quarter_hours("11:00", "12:00")]
    schedule_exception_create(actor=None, practitioner=calendar_a.pat, date=TUESDAY, kind="leave")
    assert slots(calendar_a, day=TUESDAY) == []
    # Olivia is not on leave.
    assert slots(calendar_a, who="olivia", day=TUESDAY)


def test_extra_hours_open_a_day_off(calendar_a):
    assert slots(calendar_a, day=SATURDAY) == []
    schedule_exception_create(
        actor=None,
        practitioner=calendar_a.pat,
        date=SATURDAY,
        kind="extra",
        starts=dt.time(9),
        ends=dt.time(10),
    )
    assert local_times(slots(calendar_a, day=SATURDAY)) == ["09:00", "09:15", "09:30"]


def test_a_clinic_closure_moves_the_first_slot_to_the_next_open_day(calendar_a):
    clinic_closure_create(actor=None, starts_on=MONDAY, ends_on=MONDAY, reason="Bank holiday")
    first = slots(calendar_a, days=7, limit=1)[0]
    assert first.starts_at == calendar_a.at(TUESDAY, 9)


def test_a_booking_and_its_buffer_block_the_time_they_hold(calendar_a):
    # Cleaning 10:00-10:45, then 15 minutes' buffer: the chair and Pat are held to 11:00.
    calendar_a.book(appointment_type=calendar_a.cleaning, starts_at=calendar_a.at(MONDAY, 10))
    morning = [t for t in local_times(slots(calendar_a)) if t < "12:30"]
    assert morning == ["09:00", "09:15", "09:30", *quarter_hours("11:00", "12:00")]


def test_a_new_slots_buffer_must_not_run_into_the_next_booking(calendar_a):
    calendar_a.book(starts_at=calendar_a.at(MONDAY, 11))
    cleaning = local_times(slots(calendar_a, type_name="cleaning"))
    # 10:00 is the last before 11:00: 10:00-10:45 plus its buffer ends exactly at 11:00.
    assert [t for t in cleaning if t < "11:00"] == quarter_hours("09:00", "10:00")
    # At the end of the day the buffer may run past working time (tidying up after the
    # last patient): 16:15-17:00, buffer to 17:15.
    assert cleaning[-1] == "16:15"


def test_the_appointment_being_moved_does_not_block_itself(calendar_a):
    moving = calendar_a.book(starts_at=calendar_a.at(MONDAY, 10))
    assert "10:00" not in local_times(slots(calendar_a))
    assert "10:00" in local_times(slots(calendar_a, exclude_appointment_id=moving.pk))


def test_a_slot_needs_a_free_room_and_says_which(calendar_a):
    calendar_a.book(practitioner=calendar_a.olivia, room=calendar_a.chair_1)  # 10:00-10:30
    at_ten = [slot for slot in slots(calendar_a) if slot.starts_at == calendar_a.at(MONDAY, 10)]
    assert [slot.room for slot in at_ten] == [calendar_a.chair_2]
    # With chair 2 retired, only chair 1 is left, and Olivia's patient is in it.
    room_update(actor=None, room=calendar_a.chair_2, name="Chair 2", kind="chair", is_active=False)
    times = local_times(slots(calendar_a))
    assert "10:00" not in times
    assert "09:45" not in times  # 09:45-10:15 would overlap too
    assert "09:30" in times
    assert "10:30" in times


def test_a_type_needing_no_room_gets_none(calendar_a):
    found = slots(calendar_a, type_name="consult", who="olivia")
    assert found
    assert {slot.room for slot in found} == {None}


def test_any_practitioner_merges_everyone_offering_the_type_in_time_order(calendar_a):
    calendar_a.book(practitioner=calendar_a.olivia, starts_at=calendar_a.at(MONDAY, 9))
    found = slots(calendar_a, who=None, limit=4)
    assert [(f"{s.starts_at:%H:%M}", s.practitioner.display_name) for s in found] == [
        ("09:00", "Dr Pat"),
        ("09:15", "Dr Pat"),
        ("09:30", "Dr Olivia"),
        ("09:30", "Dr Pat"),
    ]
    # Chair 1 is Olivia's at 09:00, so Pat's 09:00 gets chair 2.
    assert found[0].room == calendar_a.chair_2
    # Consultations: only Olivia offers them.
    assert {s.practitioner for s in slots(calendar_a, type_name="consult", who=None)} == {
        calendar_a.olivia
    }


def test_inactive_practitioners_are_left_out(calendar_a):
    practitioner_update(
        actor=None,
        practitioner=calendar_a.pat,
        display_name="Dr Pat",
        colour="#2563eb",
        appointment_types=[calendar_a.checkup],
        is_active=False,
    )
    assert {s.practitioner for s in slots(calendar_a, who=None)} == {calendar_a.olivia}
    with pytest.raises(ValidationError) as refused:
        slots(calendar_a)
    assert "no longer takes bookings" in refused.value.message_dict["practitioner"][0]


def test_a_practitioner_who_does_not_offer_the_type_is_a_field_error(calendar_a):
    with pytest.raises(ValidationError) as refused:
        slots(calendar_a, type_name="consult", who="pat")
    assert refused.value.message_dict["practitioner"] == ["Dr Pat does not offer Consultation."]


def test_an_inactive_type_is_a_field_error(calendar_a):
    appointment_type_update(
        actor=None,
        appointment_type=calendar_a.consult,
        data=AppointmentTypeInput(
            name="Consultation", default_duration_minutes=20, is_active=False
        ),
    )
    with pytest.raises(ValidationError) as refused:
        slots(calendar_a, type_name="consult", who=None)
    assert "appointment_type" in refused.value.message_dict


def test_slots_are_never_in_the_past(calendar_a):
    every_day = [(weekday, dt.time(0), dt.time(23, 59)) for weekday in range(7)]
    working_week_set(actor=None, practitioner=calendar_a.pat, periods=every_day)
    now = timezone.now()
    found = next_available_slots(
        appointment_type=calendar_a.checkup,
        practitioner=calendar_a.pat,
        starts_from=now - dt.timedelta(days=3),
        limit=3,
    )
    assert len(found) == 3
    assert found[0].starts_at >= now
    assert found[0].starts_at < now + dt.timedelta(minutes=31)
    assert all(slot.starts_at.minute % 15 == 0 for slot in found)


def test_a_start_off_the_grid_rounds_up_to_the_next_quarter_hour(calendar_a):
    found = next_available_slots(
        appointment_type=calendar_a.checkup,
        practitioner=calendar_a.pat,
        starts_from=calendar_a.at(MONDAY, 10, 7) + dt.timedelta(seconds=30),
        limit=1,
    )
    assert found[0].starts_at == calendar_a.at(MONDAY, 10, 15)


def test_the_spring_forward_day_skips_the_missing_hour_and_keeps_lengths(calendar_a):
    schedule_exception_create(
        actor=None,
        practitioner=calendar_a.pat,
        date=SPRING_FORWARD,
        kind="extra",
        starts=dt.time(0),
        ends=dt.time(3),
    )
    found = slots(calendar_a, day=SPRING_FORWARD)
    # 00:00 GMT to 03:00 BST is two real hours; 01:00-02:00 never happens on the clock.
    assert local_times(found) == ["00:00", "00:15", "00:30", "00:45", "02:00", "02:15", "02:30"]
    for slot in found:
        assert slot.ends_at.astimezone(dt.UTC) - slot.starts_at.astimezone(dt.UTC) == (
            dt.timedelta(minutes=30)
        )
    # 00:45 GMT + 30 minutes is 02:15 BST on the clock.
    assert f"{found[3].ends_at.astimezone(clinic_zone()):%H:%M %Z}" == "02:15 BST"


def test_the_fall_back_day_offers_the_repeated_hour_twice(calendar_a):
    schedule_exception_create(
        actor=None,
        practitioner=calendar_a.pat,
        date=FALL_BACK,
        kind="extra",
        starts=dt.time(0),
        ends=dt.time(3),
    )
    found = slots(calendar_a, day=FALL_BACK)
    # 00:00 BST to 03:00 GMT is four real hours: 01:00-01:45 happen twice.
    starts = [slot.starts_at.astimezone(dt.UTC) for slot in found]
    assert len(found) == 15
    assert all(b - a == dt.timedelta(minutes=15) for a, b in itertools.pairwise(starts))
    labels = [f"{slot.starts_at.astimezone(clinic_zone()):%H:%M %Z}" for slot in found]
    assert labels[4:12] == [
        "01:00 BST",
        "01:15 BST",
        "01:30 BST",
        "01:45 BST",
        "01:00 GMT",
        "01:15 GMT",
        "01:30 GMT",
        "01:45 GMT",
    ]
    for slot in found:
        assert slot.ends_at.astimezone(dt.UTC) - slot.starts_at.astimezone(dt.UTC) == (
            dt.timedelta(minutes=30)
        )


def test_the_number_of_queries_does_not_grow_with_the_days(calendar_a):
    for day in (MONDAY, TUESDAY, MONDAY + dt.timedelta(days=8)):
        calendar_a.book(starts_at=calendar_a.at(day, 10))
    schedule_exception_create(actor=None, practitioner=calendar_a.pat, date=TUESDAY, kind="leave")
    wednesday = MONDAY + dt.timedelta(days=2)
    clinic_closure_create(actor=None, starts_on=wednesday, ends_on=wednesday, reason="Training")
    counts = []
    for days in (1, 30):
        with CaptureQueriesContext(connection) as queries:
            found = slots(calendar_a, who=None, days=days, limit=100)
        # django-tenants sets the search path before each query; those are not reads.
        counts.append(sum(1 for q in queries.captured_queries if not q["sql"].startswith("SET")))
    assert len(found) == 100
    assert counts[0] == counts[1] == 6  # candidates, hours, exceptions, closures, rooms, bookings
