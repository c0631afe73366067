"""Recurring series: the rule, the plan across DST, conflicts listed before saving, booking
all-or-nothing (or only the free ones), and changes by scope; the API and the pages."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError

from tenant_apps.audit.models import AuditEvent
from tenant_apps.scheduling.models import Appointment, AppointmentSeries
from tenant_apps.scheduling.series import (
    RecurrenceRule,
    SeriesConflicts,
    series_book,
    series_cancel,
    series_plan,
    series_repeat,
    series_reschedule,
)
from tenant_apps.scheduling.services import (
    BookingRequest,
    appointment_status_change,
    clinic_closure_create,
    practitioner_create,
    schedule_exception_create,
    working_week_set,
)
from tests.support.scheduling import MONDAY, WORKING_WEEK

pytestmark = pytest.mark.django_db

UTC = dt.UTC
WEEK = dt.timedelta(weeks=1)


def booking(calendar, **fields) -> BookingRequest:
    values = {
        "patient": calendar.patient,
        "practitioner": calendar.pat,
        "appointment_type": calendar.checkup,
        "starts_at": calendar.at(MONDAY, 10),
        **fields,
    }
    return BookingRequest(**values)


def local_times(appointments) -> list[str]:
    from tenant_apps.scheduling.clock import clinic_zone

    return [f"{a.starts_at.astimezone(clinic_zone()):%Y-%m-%d %H:%M}" for a in appointments]


# --- the rule and the plan ---------------------------------------------------------------------


def test_a_weekly_plan_keeps_its_local_hour_across_the_clocks_changing(calendar_a):
    plan = series_plan(
        starts_at=calendar_a.at(MONDAY, 10),
        duration=dt.timedelta(minutes=30),
        rule=RecurrenceRule(interval_weeks=2, count=3),
    )
    assert [o.position for o in plan] == [1, 2, 3]
    assert local_times(plan) == ["2031-03-03 10:00", "2031-03-17 10:00", "2031-03-31 10:00"]
    # London changes to summer time on 30 March: 10:00 is 10:00 UTC before, 09:00 UTC after.
    assert [o.starts_at.astimezone(UTC).hour for o in plan] == [10, 10, 9]
    assert {o.ends_at - o.starts_at for o in plan} == {dt.timedelta(minutes=30)}


def test_until_is_inclusive(calendar_a):
    plan = series_plan(
        starts_at=calendar_a.at(MONDAY, 10),
        duration=dt.timedelta(minutes=30),
        rule=RecurrenceRule(interval_weeks=1, until=MONDAY + 3 * WEEK),
    )
    assert len(plan) == 4


@pytest.mark.parametrize(
    ("rule", "field"),
    [
        (RecurrenceRule(interval_weeks=0, count=3), "interval_weeks"),
        (RecurrenceRule(interval_weeks=53, count=3), "interval_weeks"),
        (RecurrenceRule(count=1), "count"),
        (RecurrenceRule(count=105), "count"),
        (RecurrenceRule(), "count"),
        (RecurrenceRule(count=3, until=MONDAY + WEEK), "until"),
        (RecurrenceRule(until=MONDAY), "until"),
        (RecurrenceRule(until=MONDAY + dt.timedelta(days=6)), "until"),
        (RecurrenceRule(until=MONDAY + 110 * WEEK), "until"),
    ],
)
def test_an_invalid_rule_is_a_field_error_and_books_nothing(calendar_a, rule, field):
    with pytest.raises(ValidationError) as refused:
        series_book(actor=None, booking=booking(calendar_a), rule=rule)
    assert field in refused.value.message_dict
    assert not Appointment.objects.exists()
    assert not AppointmentSeries.objects.exists()


# --- booking -----------------------------------------------------------------------------------


def test_a_series_is_booked_in_one_step_with_positions_and_one_audit_row(
    calendar_a, receptionist_a
):
    result = series_book(
        actor=receptionist_a,
        booking=booking(calendar_a),
        rule=RecurrenceRule(interval_weeks=1, count=6),
    )
    appointments = list(Appointment.objects.order_by("during"))
    assert [a.series_position for a in appointments] == [1, 2, 3, 4, 5, 6]
    assert {a.series_id for a in appointments} == {result.series.pk}
    assert local_times(appointments)[4] == "2031-03-31 10:00"  # after the change, still 10:00
    assert result.skipped == []
    assert AuditEvent.objects.filter(
        action="appointment_series.booked", target_id=str(result.series.pk)
    ).exists()
    assert AuditEvent.objects.filter(action="appointment.booked").count() == 6


def test_conflicts_are_listed_before_anything_is_saved(calendar_a):
    blocker = calendar_a.book(
        patient=calendar_a.other_patient, starts_at=calendar_a.at(MONDAY + WEEK, 10, 15)
    )
    schedule_exception_create(
        actor=None, practitioner=calendar_a.pat, date=MONDAY + 2 * WEEK, kind="leave"
    )
    clinic_closure_create(
        actor=None, starts_on=MONDAY + 3 * WEEK, ends_on=MONDAY + 3 * WEEK, reason="Refit"
    )
    with pytest.raises(SeriesConflicts) as refused:
        series_book(
            actor=None, booking=booking(calendar_a), rule=RecurrenceRule(interval_weeks=1, count=5)
        )
    problems = refused.value.problems
    assert [(p.position, p.kind) for p in problems] == [
        (2, "conflict"),
        (3, "outside_hours"),
        (4, "closure"),
    ]
    assert problems[0].conflicting == blocker
    assert "Dr Pat is already booked" in problems[0].message
    assert "Refit" in problems[2].message
    assert list(Appointment.objects.all()) == [blocker]
    assert not AppointmentSeries.objects.exists()


def test_skipping_conflicts_books_only_the_free_occurrences(calendar_a):
    calendar_a.book(patient=calendar_a.other_patient, starts_at=calendar_a.at(MONDAY + WEEK, 10))
    result = series_book(
        actor=None,
        booking=booking(calendar_a),
        rule=RecurrenceRule(interval_weeks=1, count=3),
        skip_conflicts=True,
    )
    assert [a.series_position for a in result.appointments] == [1, 3]
    assert [p.position for p in result.skipped] == [2]


def test_a_series_needs_a_free_chair_each_time(calendar_a, receptionist_a):
    # Both chairs taken on the second Monday by two other practitioners: the room conflicts.
    sam = practitioner_create(
        actor=None, user=receptionist_a, display_name="Sam", appointment_types=[calendar_a.checkup]
    )
    working_week_set(actor=None, practitioner=sam, periods=WORKING_WEEK)
    next_week = MONDAY + WEEK
    for practitioner, room in ((calendar_a.olivia, calendar_a.chair_1), (sam, calendar_a.chair_2)):
        calendar_a.book(
            practitioner=practitioner, starts_at=calendar_a.at(next_week, 10), room=room
        )
    with pytest.raises(SeriesConflicts) as refused:
        series_book(actor=None, booking=booking(calendar_a), rule=RecurrenceRule(count=2))
    assert "Chair 1 is already booked" in refused.value.problems[0].message
    assert refused.value.problems[0].position == 2
    # With one chair free again, the series takes it.
    Appointment.objects.filter(room=calendar_a.chair_2).update(status="cancelled")
    result = series_book(actor=None, booking=booking(calendar_a), rule=RecurrenceRule(count=2))
    assert result.appointments[1].room == calendar_a.chair_2


def test_outside_hours_occurrences_need_the_override(calendar_a, receptionist_a, owner_a):
    evening = booking(calendar_a, starts_at=calendar_a.at(MONDAY, 18), allow_outside_hours=True)
    with pytest.raises(SeriesConflicts) as refused:
        series_book(actor=receptionist_a, booking=evening, rule=RecurrenceRule(count=2))
    assert {p.kind for p in refused.value.problems} == {"outside_hours"}
    result = series_book(actor=owner_a, booking=evening, rule=RecurrenceRule(count=2))
    assert all(a.outside_hours for a in result.appointments)


def test_bad_parties_are_field_errors_before_the_plan(calendar_a):
    with pytest.raises(ValidationError) as refused:
        series_book(
            actor=None,
            booking=booking(calendar_a, appointment_type=calendar_a.consult),
            rule=RecurrenceRule(count=2),
        )
    assert "appointment_type" in refused.value.message_dict


def test_a_non_existent_local_time_in_the_plan_is_a_field_error(calendar_a, owner_a):
    sunday = dt.date(2031, 3, 23)  # one week before the clocks go forward at 01:00
    with pytest.raises(ValidationError) as refused:
        series_plan(
            starts_at=calendar_a.at(sunday, 1, 30),
            duration=dt.timedelta(minutes=30),
            rule=RecurrenceRule(count=2),
        )
    assert "does not exist" in refused.value.message_dict["starts_at"][0]


def test_repeat_makes_a_booked_appointment_the_first_of_a_series(calendar_a):
    first = calendar_a.book()
    result = series_repeat(actor=None, appointment=first, rule=RecurrenceRule(count=3))
    first.refresh_from_db()
    assert (first.series_id, first.series_position) == (result.series.pk, 1)
    assert [a.series_position for a in result.appointments] == [1, 2, 3]
    assert Appointment.objects.count() == 3
    with pytest.raises(ValidationError) as again:
        series_repeat(actor=None, appointment=first, rule=RecurrenceRule(count=3))
    assert "already part of a series" in again.value.message_dict["appointment"][0]


# --- changes by scope -----------------------------------------------------------------------------


@pytest.fixture
def weekly(calendar_a):
    return series_book(
        actor=None, booking=booking(calendar_a), rule=RecurrenceRule(interval_weeks=1, count=5)
    ).appointments


def test_reschedule_this_moves_only_that_occurrence(calendar_a, weekly):
    moved = series_reschedule(
        actor=None,
        appointment=weekly[1],
        scope="this",
        starts_at=calendar_a.at(MONDAY + WEEK + dt.timedelta(days=1), 14),
    )
    assert local_times(moved) == ["2031-03-11 14:00"]
    assert local_times(Appointment.objects.order_by("series_position")) == [
        "2031-03-03 10:00",
        "2031-03-11 14:00",
        "2031-03-17 10:00",
        "2031-03-24 10:00",
        "2031-03-31 10:00",
    ]


def test_reschedule_following_shifts_the_rest_on_the_wall_clock(calendar_a, weekly):
    # Third occurrence to Tuesday 11:00: the later ones move a day and to 11:00 local too,
    # including the one after the clocks change.
    series_reschedule(
        actor=None,
        appointment=weekly[2],
        scope="following",
        starts_at=calendar_a.at(MONDAY + 2 * WEEK + dt.timedelta(days=1), 11),
    )
    assert local_times(Appointment.objects.order_by("series_position")) == [
        "2031-03-03 10:00",
        "2031-03-10 10:00",
        "2031-03-18 11:00",
        "2031-03-25 11:00",
        "2031-04-01 11:00",
    ]
    assert AuditEvent.objects.filter(action="appointment_series.rescheduled").count() == 1


def test_reschedule_all_by_a_week_does_not_collide_with_itself(calendar_a, weekly):
    series_reschedule(
        actor=None, appointment=weekly[0], scope="all", starts_at=calendar_a.at(MONDAY + WEEK, 10)
    )
    assert local_times(Appointment.objects.order_by("series_position"))[0] == "2031-03-10 10:00"
    assert local_times(Appointment.objects.order_by("series_position"))[-1] == "2031-04-07 10:00"


def test_a_conflict_anywhere_aborts_the_whole_change_with_the_list(calendar_a, weekly):
    blockers = [
        calendar_a.book(
            patient=calendar_a.other_patient, starts_at=calendar_a.at(MONDAY + n * WEEK, 11)
        )
        for n in (3, 4)
    ]
    before = local_times(Appointment.objects.filter(series__isnull=False).order_by("during"))
    with pytest.raises(SeriesConflicts) as refused:
        series_reschedule(
            actor=None, appointment=weekly[0], scope="all", starts_at=calendar_a.at(MONDAY, 11)
        )
    assert [p.conflicting for p in refused.value.problems] == blockers
    assert [p.position for p in refused.value.problems] == [4, 5]
    after = local_times(Appointment.objects.filter(series__isnull=False).order_by("during"))
    assert after == before
    assert not AuditEvent.objects.filter(action="appointment.rescheduled").exists()


def test_cancel_following_leaves_earlier_and_started_ones(calendar_a, weekly, receptionist_a):
    appointment_status_change(actor=None, appointment=weekly[3], to_status="arrived")
    cancelled = series_cancel(
        actor=receptionist_a, appointment=weekly[1], scope="following", reason="Moving away"
    )
    assert [a.series_position for a in cancelled] == [2, 3, 5]
    statuses = list(
        Appointment.objects.order_by("series_position").values_list("status", flat=True)
    )
    assert statuses == ["booked", "cancelled", "cancelled", "arrived", "cancelled"]


def test_cancel_all_and_this(calendar_a, weekly):
    series_cancel(actor=None, appointment=weekly[4], scope="this", reason="Holiday")
    assert Appointment.objects.filter(status="cancelled").count() == 1
    series_cancel(actor=None, appointment=weekly[4], scope="all", reason="Treatment finished")
    assert not Appointment.objects.exclude(status="cancelled").exists()


def test_a_cancel_without_reason_or_with_a_bad_scope_changes_nothing(calendar_a, weekly):
    with pytest.raises(ValidationError) as no_reason:
        series_cancel(actor=None, appointment=weekly[0], scope="all", reason=" ")
    assert "reason" in no_reason.value.message_dict
    with pytest.raises(ValidationError) as bad_scope:
        series_cancel(actor=None, appointment=weekly[0], scope="some", reason="x")
    assert "scope" in bad_scope.value.message_dict
    single = calendar_a.book(starts_at=calendar_a.at(MONDAY, 15))
    with pytest.raises(ValidationError) as not_series:
        series_cancel(actor=None, appointment=single, scope="all", reason="x")
    assert "not part of a series" in not_series.value.message_dict["scope"][0]
    assert not Appointment.objects.filter(status="cancelled").exists()


# --- the API --------------------------------------------------------------------------------------


@pytest.fixture
def api(calendar_a, clinic_a, api_client, receptionist_a):
    return api_client(clinic_a, receptionist_a)


def series_body(calendar, **fields):
    return {
        "patient": calendar.patient.pk,
        "practitioner": calendar.pat.pk,
        "appointment_type": calendar.checkup.pk,
        "starts_at": "2031-03-03T10:00",
        "interval_weeks": 2,
        "count": 3,
        **fields,
    }


def test_api_preview_lists_the_plan_and_conflicts_without_saving(calendar_a, api):
    blocker = calendar_a.book(
        patient=calendar_a.other_patient, starts_at=calendar_a.at(MONDAY + 2 * WEEK, 10)
    )
    response = api.post(
        "/api/v1/appointment-series/", series_body(calendar_a, preview=True), format="json"
    )
    assert response.status_code == 200
    body = response.json()
    assert [o["starts_at"] for o in body["occurrences"]] == [
        "2031-03-03T10:00:00+00:00",
        "2031-03-17T10:00:00+00:00",
        "2031-03-31T10:00:00+01:00",
    ]
    assert body["bookable"] == 2
    assert body["occurrences"][1]["problem"]["conflicting_appointment"] == blocker.pk
    assert body["conflicts"][0]["kind"] == "conflict"
    assert Appointment.objects.count() == 1


def test_api_books_all_or_answers_409_with_every_conflict(calendar_a, api):
    calendar_a.book(
        patient=calendar_a.other_patient, starts_at=calendar_a.at(MONDAY + 2 * WEEK, 10)
    )
    refused = api.post("/api/v1/appointment-series/", series_body(calendar_a), format="json")
    assert refused.status_code == 409
    error = refused.json()["error"]
    assert error["code"] == "series_conflicts"
    assert [c["position"] for c in error["conflicts"]] == [2]
    assert Appointment.objects.count() == 1
    booked = api.post(
        "/api/v1/appointment-series/", series_body(calendar_a, skip_conflicts=True), format="json"
    )
    assert booked.status_code == 201
    body = booked.json()
    assert [a["series_position"] for a in body["appointments"]] == [1, 3]
    assert [s["position"] for s in body["skipped"]] == [2]
    detail = api.get(f"/api/v1/appointment-series/{body['id']}/").json()
    assert (detail["interval_weeks"], detail["count"]) == (2, 3)
    assert [a["starts_at"] for a in detail["appointments"]] == [
        "2031-03-03T10:00:00+00:00",
        "2031-03-31T10:00:00+01:00",
    ]


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"count": 1}, "count"),
        ({"count": None}, "count"),
        ({"interval_weeks": 0}, "interval_weeks"),
        ({"until": "2031-03-01", "count": None}, "until"),
        ({"until": "2031-04-01"}, "until"),
        ({"starts_at": "2031-03-30T01:30"}, "starts_at"),
        ({"patient": 999999}, "patient"),
        ({"interval_weeks": "weekly"}, "interval_weeks"),
    ],
)
def test_api_bad_series_are_field_errors(calendar_a, api, fields, field):
    response = api.post(
        "/api/v1/appointment-series/", series_body(calendar_a, **fields), format="json"
    )
    assert response.status_code == 400
    assert field in response.json()["error"]["fields"]
    assert not Appointment.objects.exists()


def test_api_cancel_and_reschedule_by_scope(calendar_a, api, weekly):
    series_id = weekly[0].series_id
    moved = api.post(
        f"/api/v1/appointment-series/{series_id}/reschedule/",
        {"appointment": weekly[3].pk, "scope": "following", "starts_at": "2031-03-24T11:00"},
        format="json",
    )
    assert moved.status_code == 200
    assert [a["starts_at"] for a in moved.json()["changed"]] == [
        "2031-03-24T11:00:00+00:00",
        "2031-03-31T11:00:00+01:00",
    ]
    blocker = calendar_a.book(patient=calendar_a.other_patient, starts_at=calendar_a.at(MONDAY, 14))
    refused = api.post(
        f"/api/v1/appointment-series/{series_id}/reschedule/",
        {"appointment": weekly[0].pk, "scope": "all", "starts_at": "2031-03-03T14:00"},
        format="json",
    )
    assert refused.status_code == 409
    assert refused.json()["error"]["conflicts"][0]["conflicting_appointment"] == blocker.pk
    cancelled = api.post(
        f"/api/v1/appointment-series/{series_id}/cancel/",
        {"scope": "all", "reason": "Treatment finished"},
        format="json",
    )
    assert [a["status"] for a in cancelled.json()["changed"]] == ["cancelled"] * 5
    stranger = api.post(
        f"/api/v1/appointment-series/{series_id}/cancel/",
        {"appointment": blocker.pk, "scope": "this", "reason": "x"},
        format="json",
    )
    assert stranger.status_code == 400
    assert "not part of this series" in stranger.json()["error"]["fields"]["appointment"][0]


def test_api_unknown_series_is_404_and_other_roles_are_refused(
    calendar_a, api, clinic_a, api_client
):
    assert api.get("/api/v1/appointment-series/999999/").status_code == 404
    assert api.get("/api/v1/appointment-series/99999999999999999999/").status_code == 404
    from shared_apps.accounts.models import Role
    from tests import factories

    billing = factories.user_create(email="billing@clinic-a.example")
    factories.membership_add(user=billing, clinic=clinic_a, role=Role.BILLING)
    refused = api_client(clinic_a, billing).post(
        "/api/v1/appointment-series/", series_body(calendar_a), format="json"
    )
    assert refused.status_code == 403


def test_the_schema_lists_the_series_and_waitlist_endpoints_with_examples(api):
    import json

    paths = api.get("/api/v1/schema/", HTTP_ACCEPT="application/json").json()["paths"]
    expected = {
        "/api/v1/appointment-series/": {"post"},
        "/api/v1/appointment-series/{series_id}/": {"get"},
        "/api/v1/appointment-series/{series_id}/cancel/": {"post"},
        "/api/v1/appointment-series/{series_id}/reschedule/": {"post"},
        "/api/v1/waitlist/": {"get", "post"},
        "/api/v1/waitlist/{entry_id}/": {"get", "patch", "delete"},
        "/api/v1/waitlist/offers/": {"get"},
        "/api/v1/waitlist/offers/{offer_id}/book/": {"post"},
        "/api/v1/waitlist/offers/{offer_id}/dismiss/": {"post"},
    }
    for path, methods in expected.items():
        assert methods <= set(paths[path]), path
        for method in methods:
            assert '"examples"' in json.dumps(paths[path][method]), (path, method)
    assert "409" in paths["/api/v1/appointment-series/"]["post"]["responses"]


# --- the pages ------------------------------------------------------------------------------------


@pytest.fixture
def desk(calendar_a, clinic_a, clinic_client, receptionist_a):
    return clinic_client(clinic_a, receptionist_a)


def test_repeat_page_previews_conflicts_then_books(calendar_a, desk):
    first = calendar_a.book()
    blocker = calendar_a.book(
        patient=calendar_a.other_patient, starts_at=calendar_a.at(MONDAY + 2 * WEEK, 10)
    )
    url = f"/calendar/series/new/?appointment={first.pk}"
    assert desk.get(url).status_code == 200
    rule = {"interval_weeks": "1", "ends": "count", "count": "4"}
    preview = desk.post(url, {**rule, "action": "preview"}).content.decode()
    assert 'data-testid="occurrence-4"' in preview
    assert "Dr Pat is already booked Mon 17 Mar 10:00-10:30" in preview
    assert "Book the 3 free ones" in preview
    assert Appointment.objects.count() == 2
    refused = desk.post(url, {**rule, "action": "book"})
    assert refused.status_code == 409
    assert Appointment.objects.count() == 2
    booked = desk.post(url, {**rule, "action": "book", "skip_conflicts": "1"})
    assert booked["Location"] == f"/calendar/appointments/{first.pk}/series/"
    first.refresh_from_db()
    positions = list(
        Appointment.objects.filter(series=first.series)
        .order_by("during")
        .values_list("series_position", flat=True)
    )
    assert positions == [1, 2, 4]
    blocker.refresh_from_db()
    assert blocker.series_id is None


def test_repeat_page_field_errors(calendar_a, desk):
    first = calendar_a.book()
    url = f"/calendar/series/new/?appointment={first.pk}"
    for fields, message in (
        ({"interval_weeks": "0", "ends": "count", "count": "4"}, "greater than or equal to 1"),
        ({"interval_weeks": "1", "ends": "until"}, "Choose the last date."),
        ({"interval_weeks": "1", "ends": "until", "until": "2031-03-05"}, "Only the first"),
    ):
        response = desk.post(url, {**fields, "action": "book"})
        assert response.status_code == 400
        assert message in response.content.decode()
    assert Appointment.objects.count() == 1
    assert desk.get("/calendar/series/new/?appointment=999999").status_code == 404
    assert desk.get("/calendar/series/new/").status_code == 404


def test_series_page_moves_following_and_cancels_all(calendar_a, desk, weekly):
    url = f"/calendar/appointments/{weekly[2].pk}/series/"
    page = desk.get(url).content.decode()
    assert page.count('data-testid="occurrence-') == 5
    moved = desk.post(
        url, {"action": "move", "scope": "following", "date": "2031-03-17", "time": "15:00"}
    )
    assert moved.status_code == 302
    assert local_times(Appointment.objects.order_by("series_position"))[2:] == [
        "2031-03-17 15:00",
        "2031-03-24 15:00",
        "2031-03-31 15:00",
    ]
    no_reason = desk.post(url, {"action": "cancel", "scope": "all", "reason": ""})
    assert no_reason.status_code == 400
    assert not Appointment.objects.filter(status="cancelled").exists()
    desk.post(url, {"action": "cancel", "scope": "all", "reason": "Treatment finished"})
    assert not Appointment.objects.exclude(status="cancelled").exists()


def test_series_page_lists_conflicts_and_changes_nothing(calendar_a, desk, weekly):
    calendar_a.book(patient=calendar_a.other_patient, starts_at=calendar_a.at(MONDAY + 4 * WEEK, 9))
    url = f"/calendar/appointments/{weekly[0].pk}/series/"
    refused = desk.post(
        url, {"action": "move", "scope": "all", "date": "2031-03-03", "time": "09:00"}
    )
    assert refused.status_code == 409
    assert "Nothing was changed" in refused.content.decode()
    assert 'data-testid="conflict-5"' in refused.content.decode()
    assert local_times(Appointment.objects.filter(series__isnull=False).order_by("during"))[0] == (
        "2031-03-03 10:00"
    )
    skipped_hour = desk.post(
        url, {"action": "move", "scope": "this", "date": "2031-03-30", "time": "01:30"}
    )
    assert skipped_hour.status_code == 400
    assert "does not exist" in skipped_hour.content.decode()


def test_a_single_appointment_offers_only_this_scope(calendar_a, desk):
    single = calendar_a.book()
    url = f"/calendar/appointments/{single.pk}/series/"
    page = desk.get(url).content.decode()
    assert 'value="following"' not in page
    assert f"/calendar/series/new/?appointment={single.pk}" in page
    refused = desk.post(url, {"action": "cancel", "scope": "all", "reason": "x"})
    assert refused.status_code == 400
    desk.post(url, {"action": "cancel", "scope": "this", "reason": "Phoned"})
    single.refresh_from_db()
    assert single.status == "cancelled"
