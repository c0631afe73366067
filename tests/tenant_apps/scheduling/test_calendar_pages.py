"""The calendar's pages: day and week views, today's list, booking, an appointment's page,
drag-and-drop moves, who may do what, DST days, and a week costing the same queries
however busy it is."""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_tenants.utils import tenant_context
from psycopg.types.range import Range

from shared_apps.accounts.models import Role
from tenant_apps.scheduling import calendar_data
from tenant_apps.scheduling.clock import clinic_zone, day_bounds
from tenant_apps.scheduling.models import Appointment
from tenant_apps.scheduling.services import clinic_closure_create, schedule_exception_create
from tests import factories
from tests.support.scheduling import MONDAY

pytestmark = pytest.mark.django_db

DAY = MONDAY.isoformat()


def member(clinic: Any, role: str) -> Any:
    user = factories.user_create()
    factories.membership_add(user=user, clinic=clinic, role=role)
    return user


def booking_data(cal: Any, **overrides: Any) -> dict[str, str]:
    data = {
        "patient": str(cal.patient.pk),
        "practitioner": str(cal.pat.pk),
        "appointment_type": str(cal.checkup.pk),
        "date": DAY,
        "time": "10:00",
        "duration_minutes": "",
        "room": "",
        "front_desk_notes": "",
    }
    data.update(overrides)
    return data


def count(**filters: Any) -> int:
    return Appointment.objects.filter(**filters).count()


# --- the day view ------------------------------------------------------------------------------


def test_the_day_view_has_a_column_per_practitioner_with_positioned_blocks(
    calendar_a, clinic_a, clinic_client, receptionist_a
):
    early = calendar_a.book(starts_at=calendar_a.at(MONDAY, 9, 30))
    olivias = calendar_a.book(
        practitioner=calendar_a.olivia,
        appointment_type=calendar_a.consult,
        patient=calendar_a.other_patient,
    )
    page = clinic_client(clinic_a, receptionist_a).get("/calendar/", {"date": DAY})

    assert page.status_code == 200
    html = page.content.decode()
    assert f'data-testid="col-practitioner-{calendar_a.pat.pk}"' in html
    assert f'data-testid="col-practitioner-{calendar_a.olivia.pk}"' in html
    # The axis runs from the earliest start (09:00) to the latest end (17:00) of the day's
    # working time: 09:30 is 30 minutes down, 30 minutes tall (1.6px a minute by default).
    block = re.search(rf'<a class="cal-block[^>]*data-testid="appt-{early.pk}"[^>]*>', html)
    assert block is not None
    assert "top:calc(30.00 * var(--ppm));height:calc(30.00 * var(--ppm))" in block.group(0)
    assert "data-movable" in block.group(0)  # the front desk may drag it
    assert f'data-testid="appt-{olivias.pk}"' in html
    assert "Ana Lima" in html
    assert "Ben Okafor" in html
    # The lunch break (12:30-13:30) is shaded: 210 minutes down, 60 tall.
    assert "top: calc(210.00 * var(--ppm)); height: calc(60.00 * var(--ppm))" in html
    assert '<span class="cal-hour" style="top: calc(0.00 * var(--ppm))">09:00</span>' in html
    assert "16:00</span>" in html
    assert "17:00</span>" not in html


def test_the_day_view_by_room_and_coloured_by_status(
    calendar_a, clinic_a, clinic_client, practitioner_a
):
    appointment = calendar_a.book()
    client = clinic_client(clinic_a, practitioner_a)
    page = client.get("/calendar/", {"date": DAY, "by": "room", "colour": "status"})

    assert page.status_code == 200
    html = page.content.decode()
    assert f'data-testid="col-room-{appointment.room_id}"' in html
    assert f'data-testid="appt-{appointment.pk}"' in html
    assert "cal-by-status" in html


def test_a_closure_and_leave_shade_the_day(calendar_a, clinic_a, clinic_client, receptionist_a):
    schedule_exception_create(actor=None, practitioner=calendar_a.pat, date=MONDAY, kind="leave")
    page = clinic_client(clinic_a, receptionist_a).get("/calendar/", {"date": DAY})
    assert "On leave" in page.content.decode()
    with tenant_context(clinic_a):
        clinic_closure_create(actor=None, starts_on=MONDAY, ends_on=MONDAY, reason="Bank holiday")
    page = clinic_client(clinic_a, receptionist_a).get("/calendar/", {"date": DAY})
    assert "Closed: Bank holiday" in page.content.decode()


