"""Finding time: the next free slots for an appointment type.

A slot is offered when
- the appointment itself lies inside the practitioner's working time (usual week, breaks,
  leave, extra hours, clinic closures: `selectors.working_intervals`);
- its `occupied` range (the slot plus the type's buffer) overlaps no live appointment of
  the practitioner; the buffer may run past the end of working time (tidying up after the
  last patient), never into another booking;
- if the type needs rooms, one of its active rooms is free for that range too (the slot
  says which, the first free one by name, as booking picks it).

Overbooked appointments count as busy here although the constraints exempt them: an
offered slot should be free in fact, not merely allowed. Every offered slot is therefore
bookable; the database still has the last word when two people take the same one.

Slot starts are aligned to the clinic's wall clock (minutes since local midnight divisible
by the step, so :00, :15, :30...) and walk in real time, so a DST day yields neither a
skipped local time nor a slot of the wrong length. Everything the walk needs is loaded up
front in a fixed number of queries, whatever the number of days.
"""

from __future__ import annotations

import bisect
import datetime as dt
import heapq
import itertools
import zoneinfo
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.utils import timezone
from psycopg.types.range import Range

from tenant_apps.scheduling.clock import clinic_zone, day_bounds
from tenant_apps.scheduling.models import (
    AppointmentType,
    ClinicClosure,
    Practitioner,
    Room,
    ScheduleException,
    WorkingPeriod,
)
from tenant_apps.scheduling.selectors import live_appointments, working_intervals

Interval = tuple[dt.datetime, dt.datetime]

MAX_DAYS = 62
MAX_LIMIT = 100
DEFAULT_STEP_MINUTES = 15


@dataclass(frozen=True)
class Slot:
    starts_at: dt.datetime
    ends_at: dt.datetime
    practitioner: Practitioner
    room: Room | None


@dataclass
class _Busy:
    """Disjoint, sorted busy intervals; `overlaps` is a binary search."""

    starts: list[dt.datetime] = field(default_factory=list)
    ends: list[dt.datetime] = field(default_factory=list)

    @classmethod
    def of(cls, intervals: Sequence[Interval]) -> _Busy:
        busy = cls()
        for start, end in sorted(intervals):
            if busy.ends and start <= busy.ends[-1]:
                busy.ends[-1] = max(busy.ends[-1], end)
            else:
                busy.starts.append(start)
                busy.ends.append(end)
        return busy

    def overlaps(self, start: dt.datetime, end: dt.datetime) -> bool:
        # The last busy interval starting before `end` is the only one that can overlap
        # [start, end): the intervals are disjoint and sorted.
        index = bisect.bisect_left(self.starts, end) - 1
        return index >= 0 and self.ends[index] > start


@dataclass
class _Window:
    """What the walk needs, loaded once for the whole window."""

    zone: zoneinfo.ZoneInfo
    first_day: dt.date
    last_day: dt.date
    periods: dict[int, list[WorkingPeriod]]
    exceptions: dict[int, list[ScheduleException]]
    closed_days: set[dt.date]
    practitioner_busy: dict[int, _Busy]
    rooms: list[Room]
    room_busy: dict[int, _Busy]

    def days(self) -> Iterator[dt.date]:
        day = self.first_day
        while day <= self.last_day:
            yield day
            day += dt.timedelta(days=1)


def next_available_slots(
    *,
    appointment_type: AppointmentType,
    practitioner: Practitioner | None = None,
    starts_from: dt.datetime,
    days: int = 14,
    limit: int = 10,
    step_minutes: int | None = None,
    exclude_appointment_id: int | None = None,
) -> list[Slot]:
    """The first `limit` free slots from `starts_from` (never in the past) over `days`
    local days, with `practitioner` or, if None, any active practitioner offering the type
    (merged in time order). `exclude_appointment_id` is an appointment being moved: its
    own time does not count as busy."""
    _check_arguments(appointment_type, practitioner, starts_from, days, limit, step_minutes)
    duration = appointment_type.default_duration
    step = dt.timedelta(
        minutes=step_minutes or min(DEFAULT_STEP_MINUTES, duration_minutes(duration))
    )
    earliest = _round_up_to_minute(max(starts_from, timezone.now()).astimezone(dt.UTC))
    practitioners = _candidates(appointment_type, practitioner)
    if not practitioners or limit == 0:
        return []
    window = _load_window(
        appointment_type=appointment_type,
        practitioners=practitioners,
        earliest=earliest,
        days=days,
        exclude_appointment_id=exclude_appointment_id,
    )
    walks = [
        _slots_of(
            practitioner=candidate,
            window=window,
            earliest=earliest,
            duration=duration,
            buffer=appointment_type.buffer,
            step=step,
        )
        for candidate in practitioners
    ]
    merged = heapq.merge(
        *walks,
        key=lambda slot: (slot.starts_at, slot.practitioner.display_name, slot.practitioner.pk),
    )
    return list(itertools.islice(merged, limit))


