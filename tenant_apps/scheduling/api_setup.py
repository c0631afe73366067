"""DRF views of the calendar's set-up under `/api/v1/`: practitioners, their working
hours and leave or extra hours, clinic closures, rooms and appointment types.

Reads need calendar.view, writes calendar.setup (owners and practice managers).
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import models
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework import exceptions, status
from rest_framework.request import Request
from rest_framework.response import Response

from drcrm.errors import error_body
from drcrm.lookup import ModelT, get_or_404
from shared_apps.accounts.models import User
from tenant_apps.scheduling.api_common import (
    CALENDAR_SETUP,
    CalendarApi,
    CalendarListApi,
    date_param,
    field_errors,
    json_body,
    not_found,
    paginated,
    request_actor,
    service_errors,
    validated,
)
from tenant_apps.scheduling.models import AppointmentType, ClinicClosure, Practitioner, Room
from tenant_apps.scheduling.selectors import (
    get_appointment_type_for,
    get_practitioner_for,
    get_room_for,
)
from tenant_apps.scheduling.serializers import (
    AppointmentTypeSerializer,
    AppointmentTypeWriteSerializer,
    ClinicClosureSerializer,
    ClinicClosureWriteSerializer,
    PractitionerCreateSerializer,
    PractitionerSerializer,
    PractitionerWriteSerializer,
    RoomSerializer,
    RoomWriteSerializer,
    ScheduleExceptionSerializer,
    ScheduleExceptionWriteSerializer,
    WorkingWeekSerializer,
)
from tenant_apps.scheduling.services import (
    AppointmentTypeInput,
    appointment_type_create,
    appointment_type_update,
    clinic_closure_create,
    clinic_closure_delete,
    practitioner_create,
    practitioner_update,
    room_create,
    room_update,
    schedule_exception_create,
    schedule_exception_delete,
    working_week_set,
)

# --- practitioners ---------------------------------------------------------------------------

PRACTITIONER_EXAMPLE = {
    "id": 2,
    "user_id": 5,
    "display_name": "Dr Pat Lee",
    "colour": "#2563eb",
    "appointment_types": [3, 4],
    "is_active": True,
}
PRACTITIONER_EXAMPLES = [
    OpenApiExample("A practitioner", value=PRACTITIONER_EXAMPLE, response_only=True)
]


def _practitioners() -> models.QuerySet[Practitioner]:
    return Practitioner.objects.prefetch_related("appointment_types").order_by("display_name", "id")


def _practitioner_out(practitioner: Practitioner) -> dict[str, Any]:
    return dict(PractitionerSerializer(_practitioners().get(pk=practitioner.pk)).data)


class PractitionerListApi(CalendarListApi):
    """The calendar's practitioners (GET); put a member of staff on it (POST)."""

    write_access = CALENDAR_SETUP

    @extend_schema(
        operation_id="practitioners_list",
        summary="List practitioners",
        parameters=[
            OpenApiParameter(
                "active",
                OpenApiTypes.STR,
                enum=["true", "false", "all"],
                description="Default: all.",
            ),
            OpenApiParameter("page", OpenApiTypes.INT),
            OpenApiParameter("page_size", OpenApiTypes.INT),
        ],
        responses={200: PractitionerSerializer(many=True)},
        examples=[
            OpenApiExample(
                "A page of practitioners",
                value=PRACTITIONER_EXAMPLE,
                response_only=True,
                status_codes=["200"],
            )
        ],
    )
    def get(self, request: Request) -> Response:
        return paginated(
            self, request, _active_filter(request, _practitioners()), PractitionerSerializer
        )

    @extend_schema(
        operation_id="practitioners_create",
        summary="Put a member of staff on the calendar",
        description="`user_id` must be an active member of this clinic, not yet on the calendar.",
        request=PractitionerCreateSerializer,
        responses={
            201: PractitionerSerializer,
            400: field_errors(
                "Not staff here",
                {"user_id": ["Only active staff of this clinic can take bookings."]},
            ),
        },
        examples=[
            OpenApiExample(
                "New practitioner",
                value={"user_id": 5, "display_name": "Dr Pat Lee", "appointment_types": [3, 4]},
                request_only=True,
            ),
            *PRACTITIONER_EXAMPLES,
        ],
    )
    def post(self, request: Request) -> Response:
        data = validated(PractitionerCreateSerializer, json_body(request))
        user = User.objects.filter(pk=data["user_id"]).first()
        if user is None:  # the same answer as for someone who is not staff here
            raise exceptions.ValidationError(
                {"user_id": ["Only active staff of this clinic can take bookings."]}
            )
        try:
            practitioner = practitioner_create(
                actor=request_actor(request),
                user=user,
                display_name=data.get("display_name", ""),
                colour=data.get("colour", "#2563eb"),
                appointment_types=data.get("appointment_types", []),
            )
        except DjangoValidationError as error:
            raise service_errors(error, user="user_id") from error
        return Response(_practitioner_out(practitioner), status=status.HTTP_201_CREATED)


