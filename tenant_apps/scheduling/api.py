"""DRF views of the calendar under `/api/v1/`: appointments and availability (the
set-up endpoints are in api_setup.py).

Reads need calendar.view; booking, moving, cancelling and status changes need
calendar.manage. Overbooking and booking outside hours also need calendar.override, which
the service checks (it alone knows what was asked).

Two refusals have their own shape:
- the practitioner or room is taken: 409 `slot_taken`, with `error.conflict` naming the
  appointment in the way (PostgreSQL's exclusion constraint decides, so two requests
  racing for one slot get one 201 and one 409);
- the time is outside the practitioner's hours: 400 `outside_hours` with the field map;
  send `allow_outside_hours: true` (calendar.override) to book it anyway.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any, cast

from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from drcrm.errors import error_body
from drcrm.rest import field_map_error
from drcrm.validation import whole_number
from tenant_apps.scheduling.api_common import (
    CALENDAR_MANAGE,
    CalendarApi,
    CalendarListApi,
    field_errors,
    json_body,
    not_found,
    paginated,
    query_error,
    request_actor,
    service_errors,
    validated,
)
from tenant_apps.scheduling.availability import (
    DEFAULT_STEP_MINUTES,
    MAX_DAYS,
    MAX_LIMIT,
    duration_minutes,
    next_available_slots,
)
from tenant_apps.scheduling.clock import clinic_zone, day_bounds
from tenant_apps.scheduling.models import Appointment
from tenant_apps.scheduling.selectors import (
    appointments_between,
    appointments_with_related,
    get_appointment_for,
    get_appointment_type_for,
    get_practitioner_for,
)
from tenant_apps.scheduling.serializers import (
    MAX_ID,
    AppointmentCreateSerializer,
    AppointmentDetailSerializer,
    AppointmentNotesSerializer,
    AppointmentSerializer,
    AvailabilitySerializer,
    CancelSerializer,
    ConflictErrorSerializer,
    ErrorSerializer,
    RescheduleSerializer,
    StatusSerializer,
    parse_clinic_date,
    parse_clinic_datetime,
)
from tenant_apps.scheduling.services import (
    AppointmentConflict,
    BookingRequest,
    OutsideWorkingHours,
    appointment_book,
    appointment_cancel,
    appointment_notes_update,
    appointment_reschedule,
    appointment_status_change,
)

# The longest range one appointment list covers; longer asks are a 400, not a slow page.
MAX_LIST_DAYS = 62
DEFAULT_LIST_DAYS = 7


# --- appointment writes ----------------------------------------------------------------------


def _conflict_response(conflict: AppointmentConflict) -> Response:
    other = conflict.conflicting
    body = error_body("slot_taken", conflict.message)
    body["error"]["conflict"] = {  # type: ignore[index]
        "id": other.pk,
        "starts_at": other.starts_at.astimezone(clinic_zone()).isoformat(),
        "ends_at": other.ends_at.astimezone(clinic_zone()).isoformat(),
        "practitioner": {
            "id": other.practitioner.pk,
            "display_name": other.practitioner.display_name,
            "colour": other.practitioner.colour,
        },
        "room": None if other.room is None else {"id": other.room.pk, "name": other.room.name},
        "resource": conflict.resource,
    }
    return Response(body, status=status.HTTP_409_CONFLICT)


def _outside_hours_response(error: OutsideWorkingHours) -> Response:
    fields = cast(dict[str, list[str]], field_map_error(error).detail)
    body = error_body(
        "outside_hours",
        "The practitioner is not working then. Send allow_outside_hours: true to book it "
        "anyway (needs calendar.override).",
        {name: [str(message) for message in messages] for name, messages in fields.items()},
    )
    return Response(body, status=status.HTTP_400_BAD_REQUEST)


def _appointment_write(work: Callable[[], Appointment], *, created: bool = False) -> Response:
    """Run a lifecycle service; its refusals become the API's 400 and 409 answers."""
    try:
        appointment = work()
    except AppointmentConflict as conflict:
        return _conflict_response(conflict)
    except OutsideWorkingHours as error:
        return _outside_hours_response(error)
    except DjangoValidationError as error:
        raise field_map_error(error) from error
    return Response(
        _appointment_detail(appointment.pk),
        status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
    )


