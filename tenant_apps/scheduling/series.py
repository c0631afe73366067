"""Recurring appointments: a weekly rule, its plan, its conflicts, and changes by scope.

A series is planned on the clinic's wall clock: "every 2 weeks at 10:00" stays at 10:00
local after the clocks change (so its UTC instant moves by an hour), and every occurrence
keeps the first one's length. Conflicts (the practitioner or a room already taken, outside
working hours, a clinic closure) are computed for every occurrence before anything is saved
and listed; booking is all or nothing unless the user chose to book only the free ones.

Changing a series goes through the single-appointment services, so each appointment still
leaves its own audit row and lifecycle event: "this" is one occurrence, "following" this
one and the later ones, "all" every one. Only occurrences still booked or confirmed change
with "following" and "all": a visit that has started, happened, been cancelled or missed is
history. A conflict anywhere aborts the whole change and lists every occurrence in the way.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from psycopg.types.range import Range

from drcrm.lookup import get_or_404
from shared_apps.accounts.models import User
from shared_apps.accounts.roles import Capability
from tenant_apps.audit.services import audit_record
from tenant_apps.scheduling.clock import clinic_zone, local_datetime
from tenant_apps.scheduling.models import (
    FREED_STATUSES,
    Appointment,
    AppointmentSeries,
    ClinicClosure,
    Practitioner,
)
from tenant_apps.scheduling.selectors import appointments_with_related, within_working_hours
from tenant_apps.scheduling.services import (
    AppointmentConflict,
    BookingRequest,
    OutsideWorkingHours,
    actor_may,
    appointment_book,
    appointment_cancel,
    appointment_reschedule,
    as_utc,
    booking_parties_check,
    booking_times_check,
)

MIN_INTERVAL_WEEKS, MAX_INTERVAL_WEEKS = 1, 52
MIN_COUNT, MAX_COUNT = 2, 104
SCOPES = ("this", "following", "all")
# What "following" and "all" change: appointments that have not started yet.
CHANGEABLE = frozenset({Appointment.Status.BOOKED, Appointment.Status.CONFIRMED})


# --- the rule and its plan -----------------------------------------------------------------------


@dataclass(frozen=True)
class RecurrenceRule:
    """Every `interval_weeks` weeks, `count` times in all or until a date (inclusive)."""

    interval_weeks: int = 1
    count: int | None = None
    until: dt.date | None = None


@dataclass(frozen=True)
class Occurrence:
    position: int  # 1 is the first appointment of the series
    starts_at: dt.datetime
    ends_at: dt.datetime


@dataclass(frozen=True)
class OccurrenceProblem:
    """Why one occurrence cannot be booked or changed as asked."""

    position: int | None
    starts_at: dt.datetime
    kind: str  # "conflict", "outside_hours" or "closure"
    message: str
    conflicting: Appointment | None = None
    appointment: Appointment | None = None  # the occurrence being changed, if it exists


class SeriesConflicts(Exception):
    """Some occurrences hit a booking, the hours or a closure: nothing was saved."""

    def __init__(self, problems: list[OccurrenceProblem]) -> None:
        self.problems = problems
        super().__init__(self.message)

    @property
    def message(self) -> str:
        count = len(self.problems)
        noun = "appointment" if count == 1 else "appointments"
        return f"{count} {noun} of the series cannot be booked as asked; nothing was saved."


@dataclass
class SeriesBooking:
    series: AppointmentSeries
    appointments: list[Appointment]
    skipped: list[OccurrenceProblem] = field(default_factory=list)


def recurrence_check(rule: RecurrenceRule, *, first_day: dt.date) -> None:
    """Field errors for a rule that is not weekly every 1-52 weeks with one end."""
    errors: dict[str, str] = {}
    interval = rule.interval_weeks
    if not isinstance(interval, int) or not MIN_INTERVAL_WEEKS <= interval <= MAX_INTERVAL_WEEKS:
        errors["interval_weeks"] = (
            f"Repeat every {MIN_INTERVAL_WEEKS} to {MAX_INTERVAL_WEEKS} weeks."
        )
    if rule.count is None and rule.until is None:
        errors["count"] = "Say how many times, or until which date."
    elif rule.count is not None and rule.until is not None:
        errors["until"] = "Give a number of times or an end date, not both."
    elif rule.count is not None and not MIN_COUNT <= rule.count <= MAX_COUNT:
        errors["count"] = f"Between {MIN_COUNT} and {MAX_COUNT} times."
    elif rule.until is not None and "interval_weeks" not in errors:
        errors.update(_until_errors(rule, rule.until, first_day))
    if errors:
        raise ValidationError(errors, code="invalid_recurrence")


def _until_errors(rule: RecurrenceRule, until: dt.date, first_day: dt.date) -> dict[str, str]:
    if until <= first_day:
        return {"until": "The end date must be after the first appointment."}
    occurrences = (until - first_day).days // (7 * rule.interval_weeks) + 1
    if occurrences < MIN_COUNT:
        return {"until": "Only the first appointment falls before that date; choose a later one."}
    if occurrences > MAX_COUNT:
        return {
            "until": f"A series has at most {MAX_COUNT} appointments; choose an earlier end date."
        }
    return {}


def _occurrence_days(first_day: dt.date, rule: RecurrenceRule) -> list[dt.date]:
    step = dt.timedelta(weeks=rule.interval_weeks)
    if rule.count is not None:
        return [first_day + step * n for n in range(rule.count)]
    days: list[dt.date] = []
    day = first_day
    while rule.until is not None and day <= rule.until:
        days.append(day)
        day += step
    return days


def series_plan(
    *, starts_at: dt.datetime, duration: dt.timedelta, rule: RecurrenceRule
) -> list[Occurrence]:
    """Every occurrence of the rule, the first at `starts_at`, all at its local time of day.

    A local time that does not exist on some date (the skipped hour in spring) is a field
    error naming the date, like a single booking at that time.
    """
    if starts_at.tzinfo is None:
        raise ValidationError({"starts_at": "Times need a time zone."}, code="naive")
    zone = clinic_zone()
    first = starts_at.astimezone(zone)
    recurrence_check(rule, first_day=first.date())
    wall_time = first.time().replace(tzinfo=None)
    plan: list[Occurrence] = []
    for position, day in enumerate(_occurrence_days(first.date(), rule), start=1):
        start = local_datetime(day, wall_time, zone=zone) if position > 1 else starts_at
        # The length in real time (UTC): on the wall clock an occurrence that spans the
        # autumn change would last an hour longer.
        ends_at = start.astimezone(dt.UTC) + duration
        plan.append(Occurrence(position=position, starts_at=start, ends_at=ends_at))
    return plan


# --- conflicts, before anything is saved ---------------------------------------------------------


def _span(occurrences: list[Occurrence], buffer: dt.timedelta) -> Range[dt.datetime]:
    return Range(occurrences[0].starts_at, occurrences[-1].ends_at + buffer, "[)")


def _holders(
    booking: BookingRequest, occurrences: list[Occurrence], exclude_ids: set[int]
) -> tuple[list[Appointment], list[int]]:
    """Live, not-overbooked appointments of the practitioner or the candidate rooms over
    the whole series, in one query; and the candidate room ids."""
    appointment_type = booking.appointment_type
    if booking.room is not None:
        room_ids = [booking.room.pk]
    else:
        room_ids = list(
            appointment_type.rooms.filter(is_active=True)
            .order_by("name", "id")
            .values_list("pk", flat=True)
        )
    span = _span(occurrences, appointment_type.buffer)
    queryset = (
        appointments_with_related()
        .exclude(status__in=FREED_STATUSES)
        .filter(is_overbooked=False, occupied__overlap=span)
        .exclude(pk__in=exclude_ids)
    )
    queryset = queryset.filter(Q(practitioner=booking.practitioner) | Q(room_id__in=room_ids))
    return list(queryset.order_by("during")), room_ids


def _overlaps(appointment: Appointment, starts: dt.datetime, ends: dt.datetime) -> bool:
    occupied = appointment.occupied
    return bool(occupied.lower < ends and starts < occupied.upper)


def _conflict_of(
    occurrence: Occurrence,
    booking: BookingRequest,
    holders: list[Appointment],
    room_ids: list[int],
) -> tuple[Appointment, str] | None:
    """Who holds the practitioner, or every candidate room, during this occurrence."""
    ends = occurrence.ends_at + booking.appointment_type.buffer
    overlapping = [a for a in holders if _overlaps(a, occurrence.starts_at, ends)]
    for appointment in overlapping:
        if appointment.practitioner_id == booking.practitioner.pk:
            return appointment, "practitioner"
    if not room_ids:
        return None
    busy = {a.room_id: a for a in overlapping if a.room_id in room_ids}
    if len(busy) < len(room_ids):
        return None
    return busy[room_ids[0]], "room"


def _closures_between(occurrences: list[Occurrence]) -> list[ClinicClosure]:
    zone = clinic_zone()
    first = occurrences[0].starts_at.astimezone(zone).date()
    last = occurrences[-1].ends_at.astimezone(zone).date()
    return list(ClinicClosure.objects.filter(starts_on__lte=last, ends_on__gte=first))


def _closure_on(closures: list[ClinicClosure], occurrence: Occurrence) -> ClinicClosure | None:
    zone = clinic_zone()
    day = occurrence.starts_at.astimezone(zone).date()
    return next((c for c in closures if c.starts_on <= day <= c.ends_on), None)


def series_conflicts(
    *,
    actor: User | None,
    booking: BookingRequest,
    occurrences: list[Occurrence],
    exclude_ids: Iterable[int] = (),
) -> list[OccurrenceProblem]:
    """For each occurrence that cannot be booked: the closure, the hours, or who is booked.

    Read-only; the database still decides when the series is booked (two people may book
    the same week between the preview and the confirmation).
    """
    if not occurrences:
        return []
    may_override = actor_may(actor, Capability.CALENDAR_OVERRIDE)
    excluded = set(exclude_ids)
    holders, room_ids = _holders(booking, occurrences, excluded)
    closures = _closures_between(occurrences)
    problems: list[OccurrenceProblem] = []
    for occurrence in occurrences:
        problem = _problem_of(
            occurrence,
            booking=booking,
            holders=holders,
            room_ids=room_ids,
            closures=closures,
            hours_waived=booking.allow_outside_hours and may_override,
            overbook=booking.overbook and may_override,
        )
        if problem is not None:
            problems.append(problem)
    return problems


def _problem_of(
    occurrence: Occurrence,
    *,
    booking: BookingRequest,
    holders: list[Appointment],
    room_ids: list[int],
    closures: list[ClinicClosure],
    hours_waived: bool,
    overbook: bool,
) -> OccurrenceProblem | None:
    # A closure stops a series even for roles that may book outside hours: a recurring
    # visit on a bank holiday is a mistake; book that one day on its own if it is not.
    closure = _closure_on(closures, occurrence)
    if closure is not None:
        return OccurrenceProblem(
            position=occurrence.position,
            starts_at=occurrence.starts_at,
            kind="closure",
            message=f"The clinic is closed that day ({closure.reason}).",
        )
    if not hours_waived and not within_working_hours(
        practitioner=booking.practitioner,
        starts=occurrence.starts_at,
        ends=occurrence.ends_at,
        zone=clinic_zone(),
    ):
        return OccurrenceProblem(
            position=occurrence.position,
            starts_at=occurrence.starts_at,
            kind="outside_hours",
            message=(
                f"{booking.practitioner.display_name} is not working then "
                "(outside hours, a break or leave)."
            ),
        )
    if overbook:
        return None
    found = _conflict_of(occurrence, booking, holders, room_ids)
    if found is None:
        return None
    conflicting, resource = found
    return OccurrenceProblem(
        position=occurrence.position,
        starts_at=occurrence.starts_at,
        kind="conflict",
        message=AppointmentConflict(conflicting=conflicting, resource=resource).message,
        conflicting=conflicting,
    )


# --- booking a series ----------------------------------------------------------------------------


def _booking_checked(*, actor: User | None, booking: BookingRequest) -> dt.timedelta:
    """The single-booking checks once for the whole series; returns the length."""
    starts_at = as_utc(booking.starts_at)
    ends_at = (
        as_utc(booking.ends_at, field="ends_at")
        if booking.ends_at is not None
        else starts_at + booking.appointment_type.default_duration
    )
    booking_times_check(starts_at, ends_at)
    booking_parties_check(booking)
    if booking.overbook and not actor_may(actor, Capability.CALENDAR_OVERRIDE):
        raise ValidationError(
            {"overbook": "Your role cannot overbook; choose a free time."}, code="not_allowed"
        )
    return ends_at - starts_at


def series_preview(
    *,
    actor: User | None,
    booking: BookingRequest,
    rule: RecurrenceRule,
    existing: Appointment | None = None,
) -> tuple[list[Occurrence], list[OccurrenceProblem]]:
    """The planned occurrences and their problems, without saving anything."""
    duration = _booking_checked(actor=actor, booking=booking)
    plan = series_plan(starts_at=booking.starts_at, duration=duration, rule=rule)
    to_check = plan[1:] if existing is not None else plan
    exclude = [existing.pk] if existing is not None else []
    problems = series_conflicts(
        actor=actor, booking=booking, occurrences=to_check, exclude_ids=exclude
    )
    return plan, problems


def series_book(
    *,
    actor: User | None,
    booking: BookingRequest,
    rule: RecurrenceRule,
    skip_conflicts: bool = False,
) -> SeriesBooking:
    """Book every occurrence in one transaction (SeriesConflicts and nothing saved if any
    cannot be booked), or with `skip_conflicts` only the free ones (listed in `skipped`)."""
    return _book(actor=actor, booking=booking, rule=rule, skip_conflicts=skip_conflicts)


def series_repeat(
    *,
    actor: User | None,
    appointment: Appointment,
    rule: RecurrenceRule,
    skip_conflicts: bool = False,
) -> SeriesBooking:
    """Make a booked appointment the first of a series and book the rest like it."""
    if appointment.series_id is not None:
        raise ValidationError(
            {"appointment": "This appointment is already part of a series."}, code="in_series"
        )
    if appointment.status not in CHANGEABLE:
        raise ValidationError(
            {"appointment": "Only a booked or confirmed appointment can be repeated."},
            code="not_repeatable",
        )
    booking = BookingRequest(
        patient=appointment.patient,
        practitioner=appointment.practitioner,
        appointment_type=appointment.appointment_type,
        starts_at=appointment.starts_at,
        ends_at=appointment.ends_at,
        front_desk_notes=appointment.front_desk_notes,
        # What was allowed for the first is asked again for the rest (and needs the role).
        allow_outside_hours=appointment.outside_hours,
    )
    return _book(
        actor=actor, booking=booking, rule=rule, skip_conflicts=skip_conflicts, existing=appointment
    )


def _book(
    *,
    actor: User | None,
    booking: BookingRequest,
    rule: RecurrenceRule,
    skip_conflicts: bool,
    existing: Appointment | None = None,
) -> SeriesBooking:
    plan, problems = series_preview(actor=actor, booking=booking, rule=rule, existing=existing)
    if problems and not skip_conflicts:
        raise SeriesConflicts(problems)
    blocked = {problem.position for problem in problems}
    to_book = [o for o in plan if o.position not in blocked and not (existing and o.position == 1)]
    if not to_book:
        raise SeriesConflicts(problems)
    with transaction.atomic():
        series = AppointmentSeries.objects.create(
            interval_weeks=rule.interval_weeks,
            count=rule.count,
            until=rule.until,
            created_by_id=getattr(actor, "pk", None),
        )
        booked = [_join(existing, series)] if existing is not None else []
        for occurrence in to_book:
            booked.append(_book_occurrence(actor, booking, occurrence, series))
        audit_record(
            actor=actor,
            action="appointment_series.booked",
            target=series,
            details={
                "patient_id": booking.patient.pk,
                "practitioner_id": booking.practitioner.pk,
                "booked": len(booked),
                "skipped": len(problems),
                "interval_weeks": rule.interval_weeks,
            },
        )
    return SeriesBooking(series=series, appointments=booked, skipped=problems)


def _join(appointment: Appointment, series: AppointmentSeries) -> Appointment:
    locked = Appointment.objects.select_for_update(of=("self",)).get(pk=appointment.pk)
    if locked.series_id is not None:
        raise ValidationError(
            {"appointment": "This appointment is already part of a series."}, code="in_series"
        )
    locked.series, locked.series_position = series, 1
    locked.save(update_fields=["series", "series_position", "updated_at"])
    return locked


def _book_occurrence(
    actor: User | None,
    booking: BookingRequest,
    occurrence: Occurrence,
    series: AppointmentSeries,
) -> Appointment:
    """One occurrence through appointment_book; a race lost since the preview aborts all."""
    one = dataclasses.replace(booking, starts_at=occurrence.starts_at, ends_at=occurrence.ends_at)
    try:
        return appointment_book(
            actor=actor, booking=one, series=series, series_position=occurrence.position
        )
    except AppointmentConflict as conflict:
        raise SeriesConflicts(
            [
                OccurrenceProblem(
                    position=occurrence.position,
                    starts_at=occurrence.starts_at,
                    kind="conflict",
                    message=conflict.message,
                    conflicting=conflict.conflicting,
                )
            ]
        ) from None


# --- changing a series ---------------------------------------------------------------------------


def _scope_check(appointment: Appointment, scope: str) -> None:
    if scope not in SCOPES:
        raise ValidationError({"scope": "Choose this, following or all."}, code="invalid")
    if scope != "this" and appointment.series_id is None:
        raise ValidationError(
            {"scope": "This appointment is not part of a series."}, code="not_in_series"
        )


def series_targets(*, appointment: Appointment, scope: str) -> list[Appointment]:
    """The appointments a change with `scope` touches, in order."""
    _scope_check(appointment, scope)
    if scope == "this":
        return [appointment]
    queryset = appointments_with_related().filter(
        series_id=appointment.series_id, status__in=CHANGEABLE
    )
    if scope == "following":
        queryset = queryset.filter(series_position__gte=appointment.series_position or 0)
    return list(queryset.order_by("during", "id"))


def _shifted_start(
    target: Appointment, anchor_old: dt.datetime, anchor_new: dt.datetime
) -> dt.datetime:
    """The target moved like the anchor on the wall clock: same days later or earlier, at
    the anchor's new local time of day (so DST never shifts it off its hour)."""
    zone = clinic_zone()
    old_local, new_local = anchor_old.astimezone(zone), anchor_new.astimezone(zone)
    day = target.starts_at.astimezone(zone).date() + (new_local.date() - old_local.date())
    return local_datetime(day, new_local.time().replace(tzinfo=None), zone=zone)


