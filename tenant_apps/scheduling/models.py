"""The clinic's calendar: who works when, in which rooms, and the appointments booked.

Appointment times are a `tstzrange` (`during`, stored in UTC, half-open `[start, end)` so
back-to-back bookings touch without overlapping) and shown in the clinic's time zone.
PostgreSQL itself refuses a double booking: two exclusion constraints (btree_gist, created
in `public`) keep one practitioner, and one room, from holding two overlapping live
appointments (`occupied`: the time plus the type's buffer). Cancelled and no-show
appointments leave the constraints' scope, so they free the slot; a deliberate overbook (a
flag only permitted roles may set) is exempt too.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib.postgres.constraints import ExclusionConstraint
from django.contrib.postgres.fields import ArrayField, DateTimeRangeField, RangeOperators
from django.db import models
from django.db.models import Q

from tenant_apps.patients.models import Patient

HEX_COLOUR = r"^#[0-9a-fA-F]{6}$"


class Practitioner(models.Model):
    """A member of staff who sees patients: the calendar's columns."""

    # A plain id: users live in `public` (see api_tokens.models); the membership there
    # says whether this person still works here.
    user_id = models.BigIntegerField(unique=True)
    display_name = models.CharField(max_length=200)
    colour = models.CharField(max_length=7, default="#2563eb")
    appointment_types: models.ManyToManyField[AppointmentType, Any] = models.ManyToManyField(
        "AppointmentType", blank=True, related_name="practitioners"
    )
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["display_name", "id"]

    def __str__(self) -> str:
        return self.display_name


class Room(models.Model):
    """A surgery room or dental chair an appointment may need."""

    class Kind(models.TextChoices):
        ROOM = "room", "Room"
        CHAIR = "chair", "Dental chair"

    name = models.CharField(max_length=100, unique=True)
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.ROOM)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name


class AppointmentType(models.Model):
    name = models.CharField(max_length=100, unique=True)
    default_duration_minutes = models.PositiveIntegerField(default=30)
    colour = models.CharField(max_length=7, default="#0d9488")
    # What the front desk quotes; billing (a later issue) keeps the real price list.
    price_hint = models.DecimalField(max_digits=10, decimal_places=2, null=True, blank=True)
    # Cleaning or set-up time kept free after each appointment of this type.
    buffer_minutes = models.PositiveIntegerField(default=0)
    # Appointments of this type need one of these rooms; none listed means no room needed.
    rooms = models.ManyToManyField(Room, blank=True, related_name="appointment_types")
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name

    @property
    def default_duration(self) -> dt.timedelta:
        return dt.timedelta(minutes=self.default_duration_minutes)

    @property
    def buffer(self) -> dt.timedelta:
        return dt.timedelta(minutes=self.buffer_minutes)


class WorkingPeriod(models.Model):
    """One stretch of a practitioner's usual week (local clock time in the clinic's zone).

    A day with a lunch break is two periods, 09:00-12:30 and 13:30-17:00: the gaps between
    a day's periods are its breaks.
    """

    class Weekday(models.IntegerChoices):
        MONDAY = 0, "Monday"
        TUESDAY = 1, "Tuesday"
        WEDNESDAY = 2, "Wednesday"
        THURSDAY = 3, "Thursday"
        FRIDAY = 4, "Friday"
        SATURDAY = 5, "Saturday"
        SUNDAY = 6, "Sunday"

    practitioner = models.ForeignKey(
        Practitioner, on_delete=models.CASCADE, related_name="working_periods"
    )
    weekday = models.PositiveSmallIntegerField(choices=Weekday.choices)
    starts = models.TimeField()
    ends = models.TimeField()

    class Meta:
        ordering = ["practitioner", "weekday", "starts"]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends__gt=models.F("starts")), name="period_ends_after_start"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_weekday_display()} {self.starts:%H:%M}-{self.ends:%H:%M}"


