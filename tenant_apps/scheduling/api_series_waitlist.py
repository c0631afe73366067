"""DRF views of `/api/v1/appointment-series/` and `/api/v1/waitlist/`.

Reads need calendar.view, writes calendar.manage. A series whose occurrences hit bookings,
the hours or a closure answers 409 `series_conflicts` with `error.conflicts` (one per
occurrence, nothing saved); `preview: true` answers the plan and its conflicts without
saving anything. Times follow the calendar API: with an offset they are that instant,
without one the clinic's wall clock (a skipped DST time is a field error).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any, TypeVar, cast

from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions, serializers, status
from rest_framework.permissions import SAFE_METHODS
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from drcrm.errors import error_body
from drcrm.rest import Pagination, field_map_error
from shared_apps.accounts.models import User
from shared_apps.accounts.roles import Capability
from tenant_apps.patients.selectors import get_patient_for
from tenant_apps.scheduling.clock import clinic_zone
from tenant_apps.scheduling.models import Appointment, WaitlistEntry, WaitlistOffer
from tenant_apps.scheduling.selectors import (
    get_appointment_for,
    get_appointment_type_for,
    get_practitioner_for,
)
from tenant_apps.scheduling.serializers import (
    AppointmentCreateSerializer,
    AppointmentSerializer,
    AppointmentTypeBriefSerializer,
    ClinicDateTimeField,
    IdField,
    PatientBriefSerializer,
    PractitionerBriefSerializer,
    SaneDateField,
)
from tenant_apps.scheduling.series import (
    MAX_COUNT,
    MAX_INTERVAL_WEEKS,
    SCOPES,
    OccurrenceProblem,
    RecurrenceRule,
    SeriesConflicts,
    get_series_for,
    series_appointments,
    series_book,
    series_cancel,
    series_preview,
    series_reschedule,
)
from tenant_apps.scheduling.services import AppointmentConflict, BookingRequest
from tenant_apps.scheduling.waitlist import (
    WaitlistEntryInput,
    get_waitlist_entry_for,
    get_waitlist_offer_for,
    open_waitlist_offers,
    waitlist_entries,
    waitlist_entry_add,
    waitlist_entry_remove,
    waitlist_entry_update,
    waitlist_offer_accept,
    waitlist_offer_dismiss,
)

CALENDAR_VIEW = Capability.CALENDAR_VIEW.value
CALENDAR_MANAGE = Capability.CALENDAR_MANAGE.value
RowT = TypeVar("RowT")


# --- plumbing --------------------------------------------------------------------------------


class _Api(APIView):
    """Reads need calendar.view; writes calendar.manage."""

    access = CALENDAR_VIEW

    def check_permissions(self, request: Request) -> None:
        self.access = CALENDAR_VIEW if request.method in SAFE_METHODS else CALENDAR_MANAGE
        super().check_permissions(request)


def _actor(request: Request) -> User:
    return cast(User, request.user)


def _body(request: Request) -> dict[str, Any]:
    data = request.data
    if not isinstance(data, dict):
        raise exceptions.ValidationError({"non_field_errors": ["Send a JSON object."]})
    return data


def _valid(serializer: serializers.Serializer[Any]) -> dict[str, Any]:
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


def _field(name: str, find: Callable[[], RowT]) -> RowT:
    """The row `find` returns, or a field error (unknown, or another clinic's: the same)."""
    try:
        return find()
    except Http404:
        raise exceptions.ValidationError({name: [f"No such {name.replace('_', ' ')}."]}) from None


def _local(moment: dt.datetime) -> str:
    return moment.astimezone(clinic_zone()).isoformat()


def _problem_out(problem: OccurrenceProblem) -> dict[str, Any]:
    return {
        "position": problem.position,
        "starts_at": _local(problem.starts_at),
        "kind": problem.kind,
        "message": problem.message,
        "conflicting_appointment": problem.conflicting.pk if problem.conflicting else None,
        "appointment": problem.appointment.pk if problem.appointment else None,
    }


def _conflicts_response(refusal: SeriesConflicts) -> Response:
    body = error_body("series_conflicts", refusal.message)
    body["error"]["conflicts"] = [_problem_out(p) for p in refusal.problems]  # type: ignore[index]
    return Response(body, status=status.HTTP_409_CONFLICT)


def _slot_taken_response(conflict: AppointmentConflict) -> Response:
    body = error_body("slot_taken", conflict.message)
    body["error"]["conflict"] = {  # type: ignore[index]
        "id": conflict.conflicting.pk,
        "starts_at": _local(conflict.conflicting.starts_at),
        "ends_at": _local(conflict.conflicting.ends_at),
        "resource": conflict.resource,
    }
    return Response(body, status=status.HTTP_409_CONFLICT)


# --- schema examples -------------------------------------------------------------------------

PROBLEM_EXAMPLE = {
    "position": 2,
    "starts_at": "2031-03-10T10:00:00+00:00",
    "kind": "conflict",
    "message": "Dr Pat Lee is already booked Mon 10 Mar 10:00-10:30 (Check-up, Ben Okafor).",
    "conflicting_appointment": 57,
    "appointment": None,
}
CONFLICTS = OpenApiResponse(
    description=(
        "Some occurrences cannot be booked or changed: `error.conflicts` lists each one "
        "(kind: conflict, outside_hours or closure). Nothing was saved."
    ),
    examples=[
        OpenApiExample(
            "Conflicts",
            value={
                "error": {
                    "code": "series_conflicts",
                    "message": "1 appointment of the series cannot be booked as asked; "
                    "nothing was saved.",
                    "fields": {},
                    "conflicts": [PROBLEM_EXAMPLE],
                }
            },
            response_only=True,
            status_codes=["409"],
        )
    ],
)


def _field_errors(fields: dict[str, list[str]]) -> OpenApiResponse:
    return OpenApiResponse(
        description="Field errors; nothing was saved.",
        examples=[
            OpenApiExample(
                "Field errors",
                value=error_body("invalid", "Some fields are not valid.", fields),
                response_only=True,
                status_codes=["400"],
            )
        ],
    )


def _not_found(label: str) -> OpenApiResponse:
    return OpenApiResponse(
        description=f"No such {label} here (also for junk ids and other clinics' ids).",
        examples=[
            OpenApiExample(
                "Not found",
                value=error_body("not_found", f"No such {label}."),
                response_only=True,
                status_codes=["404"],
            )
        ],
    )


APPOINTMENT_BRIEF = {
    "id": 56,
    "patient": {"id": 17, "number": "P-000017", "name": "Zoë Núñez"},
    "practitioner": {"id": 2, "display_name": "Dr Pat Lee", "colour": "#2563eb"},
    "room": {"id": 1, "name": "Chair 1"},
    "appointment_type": {"id": 3, "name": "Check-up", "colour": "#0d9488"},
    "starts_at": "2031-03-03T10:00:00+00:00",
    "ends_at": "2031-03-03T10:30:00+00:00",
    "status": "booked",
    "is_overbooked": False,
    "outside_hours": False,
    "series": 4,
    "series_position": 1,
    "cancellation_reason": "",
    "front_desk_notes": "",
    "created_at": "2031-02-20T09:00:00Z",
    "updated_at": "2031-02-20T09:00:00Z",
}


# --- series ----------------------------------------------------------------------------------


class SeriesCreateSerializer(AppointmentCreateSerializer):
    """The first appointment (as for one booking) and the rule."""

    interval_weeks = serializers.IntegerField(
        required=False, default=1, help_text=f"Every 1 to {MAX_INTERVAL_WEEKS} weeks."
    )
    count = serializers.IntegerField(
        required=False, allow_null=True, default=None, help_text=f"2 to {MAX_COUNT} times."
    )
    until = SaneDateField(
        required=False,
        allow_null=True,
        default=None,
        help_text="The last possible local date (inclusive); instead of `count`.",
    )
    skip_conflicts = serializers.BooleanField(
        required=False,
        default=False,
        help_text="Book only the free occurrences (the others are listed in `skipped`).",
    )
    preview = serializers.BooleanField(
        required=False, default=False, help_text="Answer the plan and its conflicts; save nothing."
    )


class ProblemSerializer(serializers.Serializer[Any]):
    position = serializers.IntegerField(allow_null=True)
    starts_at = serializers.DateTimeField()
    kind = serializers.ChoiceField(choices=["conflict", "outside_hours", "closure"])
    message = serializers.CharField()
    conflicting_appointment = serializers.IntegerField(allow_null=True)
    appointment = serializers.IntegerField(allow_null=True)


class OccurrenceSerializer(serializers.Serializer[Any]):
    position = serializers.IntegerField()
    starts_at = serializers.DateTimeField()
    ends_at = serializers.DateTimeField()
    problem = ProblemSerializer(allow_null=True)


class SeriesPreviewSerializer(serializers.Serializer[Any]):
    occurrences = OccurrenceSerializer(many=True)
    conflicts = ProblemSerializer(many=True)
    bookable = serializers.IntegerField(help_text="Occurrences free to book.")


class SeriesSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    interval_weeks = serializers.IntegerField()
    count = serializers.IntegerField(allow_null=True)
    until = serializers.DateField(allow_null=True)
    appointments = AppointmentSerializer(many=True)
    skipped = ProblemSerializer(many=True, required=False)


class SeriesCancelSerializer(serializers.Serializer[Any]):
    appointment = IdField(
        required=False,
        allow_null=True,
        help_text="The occurrence the scope starts from (optional for `all`).",
    )
    scope = serializers.ChoiceField(choices=list(SCOPES))
    reason = serializers.CharField(allow_blank=True, max_length=10_000)


class SeriesRescheduleSerializer(serializers.Serializer[Any]):
    appointment = IdField(help_text="The occurrence moved; the others move like it.")
    scope = serializers.ChoiceField(choices=list(SCOPES))
    starts_at = ClinicDateTimeField(
        help_text="This occurrence's new start. The others move by as many days, to the same "
        "local time of day."
    )
    practitioner = IdField(required=False, allow_null=True, help_text="Default: the same one.")
    allow_outside_hours = serializers.BooleanField(required=False, default=False)


class SeriesChangeSerializer(serializers.Serializer[Any]):
    changed = AppointmentSerializer(many=True)


def _series_out(series: Any, skipped: list[OccurrenceProblem] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": series.pk,
        "interval_weeks": series.interval_weeks,
        "count": series.count,
        "until": series.until.isoformat() if series.until else None,
        "appointments": AppointmentSerializer(series_appointments(series=series), many=True).data,
    }
    if skipped is not None:
        body["skipped"] = [_problem_out(p) for p in skipped]
    return body


def _preview_out(actor: User, booking: BookingRequest, rule: RecurrenceRule) -> dict[str, Any]:
    plan, problems = series_preview(actor=actor, booking=booking, rule=rule)
    by_position = {p.position: p for p in problems}
    return {
        "occurrences": [
            {
                "position": o.position,
                "starts_at": _local(o.starts_at),
                "ends_at": _local(o.ends_at),
                "problem": _problem_out(by_position[o.position])
                if o.position in by_position
                else None,
            }
            for o in plan
        ],
        "conflicts": [_problem_out(p) for p in problems],
        "bookable": len(plan) - len(problems),
    }


SERIES_CREATE_EXAMPLE = {
    "patient": 17,
    "practitioner": 2,
    "appointment_type": 3,
    "starts_at": "2031-03-03T10:00",
    "interval_weeks": 1,
    "count": 6,
}
SERIES_EXAMPLE = {
    "id": 4,
    "interval_weeks": 1,
    "count": 6,
    "until": None,
    "appointments": [APPOINTMENT_BRIEF],
    "skipped": [],
}


class SeriesCreateApi(_Api):
    """Book a recurring series in one step (or preview it)."""

    @extend_schema(
        operation_id="appointment_series_create",
        summary="Book (or preview) a weekly series",
        description=(
            "Weekly every `interval_weeks` weeks, `count` times or `until` a date, the first "
            "at `starts_at`; every occurrence at the same local time of day (10:00 stays "
            "10:00 across a DST change). All or nothing: if any occurrence hits a booking, "
            "the hours or a closure, 409 lists them and nothing is saved, unless "
            "`skip_conflicts: true` (then only the free ones are booked). `preview: true` "
            "answers 200 with the plan and conflicts and saves nothing."
        ),
        request=SeriesCreateSerializer,
        responses={
            200: SeriesPreviewSerializer,
            201: SeriesSerializer,
            400: _field_errors({"count": ["Between 2 and 104 times."]}),
            409: CONFLICTS,
        },
        examples=[
            OpenApiExample("Six weekly check-ups", value=SERIES_CREATE_EXAMPLE, request_only=True),
            OpenApiExample(
                "Preview only",
                value={**SERIES_CREATE_EXAMPLE, "preview": True},
                request_only=True,
            ),
            OpenApiExample(
                "Booked", value=SERIES_EXAMPLE, response_only=True, status_codes=["201"]
            ),
            OpenApiExample(
                "Preview",
                value={
                    "occurrences": [
                        {
                            "position": 1,
                            "starts_at": "2031-03-03T10:00:00+00:00",
                            "ends_at": "2031-03-03T10:30:00+00:00",
                            "problem": None,
                        },
                        {
                            "position": 2,
                            "starts_at": "2031-03-10T10:00:00+00:00",
                            "ends_at": "2031-03-10T10:30:00+00:00",
                            "problem": PROBLEM_EXAMPLE,
                        },
                    ],
                    "conflicts": [PROBLEM_EXAMPLE],
                    "bookable": 1,
                },
                response_only=True,
                status_codes=["200"],
            ),
        ],
    )
    def post(self, request: Request) -> Response:
        data = _valid(SeriesCreateSerializer(data=_body(request)))
        booking = BookingRequest(
            patient=data["patient"],
            practitioner=data["practitioner"],
            appointment_type=data["appointment_type"],
            starts_at=data["starts_at"],
            ends_at=data.get("ends_at"),
            room=data.get("room"),
            front_desk_notes=data.get("front_desk_notes", ""),
            overbook=data["overbook"],
            allow_outside_hours=data["allow_outside_hours"],
        )
        rule = RecurrenceRule(
            interval_weeks=data["interval_weeks"], count=data["count"], until=data["until"]
        )
        try:
            if data["preview"]:
                return Response(_preview_out(_actor(request), booking, rule))
            booked = series_book(
                actor=_actor(request),
                booking=booking,
                rule=rule,
                skip_conflicts=data["skip_conflicts"],
            )
        except SeriesConflicts as refusal:
            return _conflicts_response(refusal)
        except DjangoValidationError as error:
            raise field_map_error(error) from error
        return Response(_series_out(booked.series, booked.skipped), status=status.HTTP_201_CREATED)


class SeriesDetailApi(_Api):
    @extend_schema(
        operation_id="appointment_series_retrieve",
        summary="A series and its appointments",
        responses={200: SeriesSerializer, 404: _not_found("series")},
        examples=[
            OpenApiExample(
                "A series",
                value={k: v for k, v in SERIES_EXAMPLE.items() if k != "skipped"},
                response_only=True,
            )
        ],
    )
    def get(self, request: Request, series_id: int) -> Response:
        series = get_series_for(series_id=series_id)
        return Response(_series_out(series))


def _anchor(series: Any, appointment_id: int | None) -> Appointment:
    """The occurrence a scoped change starts from; it must belong to this series."""
    if appointment_id is None:
        first = series_appointments(series=series)
        if not first:
            raise exceptions.ValidationError({"appointment": ["This series has no appointments."]})
        return first[0]
    appointment = _field("appointment", lambda: get_appointment_for(appointment_id=appointment_id))
    if appointment.series_id != series.pk:
        raise exceptions.ValidationError(
            {"appointment": ["This appointment is not part of this series."]}
        )
    return appointment


def _change_response(work: Callable[[], list[Appointment]]) -> Response:
    try:
        changed = work()
    except SeriesConflicts as refusal:
        return _conflicts_response(refusal)
    except DjangoValidationError as error:
        raise field_map_error(error) from error
    return Response({"changed": AppointmentSerializer(changed, many=True).data})


class SeriesCancelApi(_Api):
    @extend_schema(
        operation_id="appointment_series_cancel",
        summary="Cancel one occurrence, this and the following, or all",
        description=(
            "`this`: the given occurrence. `following`: it and the later ones still booked or "
            "confirmed. `all`: every occurrence still booked or confirmed (visits that started "
            "or happened stay as they are). Each cancellation frees its slot for the waitlist."
        ),
        request=SeriesCancelSerializer,
        responses={
            200: SeriesChangeSerializer,
            400: _field_errors({"reason": ["Say why the appointment is cancelled."]}),
            404: _not_found("series"),
        },
        examples=[
            OpenApiExample(
                "This and following",
                value={"appointment": 58, "scope": "following", "reason": "Moving away"},
                request_only=True,
            ),
            OpenApiExample(
                "Cancelled",
                value={"changed": [{**APPOINTMENT_BRIEF, "status": "cancelled"}]},
                response_only=True,
            ),
        ],
    )
    def post(self, request: Request, series_id: int) -> Response:
        series = get_series_for(series_id=series_id)
        data = _valid(SeriesCancelSerializer(data=_body(request)))
        if data.get("appointment") is None and data["scope"] != "all":
            raise exceptions.ValidationError({"appointment": ["Say which occurrence."]})
        anchor = _anchor(series, data.get("appointment"))
        return _change_response(
            lambda: series_cancel(
                actor=_actor(request),
                appointment=anchor,
                scope=data["scope"],
                reason=data["reason"],
            )
        )


class SeriesRescheduleApi(_Api):
    @extend_schema(
        operation_id="appointment_series_reschedule",
        summary="Move one occurrence, this and the following, or all",
        description=(
            "`starts_at` is the given occurrence's new start; with `following` or `all` the "
            "others (still booked or confirmed) move by as many days, to the same local time of "
            "day, each keeping its length. A conflict in any aborts the whole change: 409 lists "
            "every occurrence in the way."
        ),
        request=SeriesRescheduleSerializer,
        responses={
            200: SeriesChangeSerializer,
            400: _field_errors({"scope": ["This appointment is not part of a series."]}),
            404: _not_found("series"),
            409: CONFLICTS,
        },
        examples=[
            OpenApiExample(
                "All an hour later",
                value={"appointment": 56, "scope": "all", "starts_at": "2031-03-03T11:00"},
                request_only=True,
            ),
            OpenApiExample(
                "Moved",
                value={
                    "changed": [{**APPOINTMENT_BRIEF, "starts_at": "2031-03-03T11:00:00+00:00"}]
                },
                response_only=True,
            ),
        ],
    )
    def post(self, request: Request, series_id: int) -> Response:
        series = get_series_for(series_id=series_id)
        data = _valid(SeriesRescheduleSerializer(data=_body(request)))
        anchor = _anchor(series, data["appointment"])
        practitioner = None
        if data.get("practitioner") is not None:
            practitioner = _field(
                "practitioner",
                lambda: get_practitioner_for(practitioner_id=data["practitioner"]),
            )
        return _change_response(
            lambda: series_reschedule(
                actor=_actor(request),
                appointment=anchor,
                scope=data["scope"],
                starts_at=data["starts_at"],
                practitioner=practitioner,
                allow_outside_hours=data["allow_outside_hours"],
            )
        )


# --- waitlist --------------------------------------------------------------------------------

WEEKDAYS_HELP = "0 = Monday ... 6 = Sunday; empty = any day."


class WaitlistEntrySerializer(serializers.ModelSerializer[WaitlistEntry]):
    patient = PatientBriefSerializer(read_only=True)
    practitioner = PractitionerBriefSerializer(read_only=True, allow_null=True)
    appointment_type = AppointmentTypeBriefSerializer(read_only=True, allow_null=True)
    current_appointment = AppointmentSerializer(read_only=True, allow_null=True)
    preferred_weekdays = serializers.ListField(
        child=serializers.IntegerField(), read_only=True, help_text=WEEKDAYS_HELP
    )

    class Meta:
        model = WaitlistEntry
        fields = [
            "id",
            "patient",
            "practitioner",
            "appointment_type",
            "preferred_weekdays",
            "preferred_from",
            "preferred_until",
            "current_appointment",
            "note",
            "status",
            "created_at",
        ]
        read_only_fields = fields


class WaitlistEntryWriteSerializer(serializers.Serializer[Any]):
    patient = IdField()
    practitioner = IdField(required=False, allow_null=True, default=None, help_text="None: any.")
    appointment_type = IdField(
        required=False, allow_null=True, default=None, help_text="None: any."
    )
    preferred_weekdays = serializers.ListField(
        child=serializers.IntegerField(min_value=0, max_value=6),
        required=False,
        default=list,
        max_length=7,
        help_text=WEEKDAYS_HELP,
    )
    preferred_from = serializers.TimeField(
        required=False, allow_null=True, default=None, help_text="Local time."
    )
    preferred_until = serializers.TimeField(
        required=False, allow_null=True, default=None, help_text="Local time."
    )
    current_appointment = IdField(
        required=False,
        allow_null=True,
        default=None,
        help_text="The patient's later appointment; offers must be earlier than it.",
    )
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=10_000)