def _active_filter(request: Request, queryset: models.QuerySet[ModelT]) -> models.QuerySet[ModelT]:
    raw = request.query_params.get("active", "all").strip().lower() or "all"
    if raw not in ("true", "false", "all"):
        raise exceptions.ValidationError({"active": ["Use one of: true, false, all."]})
    return queryset if raw == "all" else queryset.filter(is_active=raw == "true")


class PractitionerDetailApi(CalendarApi):
    """One practitioner (GET); change name, colour, types offered, active (PATCH)."""

    write_access = CALENDAR_SETUP

    @extend_schema(
        operation_id="practitioners_retrieve",
        summary="Open a practitioner",
        responses={200: PractitionerSerializer, 404: not_found("practitioner")},
        examples=PRACTITIONER_EXAMPLES,
    )
    def get(self, request: Request, practitioner_id: int) -> Response:
        practitioner = get_practitioner_for(practitioner_id=practitioner_id)
        return Response(_practitioner_out(practitioner))

    @extend_schema(
        operation_id="practitioners_partial_update",
        summary="Change a practitioner",
        description="Fields left out keep their values. `is_active: false` stops new bookings.",
        request=PractitionerWriteSerializer,
        responses={
            200: PractitionerSerializer,
            400: field_errors("Bad colour", {"colour": ["Use a colour like #2563eb."]}),
            404: not_found("practitioner"),
        },
        examples=[
            OpenApiExample(
                "Offers one more type", value={"appointment_types": [3, 4, 7]}, request_only=True
            ),
            *PRACTITIONER_EXAMPLES,
        ],
    )
    def patch(self, request: Request, practitioner_id: int) -> Response:
        practitioner = get_practitioner_for(practitioner_id=practitioner_id)
        data = validated(PractitionerWriteSerializer, json_body(request))
        try:
            practitioner = practitioner_update(
                actor=request_actor(request),
                practitioner=practitioner,
                display_name=data.get("display_name", practitioner.display_name),
                colour=data.get("colour", practitioner.colour),
                appointment_types=data.get(
                    "appointment_types", list(practitioner.appointment_types.all())
                ),
                is_active=data.get("is_active", practitioner.is_active),
            )
        except DjangoValidationError as error:
            raise service_errors(error) from error
        return Response(_practitioner_out(practitioner))


WORKING_WEEK_EXAMPLE = {
    "periods": [
        {"weekday": 0, "starts": "09:00:00", "ends": "12:30:00"},
        {"weekday": 0, "starts": "13:30:00", "ends": "17:00:00"},
        {"weekday": 2, "starts": "09:00:00", "ends": "13:00:00"},
    ]
}


class WorkingHoursApi(CalendarApi):
    """A practitioner's usual week: read it (GET), replace it whole (PUT)."""

    write_access = CALENDAR_SETUP

    @extend_schema(
        operation_id="practitioners_working_hours_retrieve",
        summary="A practitioner's usual week",
        description="Local clock times; the gaps between a day's periods are its breaks.",
        responses={200: WorkingWeekSerializer, 404: not_found("practitioner")},
        examples=[OpenApiExample("A week", value=WORKING_WEEK_EXAMPLE, response_only=True)],
    )
    def get(self, request: Request, practitioner_id: int) -> Response:
        practitioner = get_practitioner_for(practitioner_id=practitioner_id)
        return Response(_week_out(practitioner))

    @extend_schema(
        operation_id="practitioners_working_hours_update",
        summary="Replace a practitioner's usual week",
        description="The periods sent become the whole week (an empty list: no usual hours).",
        request=WorkingWeekSerializer,
        responses={
            200: WorkingWeekSerializer,
            400: field_errors("Overlap", {"periods": ["Monday: two periods overlap."]}),
            404: not_found("practitioner"),
        },
        examples=[
            OpenApiExample(
                "Mornings and afternoons", value=WORKING_WEEK_EXAMPLE, request_only=True
            ),
            OpenApiExample("The week saved", value=WORKING_WEEK_EXAMPLE, response_only=True),
        ],
    )
    def put(self, request: Request, practitioner_id: int) -> Response:
        practitioner = get_practitioner_for(practitioner_id=practitioner_id)
        data = validated(WorkingWeekSerializer, json_body(request))
        try:
            working_week_set(
                actor=request_actor(request),
                practitioner=practitioner,
                periods=[(row["weekday"], row["starts"], row["ends"]) for row in data["periods"]],
            )
        except DjangoValidationError as error:
            raise service_errors(error) from error
        return Response(_week_out(practitioner))


