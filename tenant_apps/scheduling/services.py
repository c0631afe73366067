"""Every write to the calendar: resources, working hours, and the appointment lifecycle.

Booking, rescheduling, cancelling and status changes each run in one transaction, leave an
audit row (ids and codes only) and a status-change row (who, when), and then tell the
lifecycle listeners (`on_appointment_event`) inside the same transaction: reminders and
billing (later issues) plan their own rows there, so they commit or roll back with the
booking itself.

Double booking is refused by PostgreSQL (see models.py), not by a check here that two
requests could both pass: the service tries the write in a savepoint and turns the
exclusion violation into an `AppointmentConflict` naming the appointment in the way.
"""

from __future__ import annotations

import datetime as dt
import itertools
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import psycopg.errors
from django.core.exceptions import ValidationError
from django.db import IntegrityError, OperationalError, transaction
from psycopg.types.range import Range

from drcrm.tenancy import current_clinic
from shared_apps.accounts.models import User
from shared_apps.accounts.roles import Capability, role_can
from shared_apps.accounts.selectors import get_active_membership
from tenant_apps.audit.services import audit_record
from tenant_apps.patients.models import Patient
from tenant_apps.scheduling.clock import clinic_zone
from tenant_apps.scheduling.models import (
    FREED_STATUSES,
    STATUS_TRANSITIONS,
    Appointment,
    AppointmentSeries,
    AppointmentStatusChange,
    AppointmentType,
    ClinicClosure,
    Practitioner,
    Room,
    ScheduleException,
    WorkingPeriod,
)
from tenant_apps.scheduling.selectors import conflicting_appointment, within_working_hours

MAX_DURATION = dt.timedelta(hours=24)
MAX_NOTES = 2000
DEADLOCK_RETRIES = 3
EXCLUSION_CONSTRAINTS = {
    "appointment_practitioner_no_overlap",
    "appointment_room_no_overlap",
}


# --- errors the callers show -----------------------------------------------------------------


class AppointmentConflict(Exception):
    """The practitioner or room is already booked then (the API's 409, the UI's who)."""

    def __init__(self, *, conflicting: Appointment, resource: str) -> None:
        self.conflicting = conflicting
        self.resource = resource
        super().__init__(self.message)

    @property
    def message(self) -> str:
        other = self.conflicting
        holder = (
            other.practitioner.display_name if self.resource == "practitioner" else str(other.room)
        )
        local_start = other.starts_at.astimezone(clinic_zone())
        local_end = other.ends_at.astimezone(clinic_zone())
        return (
            f"{holder} is already booked {local_start:%a %d %b %H:%M}-{local_end:%H:%M} "
            f"({other.appointment_type.name}, {other.patient.first_name} "
            f"{other.patient.last_name})."
        )


class OutsideWorkingHours(ValidationError):
    """A booking outside the practitioner's hours by someone who may not allow it (or who
    has not said so yet)."""


# --- lifecycle listeners ---------------------------------------------------------------------

AppointmentListener = Callable[[str, Appointment, dict[str, Any]], None]
_listeners: list[AppointmentListener] = []


def on_appointment_event(listener: AppointmentListener) -> AppointmentListener:
    """Register `listener(event, appointment, details)`, called inside the writing
    transaction for "booked", "rescheduled", "cancelled" and "status_changed"."""
    _listeners.append(listener)
    return listener


def _announce(event: str, appointment: Appointment, details: dict[str, Any]) -> None:
    for listener in _listeners:
        listener(event, appointment, details)


# --- permission the service itself checks ------------------------------------------------------


def actor_may(actor: User | None, capability: Capability) -> bool:
    """System work (actor None) may; a person needs the capability in this clinic.

    Views and the API check the capability to open the page; the service checks the ones
    that depend on what is asked (an overbook), which only it sees.
    """
    if actor is None:
        return True
    clinic = current_clinic()
    membership = get_active_membership(user=actor, clinic_id=clinic.pk)
    return membership is not None and role_can(membership.role, capability)


# --- appointments ----------------------------------------------------------------------------