def _appointment_detail(appointment_id: int) -> dict[str, Any]:
    appointment = (
        appointments_with_related().prefetch_related("status_changes").get(pk=appointment_id)
    )
    return dict(AppointmentDetailSerializer(appointment).data)


# --- query parameters ------------------------------------------------------------------------


def _moment_param(request: Request, name: str, *, day_end: bool) -> dt.datetime | None:
    """A date (the start, or with `day_end` the end, of that local day) or a date-time."""
    raw = request.query_params.get(name, "").strip()
    if not raw:
        return None
    try:
        if len(raw) == 10:
            bounds = day_bounds(parse_clinic_date(raw), zone=clinic_zone())
            return bounds[1] if day_end else bounds[0]
        return parse_clinic_datetime(raw, field=name)
    except serializers.ValidationError as error:
        raise query_error(name, error) from None


def _id_param(request: Request, name: str) -> int | None:
    raw = request.query_params.get(name, "").strip()
    if not raw:
        return None
    value = whole_number(raw, low=1, high=MAX_ID)
    if value is None:
        raise exceptions.ValidationError({name: ["Send a numeric id."]})
    return value


def _int_param(request: Request, name: str, *, default: int, low: int, high: int) -> int:
    raw = request.query_params.get(name, "").strip()
    if not raw:
        return default
    value = whole_number(raw, low=low, high=high)
    if value is None:
        raise exceptions.ValidationError({name: [f"A whole number from {low} to {high}."]})
    return value


def _statuses_param(request: Request) -> list[str] | None:
    raw = request.query_params.get("status", "").strip()
    if not raw:
        return None
    statuses = [part.strip() for part in raw.split(",") if part.strip()]
    unknown = [value for value in statuses if value not in Appointment.Status.values]
    if unknown or not statuses:
        raise exceptions.ValidationError(
            {"status": [f"Use one or more of: {', '.join(Appointment.Status.values)}."]}
        )
    return statuses


def _list_range(request: Request) -> tuple[dt.datetime, dt.datetime]:
    """[from, to) of the appointment list: today and the next days by default."""
    zone = clinic_zone()
    starts = _moment_param(request, "from", day_end=False)
    if starts is None:
        starts = day_bounds(timezone.now().astimezone(zone).date(), zone=zone)[0]
    ends = _moment_param(request, "to", day_end=True)
    if ends is None:
        ends = starts.astimezone(zone) + dt.timedelta(days=DEFAULT_LIST_DAYS)
    if ends <= starts:
        raise exceptions.ValidationError({"to": ["The end must be after the start."]})
    # Wall-clock days, so a range spanning a DST change is not an hour too long.
    wall = ends.astimezone(zone).replace(tzinfo=None) - starts.astimezone(zone).replace(tzinfo=None)
    if wall > dt.timedelta(days=MAX_LIST_DAYS):
        raise exceptions.ValidationError({"to": [f"List at most {MAX_LIST_DAYS} days at a time."]})
    return starts, ends


# --- examples --------------------------------------------------------------------------------

PRACTITIONER_BRIEF = {"id": 2, "display_name": "Dr Pat Lee", "colour": "#2563eb"}
APPOINTMENT_EXAMPLE = {
    "id": 41,
    "patient": {"id": 17, "number": "P-000017", "name": "Zoë Núñez"},
    "practitioner": PRACTITIONER_BRIEF,
    "room": {"id": 1, "name": "Chair 1"},
    "appointment_type": {"id": 3, "name": "Check-up", "colour": "#0d9488"},
    "starts_at": "2031-03-03T10:00:00+00:00",
    "ends_at": "2031-03-03T10:30:00+00:00",
    "status": "booked",
    "is_overbooked": False,
    "outside_hours": False,
    "series": None,
    "series_position": None,
    "cancellation_reason": "",
    "front_desk_notes": "Prefers the window chair.",
    "created_at": "2031-02-20T14:02:11Z",
    "updated_at": "2031-02-20T14:02:11Z",
}
APPOINTMENT_DETAIL_EXAMPLE = {
    **APPOINTMENT_EXAMPLE,
    "status_history": [
        {
            "from_status": "",
            "to_status": "booked",
            "changed_at": "2031-02-20T14:02:11Z",
            "changed_by_id": 5,
        }
    ],
}
DETAIL_EXAMPLES = [
    OpenApiExample("An appointment", value=APPOINTMENT_DETAIL_EXAMPLE, response_only=True)
]


