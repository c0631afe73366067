"""What the calendar API reads and writes (its shapes; the rules live in services).

Times go out in the clinic's zone with their offset (`2031-03-03T10:00:00+00:00`) and come
in either with an offset or as the clinic's wall-clock time without one; a wall-clock time
the clocks skip (spring forward) is a field error, a repeated one (autumn) means the first.
Ids sent in a body are resolved here: an unknown id (another clinic's included) is a field
error naming the field, never a 500.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any, TypeVar

from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework import serializers

from tenant_apps.patients.models import Patient
from tenant_apps.patients.selectors import get_patient_for
from tenant_apps.scheduling.clock import clinic_zone, local_datetime
from tenant_apps.scheduling.models import (
    Appointment,
    AppointmentStatusChange,
    AppointmentType,
    ClinicClosure,
    Practitioner,
    Room,
    ScheduleException,
    WorkingPeriod,
)
from tenant_apps.scheduling.selectors import (
    get_appointment_type_for,
    get_practitioner_for,
    get_room_for,
)

# Far outside any real booking, and far inside what datetime arithmetic survives.
EARLIEST_YEAR = 1900
LATEST_YEAR = 2200
# A ceiling well above what the services allow, so a huge string is refused before any work.
TEXT_MAX_LENGTH = 10_000
NOTES_MAX_LENGTH = 2000  # as appointment_notes_update allows
MAX_ID = 2**63 - 1
RowT = TypeVar("RowT")
DATETIME_HELP = (
    "ISO 8601. With an offset (2031-03-03T10:00:00+00:00) it is that instant; without one "
    "(2031-03-03T10:00) it is the clinic's wall-clock time."
)


# --- times -------------------------------------------------------------------------------------


def parse_clinic_datetime(value: object, *, field: str) -> dt.datetime:
    """A UTC datetime from ISO text; naive text is the clinic's wall clock."""
    if not isinstance(value, str) or len(value) > 40:
        raise serializers.ValidationError("Send a date and time as text, e.g. 2031-03-03T10:00.")
    text = value.strip()
    if len(text) <= 10:  # a date alone: which time of it was meant?
        raise serializers.ValidationError("Give a time as well as the date, e.g. 2031-03-03T10:00.")
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        raise serializers.ValidationError(
            "Not a date and time; use ISO 8601, e.g. 2031-03-03T10:00 or 2031-03-03T10:00:00+00:00."
        ) from None
    if not EARLIEST_YEAR <= moment.year <= LATEST_YEAR:
        raise serializers.ValidationError(
            f"Choose a year between {EARLIEST_YEAR} and {LATEST_YEAR}."
        )
    if moment.tzinfo is None:
        try:
            moment = local_datetime(moment.date(), moment.time(), zone=clinic_zone(), field=field)
        except DjangoValidationError as error:
            raise serializers.ValidationError(error.message_dict[field]) from None
    # UTC, so that adding a duration later counts real time, not the wall clock (aware
    # datetimes sharing a zone add and subtract on the wall clock, wrong across DST).
    return moment.astimezone(dt.UTC)


def parse_clinic_date(value: object) -> dt.date:
    if not isinstance(value, str) or len(value.strip()) != 10:
        raise serializers.ValidationError("Use the format YYYY-MM-DD.")
    try:
        day = dt.date.fromisoformat(value.strip())
    except ValueError:
        raise serializers.ValidationError("Use the format YYYY-MM-DD.") from None
    if not EARLIEST_YEAR <= day.year <= LATEST_YEAR:
        raise serializers.ValidationError(
            f"Choose a year between {EARLIEST_YEAR} and {LATEST_YEAR}."
        )
    return day