@dataclass(frozen=True)
class BookingRequest:
    patient: Patient
    practitioner: Practitioner
    appointment_type: AppointmentType
    starts_at: dt.datetime
    ends_at: dt.datetime | None = None  # the type's default duration if None
    room: Room | None = None  # a free room the type needs is picked if None
    front_desk_notes: str = ""
    # Book over another live appointment on purpose (calendar.override).
    overbook: bool = False
    # Book outside the practitioner's hours (calendar.override): without it, a booking
    # there is refused with code "outside_hours" so the UI can ask.
    allow_outside_hours: bool = False


def as_utc(moment: dt.datetime, *, field: str = "starts_at") -> dt.datetime:
    """An aware time in UTC. Lengths and buffers are added in UTC: added to a local time,
    30 minutes across the autumn change would last 90 real ones."""
    if moment.tzinfo is None:
        raise ValidationError({field: "Times need a time zone."}, code="naive")
    return moment.astimezone(dt.UTC)


def booking_times_check(starts_at: dt.datetime, ends_at: dt.datetime) -> None:
    if ends_at <= starts_at:
        raise ValidationError({"ends_at": "The end must be after the start."}, code="ends_early")
    if ends_at - starts_at >= MAX_DURATION:
        raise ValidationError(
            {"ends_at": "An appointment must be shorter than 24 hours."}, code="too_long"
        )


def booking_parties_check(booking: BookingRequest) -> None:
    """Who and what a booking names: patient, practitioner, type, room, notes."""
    errors: dict[str, str] = {}
    if len(booking.front_desk_notes) > MAX_NOTES:
        errors["front_desk_notes"] = f"Keep notes under {MAX_NOTES:,} characters."
    if booking.patient.is_archived:
        errors["patient"] = "This patient's record is archived; restore it before booking."
    if not booking.practitioner.is_active:
        errors["practitioner"] = "This practitioner no longer takes bookings."
    if not booking.appointment_type.is_active:
        errors["appointment_type"] = "This appointment type is no longer offered."
    elif not booking.practitioner.appointment_types.filter(pk=booking.appointment_type.pk).exists():
        errors["appointment_type"] = (
            f"{booking.practitioner.display_name} does not offer {booking.appointment_type.name}."
        )
    if booking.room is not None:
        needed = set(booking.appointment_type.rooms.values_list("pk", flat=True))
        if not booking.room.is_active:
            errors["room"] = "This room is no longer in use."
        elif needed and booking.room.pk not in needed:
            errors["room"] = f"{booking.appointment_type.name} cannot take place in {booking.room}."
    if errors:
        raise ValidationError(errors, code="invalid")


def _check_overrides(
    *,
    actor: User | None,
    practitioner: Practitioner,
    starts_at: dt.datetime,
    ends_at: dt.datetime,
    overbook: bool,
    allow_outside_hours: bool,
) -> bool:
    """Refuse what needs calendar.override without it; True if outside working hours."""
    may_override = actor_may(actor, Capability.CALENDAR_OVERRIDE)
    if overbook and not may_override:
        raise ValidationError(
            {"overbook": "Your role cannot overbook; choose a free time."}, code="not_allowed"
        )
    outside = not within_working_hours(
        practitioner=practitioner, starts=starts_at, ends=ends_at, zone=clinic_zone()
    )
    if outside and not (allow_outside_hours and may_override):
        hint = (
            "Confirm to book it anyway."
            if may_override
            else "Ask an owner or practice manager to book it."
        )
        raise OutsideWorkingHours(
            {
                "starts_at": (
                    f"{practitioner.display_name} is not working then "
                    f"(outside hours, a break, leave or a closure). {hint}"
                )
            },
            code="outside_hours",
        )
    return outside


def _occupied(
    appointment_type: AppointmentType, starts_at: dt.datetime, ends_at: dt.datetime
) -> Range[dt.datetime]:
    return Range(starts_at, ends_at + appointment_type.buffer, "[)")


