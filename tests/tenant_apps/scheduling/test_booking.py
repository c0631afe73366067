"""Booking, rescheduling, cancelling and status changes through the services."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from psycopg.types.range import Range

from tenant_apps.audit.models import AuditEvent
from tenant_apps.patients.services import patient_archive
from tenant_apps.scheduling.models import Appointment, AppointmentStatusChange
from tenant_apps.scheduling.services import (
    AppointmentConflict,
    OutsideWorkingHours,
    appointment_cancel,
    appointment_reschedule,
    appointment_status_change,
    clinic_closure_create,
    on_appointment_event,
    schedule_exception_create,
)
from tests.support.scheduling import MONDAY

pytestmark = pytest.mark.django_db


def test_a_booking_takes_the_types_length_and_a_free_chair(calendar_a, receptionist_a):
    first = calendar_a.book(actor=receptionist_a)
    second = calendar_a.book(
        actor=receptionist_a, practitioner=calendar_a.olivia, patient=calendar_a.other_patient
    )
    assert first.ends_at - first.starts_at == dt.timedelta(minutes=30)
    # Same time, two practitioners: each gets its own chair.
    assert {first.room, second.room} == {calendar_a.chair_1, calendar_a.chair_2}
    assert first.status == Appointment.Status.BOOKED
    assert AuditEvent.objects.filter(action="appointment.booked", target_id=str(first.pk)).exists()
    change = AppointmentStatusChange.objects.get(appointment=first)
    assert (change.from_status, change.to_status, change.changed_by_id) == (
        "",
        "booked",
        receptionist_a.pk,
    )


def test_the_database_refuses_an_overlap_and_names_who_holds_the_slot(calendar_a):
    held = calendar_a.book()
    with pytest.raises(AppointmentConflict) as refused:
        calendar_a.book(patient=calendar_a.other_patient, starts_at=calendar_a.at(MONDAY, 10, 15))
    assert refused.value.conflicting == held
    assert refused.value.resource == "practitioner"
    assert "Dr Pat is already booked Mon 03 Mar 10:00-10:30" in refused.value.message
    assert "Ana Lima" in refused.value.message
    # Even a write that skips the service cannot overlap: the constraint is in PostgreSQL.
    with pytest.raises(IntegrityError), transaction.atomic():
        Appointment.objects.create(
            patient=calendar_a.other_patient,
            practitioner=calendar_a.pat,
            appointment_type=calendar_a.checkup,
            during=Range(held.starts_at, held.ends_at, "[)"),
            occupied=Range(held.starts_at, held.ends_at, "[)"),
        )
    assert Appointment.objects.count() == 1


def test_back_to_back_is_allowed_and_a_buffer_is_kept(calendar_a):
    calendar_a.book(starts_at=calendar_a.at(MONDAY, 10))
    calendar_a.book(patient=calendar_a.other_patient, starts_at=calendar_a.at(MONDAY, 10, 30))
    # Cleaning keeps 15 minutes after its 45: 11:00-11:45, chair ready at 12:00.
    calendar_a.book(appointment_type=calendar_a.cleaning, starts_at=calendar_a.at(MONDAY, 11))
    with pytest.raises(AppointmentConflict):
        calendar_a.book(patient=calendar_a.other_patient, starts_at=calendar_a.at(MONDAY, 11, 50))
    calendar_a.book(patient=calendar_a.other_patient, starts_at=calendar_a.at(MONDAY, 12))


def test_a_room_cannot_hold_two_patients_even_with_two_practitioners(calendar_a):
    calendar_a.book(room=calendar_a.chair_1)
    with pytest.raises(AppointmentConflict) as refused:
        calendar_a.book(
            practitioner=calendar_a.olivia,
            patient=calendar_a.other_patient,
            room=calendar_a.chair_1,
        )
    assert refused.value.resource == "room"
    assert "Chair 1 is already booked" in refused.value.message


def test_cancelled_and_no_show_appointments_free_the_slot(calendar_a, receptionist_a):
    first = calendar_a.book()
    appointment_cancel(actor=receptionist_a, appointment=first, reason="Patient phoned")
    second = calendar_a.book(patient=calendar_a.other_patient)
    appointment_status_change(actor=receptionist_a, appointment=second, to_status="no_show")
    third = calendar_a.book()
    assert third.status == "booked"
    # The no-show turning up late cannot take back a slot someone else now holds.
    with pytest.raises(AppointmentConflict):
        appointment_status_change(actor=receptionist_a, appointment=second, to_status="arrived")
    second.refresh_from_db()
    assert second.status == "no_show"


def test_only_permitted_roles_overbook(calendar_a, receptionist_a, owner_a):
    calendar_a.book()
    with pytest.raises(ValidationError) as refused:
        calendar_a.book(actor=receptionist_a, patient=calendar_a.other_patient, overbook=True)
    assert "overbook" in refused.value.message_dict
    squeezed = calendar_a.book(actor=owner_a, patient=calendar_a.other_patient, overbook=True)
    assert squeezed.is_overbooked
    assert Appointment.objects.count() == 2


def test_outside_working_hours_warns_and_owners_may_allow_it(calendar_a, receptionist_a, owner_a):
    lunch = calendar_a.at(MONDAY, 12, 45)
    with pytest.raises(OutsideWorkingHours) as refused:
        calendar_a.book(actor=receptionist_a, starts_at=lunch, allow_outside_hours=True)
    assert "Ask an owner" in refused.value.message_dict["starts_at"][0]
    with pytest.raises(OutsideWorkingHours) as asked:
        calendar_a.book(actor=owner_a, starts_at=lunch)
    assert "Confirm to book it anyway" in asked.value.message_dict["starts_at"][0]
    allowed = calendar_a.book(actor=owner_a, starts_at=lunch, allow_outside_hours=True)
    assert allowed.outside_hours


def test_leave_and_closures_count_as_outside_hours(calendar_a):
    tuesday = MONDAY + dt.timedelta(days=1)
    schedule_exception_create(
        actor=None, practitioner=calendar_a.pat, date=MONDAY, kind="leave", note="Dentist"
    )
    clinic_closure_create(actor=None, starts_on=tuesday, ends_on=tuesday, reason="Bank holiday")
    for day in (MONDAY, tuesday):
        with pytest.raises(OutsideWorkingHours):
            calendar_a.book(starts_at=calendar_a.at(day, 10))
    calendar_a.book(starts_at=calendar_a.at(tuesday + dt.timedelta(days=1), 10))


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"ends_at": "same"}, "ends_at"),
        ({"ends_at": "before"}, "ends_at"),
        ({"ends_at": "day"}, "ends_at"),
        ({"appointment_type": "consult"}, "appointment_type"),
        ({"room": "wrong"}, "room"),
    ],
)
def test_bad_bookings_are_field_errors_and_save_nothing(calendar_a, fields, field):
    start = calendar_a.at(MONDAY, 10)
    values = {
        "same": start,
        "before": start - dt.timedelta(minutes=5),
        "day": start + dt.timedelta(hours=24),
        "consult": calendar_a.consult,  # Dr Pat does not offer it
    }
    booking = {name: values.get(value, value) for name, value in fields.items()}
    if booking.get("room") == "wrong":
        from tenant_apps.scheduling.services import room_create

        booking["room"] = room_create(actor=None, name="X-ray")
    with pytest.raises(ValidationError) as refused:
        calendar_a.book(**booking)
    assert field in refused.value.message_dict
    assert not Appointment.objects.exists()


def test_an_archived_patient_cannot_be_booked(calendar_a):
    patient_archive(actor=None, patient=calendar_a.patient)
    calendar_a.patient.refresh_from_db()
    with pytest.raises(ValidationError) as refused:
        calendar_a.book()
    assert "archived" in refused.value.message_dict["patient"][0]


def test_reschedule_keeps_the_length_and_the_database_still_decides(calendar_a, receptionist_a):
    moving = calendar_a.book(appointment_type=calendar_a.cleaning)
    blocker = calendar_a.book(patient=calendar_a.other_patient, starts_at=calendar_a.at(MONDAY, 14))
    moved = appointment_reschedule(
        actor=receptionist_a, appointment=moving, starts_at=calendar_a.at(MONDAY, 15)
    )
    assert moved.starts_at == calendar_a.at(MONDAY, 15)
    assert moved.ends_at - moved.starts_at == dt.timedelta(minutes=45)
    with pytest.raises(AppointmentConflict) as refused:
        appointment_reschedule(
            actor=receptionist_a, appointment=moved, starts_at=calendar_a.at(MONDAY, 14, 15)
        )
    assert refused.value.conflicting == blocker
    moved.refresh_from_db()
    assert moved.starts_at == calendar_a.at(MONDAY, 15)
    audit = AuditEvent.objects.get(action="appointment.rescheduled", target_id=str(moving.pk))
    assert audit.details["to_practitioner_id"] == calendar_a.pat.pk


def test_status_moves_follow_the_allowed_transitions(calendar_a, receptionist_a):
    appointment = calendar_a.book()
    for status in ("confirmed", "arrived", "in_progress", "completed"):
        appointment = appointment_status_change(
            actor=receptionist_a, appointment=appointment, to_status=status
        )
    with pytest.raises(ValidationError) as refused:
        appointment_status_change(actor=receptionist_a, appointment=appointment, to_status="booked")
    assert "cannot become booked" in refused.value.message_dict["status"][0]
    with pytest.raises(ValidationError):
        appointment_cancel(actor=receptionist_a, appointment=appointment, reason="too late")
    trail = list(
        AppointmentStatusChange.objects.filter(appointment=appointment).values_list(
            "to_status", flat=True
        )
    )
    assert trail == ["booked", "confirmed", "arrived", "in_progress", "completed"]


def test_cancel_needs_a_reason(calendar_a, receptionist_a):
    appointment = calendar_a.book()
    with pytest.raises(ValidationError) as refused:
        appointment_cancel(actor=receptionist_a, appointment=appointment, reason="  ")
    assert "reason" in refused.value.message_dict
    appointment.refresh_from_db()
    assert appointment.status == "booked"


def test_lifecycle_listeners_hear_every_change_inside_the_transaction(calendar_a):
    heard: list[tuple[str, int]] = []

    @on_appointment_event
    def listen(event, appointment, details):
        heard.append((event, appointment.pk))
        if event == "cancelled" and appointment.cancellation_reason == "explode":
            raise RuntimeError("a listener failed")

    from tenant_apps.scheduling import services

    try:
        appointment = calendar_a.book()
        appointment_reschedule(
            actor=None, appointment=appointment, starts_at=calendar_a.at(MONDAY, 11)
        )
        appointment_status_change(actor=None, appointment=appointment, to_status="confirmed")
        with pytest.raises(RuntimeError):
            appointment_cancel(actor=None, appointment=appointment, reason="explode")
    finally:
        services._listeners.remove(listen)
    assert [event for event, _ in heard] == [
        "booked",
        "rescheduled",
        "status_changed",
        "cancelled",
    ]
    # The failing listener rolled the cancellation back with it.
    appointment.refresh_from_db()
    assert appointment.status == "confirmed"


def test_a_moved_appointment_keeps_its_chair_when_that_chair_is_free(calendar_a):
    in_chair_2 = calendar_a.book(room=calendar_a.chair_2)
    moved = appointment_reschedule(
        actor=None, appointment=in_chair_2, starts_at=calendar_a.at(MONDAY, 15)
    )
    assert moved.room == calendar_a.chair_2
    # Chair 2 taken at 16:00 by Dr Olivia: the move finds the free chair instead.
    calendar_a.book(
        practitioner=calendar_a.olivia,
        patient=calendar_a.other_patient,
        room=calendar_a.chair_2,
        starts_at=calendar_a.at(MONDAY, 16),
    )
    moved = appointment_reschedule(
        actor=None, appointment=moved, starts_at=calendar_a.at(MONDAY, 16)
    )
    assert moved.room == calendar_a.chair_1
