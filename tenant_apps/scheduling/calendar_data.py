"""What the calendar pages show: columns of positioned appointment blocks on a time axis,
with the time nobody works shaded.

Positions are real elapsed minutes from a column's first instant, not differences of
wall-clock times, so a 23- or 25-hour day (a daylight-saving change) lays out right: the
repeated hour is drawn twice, the skipped one not at all, and a block's height is always
its true length. Hour marks are labelled with the local time of each instant.

A busy week must cost no more queries than a quiet one, and little more time (see
bench/bench_calendar_week.py): blocks are read as plain rows (no model instances) and
their HTML is built here with escaping, not by the template engine per block.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from html import escape as html_escape
from typing import NamedTuple

from django.core.exceptions import ValidationError
from django.db.models import FloatField, Func
from django.urls import reverse
from django.utils.safestring import SafeString, mark_safe

from tenant_apps.scheduling.clock import day_bounds
from tenant_apps.scheduling.models import (
    Appointment,
    AppointmentType,
    ClinicClosure,
    Practitioner,
    Room,
    ScheduleException,
    WorkingPeriod,
)
from tenant_apps.scheduling.selectors import Interval, appointments_between, working_intervals

DEFAULT_HOURS = (8 * 60, 18 * 60)  # 08:00-18:00 when nobody works that day
MINUTES_PER_DAY = 24 * 60
EARLIEST_DAY = dt.date(1900, 1, 1)
LATEST_DAY = dt.date(2999, 12, 31)
# Statuses a block can still be dragged from (the service refuses the others anyway).
MOVABLE = frozenset({"booked", "confirmed", "arrived", "in_progress"})


class Row(NamedTuple):
    """One appointment as the grid needs it."""

    id: int
    starts: dt.datetime
    ends: dt.datetime
    status: str
    is_overbooked: bool
    practitioner_id: int
    room_id: int | None
    appointment_type_id: int
    first_name: str
    last_name: str


ROW_FIELDS = (
    "id",
    "starts_epoch",
    "ends_epoch",
    "status",
    "is_overbooked",
    "practitioner_id",
    "room_id",
    "appointment_type_id",
    "patient__first_name",
    "patient__last_name",
)


class _StartEpoch(Func):
    """A range's lower bound as seconds since the epoch (float8). Read that way a busy
    week costs much less: psycopg parses a float in C, while a tstzrange or a timestamptz
    goes through Python parsers."""

    template = "EXTRACT(EPOCH FROM LOWER(%(expressions)s))::float8"
    output_field = FloatField()


class _EndEpoch(_StartEpoch):
    template = "EXTRACT(EPOCH FROM UPPER(%(expressions)s))::float8"


@dataclass(frozen=True)
class Mark:
    top: float  # minutes from the column's first instant
    label: str


@dataclass(frozen=True)
class Shade:
    top: float
    height: float
    label: str


@dataclass
class Column:
    key: str
    title: str
    day: dt.date
    starts: dt.datetime  # the axis's first instant (aware)
    minutes: float
    colour: str = ""
    practitioner_id: int | None = None
    room_id: int | None = None
    marks: list[Mark] = field(default_factory=list)
    shades: list[Shade] = field(default_factory=list)
    blocks_html: SafeString = field(default_factory=lambda: mark_safe(""))
    count: int = 0
    is_today: bool = False
    now_top: float | None = None

    @property
    def starts_ms(self) -> int:
        """The axis's first instant for the page's script (milliseconds since the epoch)."""
        return int(self.starts.timestamp() * 1000)


@dataclass
class Grid:
    columns: list[Column]
    zone: zoneinfo.ZoneInfo
    # The gutter's hour labels (the first column's: on a DST day a column may differ).
    marks: list[Mark] = field(default_factory=list)
    minutes: float = 0.0
    hidden: int = 0  # appointments this view has no column for (no room, in room view)


# --- dates ----------------------------------------------------------------------------------


def parse_day(raw: str | None, *, default: dt.date, field_name: str = "date") -> dt.date:
    """A `YYYY-MM-DD` date from the query string; `default` if absent."""
    if not raw:
        return default
    try:
        day = dt.date.fromisoformat(raw.strip())
    except ValueError:
        raise ValidationError({field_name: "Use a date like 2031-03-03."}, code="invalid") from None
    if not EARLIEST_DAY <= day <= LATEST_DAY:
        raise ValidationError({field_name: "Choose a date between 1900 and 2999."}, code="range")
    return day


def week_of(day: dt.date) -> list[dt.date]:
    monday = day - dt.timedelta(days=day.weekday())
    return [monday + dt.timedelta(days=n) for n in range(7)]


# --- the clock: wall-clock minutes and instants ---------------------------------------------


def _clock(moment: dt.datetime, day: dt.date, zone: zoneinfo.ZoneInfo) -> int:
    """Minutes after local midnight of `day` on the wall clock (clamped to the day)."""
    local = moment.astimezone(zone)
    if local.date() < day:
        return 0
    if local.date() > day:
        return MINUTES_PER_DAY
    return local.hour * 60 + local.minute


def _instant(day: dt.date, minutes: int, zone: zoneinfo.ZoneInfo) -> dt.datetime:
    """The instant `day` shows `minutes` after midnight (a skipped time maps past the gap)."""
    day_start, day_end = day_bounds(day, zone=zone)
    if minutes >= MINUTES_PER_DAY:
        return day_end.astimezone(dt.UTC)
    local = dt.datetime.combine(day, dt.time(minutes // 60, minutes % 60), tzinfo=zone)
    return min(max(local.astimezone(dt.UTC), day_start.astimezone(dt.UTC)), day_end)


def _window(
    day: dt.date, zone: zoneinfo.ZoneInfo, working: Iterable[Interval], busy: Iterable[Interval]
) -> tuple[int, int]:
    """Wall-clock minutes the axis spans on `day`: working time (else the default day),
    stretched to fit every appointment, on whole hours."""
    starts: list[int] = []
    ends: list[int] = []
    for start, end in working:
        starts.append(_clock(start, day, zone))
        ends.append(_clock(end, day, zone))
    if not starts:
        starts, ends = [DEFAULT_HOURS[0]], [DEFAULT_HOURS[1]]
    for start, end in busy:
        starts.append(_clock(start, day, zone))
        ends.append(_clock(end, day, zone))
    low = min(starts) // 60 * 60
    high = min(MINUTES_PER_DAY, -(-max(ends) // 60) * 60)
    return low, max(high, low + 60)


def _merge_windows(windows: Iterable[tuple[int, int]]) -> tuple[int, int]:
    found = list(windows)
    if not found:
        return DEFAULT_HOURS
    return min(low for low, _ in found), max(high for _, high in found)


def _minutes_between(start: dt.datetime, end: dt.datetime) -> float:
    return (end - start).total_seconds() / 60


def _hour_marks(start: dt.datetime, end: dt.datetime, zone: zoneinfo.ZoneInfo) -> list[Mark]:
    marks = []
    moment = start
    while moment < end:
        marks.append(Mark(_minutes_between(start, moment), f"{moment.astimezone(zone):%H:%M}"))
        moment += dt.timedelta(hours=1)
    return marks


def _shades(
    start: dt.datetime, end: dt.datetime, working: Sequence[Interval], label: str
) -> list[Shade]:
    """The parts of [start, end) outside `working` (sorted, merged intervals)."""
    shades = []
    cursor = start
    for work_start, work_end in working:
        if work_end <= cursor:
            continue
        if work_start >= end:
            break
        if work_start > cursor:
            shades.append(
                Shade(_minutes_between(start, cursor), _minutes_between(cursor, work_start), label)
            )
        cursor = max(cursor, work_end)
    if cursor < end:
        shades.append(Shade(_minutes_between(start, cursor), _minutes_between(cursor, end), label))
    return shades


# --- blocks ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class TypeLook:
    """An appointment type as blocks show it, already escaped for HTML."""

    name: str
    colour: str


def _lanes(rows: Sequence[Row]) -> dict[int, tuple[int, int]]:
    """Side-by-side lanes for overlapping appointments (overbooks, no-shows):
    id -> (lane, lanes in its cluster). `rows` are sorted by start."""
    placed: dict[int, tuple[int, int]] = {}
    cluster: list[tuple[int, int]] = []  # (id, lane)
    lane_ends: list[dt.datetime] = []
    cluster_end: dt.datetime | None = None

    def close() -> None:
        for row_id, lane in cluster:
            placed[row_id] = (lane, len(lane_ends))

    for row in rows:
        if cluster_end is not None and row.starts >= cluster_end:
            close()
            cluster, lane_ends, cluster_end = [], [], None
        for lane, lane_end in enumerate(lane_ends):
            if lane_end <= row.starts:
                lane_ends[lane] = row.ends
                break
        else:
            lane = len(lane_ends)
            lane_ends.append(row.ends)
        cluster.append((row.id, lane))
        cluster_end = row.ends if cluster_end is None else max(cluster_end, row.ends)
    close()
    return placed


def _hhmm(moment: dt.datetime) -> str:
    return f"{moment.hour:02d}:{moment.minute:02d}"


def _blocks_html(
    rows: Sequence[Row],
    *,
    column_start: dt.datetime,
    column_end: dt.datetime,
    zone: zoneinfo.ZoneInfo,
    types: dict[int, TypeLook],
    can_move: bool,
    url_prefix: str,
) -> SafeString:
    """The column's appointment blocks as HTML: an f-string per block, every text escaped
    (the template engine cost more per block than the database did)."""
    lanes = _lanes(rows)
    status_labels = {value: html_escape(label) for value, label in Appointment.Status.choices}
    unknown = TypeLook("", "#64748b")
    parts = []
    for row in rows:
        starts, ends = max(row.starts, column_start), min(row.ends, column_end)
        if ends <= starts:
            continue
        lane, lanes_here = lanes[row.id]
        look = types.get(row.appointment_type_id, unknown)
        local_start = _hhmm(row.starts.astimezone(zone))
        local_end = _hhmm(row.ends.astimezone(zone))
        who = html_escape(f"{row.first_name} {row.last_name}")
        top = (starts - column_start).total_seconds() / 60
        height = max((ends - starts).total_seconds() / 60, 5.0)
        length = (row.ends - row.starts).total_seconds() / 60
        extra = " cal-overbooked" if row.is_overbooked else ""
        movable = " data-movable" if can_move and row.status in MOVABLE else ""
        title = f"{local_start}-{local_end} {who} · {look.name} · {status_labels[row.status]}"
        parts.append(
            f'<a class="cal-block st-{row.status}{extra}" href="{url_prefix}{row.id}/" '
            f'data-id="{row.id}" data-testid="appt-{row.id}" '
            f'data-start="{int(row.starts.timestamp() * 1000)}" data-length="{length:.0f}" '
            f'draggable="false"{movable} title="{title}" '
            f'style="top:calc({top:.2f} * var(--ppm));height:calc({height:.2f} * var(--ppm));'
            f"left:{100 * lane / lanes_here:.3f}%;width:{100 / lanes_here:.3f}%;"
            f'--type:{look.colour}">'
            f'<span class="cal-time">{local_start}</span> <span class="cal-who">{who}</span> '
            f'<span class="cal-what">{look.name}</span></a>'
        )
    return mark_safe("".join(parts))  # noqa: S308 (every value above is escaped or ours)


# --- loading --------------------------------------------------------------------------------


def calendar_rows(
    *,
    starts: dt.datetime,
    ends: dt.datetime,
    practitioner_ids: Iterable[int] | None = None,
) -> list[Row]:
    """Appointments (cancelled left out: they hold no time) as plain rows, one query."""
    queryset = (
        appointments_between(starts=starts, ends=ends, practitioner_ids=practitioner_ids)
        .exclude(status=Appointment.Status.CANCELLED)
        .annotate(starts_epoch=_StartEpoch("during"), ends_epoch=_EndEpoch("during"))
        .values_list(*ROW_FIELDS)
    )
    # In UTC: Python subtracts and compares two times of one zone by their wall clocks,
    # which is wrong across a DST change.
    instant = dt.datetime.fromtimestamp
    return [
        Row(pk, instant(start, dt.UTC), instant(end, dt.UTC), *rest)
        for pk, start, end, *rest in queryset
    ]


def type_looks() -> dict[int, TypeLook]:
    return {
        pk: TypeLook(html_escape(name), html_escape(colour))
        for pk, name, colour in AppointmentType.objects.values_list("id", "name", "colour")
    }


def _url_prefix() -> str:
    # The detail page's URL differs from /calendar/appointments/<id>/ only in the id.
    return reverse("calendar-appointment", args=[1]).removesuffix("1/")


@dataclass(frozen=True)
class Hours:
    """Working-time rows for some practitioners and dates, loaded once."""

    periods: list[WorkingPeriod]
    exceptions: list[ScheduleException]
    closures: list[ClinicClosure]

    @classmethod
    def load(cls, *, practitioner_ids: list[int], first: dt.date, last: dt.date) -> Hours:
        return cls(
            periods=list(WorkingPeriod.objects.filter(practitioner_id__in=practitioner_ids)),
            exceptions=list(
                ScheduleException.objects.filter(
                    practitioner_id__in=practitioner_ids, date__range=(first, last)
                )
            ),
            closures=list(ClinicClosure.objects.filter(starts_on__lte=last, ends_on__gte=first)),
        )

    def closure_on(self, day: dt.date) -> ClinicClosure | None:
        return next((c for c in self.closures if c.starts_on <= day <= c.ends_on), None)

    def working(
        self, practitioner: Practitioner, day: dt.date, zone: zoneinfo.ZoneInfo
    ) -> list[Interval]:
        return working_intervals(
            practitioner=practitioner,
            day=day,
            zone=zone,
            periods=[p for p in self.periods if p.practitioner_id == practitioner.pk],
            exceptions=[e for e in self.exceptions if e.practitioner_id == practitioner.pk],
            closed=self.closure_on(day) is not None,
        )


def _off_label(hours: Hours, practitioner: Practitioner | None, day: dt.date) -> str:
    closure = hours.closure_on(day)
    if closure is not None:
        return f"Closed: {closure.reason}"
    if practitioner is not None and any(
        e.practitioner_id == practitioner.pk
        and e.date == day
        and e.kind == ScheduleException.Kind.LEAVE
        and e.starts is None
        for e in hours.exceptions
    ):
        return "On leave"
    return "Not working"


def _now_top(column: Column, now: dt.datetime) -> float | None:
    offset = _minutes_between(column.starts, now)
    return offset if column.is_today and 0 <= offset <= column.minutes else None


def _finish(
    column: Column,
    *,
    end: dt.datetime,
    rows: list[Row],
    working: list[Interval] | None,
    off_label: str,
    zone: zoneinfo.ZoneInfo,
    types: dict[int, TypeLook],
    can_move: bool,
    now: dt.datetime,
    url_prefix: str,
) -> Column:
    column.marks = _hour_marks(column.starts, end, zone)
    if working is not None:
        column.shades = _shades(column.starts, end, working, off_label)
    column.blocks_html = _blocks_html(
        rows,
        column_start=column.starts,
        column_end=end,
        zone=zone,
        types=types,
        can_move=can_move,
        url_prefix=url_prefix,
    )
    column.count = len(rows)
    column.now_top = _now_top(column, now)
    return column


def day_grid(
    *,
    day: dt.date,
    by: str,
    zone: zoneinfo.ZoneInfo,
    now: dt.datetime,
    can_move: bool,
) -> Grid:
    """One column per active practitioner (by="practitioner") or room (by="room")."""
    day_start, day_end = day_bounds(day, zone=zone)
    rows = calendar_rows(starts=day_start, ends=day_end)
    types = type_looks()
    is_today = now.astimezone(zone).date() == day
    if by == "room":
        resources: list[Practitioner] | list[Room] = list(Room.objects.filter(is_active=True))
        hours = Hours(periods=[], exceptions=[], closures=list(_closures_on(day)))
    else:
        resources = list(Practitioner.objects.filter(is_active=True))
        hours = Hours.load(practitioner_ids=[p.pk for p in resources], first=day, last=day)
    key = "room_id" if by == "room" else "practitioner_id"
    by_resource: dict[int, list[Row]] = {r.pk: [] for r in resources}
    hidden = 0
    for row in rows:
        bucket = by_resource.get(getattr(row, key))
        if bucket is None:
            hidden += 1
        else:
            bucket.append(row)
    working: dict[int, list[Interval] | None] = {}
    for resource in resources:
        if isinstance(resource, Practitioner):
            working[resource.pk] = hours.working(resource, day, zone)
        else:
            working[resource.pk] = [] if hours.closure_on(day) else None
    low, high = _window(
        day,
        zone,
        [interval for intervals in working.values() for interval in intervals or []],
        [(row.starts, row.ends) for row in rows],
    )
    start, end = _instant(day, low, zone), _instant(day, high, zone)
    url_prefix = _url_prefix()
    columns = []
    for resource in resources:
        column = Column(
            key=f"{by}-{resource.pk}",
            title=str(resource),
            day=day,
            starts=start,
            minutes=_minutes_between(start, end),
            colour=resource.colour if isinstance(resource, Practitioner) else "",
            practitioner_id=resource.pk if isinstance(resource, Practitioner) else None,
            room_id=resource.pk if isinstance(resource, Room) else None,
            is_today=is_today,
        )
        practitioner = resource if isinstance(resource, Practitioner) else None
        columns.append(
            _finish(
                column,
                end=end,
                rows=by_resource[resource.pk],
                working=working[resource.pk],
                off_label=_off_label(hours, practitioner, day),
                zone=zone,
                types=types,
                can_move=can_move,
                now=now,
                url_prefix=url_prefix,
            )
        )
    return Grid(
        columns=columns,
        zone=zone,
        marks=_hour_marks(start, end, zone),
        minutes=_minutes_between(start, end),
        hidden=hidden if by == "room" else 0,
    )


def _closures_on(day: dt.date) -> Iterable[ClinicClosure]:
    return ClinicClosure.objects.filter(starts_on__lte=day, ends_on__gte=day)


def week_grid(
    *,
    practitioner: Practitioner,
    day: dt.date,
    zone: zoneinfo.ZoneInfo,
    now: dt.datetime,
    can_move: bool,
) -> Grid:
    """One practitioner's week (Monday to Sunday), a column a day, in a fixed number of
    queries whatever the number of appointments."""
    days = week_of(day)
    week_start = day_bounds(days[0], zone=zone)[0]
    week_end = day_bounds(days[-1], zone=zone)[1]
    rows = calendar_rows(starts=week_start, ends=week_end, practitioner_ids=[practitioner.pk])
    types = type_looks()
    hours = Hours.load(practitioner_ids=[practitioner.pk], first=days[0], last=days[-1])
    today = now.astimezone(zone).date()
    working = {d: hours.working(practitioner, d, zone) for d in days}
    by_day: dict[dt.date, list[Row]] = {d: [] for d in days}
    for row in rows:
        # An appointment crossing midnight shows in each day it touches.
        first = max(row.starts.astimezone(zone).date(), days[0])
        last = min((row.ends - dt.timedelta(microseconds=1)).astimezone(zone).date(), days[-1])
        current = first
        while current <= last:
            by_day[current].append(row)
            current += dt.timedelta(days=1)
    # Days off (weekends) would stretch every day to the default hours: only days with
    # working time or appointments set the week's axis.
    low, high = _merge_windows(
        _window(d, zone, working[d], [(r.starts, r.ends) for r in by_day[d]])
        for d in days
        if working[d] or by_day[d]
    )
    url_prefix = _url_prefix()
    columns = []
    for current in days:
        start, end = _instant(current, low, zone), _instant(current, high, zone)
        column = Column(
            key=f"day-{current.isoformat()}",
            title=f"{current:%a} {current.day} {current:%b}",
            day=current,
            starts=start,
            minutes=_minutes_between(start, end),
            colour=practitioner.colour,
            practitioner_id=practitioner.pk,
            is_today=current == today,
        )
        columns.append(
            _finish(
                column,
                end=end,
                rows=by_day[current],
                working=working[current],
                off_label=_off_label(hours, practitioner, current),
                zone=zone,
                types=types,
                can_move=can_move,
                now=now,
                url_prefix=url_prefix,
            )
        )
    return Grid(
        columns=columns,
        zone=zone,
        marks=columns[0].marks,
        minutes=max(column.minutes for column in columns),
    )


# --- the patient page ------------------------------------------------------------------------


@dataclass(frozen=True)
class PatientAppointments:
    upcoming: list[Appointment]
    past: list[Appointment]


def patient_appointments(
    *, patient_id: int, now: dt.datetime, limit: int = 10
) -> PatientAppointments:
    """A patient's next live appointments and the latest earlier ones (any status)."""
    base = Appointment.objects.select_related("practitioner", "appointment_type", "room").filter(
        patient_id=patient_id
    )
    upcoming = (
        base.filter(during__endswith__gt=now)
        .exclude(status__in=[Appointment.Status.CANCELLED, Appointment.Status.NO_SHOW])
        .order_by("during", "id")[:limit]
    )
    past = base.filter(during__endswith__lte=now).order_by("-during", "-id")[:limit]
    return PatientAppointments(upcoming=list(upcoming), past=list(past))