def test_a_bad_date_says_so_and_shows_today(calendar_a, clinic_a, clinic_client, receptionist_a):
    page = clinic_client(clinic_a, receptionist_a).get("/calendar/", {"date": "2031-02-30"})
    assert page.status_code == 400
    assert "Use a date like 2031-03-03" in page.content.decode()
    page = clinic_client(clinic_a, receptionist_a).get("/calendar/", {"date": "99999-01-01"})
    assert page.status_code == 400


def test_todays_column_has_the_current_time_line(
    calendar_a, clinic_a, clinic_client, receptionist_a
):
    page = clinic_client(clinic_a, receptionist_a).get("/calendar/")
    assert page.status_code == 200
    assert 'data-testid="now-line"' in page.content.decode()
    other_day = clinic_client(clinic_a, receptionist_a).get("/calendar/", {"date": DAY})
    assert 'data-testid="now-line"' not in other_day.content.decode()


# --- daylight saving ---------------------------------------------------------------------------


def test_a_25_hour_day_lays_out_in_real_time(calendar_a):
    # London falls back on Sunday 26 October 2031: 01:00-02:00 happens twice.
    sunday = dt.date(2031, 10, 26)
    zone = clinic_zone()
    starts = dt.datetime(2031, 10, 26, 0, 30, tzinfo=zone)
    ends = starts.astimezone(dt.UTC) + dt.timedelta(hours=3)  # 00:30 to 02:30 local, 3 h
    appointment = calendar_a.book(
        starts_at=starts,
        ends_at=ends,
        allow_outside_hours=True,
        appointment_type=calendar_a.consult,
        practitioner=calendar_a.olivia,
    )
    grid = calendar_data.day_grid(
        day=sunday, by="practitioner", zone=zone, now=timezone.now(), can_move=True
    )
    labels = [mark.label for mark in grid.marks]
    assert labels[:4] == ["00:00", "01:00", "01:00", "02:00"]
    column = next(c for c in grid.columns if c.practitioner_id == calendar_a.olivia.pk)
    html = str(column.blocks_html)
    assert f'data-testid="appt-{appointment.pk}"' in html
    # 30 minutes down, 180 tall: real minutes, not 02:30 - 00:30 on the wall clock.
    assert "top:calc(30.00 * var(--ppm));height:calc(180.00 * var(--ppm))" in html
    assert "00:30</span>" in html


def test_a_23_hour_day_skips_the_missing_hour(calendar_a):
    sunday = dt.date(2031, 3, 30)  # London springs forward: 01:00-02:00 never happens
    zone = clinic_zone()
    appointment = calendar_a.book(
        starts_at=dt.datetime(2031, 3, 30, 0, 30, tzinfo=zone),
        ends_at=dt.datetime(2031, 3, 30, 2, 30, tzinfo=zone),  # one real hour
        allow_outside_hours=True,
        appointment_type=calendar_a.consult,
        practitioner=calendar_a.olivia,
    )
    grid = calendar_data.day_grid(
        day=sunday, by="practitioner", zone=zone, now=timezone.now(), can_move=True
    )
    assert [mark.label for mark in grid.marks][:3] == ["00:00", "02:00", "03:00"]
    html = "".join(str(c.blocks_html) for c in grid.columns)
    assert f'data-testid="appt-{appointment.pk}"' in html
    assert "height:calc(60.00 * var(--ppm))" in html


def test_booking_a_time_the_clocks_skip_is_a_field_error(
    calendar_a, clinic_a, clinic_client, owner_a
):
    response = clinic_client(clinic_a, owner_a).post(
        "/calendar/book/",
        booking_data(calendar_a, date="2031-03-30", time="01:30", allow_outside_hours="on"),
    )
    assert response.status_code == 400
    assert "does not exist in Europe/London" in response.content.decode()
    with tenant_context(clinic_a):
        assert count() == 0