CONFLICT = OpenApiResponse(
    response=ConflictErrorSerializer,
    description=(
        "The practitioner or room is already booked then; `error.conflict` is the appointment "
        "in the way. Nothing was saved."
    ),
    examples=[
        OpenApiExample(
            "Slot taken",
            value={
                "error": {
                    "code": "slot_taken",
                    "message": "Dr Pat Lee is already booked Mon 03 Mar 10:00-10:30 "
                    "(Check-up, Zoë Núñez).",
                    "fields": {},
                    "conflict": {
                        "id": 41,
                        "starts_at": "2031-03-03T10:00:00+00:00",
                        "ends_at": "2031-03-03T10:30:00+00:00",
                        "practitioner": PRACTITIONER_BRIEF,
                        "room": {"id": 1, "name": "Chair 1"},
                        "resource": "practitioner",
                    },
                }
            },
            response_only=True,
            status_codes=["409"],
        )
    ],
)
BOOKING_REFUSED = OpenApiResponse(
    response=ErrorSerializer,
    description=(
        "Field errors (`invalid`), or `outside_hours`: the practitioner is not working then "
        "(send `allow_outside_hours: true`, needs calendar.override). Nothing was saved."
    ),
    examples=[
        OpenApiExample(
            "End before start",
            value=error_body(
                "invalid",
                "Some fields are not valid.",
                {"ends_at": ["The end must be after the start."]},
            ),
            response_only=True,
            status_codes=["400"],
        ),
        OpenApiExample(
            "Outside working hours",
            value=error_body(
                "outside_hours",
                "The practitioner is not working then. Send allow_outside_hours: true to book "
                "it anyway (needs calendar.override).",
                {
                    "starts_at": [
                        "Dr Pat Lee is not working then (outside hours, a break, leave or a "
                        "closure). Ask an owner or practice manager to book it."
                    ]
                },
            ),
            response_only=True,
            status_codes=["400"],
        ),
    ],
)


# --- appointments ----------------------------------------------------------------------------

APPOINTMENT_LIST_PARAMETERS = [
    OpenApiParameter(
        "from",
        OpenApiTypes.STR,
        description="A local date (from its start) or a date-time. Default: today.",
    ),
    OpenApiParameter(
        "to",
        OpenApiTypes.STR,
        description=(
            "A local date (up to its end, inclusive) or a date-time (exclusive). Default: "
            f"{DEFAULT_LIST_DAYS} days after `from`. At most {MAX_LIST_DAYS} days after it."
        ),
    ),
    OpenApiParameter("practitioner", OpenApiTypes.INT),
    OpenApiParameter("patient", OpenApiTypes.INT),
    OpenApiParameter("room", OpenApiTypes.INT),
    OpenApiParameter(
        "status",
        OpenApiTypes.STR,
        description=f"One or more, comma-separated: {', '.join(Appointment.Status.values)}.",
    ),
    OpenApiParameter("page", OpenApiTypes.INT),
    OpenApiParameter("page_size", OpenApiTypes.INT, description="Default 50, at most 200."),
]
CREATE_EXAMPLE = {
    "patient": 17,
    "practitioner": 2,
    "appointment_type": 3,
    "starts_at": "2031-03-03T10:00",
    "front_desk_notes": "Prefers the window chair.",
}