def _week_out(practitioner: Practitioner) -> dict[str, Any]:
    periods = practitioner.working_periods.order_by("weekday", "starts")
    return dict(
        WorkingWeekSerializer(
            {
                "periods": [
                    {"weekday": p.weekday, "starts": p.starts, "ends": p.ends} for p in periods
                ]
            }
        ).data
    )


# --- schedule exceptions and clinic closures -------------------------------------------------

EXCEPTION_EXAMPLE = {
    "id": 9,
    "practitioner": 2,
    "date": "2031-03-05",
    "kind": "leave",
    "starts": None,
    "ends": None,
    "note": "Conference",
}
DATE_RANGE_PARAMETERS = [
    OpenApiParameter("from", OpenApiTypes.DATE, description="Only from this date on."),
    OpenApiParameter("to", OpenApiTypes.DATE, description="Only up to this date (inclusive)."),
    OpenApiParameter("page", OpenApiTypes.INT),
    OpenApiParameter("page_size", OpenApiTypes.INT),
]


class ScheduleExceptionListApi(CalendarListApi):
    """A practitioner's leave and extra hours (GET); add one (POST)."""

    write_access = CALENDAR_SETUP

    @extend_schema(
        operation_id="practitioners_exceptions_list",
        summary="A practitioner's leave and extra hours",
        parameters=DATE_RANGE_PARAMETERS,
        responses={200: ScheduleExceptionSerializer(many=True), 404: not_found("practitioner")},
        examples=[
            OpenApiExample(
                "A page of exceptions",
                value=EXCEPTION_EXAMPLE,
                response_only=True,
                status_codes=["200"],
            )
        ],
    )
    def get(self, request: Request, practitioner_id: int) -> Response:
        practitioner = get_practitioner_for(practitioner_id=practitioner_id)
        queryset = practitioner.schedule_exceptions.order_by("date", "starts", "id")
        first, last = date_param(request, "from"), date_param(request, "to")
        if first is not None:
            queryset = queryset.filter(date__gte=first)
        if last is not None:
            queryset = queryset.filter(date__lte=last)
        return paginated(self, request, queryset, ScheduleExceptionSerializer)

    @extend_schema(
        operation_id="practitioners_exceptions_create",
        summary="Add leave or extra hours",
        description=(
            "Leave without times is the whole day off; leave with times removes that stretch; "
            "extra hours (with times) add one."
        ),
        request=ScheduleExceptionWriteSerializer,
        responses={
            201: ScheduleExceptionSerializer,
            400: field_errors(
                "Extra hours without times", {"starts": ["Extra hours need a start and an end."]}
            ),
            404: not_found("practitioner"),
        },
        examples=[
            OpenApiExample(
                "A day's leave",
                value={"date": "2031-03-05", "kind": "leave", "note": "Conference"},
                request_only=True,
            ),
            OpenApiExample(
                "A Saturday clinic",
                value={"date": "2031-03-08", "kind": "extra", "starts": "09:00", "ends": "13:00"},
                request_only=True,
            ),
            OpenApiExample(
                "Added", value=EXCEPTION_EXAMPLE, response_only=True, status_codes=["201"]
            ),
        ],
    )
    def post(self, request: Request, practitioner_id: int) -> Response:
        practitioner = get_practitioner_for(practitioner_id=practitioner_id)
        data = validated(ScheduleExceptionWriteSerializer, json_body(request))
        try:
            exception = schedule_exception_create(
                actor=request_actor(request),
                practitioner=practitioner,
                date=data["date"],
                kind=data["kind"],
                starts=data.get("starts"),
                ends=data.get("ends"),
                note=data.get("note", ""),
            )
        except DjangoValidationError as error:
            raise service_errors(error) from error
        return Response(ScheduleExceptionSerializer(exception).data, status=status.HTTP_201_CREATED)