# --- the week view -----------------------------------------------------------------------------


def test_the_week_view_has_seven_days_of_one_practitioner(
    calendar_a, clinic_a, clinic_client, receptionist_a
):
    monday = calendar_a.book()
    friday = calendar_a.book(starts_at=calendar_a.at(MONDAY + dt.timedelta(days=4), 14))
    olivias = calendar_a.book(practitioner=calendar_a.olivia)
    page = clinic_client(clinic_a, receptionist_a).get(
        "/calendar/week/", {"practitioner": calendar_a.pat.pk, "date": "2031-03-05"}
    )
    assert page.status_code == 200
    html = page.content.decode()
    assert html.count('data-testid="col-day-') == 7
    assert 'data-testid="col-day-2031-03-03"' in html
    assert 'data-testid="col-day-2031-03-09"' in html
    assert f'data-testid="appt-{monday.pk}"' in html
    assert f'data-testid="appt-{friday.pk}"' in html
    assert f'data-testid="appt-{olivias.pk}"' not in html
    # The weekend is not worked: shaded whole.
    assert "Not working" in html


def test_the_week_view_without_a_practitioner_shows_the_first(
    calendar_a, clinic_a, clinic_client, receptionist_a
):
    page = clinic_client(clinic_a, receptionist_a).get("/calendar/week/", {"date": DAY})
    assert page.status_code == 200
    assert "Dr Olivia" in page.content.decode()  # first by name
    missing = clinic_client(clinic_a, receptionist_a).get(
        "/calendar/week/", {"practitioner": "999999"}
    )
    assert missing.status_code == 404


def _week_queries(client: Any, practitioner_id: int) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get("/calendar/week/", {"practitioner": practitioner_id, "date": DAY})
    assert response.status_code == 200
    return len(captured)