class AppointmentListApi(CalendarListApi):
    """Appointments overlapping a date range (GET); book one (POST)."""

    @extend_schema(
        operation_id="appointments_list",
        summary="List appointments in a date range",
        description=(
            "Appointments overlapping [from, to), earliest first, cancelled ones included "
            "unless `status` says otherwise. Times are in the clinic's zone."
        ),
        parameters=APPOINTMENT_LIST_PARAMETERS,
        responses={
            200: AppointmentSerializer(many=True),
            400: field_errors(
                "Range too long", {"to": [f"List at most {MAX_LIST_DAYS} days at a time."]}
            ),
        },
        examples=[
            OpenApiExample(
                "A page of appointments",
                value=APPOINTMENT_EXAMPLE,
                response_only=True,
                status_codes=["200"],
            )
        ],
    )
    def get(self, request: Request) -> Response:
        starts, ends = _list_range(request)
        practitioner_id = _id_param(request, "practitioner")
        room_id = _id_param(request, "room")
        queryset = appointments_between(
            starts=starts,
            ends=ends,
            practitioner_ids=None if practitioner_id is None else [practitioner_id],
            room_ids=None if room_id is None else [room_id],
            patient_id=_id_param(request, "patient"),
            statuses=_statuses_param(request),
        )
        return paginated(self, request, queryset, AppointmentSerializer)

    @extend_schema(
        operation_id="appointments_create",
        summary="Book an appointment",
        description=(
            "`starts_at` with an offset is that instant; without one it is the clinic's "
            "wall-clock time (a time the clocks skip is a 400). `ends_at` defaults to the "
            "type's duration, `room` to a free room the type needs. The database refuses a "
            "double booking: 409 `slot_taken` names the appointment in the way."
        ),
        request=AppointmentCreateSerializer,
        responses={
            201: AppointmentDetailSerializer,
            400: BOOKING_REFUSED,
            403: OpenApiResponse(
                description="No calendar.manage (or overbook without calendar.override is a 400)."
            ),
            409: CONFLICT,
        },
        examples=[
            OpenApiExample("Book in clinic time", value=CREATE_EXAMPLE, request_only=True),
            OpenApiExample(
                "Book an instant, with a room and an end",
                value={
                    **CREATE_EXAMPLE,
                    "starts_at": "2031-03-03T10:00:00+00:00",
                    "ends_at": "2031-03-03T10:45:00+00:00",
                    "room": 1,
                },
                request_only=True,
            ),
            *DETAIL_EXAMPLES,
        ],
    )
    def post(self, request: Request) -> Response:
        data = validated(AppointmentCreateSerializer, json_body(request))
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
        return _appointment_write(
            lambda: appointment_book(actor=request_actor(request), booking=booking), created=True
        )


class AppointmentDetailApi(CalendarApi):
    """One appointment with its status history (GET); its front-desk notes (PATCH)."""

    @extend_schema(
        operation_id="appointments_retrieve",
        summary="Open an appointment",
        responses={200: AppointmentDetailSerializer, 404: not_found("appointment")},
        examples=DETAIL_EXAMPLES,
    )
    def get(self, request: Request, appointment_id: int) -> Response:
        appointment = get_appointment_for(appointment_id=appointment_id)
        return Response(_appointment_detail(appointment.pk))

    @extend_schema(
        operation_id="appointments_partial_update",
        summary="Change an appointment's front-desk notes",
        description=(
            "Only `front_desk_notes` changes here; moving, cancelling and status changes have "
            "their own endpoints (other fields sent are a 400)."
        ),
        request=AppointmentNotesSerializer,
        responses={
            200: AppointmentDetailSerializer,
            400: field_errors(
                "Not changed here", {"starts_at": ["Use /reschedule/ to move an appointment."]}
            ),
            404: not_found("appointment"),
        },
        examples=[
            OpenApiExample(
                "New notes",
                value={"front_desk_notes": "Running 10 minutes late."},
                request_only=True,
            ),
            *DETAIL_EXAMPLES,
        ],
    )
    def patch(self, request: Request, appointment_id: int) -> Response:
        appointment = get_appointment_for(appointment_id=appointment_id)
        body = json_body(request)
        others = {
            name: [_ELSEWHERE.get(name, "This field cannot be changed here.")]
            for name in body
            if name != "front_desk_notes"
        }
        if others:
            raise exceptions.ValidationError(others)
        data = validated(AppointmentNotesSerializer, body)
        return _appointment_write(
            lambda: appointment_notes_update(
                actor=request_actor(request),
                appointment=appointment,
                front_desk_notes=data["front_desk_notes"],
            )
        )