def _free_room_for(
    appointment_type: AppointmentType,
    occupied: Range[dt.datetime],
    exclude_id: int | None = None,
    keep: Room | None = None,
) -> Room | None:
    """A free active room among those the type needs (None if it needs none), `keep`
    first: a moved appointment stays in its chair when that chair is free.

    Only a first pick: if two bookings race for the last room, the constraint decides.
    """
    rooms = list(appointment_type.rooms.filter(is_active=True).order_by("name", "id"))
    if not rooms:
        return None
    if keep is not None and keep in rooms:
        rooms.remove(keep)
        rooms.insert(0, keep)
    holding = Appointment.objects.exclude(status__in=FREED_STATUSES).filter(
        room__in=rooms, is_overbooked=False, occupied__overlap=occupied
    )
    if exclude_id is not None:
        holding = holding.exclude(pk=exclude_id)
    busy = set(holding.values_list("room_id", flat=True))
    for room in rooms:
        if room.pk not in busy:
            return room
    # All taken: book the first and let the constraint name who holds it.
    return rooms[0]


def _save_refusing_overlap(appointment: Appointment, **save_kwargs: Any) -> None:
    """Save, turning the exclusion constraints' refusal into AppointmentConflict.

    Two bookings racing for one slot and one room can each get into one exclusion index
    and then wait for the other in the second: PostgreSQL breaks that deadlock by aborting
    one statement. The save runs in a savepoint, whose rollback releases what it held, so
    the loser simply tries again and meets a plain conflict once the winner commits.
    """
    for attempt in range(1, DEADLOCK_RETRIES + 1):
        try:
            with transaction.atomic():
                appointment.save(**save_kwargs)
            return
        except OperationalError as error:
            if not isinstance(error.__cause__, psycopg.errors.DeadlockDetected):
                raise
            if attempt == DEADLOCK_RETRIES:
                raise
            # A moment's pause lets the surviving transaction get on first.
            time.sleep(0.05 * attempt)
        except IntegrityError as error:
            _raise_conflict(appointment, error)


def _raise_conflict(appointment: Appointment, error: IntegrityError) -> None:
    cause = error.__cause__
    if not isinstance(cause, psycopg.errors.ExclusionViolation):
        raise error
    if cause.diag.constraint_name not in EXCLUSION_CONSTRAINTS:
        raise error
    found = conflicting_appointment(
        practitioner_id=appointment.practitioner_id,
        room_id=appointment.room_id,
        occupied=appointment.occupied,
        exclude_id=appointment.pk,
    )
    if found is None:  # the other booking was cancelled in between: nothing to name
        raise error
    raise AppointmentConflict(conflicting=found[0], resource=found[1]) from None


def _record_status(appointment: Appointment, actor: User | None, from_status: str) -> None:
    AppointmentStatusChange.objects.create(
        appointment=appointment,
        from_status=from_status,
        to_status=appointment.status,
        changed_by_id=getattr(actor, "pk", None),
    )


def appointment_book(
    *,
    actor: User | None,
    booking: BookingRequest,
    series: AppointmentSeries | None = None,
    series_position: int | None = None,
) -> Appointment:
    """Book one appointment; AppointmentConflict if the practitioner or room is taken."""
    starts_at = as_utc(booking.starts_at)
    ends_at = (
        as_utc(booking.ends_at, field="ends_at")
        if booking.ends_at is not None
        else starts_at + booking.appointment_type.default_duration
    )
    booking_times_check(starts_at, ends_at)
    booking_parties_check(booking)
    with transaction.atomic():
        outside = _check_overrides(
            actor=actor,
            practitioner=booking.practitioner,
            starts_at=starts_at,
            ends_at=ends_at,
            overbook=booking.overbook,
            allow_outside_hours=booking.allow_outside_hours,
        )
        occupied = _occupied(booking.appointment_type, starts_at, ends_at)
        room = booking.room or _free_room_for(booking.appointment_type, occupied)
        appointment = Appointment(
            patient=booking.patient,
            practitioner=booking.practitioner,
            appointment_type=booking.appointment_type,
            room=room,
            during=Range(starts_at, ends_at, "[)"),
            occupied=occupied,
            is_overbooked=booking.overbook,
            outside_hours=outside,
            front_desk_notes=booking.front_desk_notes,
            series=series,
            series_position=series_position,
            created_by_id=getattr(actor, "pk", None),
        )
        _save_refusing_overlap(appointment)
        _record_status(appointment, actor, from_status="")
        audit_record(
            actor=actor,
            action="appointment.booked",
            target=appointment,
            details={
                "patient_id": booking.patient.pk,
                "practitioner_id": booking.practitioner.pk,
                "overbooked": booking.overbook,
                "outside_hours": outside,
            },
        )
        _announce("booked", appointment, {})
    return appointment