def _entry_input(data: dict[str, Any], *, base: WaitlistEntry | None = None) -> WaitlistEntryInput:
    """The input from the fields sent; on PATCH the others keep the entry's values."""

    def pick(name: str, find: Callable[[Any], Any]) -> Any:
        if name in data:
            return None if data[name] is None else _field(name, lambda: find(data[name]))
        return getattr(base, name) if base is not None else None

    patient = (
        base.patient
        if base is not None and "patient" not in data
        else _field("patient", lambda: get_patient_for(patient_id=data["patient"]))
    )
    return WaitlistEntryInput(
        patient=patient,
        practitioner=pick("practitioner", lambda v: get_practitioner_for(practitioner_id=v)),
        appointment_type=pick(
            "appointment_type", lambda v: get_appointment_type_for(appointment_type_id=v)
        ),
        preferred_weekdays=tuple(
            data.get("preferred_weekdays", base.preferred_weekdays if base else ())
        ),
        preferred_from=data.get("preferred_from", base.preferred_from if base else None),
        preferred_until=data.get("preferred_until", base.preferred_until if base else None),
        current_appointment=pick(
            "current_appointment", lambda v: get_appointment_for(appointment_id=v)
        ),
        note=data.get("note", base.note if base else ""),
    )


ENTRY_EXAMPLE = {
    "id": 9,
    "patient": {"id": 17, "number": "P-000017", "name": "Zoë Núñez"},
    "practitioner": {"id": 2, "display_name": "Dr Pat Lee", "colour": "#2563eb"},
    "appointment_type": None,
    "preferred_weekdays": [0, 2],
    "preferred_from": "09:00:00",
    "preferred_until": "12:00:00",
    "current_appointment": APPOINTMENT_BRIEF,
    "note": "Can come at short notice.",
    "status": "waiting",
    "created_at": "2031-02-20T09:00:00Z",
}
ENTRY_WRITE_EXAMPLE = {
    "patient": 17,
    "practitioner": 2,
    "preferred_weekdays": [0, 2],
    "preferred_from": "09:00",
    "preferred_until": "12:00",
    "current_appointment": 56,
}
STATUS_CHOICES = [*WaitlistEntry.Status.values, "all"]


