"""Reads of the calendar that pages, the API and the services share."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import Count, Q, QuerySet
from psycopg.types.range import Range

from drcrm.lookup import get_or_404
from tenant_apps.scheduling.clock import day_bounds
from tenant_apps.scheduling.models import (
    FREED_STATUSES,
    Appointment,
    AppointmentType,
    ClinicClosure,
    Practitioner,
    Room,
    ScheduleException,
    WorkingPeriod,
)

Interval = tuple[dt.datetime, dt.datetime]


def get_appointment_for(*, appointment_id: object) -> Appointment:
    return get_or_404(appointments_with_related(), appointment_id, "appointment")


def get_practitioner_for(*, practitioner_id: object) -> Practitioner:
    return get_or_404(Practitioner.objects.all(), practitioner_id, "practitioner")


def get_room_for(*, room_id: object) -> Room:
    return get_or_404(Room.objects.all(), room_id, "room")


def get_appointment_type_for(*, appointment_type_id: object) -> AppointmentType:
    return get_or_404(AppointmentType.objects.all(), appointment_type_id, "appointment type")


def appointments_with_related() -> QuerySet[Appointment]:
    return Appointment.objects.select_related(
        "patient", "practitioner", "room", "appointment_type", "series"
    )


def appointments_between(
    *,
    starts: dt.datetime,
    ends: dt.datetime,
    practitioner_ids: Iterable[int] | None = None,
    room_ids: Iterable[int] | None = None,
    patient_id: int | None = None,
    statuses: Iterable[str] | None = None,
) -> QuerySet[Appointment]:
    """Appointments overlapping [starts, ends), with what a calendar shows preloaded."""
    queryset = appointments_with_related().filter(during__overlap=Range(starts, ends, "[)"))
    if practitioner_ids is not None:
        queryset = queryset.filter(practitioner_id__in=list(practitioner_ids))
    if room_ids is not None:
        queryset = queryset.filter(room_id__in=list(room_ids))
    if patient_id is not None:
        queryset = queryset.filter(patient_id=patient_id)
    if statuses is not None:
        queryset = queryset.filter(status__in=list(statuses))
    return queryset.order_by("during", "id")


def live_appointments() -> QuerySet[Appointment]:
    return Appointment.objects.exclude(status__in=FREED_STATUSES)


def conflicting_appointment(
    *,
    practitioner_id: int,
    room_id: int | None,
    occupied: Range[dt.datetime],
    exclude_id: int | None = None,
) -> tuple[Appointment, str] | None:
    """The live, not-overbooked appointment that holds this practitioner or room at the
    time, and which of the two it holds ("practitioner" or "room")."""
    holders = Q(practitioner_id=practitioner_id)
    if room_id is not None:
        holders |= Q(room_id=room_id)
    queryset = (
        appointments_with_related()
        .exclude(status__in=FREED_STATUSES)
        .filter(holders, is_overbooked=False, occupied__overlap=occupied)
    )
    if exclude_id is not None:
        queryset = queryset.exclude(pk=exclude_id)
    found = queryset.order_by("during").first()
    if found is None:
        return None
    return found, ("practitioner" if found.practitioner_id == practitioner_id else "room")


# --- working hours ----------------------------------------------------------------------------


def closures_on(day: dt.date) -> list[ClinicClosure]:
    return list(ClinicClosure.objects.filter(starts_on__lte=day, ends_on__gte=day))


def working_intervals(
    *,
    practitioner: Practitioner,
    day: dt.date,
    zone: zoneinfo.ZoneInfo,
    periods: Iterable[WorkingPeriod] | None = None,
    exceptions: Iterable[ScheduleException] | None = None,
    closed: bool | None = None,
) -> list[Interval]:
    """When `practitioner` works on local `day`, as aware instants, breaks left out.

    The usual week's periods for that weekday, plus extra hours, minus leave; nothing on a
    clinic closure. Callers that walk many days pass the rows they already loaded.
    """
    if closed is None:
        closed = bool(closures_on(day))
    if closed:
        return []
    if periods is None:
        periods = practitioner.working_periods.filter(weekday=day.weekday())
    if exceptions is None:
        exceptions = practitioner.schedule_exceptions.filter(date=day)
    day_exceptions = [exception for exception in exceptions if exception.date == day]
    stretches = [
        (period.starts, period.ends) for period in periods if period.weekday == day.weekday()
    ]
    stretches += [
        (exception.starts, exception.ends)
        for exception in day_exceptions
        if exception.kind == ScheduleException.Kind.EXTRA_HOURS
        and exception.starts is not None
        and exception.ends is not None
    ]
    intervals = _merge([_instants(day, starts, ends, zone) for starts, ends in stretches])
    for exception in day_exceptions:
        if exception.kind != ScheduleException.Kind.LEAVE:
            continue
        if exception.starts is None or exception.ends is None:
            return []
        intervals = _subtract(intervals, _instants(day, exception.starts, exception.ends, zone))
    return intervals


def _instants(day: dt.date, starts: dt.time, ends: dt.time, zone: zoneinfo.ZoneInfo) -> Interval:
    # Working hours that fall in a skipped DST hour shrink by it rather than failing.
    start, end = day_bounds(day, zone=zone)
    return (
        max(start, dt.datetime.combine(day, starts, tzinfo=zone).astimezone(dt.UTC)),
        min(end, dt.datetime.combine(day, ends, tzinfo=zone).astimezone(dt.UTC)),
    )


def _merge(intervals: list[Interval]) -> list[Interval]:
    merged: list[Interval] = []
    for start, end in sorted(intervals):
        if end <= start:
            continue
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def _subtract(intervals: list[Interval], hole: Interval) -> list[Interval]:
    remaining: list[Interval] = []
    for start, end in intervals:
        if hole[1] <= start or end <= hole[0]:
            remaining.append((start, end))
            continue
        if start < hole[0]:
            remaining.append((start, hole[0]))
        if hole[1] < end:
            remaining.append((hole[1], end))
    return remaining


def within_working_hours(
    *, practitioner: Practitioner, starts: dt.datetime, ends: dt.datetime, zone: zoneinfo.ZoneInfo
) -> bool:
    """Whether [starts, ends) lies inside the practitioner's working time (an appointment
    may cross local midnight, so both days count)."""
    first_day = starts.astimezone(zone).date()
    last_day = (ends - dt.timedelta(microseconds=1)).astimezone(zone).date()
    intervals: list[Interval] = []
    day = first_day
    while day <= last_day:
        intervals += working_intervals(practitioner=practitioner, day=day, zone=zone)
        day += dt.timedelta(days=1)
    return any(start <= starts and ends <= end for start, end in _merge(intervals))


@dataclass(frozen=True)
class DaySummary:
    """A day at a glance for the dashboard: what is booked, who is here, what is done."""

    booked: int  # live appointments (booked, confirmed, here, in progress, completed)
    here: int  # arrived or in progress
    completed: int
    cancelled: int  # cancelled or no-show


def day_summary(*, day: dt.date, zone: zoneinfo.ZoneInfo) -> DaySummary:
    starts, ends = day_bounds(day, zone=zone)
    counts = Appointment.objects.filter(during__overlap=Range(starts, ends, "[)")).aggregate(
        booked=Count("pk", filter=~Q(status__in=FREED_STATUSES)),
        here=Count("pk", filter=Q(status__in=["arrived", "in_progress"])),
        completed=Count("pk", filter=Q(status="completed")),
        cancelled=Count("pk", filter=Q(status__in=FREED_STATUSES)),
    )
    return DaySummary(**counts)