def _fill_week(cal: Any, how_many: int) -> None:
    """`how_many` back-to-back 10-minute appointments in Dr Pat's week (straight in, as
    the benchmark does: the constraint still checks every row)."""
    zone = clinic_zone()
    rows = []
    for n in range(how_many):
        day = MONDAY + dt.timedelta(days=n % 5)
        starts = dt.datetime.combine(day, dt.time(9), tzinfo=zone) + dt.timedelta(
            minutes=10 * (n // 5)
        )
        during = Range(starts, starts + dt.timedelta(minutes=10), "[)")
        rows.append(
            Appointment(
                patient=cal.patient,
                practitioner=cal.pat,
                appointment_type=cal.consult,
                during=during,
                occupied=during,
            )
        )
    Appointment.objects.bulk_create(rows)


def test_a_busy_week_costs_the_same_queries_as_a_quiet_one(
    calendar_a, clinic_a, clinic_client, receptionist_a
):
    client = clinic_client(clinic_a, receptionist_a)
    _week_queries(client, calendar_a.pat.pk)  # warm: session, caches
    with tenant_context(clinic_a):
        _fill_week(calendar_a, 5)
    quiet = _week_queries(client, calendar_a.pat.pk)
    with tenant_context(clinic_a):
        Appointment.objects.all().delete()
        _fill_week(calendar_a, 50)
    busy = _week_queries(client, calendar_a.pat.pk)
    page = client.get("/calendar/week/", {"practitioner": calendar_a.pat.pk, "date": DAY})
    assert page.content.decode().count('class="cal-block') == 50
    assert busy == quiet


# --- today's list ------------------------------------------------------------------------------


def _book_today(cal: Any, hour: int = 12, **fields: Any) -> Appointment:
    zone = clinic_zone()
    today = timezone.now().astimezone(zone).date()
    starts = max(
        day_bounds(today, zone=zone)[0],
        dt.datetime.combine(today, dt.time(hour), tzinfo=zone),
    )
    return cal.book(starts_at=starts, allow_outside_hours=True, **fields)


def test_todays_list_checks_a_patient_in_with_one_click(
    calendar_a, clinic_a, clinic_client, receptionist_a
):
    appointment = _book_today(calendar_a)
    client = clinic_client(clinic_a, receptionist_a)
    page = client.get("/calendar/today/")
    assert page.status_code == 200
    html = page.content.decode()
    assert f'data-testid="today-row-{appointment.pk}"' in html
    assert f'data-testid="status-arrived-{appointment.pk}"' in html
    assert f'data-testid="status-confirmed-{appointment.pk}"' in html
    assert f'data-testid="status-completed-{appointment.pk}"' not in html  # not yet arrived

    # htmx answers with the refreshed list; without it, back to the list.
    answer = client.post(
        f"/calendar/appointments/{appointment.pk}/status/",
        {"to_status": "arrived", "return": "today"},
        HTTP_HX_REQUEST="true",
    )
    assert answer.status_code == 200
    assert "Ana Lima: arrived." in answer.content.decode()
    assert f'data-testid="status-in_progress-{appointment.pk}"' in answer.content.decode()
    with tenant_context(clinic_a):
        assert Appointment.objects.get(pk=appointment.pk).status == "arrived"
    plain = client.post(
        f"/calendar/appointments/{appointment.pk}/status/",
        {"to_status": "in_progress", "next": "/calendar/today/"},
    )
    assert plain.status_code == 302
    assert plain["Location"] == "/calendar/today/"
    fragment = client.get("/calendar/today/", {"fragment": "1"})
    assert "<html" not in fragment.content.decode()
    assert "In progress" in fragment.content.decode()


def test_a_refused_status_change_says_why(calendar_a, clinic_a, clinic_client, receptionist_a):
    appointment = _book_today(calendar_a)
    client = clinic_client(clinic_a, receptionist_a)
    answer = client.post(
        f"/calendar/appointments/{appointment.pk}/status/",
        {"to_status": "completed", "return": "today"},
        HTTP_HX_REQUEST="true",
    )
    assert "cannot become completed" in answer.content.decode()
    answer = client.post(
        f"/calendar/appointments/{appointment.pk}/status/", {"to_status": "nonsense"}, follow=True
    )
    assert "Unknown status" in answer.content.decode()
    with tenant_context(clinic_a):
        assert Appointment.objects.get(pk=appointment.pk).status == "booked"


# --- booking -----------------------------------------------------------------------------------


def test_the_booking_form_is_filled_in_from_the_clicked_slot(
    calendar_a, clinic_a, clinic_client, receptionist_a
):
    start = calendar_a.at(MONDAY, 10, 15).astimezone(dt.UTC).isoformat().replace("+00:00", "Z")
    page = clinic_client(clinic_a, receptionist_a).get(
        "/calendar/book/", {"practitioner": calendar_a.pat.pk, "start": start}
    )
    assert page.status_code == 200
    html = page.content.decode()
    assert 'value="2031-03-03"' in html
    assert 'value="10:15"' in html
    assert f'<option value="{calendar_a.pat.pk}" selected>' in html
    # Only the types Dr Pat offers.
    assert "Check-up" in html
    assert "Consultation" not in html


def test_the_patient_search_fragment_offers_radio_choices(
    calendar_a, clinic_a, clinic_client, receptionist_a
):
    client = clinic_client(clinic_a, receptionist_a)
    found = client.get("/calendar/book/patients/", {"q": "lima"})
    assert found.status_code == 200
    html = found.content.decode()
    assert f'name="patient" value="{calendar_a.patient.pk}"' in html
    assert "Ben Okafor" not in html
    chosen = client.get(
        "/calendar/book/patients/", {"q": "okafor", "selected": calendar_a.patient.pk}
    )
    html = chosen.content.decode()
    assert f'value="{calendar_a.patient.pk}" checked' in html
    assert "Ben Okafor" in html
    none = client.get("/calendar/book/patients/", {"q": "zzzz"})
    assert "No patient matches" in none.content.decode()


def test_a_receptionist_books_and_the_day_shows_it(
    calendar_a, clinic_a, clinic_client, receptionist_a
):
    client = clinic_client(clinic_a, receptionist_a)
    response = client.post(
        "/calendar/book/", booking_data(calendar_a, front_desk_notes="Bring x-rays")
    )
    assert response.status_code == 302
    with tenant_context(clinic_a):
        appointment = Appointment.objects.get()
    assert response["Location"] == f"/calendar/?date={DAY}#appt-{appointment.pk}"
    assert appointment.ends_at - appointment.starts_at == dt.timedelta(minutes=30)
    assert appointment.front_desk_notes == "Bring x-rays"
    assert appointment.created_by_id == receptionist_a.pk
    day = client.get("/calendar/", {"date": DAY})
    assert f'data-testid="appt-{appointment.pk}"' in day.content.decode()


def test_the_no_js_patient_search_books_nothing(
    calendar_a, clinic_a, clinic_client, receptionist_a
):
    response = clinic_client(clinic_a, receptionist_a).post(
        "/calendar/book/", booking_data(calendar_a, patient="", patient_q="okafor", find="1")
    )
    assert response.status_code == 200
    assert f'value="{calendar_a.other_patient.pk}"' in response.content.decode()
    with tenant_context(clinic_a):
        assert count() == 0


def test_field_errors_show_inline_and_nothing_is_saved(
    calendar_a, clinic_a, clinic_client, receptionist_a
):
    client = clinic_client(clinic_a, receptionist_a)
    response = client.post(
        "/calendar/book/",
        booking_data(calendar_a, patient="", time="", duration_minutes="0"),
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert "Choose the patient" in html
    assert "This field is required." in html
    assert "greater than or equal to 5" in html
    olivia_only = client.post(
        "/calendar/book/", booking_data(calendar_a, appointment_type=str(calendar_a.consult.pk))
    )
    assert olivia_only.status_code == 400
    assert "Choose a type this practitioner offers." in olivia_only.content.decode()
    with tenant_context(clinic_a):
        assert count() == 0


def test_a_conflict_names_who_is_booked_and_the_front_desk_cannot_overbook(
    calendar_a, clinic_a, clinic_client, receptionist_a
):
    calendar_a.book(patient=calendar_a.other_patient)
    client = clinic_client(clinic_a, receptionist_a)
    response = client.post("/calendar/book/", booking_data(calendar_a, time="10:15"))
    assert response.status_code == 409
    html = response.content.decode()
    assert "Dr Pat is already booked Mon 03 Mar 10:00-10:30" in html
    assert "Ben Okafor" in html
    assert 'data-testid="confirm-overbook"' not in html  # not for the front desk
    forced = client.post("/calendar/book/", booking_data(calendar_a, time="10:15", overbook="on"))
    assert forced.status_code == 400
    assert "Your role cannot overbook" in forced.content.decode()
    with tenant_context(clinic_a):
        assert count() == 1


def test_an_owner_is_asked_then_may_overbook(calendar_a, clinic_a, clinic_client, owner_a):
    calendar_a.book(patient=calendar_a.other_patient)
    client = clinic_client(clinic_a, owner_a)
    asked = client.post("/calendar/book/", booking_data(calendar_a, time="10:15"))
    assert asked.status_code == 409
    assert 'data-testid="confirm-overbook"' in asked.content.decode()
    booked = client.post("/calendar/book/", booking_data(calendar_a, time="10:15", overbook="on"))
    assert booked.status_code == 302
    with tenant_context(clinic_a):
        assert count(is_overbooked=True) == 1


def test_outside_hours_warns_and_only_an_owner_may_confirm(
    calendar_a, clinic_a, clinic_client, receptionist_a, owner_a
):
    refused = clinic_client(clinic_a, receptionist_a).post(
        "/calendar/book/", booking_data(calendar_a, time="08:00", allow_outside_hours="on")
    )
    assert refused.status_code == 400
    html = refused.content.decode()
    assert "is not working then" in html
    assert "Ask an owner" in html
    assert 'data-testid="confirm-outside-hours"' not in html

    owner = clinic_client(clinic_a, owner_a)
    asked = owner.post("/calendar/book/", booking_data(calendar_a, time="08:00"))
    assert asked.status_code == 400
    assert 'data-testid="confirm-outside-hours"' in asked.content.decode()
    with tenant_context(clinic_a):
        assert count() == 0
    booked = owner.post(
        "/calendar/book/", booking_data(calendar_a, time="08:00", allow_outside_hours="on")
    )
    assert booked.status_code == 302
    with tenant_context(clinic_a):
        assert count(outside_hours=True) == 1


# --- one appointment ---------------------------------------------------------------------------


def test_the_appointment_page_shows_details_history_and_buttons(
    calendar_a, clinic_a, clinic_client, receptionist_a
):
    appointment = calendar_a.book(actor=receptionist_a, front_desk_notes="Wheelchair")
    page = clinic_client(clinic_a, receptionist_a).get(f"/calendar/appointments/{appointment.pk}/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "Check-up · Ana Lima" in html
    assert "Monday 3 March 2031, 10:00\u201310:30" in html  # an en dash
    assert 'data-testid="status-arrived"' in html
    assert 'data-testid="status-confirmed"' in html
    assert "Wheelchair" in html
    assert "Booked · by" in html  # the history names who booked it
    assert 'data-testid="reschedule"' in html
    assert 'data-testid="cancel"' in html


def test_reschedule_form_moves_or_names_the_conflict(
    calendar_a, clinic_a, clinic_client, receptionist_a
):
    appointment = calendar_a.book()
    calendar_a.book(patient=calendar_a.other_patient, starts_at=calendar_a.at(MONDAY, 11))
    client = clinic_client(clinic_a, receptionist_a)
    url = f"/calendar/appointments/{appointment.pk}/reschedule/"
    form = {"date": DAY, "time": "11:15", "practitioner": calendar_a.pat.pk, "room": ""}
    clash = client.post(url, form)
    assert clash.status_code == 409
    assert "Dr Pat is already booked Mon 03 Mar 11:00-11:30" in clash.content.decode()
    moved = client.post(url, {**form, "time": "14:00", "practitioner": calendar_a.olivia.pk})
    assert moved.status_code == 302
    with tenant_context(clinic_a):
        appointment.refresh_from_db()
    assert appointment.starts_at == calendar_a.at(MONDAY, 14)
    assert appointment.practitioner == calendar_a.olivia


def test_dropping_a_block_moves_it_or_answers_409(
    calendar_a, clinic_a, clinic_client, receptionist_a
):
    appointment = calendar_a.book()
    held = calendar_a.book(patient=calendar_a.other_patient, starts_at=calendar_a.at(MONDAY, 11))
    client = clinic_client(clinic_a, receptionist_a)
    url = f"/calendar/appointments/{appointment.pk}/move/"

    clash = client.post(url, {"starts_at": calendar_a.at(MONDAY, 11, 10).isoformat()})
    assert clash.status_code == 409
    assert "Dr Pat is already booked Mon 03 Mar 11:00-11:30" in clash.json()["error"]

    other_column = client.post(
        url,
        {
            "starts_at": calendar_a.at(MONDAY, 11, 5).isoformat(),
            "practitioner": calendar_a.olivia.pk,
        },
    )
    assert other_column.status_code == 200, other_column.content
    assert "Dr Olivia" in other_column.json()["message"]
    with tenant_context(clinic_a):
        appointment.refresh_from_db()
        held.refresh_from_db()
    assert appointment.starts_at == calendar_a.at(MONDAY, 11, 5)
    assert appointment.practitioner == calendar_a.olivia
    assert appointment.room != held.room  # the chair was taken: another one picked

    outside = client.post(url, {"starts_at": calendar_a.at(MONDAY, 7).isoformat()})
    assert outside.status_code == 400
    assert outside.json()["code"] == "outside_hours"
    assert outside.json()["can_confirm"] is False
    naive = client.post(url, {"starts_at": "2031-03-03T10:00"})
    assert naive.status_code == 400
    assert "starts_at" in naive.json()["errors"]


def test_cancel_needs_a_reason_and_frees_the_slot(
    calendar_a, clinic_a, clinic_client, receptionist_a
):
    appointment = calendar_a.book()
    client = clinic_client(clinic_a, receptionist_a)
    url = f"/calendar/appointments/{appointment.pk}/cancel/"
    empty = client.post(url, {"reason": "  "})
    assert empty.status_code == 400
    assert "Say why the appointment is cancelled." in empty.content.decode()
    done = client.post(url, {"reason": "Patient has flu"}, follow=True)
    assert 'data-testid="cancellation-reason">Cancelled: Patient has flu' in done.content.decode()
    with tenant_context(clinic_a):
        assert Appointment.objects.get(pk=appointment.pk).status == "cancelled"
    # The slot is free again: the same time books.
    again = client.post(
        "/calendar/book/", booking_data(calendar_a, patient=str(calendar_a.other_patient.pk))
    )
    assert again.status_code == 302


def test_notes_are_saved(calendar_a, clinic_a, clinic_client, receptionist_a):
    appointment = calendar_a.book()
    client = clinic_client(clinic_a, receptionist_a)
    url = f"/calendar/appointments/{appointment.pk}/notes/"
    assert client.post(url, {"front_desk_notes": "Runs late"}).status_code == 302
    too_long = client.post(url, {"front_desk_notes": "x" * 2001})
    assert too_long.status_code == 400
    with tenant_context(clinic_a):
        assert Appointment.objects.get(pk=appointment.pk).front_desk_notes == "Runs late"


# --- who may do what ---------------------------------------------------------------------------


def test_billing_staff_get_403_everywhere_in_the_calendar(calendar_a, clinic_a, clinic_client):
    appointment = calendar_a.book()
    client = clinic_client(clinic_a, member(clinic_a, Role.BILLING))
    for path in ("/calendar/", "/calendar/week/", "/calendar/today/", "/calendar/book/"):
        assert client.get(path).status_code == 403, path
    assert client.get(f"/calendar/appointments/{appointment.pk}/").status_code == 403
    for action in ("status", "move", "cancel", "notes", "reschedule"):
        url = f"/calendar/appointments/{appointment.pk}/{action}/"
        assert client.post(url, {"to_status": "arrived", "reason": "x"}).status_code == 403
    with tenant_context(clinic_a):
        assert Appointment.objects.get(pk=appointment.pk).status == "booked"


def test_a_practitioner_sees_and_manages_the_calendar(
    calendar_a, clinic_a, clinic_client, practitioner_a
):
    appointment = calendar_a.book()
    client = clinic_client(clinic_a, practitioner_a)
    assert client.get("/calendar/book/").status_code == 200
    response = client.post(
        f"/calendar/appointments/{appointment.pk}/status/", {"to_status": "confirmed"}
    )
    assert response.status_code == 302


# --- the patient page --------------------------------------------------------------------------


def test_the_patient_page_lists_upcoming_and_past_appointments(
    calendar_a, clinic_a, clinic_client, receptionist_a
):
    upcoming = calendar_a.book()
    zone = clinic_zone()
    past_start = timezone.now().astimezone(zone) - dt.timedelta(days=3)
    past = calendar_a.book(starts_at=past_start, allow_outside_hours=True)
    client = clinic_client(clinic_a, receptionist_a)
    page = client.get(f"/patients/{calendar_a.patient.pk}/")
    html = page.content.decode()
    upcoming_part = html.split('data-testid="appointments-upcoming"')[1].split("</ul>")[0]
    past_part = html.split('data-testid="appointments-past"')[1].split("</ul>")[0]
    assert f"/calendar/appointments/{upcoming.pk}/" in upcoming_part
    assert f"/calendar/appointments/{past.pk}/" in past_part
    assert 'data-testid="book-for-patient"' in html

    billing = clinic_client(clinic_a, member(clinic_a, Role.BILLING))
    page = billing.get(f"/patients/{calendar_a.patient.pk}/")
    assert page.status_code == 200
    assert f"/calendar/appointments/{upcoming.pk}/" not in page.content.decode()


def test_the_move_answer_is_json_a_script_can_read(
    calendar_a, clinic_a, clinic_client, receptionist_a
):
    appointment = calendar_a.book()
    answer = clinic_client(clinic_a, receptionist_a).post(
        f"/calendar/appointments/{appointment.pk}/move/",
        {"starts_at": calendar_a.at(MONDAY, 10, 30).isoformat()},
    )
    assert answer["Content-Type"] == "application/json"
    body = json.loads(answer.content)
    assert body["ok"] is True
    assert "10:30" in body["message"]