class ScheduleExceptionDetailApi(CalendarApi):
    """Remove a practitioner's leave or extra hours."""

    access = CALENDAR_SETUP
    write_access = CALENDAR_SETUP

    @extend_schema(
        operation_id="practitioners_exceptions_destroy",
        summary="Remove leave or extra hours",
        responses={204: None, 404: not_found("schedule exception")},
        examples=[
            OpenApiExample(
                "Not found",
                value=error_body("not_found", "No such schedule exception."),
                response_only=True,
                status_codes=["404"],
            )
        ],
    )
    def delete(self, request: Request, practitioner_id: int, exception_id: int) -> Response:
        practitioner = get_practitioner_for(practitioner_id=practitioner_id)
        exception = get_or_404(
            practitioner.schedule_exceptions.all(), exception_id, "schedule exception"
        )
        schedule_exception_delete(actor=request_actor(request), exception=exception)
        return Response(status=status.HTTP_204_NO_CONTENT)


CLOSURE_EXAMPLE = {
    "id": 3,
    "starts_on": "2031-12-25",
    "ends_on": "2031-12-26",
    "reason": "Christmas",
}


class ClinicClosureListApi(CalendarListApi):
    """Days the whole clinic is shut (GET); add some (POST)."""

    write_access = CALENDAR_SETUP

    @extend_schema(
        operation_id="clinic_closures_list",
        summary="List clinic closures",
        parameters=DATE_RANGE_PARAMETERS,
        responses={200: ClinicClosureSerializer(many=True)},
        examples=[
            OpenApiExample(
                "A page of closures",
                value=CLOSURE_EXAMPLE,
                response_only=True,
                status_codes=["200"],
            )
        ],
    )
    def get(self, request: Request) -> Response:
        queryset = ClinicClosure.objects.order_by("starts_on", "id")
        first, last = date_param(request, "from"), date_param(request, "to")
        if first is not None:
            queryset = queryset.filter(ends_on__gte=first)
        if last is not None:
            queryset = queryset.filter(starts_on__lte=last)
        return paginated(self, request, queryset, ClinicClosureSerializer)

    @extend_schema(
        operation_id="clinic_closures_create",
        summary="Close the clinic for some days",
        description="Both days inclusive; nobody can be booked then (outside hours).",
        request=ClinicClosureWriteSerializer,
        responses={
            201: ClinicClosureSerializer,
            400: field_errors(
                "Backwards", {"ends_on": ["The last day cannot be before the first."]}
            ),
        },
        examples=[
            OpenApiExample(
                "Christmas",
                value={"starts_on": "2031-12-25", "ends_on": "2031-12-26", "reason": "Christmas"},
                request_only=True,
            ),
            OpenApiExample(
                "Added", value=CLOSURE_EXAMPLE, response_only=True, status_codes=["201"]
            ),
        ],
    )
    def post(self, request: Request) -> Response:
        data = validated(ClinicClosureWriteSerializer, json_body(request))
        try:
            closure = clinic_closure_create(
                actor=request_actor(request),
                starts_on=data["starts_on"],
                ends_on=data["ends_on"],
                reason=data["reason"],
            )
        except DjangoValidationError as error:
            raise service_errors(error) from error
        return Response(ClinicClosureSerializer(closure).data, status=status.HTTP_201_CREATED)


class ClinicClosureDetailApi(CalendarApi):
    """Reopen days the clinic was to be shut."""

    access = CALENDAR_SETUP
    write_access = CALENDAR_SETUP

    @extend_schema(
        operation_id="clinic_closures_destroy",
        summary="Remove a clinic closure",
        responses={204: None, 404: not_found("clinic closure")},
        examples=[
            OpenApiExample(
                "Not found",
                value=error_body("not_found", "No such clinic closure."),
                response_only=True,
                status_codes=["404"],
            )
        ],
    )
    def delete(self, request: Request, closure_id: int) -> Response:
        closure = get_or_404(ClinicClosure.objects.all(), closure_id, "clinic closure")
        clinic_closure_delete(actor=request_actor(request), closure=closure)
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- rooms -----------------------------------------------------------------------------------

