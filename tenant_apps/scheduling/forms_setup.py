"""Forms of the calendar setup pages: practitioners, rooms, appointment types, working weeks,
leave and extra hours, clinic closures.

They parse what was typed; the resource services decide what is acceptable and their field
map comes back onto these forms (`drcrm.validation.form_errors_add`).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any, cast

from django import forms

from tenant_apps.scheduling.models import (
    AppointmentType,
    Practitioner,
    Room,
    ScheduleException,
    WorkingPeriod,
)
from tenant_apps.scheduling.services import AppointmentTypeInput

# How many stretches one day of the working-week grid offers (two is a lunch break).
PERIODS_PER_DAY = 3
COLOUR_WIDGET = forms.TextInput(attrs={"type": "color"})
TIME_WIDGET = forms.TimeInput(attrs={"type": "time", "step": 300}, format="%H:%M")
DATE_WIDGET = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


def _colour() -> forms.CharField:
    return forms.CharField(label="Colour", max_length=7, initial="#2563eb", widget=COLOUR_WIDGET)


class _Checkboxes(forms.ModelMultipleChoiceField):  # type: ignore[type-arg]
    widget = forms.CheckboxSelectMultiple


class PractitionerForm(forms.Form):
    """Edit a practitioner (the person is fixed once they are on the calendar)."""

    display_name = forms.CharField(label="Name on the calendar", max_length=200)
    colour = _colour()
    appointment_types = _Checkboxes(
        label="Appointment types they offer",
        queryset=AppointmentType.objects.filter(is_active=True),
        required=False,
    )
    is_active = forms.BooleanField(
        label="Takes bookings", required=False, initial=True, help_text="Untick when they leave."
    )

    @classmethod
    def initial_of(cls, practitioner: Practitioner) -> dict[str, Any]:
        return {
            "display_name": practitioner.display_name,
            "colour": practitioner.colour,
            "appointment_types": list(practitioner.appointment_types.all()),
            "is_active": practitioner.is_active,
        }


class PractitionerCreateForm(PractitionerForm):
    """Put a member of staff on the calendar: only active members not there yet."""

    user = forms.TypedChoiceField(label="Member of staff", coerce=int)
    field_order = ["user", "display_name", "colour", "appointment_types"]

    def __init__(self, *args: Any, members: list[tuple[int, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        user_field = cast(forms.TypedChoiceField, self.fields["user"])
        user_field.choices = [("", "Choose…"), *members]
        self.fields["display_name"].required = False
        self.fields["display_name"].help_text = "Default: their name."
        del self.fields["is_active"]


class RoomForm(forms.Form):
    name = forms.CharField(label="Name", max_length=100)
    kind = forms.ChoiceField(label="Kind", choices=Room.Kind.choices, initial=Room.Kind.ROOM)
    is_active = forms.BooleanField(label="In use", required=False, initial=True)


class AppointmentTypeForm(forms.Form):
    name = forms.CharField(label="Name", max_length=100)
    default_duration_minutes = forms.IntegerField(
        label="Length (minutes)", initial=30, min_value=5, max_value=24 * 60 - 1
    )
    buffer_minutes = forms.IntegerField(
        label="Buffer after (minutes)",
        initial=0,
        min_value=0,
        max_value=240,
        help_text="Cleaning or set-up time kept free after each one.",
    )
    colour = _colour()
    price_hint = forms.DecimalField(
        label="Price hint",
        required=False,
        min_value=Decimal(0),
        max_digits=10,
        decimal_places=2,
        help_text="What the front desk quotes; optional.",
    )
    rooms = _Checkboxes(
        label="Rooms it needs (one of them)",
        queryset=Room.objects.filter(is_active=True),
        required=False,
        help_text="None ticked: it needs no room.",
    )
    is_active = forms.BooleanField(label="Offered", required=False, initial=True)

    @classmethod
    def initial_of(cls, appointment_type: AppointmentType) -> dict[str, Any]:
        return {
            "name": appointment_type.name,
            "default_duration_minutes": appointment_type.default_duration_minutes,
            "buffer_minutes": appointment_type.buffer_minutes,
            "colour": appointment_type.colour,
            "price_hint": appointment_type.price_hint,
            "rooms": list(appointment_type.rooms.all()),
            "is_active": appointment_type.is_active,
        }

    def type_input(self) -> AppointmentTypeInput:
        data = self.cleaned_data
        return AppointmentTypeInput(
            name=data["name"],
            default_duration_minutes=data["default_duration_minutes"],
            colour=data["colour"],
            price_hint=data.get("price_hint"),
            buffer_minutes=data["buffer_minutes"],
            rooms=tuple(data.get("rooms") or ()),
            is_active=data.get("is_active", True),
        )


def period_field(weekday: int, slot: int, end: str) -> str:
    return f"d{weekday}_p{slot}_{end}"


class WorkingWeekForm(forms.Form):
    """A grid: for each weekday up to PERIODS_PER_DAY stretches; the gaps are breaks."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for weekday in WorkingPeriod.Weekday.values:
            for slot in range(PERIODS_PER_DAY):
                for end, label in (("starts", "from"), ("ends", "until")):
                    self.fields[period_field(weekday, slot, end)] = forms.TimeField(
                        label=f"{WorkingPeriod.Weekday(weekday).label} {label}",
                        required=False,
                        widget=TIME_WIDGET,
                    )

    @classmethod
    def initial_of(cls, periods: list[WorkingPeriod]) -> dict[str, dt.time]:
        initial: dict[str, dt.time] = {}
        slots: dict[int, int] = {}
        for period in sorted(periods, key=lambda p: (p.weekday, p.starts)):
            slot = slots.get(period.weekday, 0)
            if slot >= PERIODS_PER_DAY:
                continue
            initial[period_field(period.weekday, slot, "starts")] = period.starts
            initial[period_field(period.weekday, slot, "ends")] = period.ends
            slots[period.weekday] = slot + 1
        return initial

    def rows(self) -> list[dict[str, Any]]:
        """The grid for the template: one row per weekday, its fields in pairs."""
        return [
            {
                "label": WorkingPeriod.Weekday(weekday).label,
                "weekday": weekday,
                "slots": [
                    (
                        self[period_field(weekday, slot, "starts")],
                        self[period_field(weekday, slot, "ends")],
                    )
                    for slot in range(PERIODS_PER_DAY)
                ],
            }
            for weekday in WorkingPeriod.Weekday.values
        ]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        for weekday in WorkingPeriod.Weekday.values:
            for slot in range(PERIODS_PER_DAY):
                starts_name = period_field(weekday, slot, "starts")
                ends_name = period_field(weekday, slot, "ends")
                starts, ends = data.get(starts_name), data.get(ends_name)
                if (starts is None) == (ends is None):
                    if starts is not None and ends <= starts:
                        self.add_error(ends_name, "The end must be after the start.")
                    continue
                missing = ends_name if ends is None else starts_name
                if missing not in self.errors:
                    self.add_error(missing, "Give both a start and an end, or neither.")
        return data

    def periods(self) -> list[tuple[int, dt.time, dt.time]]:
        found = []
        for weekday in WorkingPeriod.Weekday.values:
            for slot in range(PERIODS_PER_DAY):
                starts = self.cleaned_data.get(period_field(weekday, slot, "starts"))
                ends = self.cleaned_data.get(period_field(weekday, slot, "ends"))
                if starts is not None and ends is not None:
                    found.append((weekday, starts, ends))
        return found


class ScheduleExceptionForm(forms.Form):
    date = forms.DateField(label="Date", widget=DATE_WIDGET)
    kind = forms.ChoiceField(label="Kind", choices=ScheduleException.Kind.choices)
    starts = forms.TimeField(
        label="From", required=False, widget=TIME_WIDGET, help_text="Leave empty: the whole day."
    )
    ends = forms.TimeField(label="Until", required=False, widget=TIME_WIDGET)
    note = forms.CharField(label="Note", required=False, max_length=200)


class ClinicClosureForm(forms.Form):
    starts_on = forms.DateField(label="First day", widget=DATE_WIDGET)
    ends_on = forms.DateField(label="Last day", widget=DATE_WIDGET)
    reason = forms.CharField(label="Reason", max_length=200, help_text="e.g. Bank holiday")