class ScheduleException(models.Model):
    """A date on which a practitioner's usual week does not apply: leave, or extra hours.

    Leave with no times is the whole day off; leave with times removes that stretch; extra
    hours add a stretch (a Saturday clinic).
    """

    class Kind(models.TextChoices):
        LEAVE = "leave", "Leave"
        EXTRA_HOURS = "extra", "Extra hours"

    practitioner = models.ForeignKey(
        Practitioner, on_delete=models.CASCADE, related_name="schedule_exceptions"
    )
    date = models.DateField()
    kind = models.CharField(max_length=10, choices=Kind.choices)
    starts = models.TimeField(null=True, blank=True)
    ends = models.TimeField(null=True, blank=True)
    note = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["date", "starts"]
        indexes = [models.Index(fields=["practitioner", "date"])]
        constraints = [
            # Extra hours need times; leave may be all day (no times) or a stretch.
            models.CheckConstraint(
                condition=(Q(starts__isnull=True, ends__isnull=True, kind="leave"))
                | Q(starts__isnull=False, ends__isnull=False, ends__gt=models.F("starts")),
                name="exception_times_complete",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} on {self.date}"


class ClinicClosure(models.Model):
    """Days the whole clinic is shut (bank holidays, refurbishment), inclusive."""

    starts_on = models.DateField()
    ends_on = models.DateField()
    reason = models.CharField(max_length=200)

    class Meta:
        ordering = ["starts_on"]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_on__gte=models.F("starts_on")), name="closure_ends_after_start"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.reason} ({self.starts_on}-{self.ends_on})"


class AppointmentSeries(models.Model):
    """A recurring booking: every `interval_weeks` weeks, `count` times or until a date."""

    interval_weeks = models.PositiveSmallIntegerField(default=1)
    count = models.PositiveSmallIntegerField(null=True, blank=True)
    until = models.DateField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by_id = models.BigIntegerField(null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(count__isnull=False) | Q(until__isnull=False),
                name="series_has_an_end",
            ),
        ]

    def __str__(self) -> str:
        end = f"{self.count} times" if self.count else f"until {self.until}"
        return f"every {self.interval_weeks} week(s), {end}"


# Live appointments only (cancelled and no-show free the slot). Spelled as two inequalities
# rather than NOT IN: PostgreSQL prints an IN list differently after a dump and restore,
# and the template-schema test compares dumps.
_LIVE_ONLY = ~Q(status="cancelled") & ~Q(status="no_show")


class Appointment(models.Model):
    class Status(models.TextChoices):
        BOOKED = "booked", "Booked"
        CONFIRMED = "confirmed", "Confirmed"
        ARRIVED = "arrived", "Arrived"
        IN_PROGRESS = "in_progress", "In progress"
        COMPLETED = "completed", "Completed"
        CANCELLED = "cancelled", "Cancelled"
        NO_SHOW = "no_show", "No-show"

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="appointments")
    practitioner = models.ForeignKey(
        Practitioner, on_delete=models.PROTECT, related_name="appointments"
    )
    room = models.ForeignKey(
        Room, on_delete=models.PROTECT, null=True, blank=True, related_name="appointments"
    )
    appointment_type = models.ForeignKey(
        AppointmentType, on_delete=models.PROTECT, related_name="appointments"
    )
    during = DateTimeRangeField()
    # `during` plus the type's buffer (cleaning, notes): what the constraints keep apart,
    # so the next patient cannot be booked into the chair before it is ready.
    occupied = DateTimeRangeField()
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.BOOKED)
    # Booked on purpose over another live appointment by someone allowed to: the
    # constraints let it through.
    is_overbooked = models.BooleanField(default=False)
    # Booked outside the practitioner's hours by someone allowed to (kept for the record).
    outside_hours = models.BooleanField(default=False)
    series = models.ForeignKey(
        AppointmentSeries,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="appointments",
    )
    series_position = models.PositiveSmallIntegerField(null=True, blank=True)
    cancellation_reason = models.CharField(max_length=200, blank=True)
    front_desk_notes = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by_id = models.BigIntegerField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["during"]
        indexes = [
            models.Index(fields=["practitioner", "status"]),
            models.Index(fields=["patient", "status"]),
        ]
        constraints = [
            ExclusionConstraint(
                name="appointment_practitioner_no_overlap",
                index_type="GIST",
                expressions=[
                    ("practitioner", RangeOperators.EQUAL),
                    ("occupied", RangeOperators.OVERLAPS),
                ],
                condition=Q(is_overbooked=False) & _LIVE_ONLY,
            ),
            ExclusionConstraint(
                name="appointment_room_no_overlap",
                index_type="GIST",
                expressions=[("room", RangeOperators.EQUAL), ("occupied", RangeOperators.OVERLAPS)],
                condition=Q(is_overbooked=False) & Q(room__isnull=False) & _LIVE_ONLY,
            ),
            models.CheckConstraint(
                condition=Q(during__isempty=False), name="appointment_not_empty"
            ),
        ]

    def __str__(self) -> str:
        return (
            f"{self.appointment_type} with {self.practitioner} at {self.starts_at:%Y-%m-%d %H:%M}"
        )

    @property
    def starts_at(self) -> dt.datetime:
        return self.during.lower  # type: ignore[no-any-return]

    @property
    def ends_at(self) -> dt.datetime:
        return self.during.upper  # type: ignore[no-any-return]

    @property
    def is_live(self) -> bool:
        return self.status not in FREED_STATUSES