def _entry_out(entry: WaitlistEntry) -> dict[str, Any]:
    fresh = get_waitlist_entry_for(entry_id=entry.pk)
    return dict(WaitlistEntrySerializer(fresh).data)


def _entry_write(work: Callable[[], WaitlistEntry], *, created: bool = False) -> Response:
    try:
        entry = work()
    except DjangoValidationError as error:
        raise field_map_error(error) from error
    return Response(
        _entry_out(entry), status=status.HTTP_201_CREATED if created else status.HTTP_200_OK
    )


class WaitlistListApi(_Api):
    pagination_class = Pagination  # read by the schema, so the list shows as a page

    @extend_schema(
        operation_id="waitlist_list",
        summary="The waitlist",
        description="Longest waiting first.",
        parameters=[
            OpenApiParameter(
                "status",
                OpenApiTypes.STR,
                enum=STATUS_CHOICES,
                description="Default: waiting.",
            ),
            OpenApiParameter("page", OpenApiTypes.INT),
            OpenApiParameter("page_size", OpenApiTypes.INT, description="Default 50, at most 200."),
        ],
        responses={
            200: WaitlistEntrySerializer(many=True),
            400: _field_errors({"status": ["Use one of: waiting, booked, removed, all."]}),
        },
        examples=[OpenApiExample("A page of entries", value=ENTRY_EXAMPLE, response_only=True)],
    )
    def get(self, request: Request) -> Response:
        wanted = request.query_params.get("status", "waiting")
        if wanted not in STATUS_CHOICES:
            raise exceptions.ValidationError(
                {"status": [f"Use one of: {', '.join(STATUS_CHOICES)}."]}
            )
        statuses = WaitlistEntry.Status.values if wanted == "all" else [wanted]
        paginator = Pagination()
        rows = paginator.paginate_queryset(waitlist_entries(statuses=statuses), request, view=self)
        return paginator.get_paginated_response(WaitlistEntrySerializer(rows, many=True).data)

    @extend_schema(
        operation_id="waitlist_create",
        summary="Put a patient on the waitlist",
        request=WaitlistEntryWriteSerializer,
        responses={
            201: WaitlistEntrySerializer,
            400: _field_errors(
                {"patient": ["This patient is already waiting for this practitioner and type."]}
            ),
        },
        examples=[
            OpenApiExample("Mornings with Dr Lee", value=ENTRY_WRITE_EXAMPLE, request_only=True),
            OpenApiExample("Added", value=ENTRY_EXAMPLE, response_only=True, status_codes=["201"]),
        ],
    )
    def post(self, request: Request) -> Response:
        data = _valid(WaitlistEntryWriteSerializer(data=_body(request)))
        return _entry_write(
            lambda: waitlist_entry_add(actor=_actor(request), data=_entry_input(data)),
            created=True,
        )