ROOM_EXAMPLE = {"id": 1, "name": "Chair 1", "kind": "chair", "is_active": True}
ROOM_EXAMPLES = [OpenApiExample("A room", value=ROOM_EXAMPLE, response_only=True)]


class RoomListApi(CalendarListApi):
    """Rooms and dental chairs (GET); add one (POST)."""

    write_access = CALENDAR_SETUP

    @extend_schema(
        operation_id="rooms_list",
        summary="List rooms and chairs",
        parameters=[
            OpenApiParameter("active", OpenApiTypes.STR, enum=["true", "false", "all"]),
            OpenApiParameter("page", OpenApiTypes.INT),
            OpenApiParameter("page_size", OpenApiTypes.INT),
        ],
        responses={200: RoomSerializer(many=True)},
        examples=[
            OpenApiExample(
                "A page of rooms", value=ROOM_EXAMPLE, response_only=True, status_codes=["200"]
            )
        ],
    )
    def get(self, request: Request) -> Response:
        queryset = _active_filter(request, Room.objects.order_by("name", "id"))
        return paginated(self, request, queryset, RoomSerializer)

    @extend_schema(
        operation_id="rooms_create",
        summary="Add a room or chair",
        request=RoomWriteSerializer,
        responses={
            201: RoomSerializer,
            400: field_errors("Name taken", {"name": ["A room with this name exists already."]}),
        },
        examples=[
            OpenApiExample(
                "A chair", value={"name": "Chair 3", "kind": "chair"}, request_only=True
            ),
            *ROOM_EXAMPLES,
        ],
    )
    def post(self, request: Request) -> Response:
        data = validated(RoomWriteSerializer, json_body(request))
        try:
            room = room_create(
                actor=request_actor(request),
                name=data["name"],
                kind=data.get("kind", Room.Kind.ROOM),
            )
        except DjangoValidationError as error:
            raise service_errors(error) from error
        return Response(RoomSerializer(room).data, status=status.HTTP_201_CREATED)


class RoomDetailApi(CalendarApi):
    """One room (GET); rename, change its kind or retire it (PATCH)."""

    write_access = CALENDAR_SETUP

    @extend_schema(
        operation_id="rooms_retrieve",
        summary="Open a room",
        responses={200: RoomSerializer, 404: not_found("room")},
        examples=ROOM_EXAMPLES,
    )
    def get(self, request: Request, room_id: int) -> Response:
        return Response(RoomSerializer(get_room_for(room_id=room_id)).data)

    @extend_schema(
        operation_id="rooms_partial_update",
        summary="Change a room",
        description="Fields left out keep their values; `is_active: false` retires it.",
        request=RoomWriteSerializer(partial=True),
        responses={
            200: RoomSerializer,
            400: field_errors("Name taken", {"name": ["A room with this name exists already."]}),
            404: not_found("room"),
        },
        examples=[
            OpenApiExample("Retire", value={"is_active": False}, request_only=True),
            *ROOM_EXAMPLES,
        ],
    )
    def patch(self, request: Request, room_id: int) -> Response:
        room = get_room_for(room_id=room_id)
        serializer = RoomWriteSerializer(data=json_body(request), partial=True)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        try:
            room = room_update(
                actor=request_actor(request),
                room=room,
                name=data.get("name", room.name),
                kind=data.get("kind", room.kind),
                is_active=data.get("is_active", room.is_active),
            )
        except DjangoValidationError as error:
            raise service_errors(error) from error
        return Response(RoomSerializer(room).data)


# --- appointment types -----------------------------------------------------------------------

TYPE_EXAMPLE = {
    "id": 3,
    "name": "Check-up",
    "default_duration_minutes": 30,
    "colour": "#0d9488",
    "price_hint": "45.00",
    "buffer_minutes": 10,
    "rooms": [1, 2],
    "is_active": True,
}
TYPE_EXAMPLES = [OpenApiExample("An appointment type", value=TYPE_EXAMPLE, response_only=True)]
TYPE_FIELDS = (
    "name",
    "default_duration_minutes",
    "colour",
    "price_hint",
    "buffer_minutes",
    "rooms",
    "is_active",
)


def _types() -> models.QuerySet[AppointmentType]:
    return AppointmentType.objects.prefetch_related("rooms").order_by("name", "id")


def _type_out(appointment_type: AppointmentType) -> dict[str, Any]:
    return dict(AppointmentTypeSerializer(_types().get(pk=appointment_type.pk)).data)