# Statuses that free the slot (outside both exclusion constraints).
FREED_STATUSES = frozenset({Appointment.Status.CANCELLED, Appointment.Status.NO_SHOW})
LIVE_STATUSES = frozenset(set(Appointment.Status) - FREED_STATUSES)

# Allowed moves; everything else is refused with the list of what is allowed.
STATUS_TRANSITIONS: dict[str, frozenset[str]] = {
    Appointment.Status.BOOKED: frozenset({"confirmed", "arrived", "cancelled", "no_show"}),
    Appointment.Status.CONFIRMED: frozenset({"booked", "arrived", "cancelled", "no_show"}),
    Appointment.Status.ARRIVED: frozenset({"in_progress", "completed", "booked", "confirmed"}),
    Appointment.Status.IN_PROGRESS: frozenset({"completed", "arrived"}),
    Appointment.Status.COMPLETED: frozenset({"in_progress"}),
    Appointment.Status.CANCELLED: frozenset(),
    Appointment.Status.NO_SHOW: frozenset({"arrived"}),
}


class AppointmentStatusChange(models.Model):
    """Who moved an appointment from one status to another, and when."""

    appointment = models.ForeignKey(
        Appointment, on_delete=models.CASCADE, related_name="status_changes"
    )
    from_status = models.CharField(max_length=12, blank=True)
    to_status = models.CharField(max_length=12)
    changed_at = models.DateTimeField(auto_now_add=True)
    changed_by_id = models.BigIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["changed_at", "id"]

    def __str__(self) -> str:
        return f"{self.from_status or 'new'} → {self.to_status}"


class WaitlistEntry(models.Model):
    """A patient who would take an earlier slot with a practitioner and/or type."""

    class Status(models.TextChoices):
        WAITING = "waiting", "Waiting"
        BOOKED = "booked", "Booked"
        REMOVED = "removed", "Removed"

    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="waitlist_entries")
    practitioner = models.ForeignKey(
        Practitioner, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    appointment_type = models.ForeignKey(
        AppointmentType, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    # Weekdays (0 = Monday) and a local time window the patient can come; empty = any.
    preferred_weekdays = ArrayField(models.PositiveSmallIntegerField(), default=list, blank=True)
    preferred_from = models.TimeField(null=True, blank=True)
    preferred_until = models.TimeField(null=True, blank=True)
    # The slot they hold now, if any: an offer must be earlier than it to be worth making.
    current_appointment = models.ForeignKey(
        Appointment, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    note = models.CharField(max_length=200, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.WAITING)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by_id = models.BigIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["status", "practitioner"])]

    def __str__(self) -> str:
        return f"waitlist: {self.patient_id}"


class WaitlistOffer(models.Model):
    """A freed slot shown to the front desk for a matching waitlist entry."""

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        ACCEPTED = "accepted", "Booked"
        DISMISSED = "dismissed", "Dismissed"

    entry = models.ForeignKey(WaitlistEntry, on_delete=models.CASCADE, related_name="offers")
    freed_appointment = models.ForeignKey(
        Appointment, on_delete=models.CASCADE, related_name="waitlist_offers"
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["entry", "freed_appointment"], name="waitlist_offer_once_per_slot"
            )
        ]

    def __str__(self) -> str:
        return f"offer {self.freed_appointment_id} to {self.entry_id}"