class WaitlistDetailApi(_Api):
    @extend_schema(
        operation_id="waitlist_retrieve",
        summary="One waitlist entry",
        responses={200: WaitlistEntrySerializer, 404: _not_found("waitlist entry")},
        examples=[OpenApiExample("An entry", value=ENTRY_EXAMPLE, response_only=True)],
    )
    def get(self, request: Request, entry_id: int) -> Response:
        entry = get_waitlist_entry_for(entry_id=entry_id)
        return Response(WaitlistEntrySerializer(entry).data)

    @extend_schema(
        operation_id="waitlist_partial_update",
        summary="Change a waiting entry's preferences",
        request=WaitlistEntryWriteSerializer(partial=True),
        responses={
            200: WaitlistEntrySerializer,
            400: _field_errors(
                {"preferred_until": ["The end of the window must be after its start."]}
            ),
            404: _not_found("waitlist entry"),
        },
        examples=[
            OpenApiExample(
                "Afternoons instead",
                value={"preferred_from": "13:00", "preferred_until": "17:00"},
                request_only=True,
            ),
            OpenApiExample("Changed", value=ENTRY_EXAMPLE, response_only=True),
        ],
    )
    def patch(self, request: Request, entry_id: int) -> Response:
        entry = get_waitlist_entry_for(entry_id=entry_id)
        serializer = WaitlistEntryWriteSerializer(data=_body(request), partial=True)
        serializer.is_valid(raise_exception=True)
        # A partial serializer still fills defaults in; keep only what was sent.
        sent = {k: v for k, v in serializer.validated_data.items() if k in request.data}
        return _entry_write(
            lambda: waitlist_entry_update(
                actor=_actor(request), entry=entry, data=_entry_input(sent, base=entry)
            )
        )

    @extend_schema(
        operation_id="waitlist_destroy",
        summary="Take a patient off the waitlist",
        description="The entry is kept with status `removed`; its open offers are dismissed.",
        request=None,
        responses={
            200: WaitlistEntrySerializer,
            400: _field_errors({"status": ["This entry is no longer waiting."]}),
            404: _not_found("waitlist entry"),
        },
        examples=[
            OpenApiExample(
                "Removed", value={**ENTRY_EXAMPLE, "status": "removed"}, response_only=True
            )
        ],
    )
    def delete(self, request: Request, entry_id: int) -> Response:
        entry = get_waitlist_entry_for(entry_id=entry_id)
        return _entry_write(lambda: waitlist_entry_remove(actor=_actor(request), entry=entry))