def _problem_from(
    target: Appointment, starts_at: dt.datetime, error: Exception
) -> OccurrenceProblem:
    if isinstance(error, AppointmentConflict):
        return OccurrenceProblem(
            position=target.series_position,
            starts_at=starts_at,
            kind="conflict",
            message=error.message,
            conflicting=error.conflicting,
            appointment=target,
        )
    return OccurrenceProblem(
        position=target.series_position,
        starts_at=starts_at,
        kind="outside_hours",
        message=" ".join(getattr(error, "messages", [str(error)])),
        appointment=target,
    )


def series_reschedule(
    *,
    actor: User | None,
    appointment: Appointment,
    scope: str,
    starts_at: dt.datetime,
    practitioner: Practitioner | None = None,
    allow_outside_hours: bool = False,
) -> list[Appointment]:
    """Move one occurrence, or shift this and the following (or all) the same way.

    `starts_at` is this appointment's new start; the others move by as many days and to
    the same local time of day. Each keeps its length. SeriesConflicts (nothing saved)
    lists every occurrence that would hit a booking or fall outside the hours.
    """
    targets = series_targets(appointment=appointment, scope=scope)
    if scope != "this" and appointment.pk not in {t.pk for t in targets}:
        raise ValidationError(
            {"scope": "This appointment has started or ended; change the others from a later one."},
            code="not_movable",
        )
    later = starts_at > appointment.starts_at
    # Moving later, the last goes first (and earlier, the first), so the series never
    # collides with its own not-yet-moved occurrences.
    targets.sort(key=lambda t: t.starts_at, reverse=later)
    moved: list[Appointment] = []
    problems: list[OccurrenceProblem] = []
    with transaction.atomic():
        for target in targets:
            new_start = (
                starts_at
                if target.pk == appointment.pk
                else _shifted_start(target, appointment.starts_at, starts_at)
            )
            try:
                with transaction.atomic():
                    moved.append(
                        appointment_reschedule(
                            actor=actor,
                            appointment=target,
                            starts_at=new_start,
                            practitioner=practitioner,
                            allow_outside_hours=allow_outside_hours,
                        )
                    )
            except (AppointmentConflict, OutsideWorkingHours) as error:
                problems.append(_problem_from(target, new_start, error))
        if problems:
            problems.sort(key=lambda p: p.starts_at)
            raise SeriesConflicts(problems)
        _audit_change(actor, appointment, scope, "appointment_series.rescheduled", len(moved))
    moved.sort(key=lambda a: a.starts_at)
    return moved