def _lock(appointment: Appointment) -> Appointment:
    """The row, locked for this transaction, with what messages need preloaded."""
    return (
        Appointment.objects.select_for_update(of=("self",))
        .select_related("patient", "practitioner", "room", "appointment_type")
        .get(pk=appointment.pk)
    )


def appointment_reschedule(
    *,
    actor: User | None,
    appointment: Appointment,
    starts_at: dt.datetime,
    ends_at: dt.datetime | None = None,
    practitioner: Practitioner | None = None,
    room: Room | None = None,
    overbook: bool | None = None,
    allow_outside_hours: bool = False,
) -> Appointment:
    """Move an appointment (same length unless `ends_at` is given), maybe to another
    practitioner or room; the database still decides whether the new time is free."""
    with transaction.atomic():
        appointment = _lock(appointment)
        if not appointment.is_live or appointment.status == Appointment.Status.COMPLETED:
            raise ValidationError(
                {
                    "starts_at": (
                        f"A {appointment.get_status_display().lower()} appointment cannot be moved."
                    )
                },
                code="not_movable",
            )
        previous = (appointment.starts_at, appointment.ends_at)
        previous_practitioner_id = appointment.practitioner_id
        starts_at = as_utc(starts_at)
        ends_at = (
            as_utc(ends_at, field="ends_at")
            if ends_at is not None
            else starts_at + (appointment.ends_at - appointment.starts_at)
        )
        booking_times_check(starts_at, ends_at)
        target_practitioner = practitioner or appointment.practitioner
        booking_parties_check(
            BookingRequest(
                patient=appointment.patient,
                practitioner=target_practitioner,
                appointment_type=appointment.appointment_type,
                starts_at=starts_at,
                ends_at=ends_at,
                room=room,
            )
        )
        overbook = appointment.is_overbooked if overbook is None else overbook
        appointment.outside_hours = _check_overrides(
            actor=actor,
            practitioner=target_practitioner,
            starts_at=starts_at,
            ends_at=ends_at,
            overbook=overbook and not appointment.is_overbooked,
            allow_outside_hours=allow_outside_hours,
        )
        occupied = _occupied(appointment.appointment_type, starts_at, ends_at)
        appointment.practitioner = target_practitioner
        if room is None and appointment.appointment_type.rooms.exists():
            room = _free_room_for(
                appointment.appointment_type,
                occupied,
                exclude_id=appointment.pk,
                keep=appointment.room,
            )
        # A type that needs no room keeps whatever room was chosen by hand.
        appointment.room = room or appointment.room
        appointment.is_overbooked = overbook
        appointment.during = Range(starts_at, ends_at, "[)")
        appointment.occupied = occupied
        _save_refusing_overlap(appointment)
        details = {
            "from_starts_at": previous[0].isoformat(),
            "to_starts_at": starts_at.isoformat(),
            "from_practitioner_id": previous_practitioner_id,
            "to_practitioner_id": target_practitioner.pk,
        }
        audit_record(
            actor=actor, action="appointment.rescheduled", target=appointment, details=details
        )
        _announce("rescheduled", appointment, {"previous": previous})
    return appointment