class WaitlistOfferSerializer(serializers.ModelSerializer[WaitlistOffer]):
    entry = WaitlistEntrySerializer(read_only=True)
    freed_appointment = AppointmentSerializer(read_only=True)

    class Meta:
        model = WaitlistOffer
        fields = ["id", "entry", "freed_appointment", "status", "created_at"]
        read_only_fields = fields


class OfferBookSerializer(serializers.Serializer[Any]):
    cancel_current = serializers.BooleanField(
        required=False,
        default=True,
        help_text="Cancel the patient's later appointment (the entry's current_appointment).",
    )


OFFER_EXAMPLE = {
    "id": 3,
    "entry": ENTRY_EXAMPLE,
    "freed_appointment": {
        **APPOINTMENT_BRIEF,
        "status": "cancelled",
        "cancellation_reason": "Patient phoned",
    },
    "status": "open",
    "created_at": "2031-02-27T16:02:00Z",
}


class WaitlistOffersApi(_Api):
    @extend_schema(
        operation_id="waitlist_offers_list",
        summary="Freed slots offered to waiting patients",
        description=(
            "Open offers whose slot is still in the future and still free, soonest first; "
            "for one slot, the best match first."
        ),
        responses={200: WaitlistOfferSerializer(many=True)},
        examples=[OpenApiExample("Open offers", value=[OFFER_EXAMPLE], response_only=True)],
    )
    def get(self, request: Request) -> Response:
        offers = list(open_waitlist_offers()[:200])
        return Response(WaitlistOfferSerializer(offers, many=True).data)