def series_cancel(
    *, actor: User | None, appointment: Appointment, scope: str, reason: str
) -> list[Appointment]:
    """Cancel one occurrence, this and the following, or all that have not started."""
    targets = series_targets(appointment=appointment, scope=scope)
    if not targets:
        raise ValidationError(
            {"scope": "Nothing left to cancel: every appointment has started or ended."},
            code="nothing_to_cancel",
        )
    with transaction.atomic():
        cancelled = [
            appointment_cancel(actor=actor, appointment=target, reason=reason) for target in targets
        ]
        _audit_change(actor, appointment, scope, "appointment_series.cancelled", len(cancelled))
    return cancelled


def _audit_change(
    actor: User | None, appointment: Appointment, scope: str, action: str, changed: int
) -> None:
    if appointment.series_id is None:
        return  # a single appointment: its own service wrote the row
    audit_record(
        actor=actor,
        action=action,
        target_type="scheduling.appointmentseries",
        target_id=appointment.series_id,
        details={"scope": scope, "appointment_id": appointment.pk, "changed": changed},
    )


# --- reads ---------------------------------------------------------------------------------------


def get_series_for(*, series_id: object) -> AppointmentSeries:
    """The series with this id here, or the same 404 for junk, missing and other clinics'."""
    return get_or_404(AppointmentSeries.objects.all(), series_id, "series")


def series_appointments(*, series: AppointmentSeries) -> list[Appointment]:
    return list(
        appointments_with_related().filter(series=series).order_by("series_position", "during")
    )