def appointment_cancel(*, actor: User | None, appointment: Appointment, reason: str) -> Appointment:
    """Cancel with a reason; the slot is free the moment this commits."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": "Say why the appointment is cancelled."}, code="required")
    if len(reason) > 200:
        raise ValidationError({"reason": "Keep the reason under 200 characters."}, code="too_long")
    with transaction.atomic():
        appointment = _lock(appointment)
        from_status = appointment.status
        _check_transition(appointment, Appointment.Status.CANCELLED)
        appointment.status = Appointment.Status.CANCELLED
        appointment.cancellation_reason = reason
        appointment.save(update_fields=["status", "cancellation_reason", "updated_at"])
        _record_status(appointment, actor, from_status)
        audit_record(
            actor=actor,
            action="appointment.cancelled",
            target=appointment,
            details={"from_status": from_status},
        )
        _announce("cancelled", appointment, {"from_status": from_status})
    return appointment


def _check_transition(appointment: Appointment, to_status: str) -> None:
    allowed = STATUS_TRANSITIONS[appointment.status]
    if to_status not in allowed:
        names = ", ".join(sorted(Appointment.Status(status).label for status in allowed))
        raise ValidationError(
            {
                "status": (
                    f"A {appointment.get_status_display().lower()} appointment cannot become "
                    f"{Appointment.Status(to_status).label.lower()}"
                    + (f" (it can become: {names})." if names else ".")
                )
            },
            code="transition",
        )


def appointment_status_change(
    *, actor: User | None, appointment: Appointment, to_status: str
) -> Appointment:
    """Confirm, check in, start, complete or mark a no-show (cancelling has its own
    service, which asks for a reason)."""
    if to_status not in Appointment.Status.values:
        raise ValidationError({"status": f"Unknown status {to_status!r}."}, code="invalid")
    if to_status == Appointment.Status.CANCELLED:
        raise ValidationError(
            {"status": "Cancel the appointment instead: it needs a reason."}, code="use_cancel"
        )
    with transaction.atomic():
        appointment = _lock(appointment)
        from_status = appointment.status
        _check_transition(appointment, to_status)
        appointment.status = to_status
        # A no-show that turns up after all takes its slot back, if still free.
        _save_refusing_overlap(appointment, update_fields=["status", "updated_at"])
        _record_status(appointment, actor, from_status)
        audit_record(
            actor=actor,
            action="appointment.status_changed",
            target=appointment,
            details={"from_status": from_status, "to_status": to_status},
        )
        _announce("status_changed", appointment, {"from_status": from_status})
    return appointment


def appointment_notes_update(
    *, actor: User | None, appointment: Appointment, front_desk_notes: str
) -> Appointment:
    if len(front_desk_notes) > 2000:
        raise ValidationError(
            {"front_desk_notes": "Keep notes under 2,000 characters."}, code="too_long"
        )
    with transaction.atomic():
        appointment = _lock(appointment)
        appointment.front_desk_notes = front_desk_notes
        appointment.save(update_fields=["front_desk_notes", "updated_at"])
        audit_record(actor=actor, action="appointment.notes_updated", target=appointment)
    return appointment


# --- resources -------------------------------------------------------------------------------


def _check_colour(colour: str) -> None:
    if not re.fullmatch(r"#[0-9a-fA-F]{6}", colour or ""):
        raise ValidationError({"colour": "Use a colour like #2563eb."}, code="invalid")


def _check_name(name: str, *, field: str = "name", limit: int = 100) -> str:
    name = (name or "").strip()
    if not name:
        raise ValidationError({field: "This field is required."}, code="required")
    if len(name) > limit or "\x00" in name:
        raise ValidationError({field: f"Keep it under {limit} characters."}, code="too_long")
    return name


def practitioner_create(
    *,
    actor: User | None,
    user: User,
    display_name: str = "",
    colour: str = "#2563eb",
    appointment_types: Iterable[AppointmentType] = (),
) -> Practitioner:
    """Put a member of staff on the calendar (their membership must be active here)."""
    clinic = current_clinic()
    if get_active_membership(user=user, clinic_id=clinic.pk) is None:
        raise ValidationError({"user": "Only active staff of this clinic can take bookings."})
    if Practitioner.objects.filter(user_id=user.pk).exists():
        raise ValidationError({"user": "This person is already on the calendar."})
    display_name = _check_name(
        display_name or user.full_name or user.email, field="display_name", limit=200
    )
    _check_colour(colour)
    with transaction.atomic():
        practitioner = Practitioner.objects.create(
            user_id=user.pk, display_name=display_name, colour=colour
        )
        practitioner.appointment_types.set(list(appointment_types))
        audit_record(actor=actor, action="practitioner.created", target=practitioner)
    return practitioner


def practitioner_update(
    *,
    actor: User | None,
    practitioner: Practitioner,
    display_name: str,
    colour: str,
    appointment_types: Iterable[AppointmentType],
    is_active: bool = True,
) -> Practitioner:
    display_name = _check_name(display_name, field="display_name", limit=200)
    _check_colour(colour)
    with transaction.atomic():
        practitioner.display_name = display_name
        practitioner.colour = colour
        practitioner.is_active = is_active
        practitioner.save()
        practitioner.appointment_types.set(list(appointment_types))
        audit_record(actor=actor, action="practitioner.updated", target=practitioner)
    return practitioner


def room_create(*, actor: User | None, name: str, kind: str = Room.Kind.ROOM) -> Room:
    name = _check_name(name)
    if kind not in Room.Kind.values:
        raise ValidationError({"kind": "Choose a room or a dental chair."})
    if Room.objects.filter(name__iexact=name).exists():
        raise ValidationError({"name": "A room with this name exists already."})
    with transaction.atomic():
        room = Room.objects.create(name=name, kind=kind)
        audit_record(actor=actor, action="room.created", target=room)
    return room


def room_update(
    *, actor: User | None, room: Room, name: str, kind: str, is_active: bool = True
) -> Room:
    name = _check_name(name)
    if kind not in Room.Kind.values:
        raise ValidationError({"kind": "Choose a room or a dental chair."})
    if Room.objects.filter(name__iexact=name).exclude(pk=room.pk).exists():
        raise ValidationError({"name": "A room with this name exists already."})
    with transaction.atomic():
        room.name, room.kind, room.is_active = name, kind, is_active
        room.save()
        audit_record(actor=actor, action="room.updated", target=room)
    return room


@dataclass(frozen=True)
class AppointmentTypeInput:
    name: str
    default_duration_minutes: int = 30
    colour: str = "#0d9488"
    price_hint: Decimal | None = None
    buffer_minutes: int = 0
    rooms: tuple[Room, ...] = ()
    is_active: bool = True


def _check_type(data: AppointmentTypeInput, *, exclude_id: int | None = None) -> str:
    name = _check_name(data.name)
    errors: dict[str, str] = {}
    if not 5 <= data.default_duration_minutes < 24 * 60:
        errors["default_duration_minutes"] = "Between 5 minutes and 24 hours."
    if not 0 <= data.buffer_minutes <= 240:
        errors["buffer_minutes"] = "Between 0 and 240 minutes."
    if data.price_hint is not None and data.price_hint < 0:
        errors["price_hint"] = "A price cannot be negative."
    same_name = AppointmentType.objects.filter(name__iexact=name)
    if exclude_id is not None:
        same_name = same_name.exclude(pk=exclude_id)
    if same_name.exists():
        errors["name"] = "An appointment type with this name exists already."
    if errors:
        raise ValidationError(errors)
    _check_colour(data.colour)
    return name


def appointment_type_create(*, actor: User | None, data: AppointmentTypeInput) -> AppointmentType:
    name = _check_type(data)
    with transaction.atomic():
        appointment_type = AppointmentType.objects.create(
            name=name,
            default_duration_minutes=data.default_duration_minutes,
            colour=data.colour,
            price_hint=data.price_hint,
            buffer_minutes=data.buffer_minutes,
            is_active=data.is_active,
        )
        appointment_type.rooms.set(list(data.rooms))
        audit_record(actor=actor, action="appointment_type.created", target=appointment_type)
    return appointment_type


def appointment_type_update(
    *, actor: User | None, appointment_type: AppointmentType, data: AppointmentTypeInput
) -> AppointmentType:
    name = _check_type(data, exclude_id=appointment_type.pk)
    with transaction.atomic():
        appointment_type.name = name
        appointment_type.default_duration_minutes = data.default_duration_minutes
        appointment_type.colour = data.colour
        appointment_type.price_hint = data.price_hint
        appointment_type.buffer_minutes = data.buffer_minutes
        appointment_type.is_active = data.is_active
        appointment_type.save()
        appointment_type.rooms.set(list(data.rooms))
        audit_record(actor=actor, action="appointment_type.updated", target=appointment_type)
    return appointment_type


def working_week_set(
    *,
    actor: User | None,
    practitioner: Practitioner,
    periods: Iterable[tuple[int, dt.time, dt.time]],
) -> list[WorkingPeriod]:
    """Replace the practitioner's usual week with `periods` (weekday, starts, ends).

    Periods of one day must not overlap; the gaps between them are the day's breaks.
    """
    rows = sorted(periods)
    for weekday, starts, ends in rows:
        if weekday not in WorkingPeriod.Weekday.values:
            raise ValidationError({"periods": f"Unknown weekday {weekday}."})
        if ends <= starts:
            raise ValidationError(
                {
                    "periods": (
                        f"{WorkingPeriod.Weekday(weekday).label}: the end must be after the start."
                    )
                }
            )
    for (day_a, _, ends_a), (day_b, starts_b, _) in itertools.pairwise(rows):
        if day_a == day_b and starts_b < ends_a:
            raise ValidationError(
                {"periods": f"{WorkingPeriod.Weekday(day_a).label}: two periods overlap."}
            )
    with transaction.atomic():
        practitioner.working_periods.all().delete()
        created = WorkingPeriod.objects.bulk_create(
            WorkingPeriod(practitioner=practitioner, weekday=weekday, starts=starts, ends=ends)
            for weekday, starts, ends in rows
        )
        audit_record(
            actor=actor,
            action="working_hours.set",
            target=practitioner,
            details={"periods": len(created)},
        )
    return created


def schedule_exception_create(
    *,
    actor: User | None,
    practitioner: Practitioner,
    date: dt.date,
    kind: str,
    starts: dt.time | None = None,
    ends: dt.time | None = None,
    note: str = "",
) -> ScheduleException:
    if kind not in ScheduleException.Kind.values:
        raise ValidationError({"kind": "Choose leave or extra hours."})
    if (starts is None) != (ends is None):
        raise ValidationError({"ends": "Give both a start and an end, or neither."})
    if starts is None and kind == ScheduleException.Kind.EXTRA_HOURS:
        raise ValidationError({"starts": "Extra hours need a start and an end."})
    if starts is not None and ends is not None and ends <= starts:
        raise ValidationError({"ends": "The end must be after the start."})
    if len(note) > 200:
        raise ValidationError({"note": "Keep the note under 200 characters."})
    with transaction.atomic():
        exception = ScheduleException.objects.create(
            practitioner=practitioner, date=date, kind=kind, starts=starts, ends=ends, note=note
        )
        audit_record(
            actor=actor,
            action="schedule_exception.created",
            target=exception,
            details={"practitioner_id": practitioner.pk, "kind": kind},
        )
    return exception


def schedule_exception_delete(*, actor: User | None, exception: ScheduleException) -> None:
    with transaction.atomic():
        audit_record(
            actor=actor,
            action="schedule_exception.deleted",
            target=exception,
            details={"practitioner_id": exception.practitioner_id},
        )
        exception.delete()


def clinic_closure_create(
    *, actor: User | None, starts_on: dt.date, ends_on: dt.date, reason: str
) -> ClinicClosure:
    reason = _check_name(reason, field="reason", limit=200)
    if ends_on < starts_on:
        raise ValidationError({"ends_on": "The last day cannot be before the first."})
    if (ends_on - starts_on).days > 366:
        raise ValidationError({"ends_on": "A closure can last at most a year."})
    with transaction.atomic():
        closure = ClinicClosure.objects.create(starts_on=starts_on, ends_on=ends_on, reason=reason)
        audit_record(actor=actor, action="clinic_closure.created", target=closure)
    return closure


def clinic_closure_delete(*, actor: User | None, closure: ClinicClosure) -> None:
    with transaction.atomic():
        audit_record(actor=actor, action="clinic_closure.deleted", target=closure)
        closure.delete()