_ELSEWHERE = dict.fromkeys(
    ("starts_at", "ends_at", "practitioner", "room"), "Use /reschedule/ to move an appointment."
) | {
    "status": "Use /status/ (or /cancel/) to change the status.",
    "cancellation_reason": "Use /cancel/ to cancel an appointment.",
}


class AppointmentRescheduleApi(CalendarApi):
    """Move an appointment; the database still decides whether the new time is free."""

    write_access = CALENDAR_MANAGE

    @extend_schema(
        operation_id="appointments_reschedule",
        summary="Move an appointment",
        description=(
            "Same length unless `ends_at` is given; `practitioner` and `room` default to the "
            "current ones. Cancelled, no-show and completed appointments cannot move (400)."
        ),
        request=RescheduleSerializer,
        responses={
            200: AppointmentDetailSerializer,
            400: BOOKING_REFUSED,
            404: not_found("appointment"),
            409: CONFLICT,
        },
        examples=[
            OpenApiExample(
                "Half an hour later", value={"starts_at": "2031-03-03T10:30"}, request_only=True
            ),
            OpenApiExample(
                "To another practitioner",
                value={"starts_at": "2031-03-04T09:00:00+00:00", "practitioner": 4},
                request_only=True,
            ),
            *DETAIL_EXAMPLES,
        ],
    )
    def post(self, request: Request, appointment_id: int) -> Response:
        appointment = get_appointment_for(appointment_id=appointment_id)
        data = validated(RescheduleSerializer, json_body(request))
        return _appointment_write(
            lambda: appointment_reschedule(
                actor=request_actor(request),
                appointment=appointment,
                starts_at=data["starts_at"],
                ends_at=data.get("ends_at"),
                practitioner=data.get("practitioner"),
                room=data.get("room"),
                overbook=data.get("overbook"),
                allow_outside_hours=data["allow_outside_hours"],
            )
        )


class AppointmentCancelApi(CalendarApi):
    """Cancel with a reason: the slot is free at once."""

    @extend_schema(
        operation_id="appointments_cancel",
        summary="Cancel an appointment",
        request=CancelSerializer,
        responses={
            200: AppointmentDetailSerializer,
            400: field_errors("No reason", {"reason": ["Say why the appointment is cancelled."]}),
            404: not_found("appointment"),
        },
        examples=[
            OpenApiExample(
                "Cancel", value={"reason": "Patient phoned: unwell."}, request_only=True
            ),
            *DETAIL_EXAMPLES,
        ],
    )
    def post(self, request: Request, appointment_id: int) -> Response:
        appointment = get_appointment_for(appointment_id=appointment_id)
        data = validated(CancelSerializer, json_body(request))
        return _appointment_write(
            lambda: appointment_cancel(
                actor=request_actor(request), appointment=appointment, reason=data["reason"]
            )
        )


class AppointmentStatusApi(CalendarApi):
    """Confirm, check in, start, complete, mark a no-show (allowed moves only)."""

    @extend_schema(
        operation_id="appointments_status",
        summary="Change an appointment's status",
        description=(
            "booked → confirmed → arrived → in_progress → completed, and back where it makes "
            "sense; a move that is not allowed is a 400 listing the allowed ones. A no-show "
            "that turns up takes its slot back only if it is still free (else 409)."
        ),
        request=StatusSerializer,
        responses={
            200: AppointmentDetailSerializer,
            400: field_errors(
                "Not allowed",
                {
                    "status": [
                        "A booked appointment cannot become completed (it can become: "
                        "Arrived, Cancelled, Confirmed, No-show)."
                    ]
                },
            ),
            404: not_found("appointment"),
            409: CONFLICT,
        },
        examples=[
            OpenApiExample("Check in", value={"status": "arrived"}, request_only=True),
            *DETAIL_EXAMPLES,
        ],
    )
    def post(self, request: Request, appointment_id: int) -> Response:
        appointment = get_appointment_for(appointment_id=appointment_id)
        data = validated(StatusSerializer, json_body(request))
        return _appointment_write(
            lambda: appointment_status_change(
                actor=request_actor(request), appointment=appointment, to_status=data["status"]
            )
        )