class WaitlistOfferBookApi(_Api):
    @extend_schema(
        operation_id="waitlist_offers_book",
        summary="Book the freed slot for the waiting patient",
        description=(
            "Books through the same service as any booking (the database still decides: 409 "
            "`slot_taken` if someone took it). The offer is accepted, the entry booked, and "
            "with `cancel_current` (default true) the patient's later appointment cancelled."
        ),
        request=OfferBookSerializer,
        responses={
            201: AppointmentSerializer,
            400: _field_errors({"offer": ["This offer was already booked or dismissed."]}),
            404: _not_found("waitlist offer"),
            409: OpenApiResponse(
                description="The slot was taken meanwhile; nothing changed.",
                examples=[
                    OpenApiExample(
                        "Taken",
                        value={
                            "error": {
                                "code": "slot_taken",
                                "message": "Dr Pat Lee is already booked Mon 10 Mar "
                                "10:00-10:30 (Check-up, Ben Okafor).",
                                "fields": {},
                                "conflict": {
                                    "id": 60,
                                    "starts_at": "2031-03-10T10:00:00+00:00",
                                    "ends_at": "2031-03-10T10:30:00+00:00",
                                    "resource": "practitioner",
                                },
                            }
                        },
                        response_only=True,
                        status_codes=["409"],
                    )
                ],
            ),
        },
        examples=[
            OpenApiExample(
                "Keep the later appointment", value={"cancel_current": False}, request_only=True
            ),
            OpenApiExample(
                "Booked", value=APPOINTMENT_BRIEF, response_only=True, status_codes=["201"]
            ),
        ],
    )
    def post(self, request: Request, offer_id: int) -> Response:
        offer = get_waitlist_offer_for(offer_id=offer_id)
        data = _valid(OfferBookSerializer(data=_body(request)))
        try:
            appointment = waitlist_offer_accept(
                actor=_actor(request), offer=offer, cancel_current=data["cancel_current"]
            )
        except AppointmentConflict as conflict:
            return _slot_taken_response(conflict)
        except DjangoValidationError as error:
            raise field_map_error(error) from error
        return Response(AppointmentSerializer(appointment).data, status=status.HTTP_201_CREATED)


class WaitlistOfferDismissApi(_Api):
    @extend_schema(
        operation_id="waitlist_offers_dismiss",
        summary="Dismiss an offer",
        request=None,
        responses={
            200: WaitlistOfferSerializer,
            400: _field_errors({"offer": ["This offer was already booked or dismissed."]}),
            404: _not_found("waitlist offer"),
        },
        examples=[
            OpenApiExample(
                "Dismissed", value={**OFFER_EXAMPLE, "status": "dismissed"}, response_only=True
            )
        ],
    )
    def post(self, request: Request, offer_id: int) -> Response:
        offer = get_waitlist_offer_for(offer_id=offer_id)
        try:
            offer = waitlist_offer_dismiss(actor=_actor(request), offer=offer)
        except DjangoValidationError as error:
            raise field_map_error(error) from error
        fresh = get_waitlist_offer_for(offer_id=offer.pk)
        return Response(WaitlistOfferSerializer(fresh).data)