class ClinicDateTimeField(serializers.DateTimeField):
    """Out: the clinic's local time with its offset. In: see `parse_clinic_datetime`."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("help_text", DATETIME_HELP)
        super().__init__(**kwargs)

    def to_internal_value(self, value: Any) -> dt.datetime:
        return parse_clinic_datetime(value, field=self.field_name or "starts_at")

    def to_representation(self, value: dt.datetime) -> str:
        return value.astimezone(clinic_zone()).isoformat()


class SaneDateField(serializers.DateField):
    """A date in a range datetime arithmetic (a day's bounds, a week ahead) survives."""

    def to_internal_value(self, value: Any) -> dt.date:
        return parse_clinic_date(value)


class IdField(serializers.IntegerField):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(min_value=1, max_value=MAX_ID, **kwargs)


def _resolve(getter: Callable[..., RowT], label: str, **kwargs: Any) -> RowT:
    """The row `getter` finds, or a field error (unknown, or another clinic's: the same)."""
    try:
        return getter(**kwargs)
    except Http404:
        raise serializers.ValidationError(f"No such {label}.") from None


def _text(max_length: int = TEXT_MAX_LENGTH, **kwargs: Any) -> serializers.CharField:
    return serializers.CharField(required=False, allow_blank=True, max_length=max_length, **kwargs)


# --- what responses show -----------------------------------------------------------------------


class PatientBriefSerializer(serializers.ModelSerializer[Patient]):
    """Who the appointment is for: no more than the front desk needs to recognise them."""

    name = serializers.CharField(source="display_name", read_only=True)

    class Meta:
        model = Patient
        fields = ["id", "number", "name"]
        read_only_fields = fields


class PractitionerBriefSerializer(serializers.ModelSerializer[Practitioner]):
    class Meta:
        model = Practitioner
        fields = ["id", "display_name", "colour"]
        read_only_fields = fields


class RoomBriefSerializer(serializers.ModelSerializer[Room]):
    class Meta:
        model = Room
        fields = ["id", "name"]
        read_only_fields = fields


class AppointmentTypeBriefSerializer(serializers.ModelSerializer[AppointmentType]):
    class Meta:
        model = AppointmentType
        fields = ["id", "name", "colour"]
        read_only_fields = fields


APPOINTMENT_FIELDS = [
    "id",
    "patient",
    "practitioner",
    "room",
    "appointment_type",
    "starts_at",
    "ends_at",
    "status",
    "is_overbooked",
    "outside_hours",
    "series",
    "series_position",
    "cancellation_reason",
    "front_desk_notes",
    "created_at",
    "updated_at",
]


class AppointmentSerializer(serializers.ModelSerializer[Appointment]):
    patient = PatientBriefSerializer(read_only=True)
    practitioner = PractitionerBriefSerializer(read_only=True)
    room = RoomBriefSerializer(read_only=True, allow_null=True)
    appointment_type = AppointmentTypeBriefSerializer(read_only=True)
    starts_at = ClinicDateTimeField(read_only=True, help_text="In the clinic's zone.")
    ends_at = ClinicDateTimeField(read_only=True, help_text="In the clinic's zone (exclusive).")

    class Meta:
        model = Appointment
        fields = APPOINTMENT_FIELDS
        read_only_fields = APPOINTMENT_FIELDS


class StatusChangeSerializer(serializers.ModelSerializer[AppointmentStatusChange]):
    class Meta:
        model = AppointmentStatusChange
        fields = ["from_status", "to_status", "changed_at", "changed_by_id"]
        read_only_fields = fields


class AppointmentDetailSerializer(AppointmentSerializer):
    status_history = StatusChangeSerializer(source="status_changes", many=True, read_only=True)

    class Meta(AppointmentSerializer.Meta):
        fields = [*APPOINTMENT_FIELDS, "status_history"]
        read_only_fields = fields


class ConflictSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    starts_at = ClinicDateTimeField()
    ends_at = ClinicDateTimeField()
    practitioner = PractitionerBriefSerializer()
    room = RoomBriefSerializer(allow_null=True)
    resource = serializers.ChoiceField(
        choices=["practitioner", "room"], help_text="Which of the two is already taken."
    )


class ErrorSerializer(serializers.Serializer[Any]):
    error = serializers.DictField(help_text='{"code", "message", "fields": {name: [messages]}}')


class ConflictErrorSerializer(serializers.Serializer[Any]):
    error = serializers.DictField(
        help_text='{"code": "slot_taken", "message", "fields": {}, "conflict": {...}}'
    )


# --- appointment writes ------------------------------------------------------------------------


class AppointmentCreateSerializer(serializers.Serializer[Any]):
    patient = IdField()
    practitioner = IdField()
    appointment_type = IdField()
    starts_at = ClinicDateTimeField()
    ends_at = ClinicDateTimeField(
        required=False,
        allow_null=True,
        help_text="Default: the start plus the type's duration. " + DATETIME_HELP,
    )
    room = IdField(
        required=False,
        allow_null=True,
        help_text="Default: a free room among those the type needs (none if it needs none).",
    )
    front_desk_notes = _text(NOTES_MAX_LENGTH)
    overbook = serializers.BooleanField(
        required=False,
        default=False,
        help_text="Book over another appointment on purpose (needs calendar.override).",
    )
    allow_outside_hours = serializers.BooleanField(
        required=False,
        default=False,
        help_text="Book outside the practitioner's hours (needs calendar.override).",
    )

    def validate_patient(self, value: int) -> Patient:
        return _resolve(get_patient_for, "patient", patient_id=value)

    def validate_practitioner(self, value: int) -> Practitioner:
        return _resolve(get_practitioner_for, "practitioner", practitioner_id=value)

    def validate_appointment_type(self, value: int) -> AppointmentType:
        return _resolve(get_appointment_type_for, "appointment type", appointment_type_id=value)

    def validate_room(self, value: int | None) -> Room | None:
        if value is None:
            return None
        return _resolve(get_room_for, "room", room_id=value)


class AppointmentNotesSerializer(serializers.Serializer[Any]):
    front_desk_notes = serializers.CharField(allow_blank=True, max_length=NOTES_MAX_LENGTH)


class RescheduleSerializer(serializers.Serializer[Any]):
    starts_at = ClinicDateTimeField()
    ends_at = ClinicDateTimeField(
        required=False,
        allow_null=True,
        help_text="Default: the same length as before. " + DATETIME_HELP,
    )
    practitioner = IdField(required=False, allow_null=True, help_text="Default: the same one.")
    room = IdField(
        required=False,
        allow_null=True,
        help_text="Default: the same room if still free, else a free one the type needs.",
    )
    overbook = serializers.BooleanField(
        required=False,
        allow_null=True,
        default=None,
        help_text="Default: as it was. Overbooking needs calendar.override.",
    )
    allow_outside_hours = serializers.BooleanField(required=False, default=False)

    def validate_practitioner(self, value: int | None) -> Practitioner | None:
        if value is None:
            return None
        return _resolve(get_practitioner_for, "practitioner", practitioner_id=value)

    def validate_room(self, value: int | None) -> Room | None:
        if value is None:
            return None
        return _resolve(get_room_for, "room", room_id=value)


class CancelSerializer(serializers.Serializer[Any]):
    reason = serializers.CharField(allow_blank=True, max_length=TEXT_MAX_LENGTH)


class StatusSerializer(serializers.Serializer[Any]):
    status = serializers.ChoiceField(
        choices=Appointment.Status.choices,
        help_text="Not cancelled: cancelling has its own endpoint (it needs a reason).",
    )


# --- resources ---------------------------------------------------------------------------------


def _ids_of(rows: Any) -> list[int]:
    return [row.pk for row in rows.all()]


def resolve_all(model: Any, ids: list[int], label: str) -> list[Any]:
    """The rows for `ids`, or a field error naming the ids that are not here."""
    found = {row.pk: row for row in model.objects.filter(pk__in=ids)}
    missing = [str(pk) for pk in ids if pk not in found]
    if missing:
        raise serializers.ValidationError(f"No such {label}: {', '.join(missing)}.")
    return [found[pk] for pk in dict.fromkeys(ids)]


class PractitionerSerializer(serializers.ModelSerializer[Practitioner]):
    appointment_types = serializers.SerializerMethodField(
        help_text="Ids of the appointment types this practitioner offers."
    )

    class Meta:
        model = Practitioner
        fields = ["id", "user_id", "display_name", "colour", "appointment_types", "is_active"]
        read_only_fields = fields

    def get_appointment_types(self, practitioner: Practitioner) -> list[int]:
        return _ids_of(practitioner.appointment_types)


class PractitionerWriteSerializer(serializers.Serializer[Any]):
    display_name = _text(200)
    colour = serializers.CharField(required=False, max_length=7, help_text="Like #2563eb.")
    appointment_types = serializers.ListField(
        child=IdField(), required=False, max_length=200, help_text="Ids of the types offered."
    )
    is_active = serializers.BooleanField(required=False)

    def validate_appointment_types(self, value: list[int]) -> list[AppointmentType]:
        return resolve_all(AppointmentType, value, "appointment type")


class PractitionerCreateSerializer(PractitionerWriteSerializer):
    user_id = IdField(help_text="An active member of this clinic's staff.")


class RoomSerializer(serializers.ModelSerializer[Room]):
    class Meta:
        model = Room
        fields = ["id", "name", "kind", "is_active"]
        read_only_fields = fields


class RoomWriteSerializer(serializers.Serializer[Any]):
    name = serializers.CharField(allow_blank=True, max_length=TEXT_MAX_LENGTH)
    kind = serializers.ChoiceField(choices=Room.Kind.choices, required=False)
    is_active = serializers.BooleanField(required=False)


class AppointmentTypeSerializer(serializers.ModelSerializer[AppointmentType]):
    rooms = serializers.SerializerMethodField(
        help_text="Ids of the rooms it needs (one of them); empty: no room needed."
    )

    class Meta:
        model = AppointmentType
        fields = [
            "id",
            "name",
            "default_duration_minutes",
            "colour",
            "price_hint",
            "buffer_minutes",
            "rooms",
            "is_active",
        ]
        read_only_fields = fields

    def get_rooms(self, appointment_type: AppointmentType) -> list[int]:
        return _ids_of(appointment_type.rooms)


class AppointmentTypeWriteSerializer(serializers.Serializer[Any]):
    name = serializers.CharField(allow_blank=True, max_length=TEXT_MAX_LENGTH)
    default_duration_minutes = serializers.IntegerField(
        required=False, min_value=0, max_value=100_000, help_text="5 minutes to 24 hours."
    )
    colour = serializers.CharField(required=False, max_length=7)
    price_hint = serializers.DecimalField(
        required=False, allow_null=True, max_digits=10, decimal_places=2
    )
    buffer_minutes = serializers.IntegerField(
        required=False, min_value=0, max_value=100_000, help_text="0 to 240 minutes."
    )
    rooms = serializers.ListField(child=IdField(), required=False, max_length=200)
    is_active = serializers.BooleanField(required=False)

    def validate_rooms(self, value: list[int]) -> list[Room]:
        return resolve_all(Room, value, "room")


class WorkingPeriodSerializer(serializers.Serializer[Any]):
    weekday = serializers.ChoiceField(
        choices=WorkingPeriod.Weekday.choices, help_text="0 = Monday ... 6 = Sunday."
    )
    starts = serializers.TimeField(help_text="Local clock time, e.g. 09:00.")
    ends = serializers.TimeField()


class WorkingWeekSerializer(serializers.Serializer[Any]):
    periods = WorkingPeriodSerializer(
        many=True, help_text="The whole usual week; the gaps between a day's periods are breaks."
    )

    def validate_periods(self, value: list[dict[str, Any]]) -> list[dict[str, Any]]:
        if len(value) > 100:
            raise serializers.ValidationError("At most 100 periods in a week.")
        return value


class ScheduleExceptionSerializer(serializers.ModelSerializer[ScheduleException]):
    class Meta:
        model = ScheduleException
        fields = ["id", "practitioner", "date", "kind", "starts", "ends", "note"]
        read_only_fields = fields


class ScheduleExceptionWriteSerializer(serializers.Serializer[Any]):
    date = SaneDateField()
    kind = serializers.ChoiceField(choices=ScheduleException.Kind.choices)
    starts = serializers.TimeField(
        required=False, allow_null=True, help_text="Leave without times is the whole day off."
    )
    ends = serializers.TimeField(required=False, allow_null=True)
    note = _text()


class ClinicClosureSerializer(serializers.ModelSerializer[ClinicClosure]):
    class Meta:
        model = ClinicClosure
        fields = ["id", "starts_on", "ends_on", "reason"]
        read_only_fields = fields


class ClinicClosureWriteSerializer(serializers.Serializer[Any]):
    starts_on = SaneDateField()
    ends_on = SaneDateField(help_text="The last day closed (inclusive).")
    reason = serializers.CharField(allow_blank=True, max_length=TEXT_MAX_LENGTH)


# --- availability ------------------------------------------------------------------------------


class SlotSerializer(serializers.Serializer[Any]):
    starts_at = ClinicDateTimeField()
    ends_at = ClinicDateTimeField()
    practitioner = PractitionerBriefSerializer()
    room = RoomBriefSerializer(allow_null=True, help_text="The free room it would take, if any.")


class AvailabilitySerializer(serializers.Serializer[Any]):
    appointment_type = AppointmentTypeBriefSerializer()
    duration_minutes = serializers.IntegerField()
    slots = SlotSerializer(many=True)