def _type_input(data: dict[str, Any], base: AppointmentType | None) -> AppointmentTypeInput:
    """The fields sent, the rest from `base` (PATCH) or the defaults (POST)."""
    values: dict[str, Any] = {}
    for name in TYPE_FIELDS:
        if name in data:
            values[name] = tuple(data[name]) if name == "rooms" else data[name]
        elif base is not None:
            values[name] = tuple(base.rooms.all()) if name == "rooms" else getattr(base, name)
    return AppointmentTypeInput(**values)


class AppointmentTypeListApi(CalendarListApi):
    """What can be booked (GET); add a type (POST)."""

    write_access = CALENDAR_SETUP

    @extend_schema(
        operation_id="appointment_types_list",
        summary="List appointment types",
        parameters=[
            OpenApiParameter("active", OpenApiTypes.STR, enum=["true", "false", "all"]),
            OpenApiParameter("page", OpenApiTypes.INT),
            OpenApiParameter("page_size", OpenApiTypes.INT),
        ],
        responses={200: AppointmentTypeSerializer(many=True)},
        examples=[
            OpenApiExample(
                "A page of types", value=TYPE_EXAMPLE, response_only=True, status_codes=["200"]
            )
        ],
    )
    def get(self, request: Request) -> Response:
        return paginated(
            self, request, _active_filter(request, _types()), AppointmentTypeSerializer
        )

    @extend_schema(
        operation_id="appointment_types_create",
        summary="Add an appointment type",
        description="Defaults: 30 minutes, no buffer, no room needed.",
        request=AppointmentTypeWriteSerializer,
        responses={
            201: AppointmentTypeSerializer,
            400: field_errors(
                "Too short", {"default_duration_minutes": ["Between 5 minutes and 24 hours."]}
            ),
        },
        examples=[
            OpenApiExample(
                "A cleaning",
                value={
                    "name": "Cleaning",
                    "default_duration_minutes": 45,
                    "buffer_minutes": 15,
                    "rooms": [1, 2],
                    "price_hint": "60.00",
                },
                request_only=True,
            ),
            *TYPE_EXAMPLES,
        ],
    )
    def post(self, request: Request) -> Response:
        data = validated(AppointmentTypeWriteSerializer, json_body(request))
        try:
            appointment_type = appointment_type_create(
                actor=request_actor(request), data=_type_input(data, base=None)
            )
        except DjangoValidationError as error:
            raise service_errors(error) from error
        return Response(_type_out(appointment_type), status=status.HTTP_201_CREATED)


class AppointmentTypeDetailApi(CalendarApi):
    """One appointment type (GET); change it (PATCH)."""

    write_access = CALENDAR_SETUP

    @extend_schema(
        operation_id="appointment_types_retrieve",
        summary="Open an appointment type",
        responses={200: AppointmentTypeSerializer, 404: not_found("appointment type")},
        examples=TYPE_EXAMPLES,
    )
    def get(self, request: Request, appointment_type_id: int) -> Response:
        appointment_type = get_appointment_type_for(appointment_type_id=appointment_type_id)
        return Response(_type_out(appointment_type))

    @extend_schema(
        operation_id="appointment_types_partial_update",
        summary="Change an appointment type",
        description=(
            "Fields left out keep their values. Existing appointments keep their times; a new "
            "buffer applies to bookings made or moved from now on."
        ),
        request=AppointmentTypeWriteSerializer(partial=True),
        responses={
            200: AppointmentTypeSerializer,
            400: field_errors(
                "Buffer too long", {"buffer_minutes": ["Between 0 and 240 minutes."]}
            ),
            404: not_found("appointment type"),
        },
        examples=[
            OpenApiExample("Longer", value={"default_duration_minutes": 40}, request_only=True),
            *TYPE_EXAMPLES,
        ],
    )
    def patch(self, request: Request, appointment_type_id: int) -> Response:
        appointment_type = get_appointment_type_for(appointment_type_id=appointment_type_id)
        serializer = AppointmentTypeWriteSerializer(data=json_body(request), partial=True)
        serializer.is_valid(raise_exception=True)
        try:
            appointment_type = appointment_type_update(
                actor=request_actor(request),
                appointment_type=appointment_type,
                data=_type_input(dict(serializer.validated_data), base=appointment_type),
            )
        except DjangoValidationError as error:
            raise service_errors(error) from error
        return Response(_type_out(appointment_type))