def duration_minutes(duration: dt.timedelta) -> int:
    return int(duration.total_seconds() // 60)


# --- checks and loading ----------------------------------------------------------------------


def _check_arguments(
    appointment_type: AppointmentType,
    practitioner: Practitioner | None,
    starts_from: dt.datetime,
    days: int,
    limit: int,
    step_minutes: int | None,
) -> None:
    errors: dict[str, str] = {}
    if starts_from.tzinfo is None:
        errors["from"] = "The start needs a time zone."
    if not 1 <= days <= MAX_DAYS:
        errors["days"] = f"Look between 1 and {MAX_DAYS} days ahead."
    if not 0 <= limit <= MAX_LIMIT:
        errors["limit"] = f"Ask for at most {MAX_LIMIT} slots."
    if step_minutes is not None and not 5 <= step_minutes <= 240:
        errors["step_minutes"] = "A step between 5 and 240 minutes."
    if not appointment_type.is_active:
        errors["appointment_type"] = "This appointment type is no longer offered."
    if practitioner is not None and "appointment_type" not in errors:
        if not practitioner.is_active:
            errors["practitioner"] = "This practitioner no longer takes bookings."
        elif not practitioner.appointment_types.filter(pk=appointment_type.pk).exists():
            errors["practitioner"] = (
                f"{practitioner.display_name} does not offer {appointment_type.name}."
            )
    if errors:
        raise ValidationError(errors, code="invalid")


def _round_up_to_minute(moment: dt.datetime) -> dt.datetime:
    whole = moment.replace(second=0, microsecond=0)
    return whole if whole == moment else whole + dt.timedelta(minutes=1)


def _candidates(
    appointment_type: AppointmentType, practitioner: Practitioner | None
) -> list[Practitioner]:
    if practitioner is not None:
        return [practitioner]  # checked by _check_arguments
    return list(
        Practitioner.objects.filter(is_active=True, appointment_types=appointment_type).order_by(
            "display_name", "id"
        )
    )


def _load_window(
    *,
    appointment_type: AppointmentType,
    practitioners: list[Practitioner],
    earliest: dt.datetime,
    days: int,
    exclude_appointment_id: int | None,
) -> _Window:
    zone = clinic_zone()
    first_day = earliest.astimezone(zone).date()
    last_day = first_day + dt.timedelta(days=days - 1)
    window_start = day_bounds(first_day, zone=zone)[0]
    # A slot ending at the last midnight still holds its buffer after it.
    window_end = day_bounds(last_day, zone=zone)[1] + appointment_type.buffer
    ids = [practitioner.pk for practitioner in practitioners]

    periods: dict[int, list[WorkingPeriod]] = defaultdict(list)
    for period in WorkingPeriod.objects.filter(practitioner_id__in=ids):
        periods[period.practitioner_id].append(period)
    exceptions: dict[int, list[ScheduleException]] = defaultdict(list)
    for exception in ScheduleException.objects.filter(
        practitioner_id__in=ids, date__range=(first_day, last_day)
    ):
        exceptions[exception.practitioner_id].append(exception)
    closed_days = _closed_days(first_day, last_day)
    # Only active rooms count, as when booking: a type whose rooms are all retired needs none.
    rooms = list(appointment_type.rooms.filter(is_active=True).order_by("name", "id"))

    holding = live_appointments().filter(occupied__overlap=Range(window_start, window_end, "[)"))
    if exclude_appointment_id is not None:
        holding = holding.exclude(pk=exclude_appointment_id)
    by_practitioner: dict[int, list[Interval]] = defaultdict(list)
    by_room: dict[int, list[Interval]] = defaultdict(list)
    room_ids = {room.pk for room in rooms}
    for practitioner_id, room_id, occupied in holding.values_list(
        "practitioner_id", "room_id", "occupied"
    ):
        interval = (occupied.lower, occupied.upper)
        if practitioner_id in ids:
            by_practitioner[practitioner_id].append(interval)
        if room_id in room_ids:
            by_room[room_id].append(interval)

    return _Window(
        zone=zone,
        first_day=first_day,
        last_day=last_day,
        periods=periods,
        exceptions=exceptions,
        closed_days=closed_days,
        practitioner_busy={pk: _Busy.of(by_practitioner[pk]) for pk in ids},
        rooms=rooms,
        room_busy={pk: _Busy.of(by_room[pk]) for pk in room_ids},
    )


def _closed_days(first_day: dt.date, last_day: dt.date) -> set[dt.date]:
    closed: set[dt.date] = set()
    for closure in ClinicClosure.objects.filter(starts_on__lte=last_day, ends_on__gte=first_day):
        day = max(closure.starts_on, first_day)
        while day <= min(closure.ends_on, last_day):
            closed.add(day)
            day += dt.timedelta(days=1)
    return closed


# --- the walk --------------------------------------------------------------------------------


def _working_time(practitioner: Practitioner, window: _Window) -> list[Interval]:
    """The practitioner's working intervals over the window, touching ones joined (work
    running past local midnight continues into the next day)."""
    intervals: list[Interval] = []
    for day in window.days():
        for local_start, local_end in working_intervals(
            practitioner=practitioner,
            day=day,
            zone=window.zone,
            periods=window.periods.get(practitioner.pk, []),
            exceptions=window.exceptions.get(practitioner.pk, []),
            closed=day in window.closed_days,
        ):
            # In UTC from here on: arithmetic and comparisons on datetimes sharing a zone
            # use the wall clock, which is wrong across a DST change.
            start, end = local_start.astimezone(dt.UTC), local_end.astimezone(dt.UTC)
            if intervals and start <= intervals[-1][1]:
                intervals[-1] = (intervals[-1][0], max(intervals[-1][1], end))
            else:
                intervals.append((start, end))
    return intervals


def _slots_of(
    *,
    practitioner: Practitioner,
    window: _Window,
    earliest: dt.datetime,
    duration: dt.timedelta,
    buffer: dt.timedelta,
    step: dt.timedelta,
) -> Iterator[Slot]:
    busy = window.practitioner_busy[practitioner.pk]
    for work_start, work_end in _working_time(practitioner, window):
        for start in _aligned_starts(
            max(work_start, earliest), work_end - duration, step, window.zone
        ):
            end = start + duration
            held_until = end + buffer
            if busy.overlaps(start, held_until):
                continue
            room = _free_room(window, start, held_until)
            if window.rooms and room is None:
                continue
            yield Slot(
                starts_at=start.astimezone(window.zone),
                ends_at=end.astimezone(window.zone),
                practitioner=practitioner,
                room=room,
            )


def _free_room(window: _Window, start: dt.datetime, end: dt.datetime) -> Room | None:
    for room in window.rooms:
        if not window.room_busy[room.pk].overlaps(start, end):
            return room
    return None


def _aligned_starts(
    first: dt.datetime, last: dt.datetime, step: dt.timedelta, zone: zoneinfo.ZoneInfo
) -> Iterator[dt.datetime]:
    """UTC instants in [first, last] whose local wall-clock minute of the day is a multiple
    of `step`, in real-time order.

    Walking in real time never produces a skipped local time and yields both passes of a
    repeated hour; after a change of UTC offset the walk re-aligns to the wall clock.
    """
    step_minutes = duration_minutes(step)
    moment = _next_aligned(_round_up_to_minute(first.astimezone(dt.UTC)), step_minutes, zone)
    last = last.astimezone(dt.UTC)
    while moment <= last:
        yield moment
        moment = _next_aligned(moment + step, step_minutes, zone)


def _next_aligned(moment: dt.datetime, step_minutes: int, zone: zoneinfo.ZoneInfo) -> dt.datetime:
    local = moment.astimezone(zone)
    minute_of_day = local.hour * 60 + local.minute
    return moment + dt.timedelta(minutes=-minute_of_day % step_minutes)
