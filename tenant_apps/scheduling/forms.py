"""Calendar forms: booking, rescheduling, cancelling, notes.

They parse what was typed (local dates and times); the services decide everything else
(free time, working hours, who may overbook) and their errors come back onto these fields
through `service_errors_add`.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from drcrm.validation import form_errors_add
from tenant_apps.patients.models import Patient
from tenant_apps.scheduling.clock import local_datetime
from tenant_apps.scheduling.models import AppointmentType, Practitioner, Room
from tenant_apps.scheduling.services import BookingRequest

MAX_MINUTES = 24 * 60 - 1
# The services name times starts_at/ends_at; these forms ask for a date, a time and a length.
SERVICE_FIELDS = {"starts_at": "time", "ends_at": "duration_minutes", "status": None}


def service_errors_add(form: forms.Form, error: ValidationError) -> None:
    """A service's field map onto a calendar form (its `starts_at` is the form's `time`)."""
    form_errors_add(form, error, names=SERVICE_FIELDS)


class PatientChoiceField(forms.ModelChoiceField):  # type: ignore[type-arg]
    def label_from_instance(self, obj: Any) -> str:
        return f"{obj.display_name} · {obj.number}"


class _WhenFields(forms.Form):
    date = forms.DateField(label="Date", widget=forms.DateInput(attrs={"type": "date"}))
    time = forms.TimeField(
        label="Time", widget=forms.TimeInput(attrs={"type": "time", "step": 300}, format="%H:%M")
    )
    duration_minutes = forms.IntegerField(
        label="Length (minutes)",
        required=False,
        min_value=5,
        max_value=MAX_MINUTES,
        widget=forms.NumberInput(attrs={"step": 5}),
    )
    overbook = forms.BooleanField(
        label="Book anyway, over the appointment already there (overbook)", required=False
    )
    allow_outside_hours = forms.BooleanField(
        label="Book outside the practitioner's working hours", required=False
    )

    def starts_at(self, zone: zoneinfo.ZoneInfo) -> dt.datetime:
        """The local date and time as an instant; a time skipped by a DST change is an error
        on the time field."""
        return local_datetime(
            self.cleaned_data["date"], self.cleaned_data["time"], zone=zone, field="time"
        )

    def ends_at(self, starts_at: dt.datetime) -> dt.datetime | None:
        minutes = self.cleaned_data.get("duration_minutes")
        # Added in UTC: on a local clock, 30 minutes across the autumn change last 90.
        return starts_at.astimezone(dt.UTC) + dt.timedelta(minutes=minutes) if minutes else None


def _practitioner_field() -> forms.ModelChoiceField:  # type: ignore[type-arg]
    return forms.ModelChoiceField(
        label="Practitioner",
        queryset=Practitioner.objects.filter(is_active=True),
        error_messages={"invalid_choice": "Choose a practitioner from the list."},
    )


def _room_field() -> forms.ModelChoiceField:  # type: ignore[type-arg]
    return forms.ModelChoiceField(
        label="Room",
        queryset=Room.objects.filter(is_active=True),
        required=False,
        empty_label="Any free room (automatic)",
        error_messages={"invalid_choice": "Choose a room from the list."},
    )


class BookingForm(_WhenFields):
    patient_q = forms.CharField(
        label="Find the patient",
        required=False,
        max_length=100,
        widget=forms.TextInput(
            attrs={
                "type": "search",
                "autocomplete": "off",
                "placeholder": "Name, phone, patient number or date of birth",
            }
        ),
    )
    patient = PatientChoiceField(
        label="Patient",
        queryset=Patient.objects.filter(merged_into__isnull=True),
        error_messages={
            "required": "Choose the patient: search, then pick one.",
            "invalid_choice": "Choose the patient from the search results.",
        },
    )
    practitioner = _practitioner_field()
    appointment_type = forms.ModelChoiceField(
        label="Appointment type",
        queryset=AppointmentType.objects.filter(is_active=True),
        empty_label="Choose a type",
        error_messages={"invalid_choice": "Choose a type this practitioner offers."},
    )
    room = _room_field()
    front_desk_notes = forms.CharField(
        label="Notes for the front desk",
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    field_order = [
        "patient_q",
        "patient",
        "practitioner",
        "appointment_type",
        "date",
        "time",
        "duration_minutes",
        "room",
        "front_desk_notes",
        "overbook",
        "allow_outside_hours",
    ]

    def __init__(self, *args: Any, practitioner: Practitioner | None = None, **kwargs: Any):
        super().__init__(*args, **kwargs)
        if practitioner is not None:
            # Only what this practitioner offers (the service checks it again).
            self.fields["appointment_type"].queryset = practitioner.appointment_types.filter(  # type: ignore[attr-defined]
                is_active=True
            )

    def booking(self, zone: zoneinfo.ZoneInfo) -> BookingRequest:
        data = self.cleaned_data
        starts_at = self.starts_at(zone)
        return BookingRequest(
            patient=data["patient"],
            practitioner=data["practitioner"],
            appointment_type=data["appointment_type"],
            starts_at=starts_at,
            ends_at=self.ends_at(starts_at),
            room=data["room"],
            front_desk_notes=data["front_desk_notes"],
            overbook=data["overbook"],
            allow_outside_hours=data["allow_outside_hours"],
        )


class RescheduleForm(_WhenFields):
    practitioner = _practitioner_field()
    room = _room_field()

    field_order = [
        "date",
        "time",
        "duration_minutes",
        "practitioner",
        "room",
        "overbook",
        "allow_outside_hours",
    ]


class CancelForm(forms.Form):
    reason = forms.CharField(
        label="Reason for cancelling",
        max_length=200,
        error_messages={"required": "Say why the appointment is cancelled."},
    )


class NotesForm(forms.Form):
    front_desk_notes = forms.CharField(
        label="Notes for the front desk",
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