# --- availability ----------------------------------------------------------------------------

AVAILABILITY_EXAMPLE = {
    "appointment_type": {"id": 3, "name": "Check-up", "colour": "#0d9488"},
    "duration_minutes": 30,
    "slots": [
        {
            "starts_at": "2031-03-03T09:00:00+00:00",
            "ends_at": "2031-03-03T09:30:00+00:00",
            "practitioner": PRACTITIONER_BRIEF,
            "room": {"id": 1, "name": "Chair 1"},
        },
        {
            "starts_at": "2031-03-03T09:15:00+00:00",
            "ends_at": "2031-03-03T09:45:00+00:00",
            "practitioner": PRACTITIONER_BRIEF,
            "room": {"id": 1, "name": "Chair 1"},
        },
    ],
}


class AvailabilityApi(CalendarApi):
    """The next free slots for an appointment type."""

    @extend_schema(
        operation_id="availability",
        summary="Find the next free slots",
        description=(
            "Slots of the type's length, on the clinic's clock every "
            f"{DEFAULT_STEP_MINUTES} minutes (or the type's length if shorter), inside the "
            "practitioner's working hours (breaks, leave, extra hours and closures "
            "respected), clear of other bookings with the type's buffer, with a free room if "
            "the type needs one. Without `practitioner`: every active practitioner offering "
            "the type, merged in time order. Never in the past."
        ),
        parameters=[
            OpenApiParameter("appointment_type", OpenApiTypes.INT, required=True),
            OpenApiParameter(
                "practitioner", OpenApiTypes.INT, description="Default: any who offers the type."
            ),
            OpenApiParameter(
                "from",
                OpenApiTypes.STR,
                description="A local date (from its start) or a date-time. Default: now.",
            ),
            OpenApiParameter(
                "days",
                OpenApiTypes.INT,
                description=f"Local days to search: 1 to {MAX_DAYS}, default 14.",
            ),
            OpenApiParameter(
                "limit",
                OpenApiTypes.INT,
                description=f"At most this many slots: 1 to {MAX_LIMIT}, default 10.",
            ),
        ],
        responses={
            200: AvailabilitySerializer,
            400: field_errors(
                "Type not offered", {"practitioner": ["Dr Pat Lee does not offer Consultation."]}
            ),
        },
        examples=[OpenApiExample("Free slots", value=AVAILABILITY_EXAMPLE, response_only=True)],
    )
    def get(self, request: Request) -> Response:
        appointment_type = self._resolved(request, "appointment_type", required=True)
        practitioner = self._resolved(request, "practitioner", required=False)
        starts_from = _moment_param(request, "from", day_end=False) or timezone.now()
        days = _int_param(request, "days", default=14, low=1, high=MAX_DAYS)
        limit = _int_param(request, "limit", default=10, low=1, high=MAX_LIMIT)
        try:
            slots = next_available_slots(
                appointment_type=appointment_type,
                practitioner=practitioner,
                starts_from=starts_from,
                days=days,
                limit=limit,
            )
        except DjangoValidationError as error:
            raise service_errors(error) from error
        body = {
            "appointment_type": appointment_type,
            "duration_minutes": duration_minutes(appointment_type.default_duration),
            "slots": slots,
        }
        return Response(AvailabilitySerializer(body).data)

    @staticmethod
    def _resolved(request: Request, name: str, *, required: bool) -> Any:
        object_id = _id_param(request, name)
        if object_id is None:
            if required:
                raise exceptions.ValidationError({name: ["This parameter is required."]})
            return None
        try:
            if name == "appointment_type":
                return get_appointment_type_for(appointment_type_id=object_id)
            return get_practitioner_for(practitioner_id=object_id)
        except Http404:
            label = name.replace("_", " ")
            raise exceptions.ValidationError({name: [f"No such {label}."]}) from None
