"""What every calendar API view shares: access by method, bodies, pages, errors.

Reads need calendar.view; each view names the capability its writes need.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, cast

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import models
from drf_spectacular.utils import OpenApiExample, OpenApiResponse
from rest_framework import exceptions, serializers
from rest_framework.permissions import SAFE_METHODS
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from drcrm.errors import error_body
from drcrm.rest import Pagination, field_map_error
from shared_apps.accounts.models import User
from shared_apps.accounts.roles import Capability
from tenant_apps.scheduling.serializers import ErrorSerializer, parse_clinic_date

CALENDAR_VIEW = Capability.CALENDAR_VIEW.value
CALENDAR_MANAGE = Capability.CALENDAR_MANAGE.value
CALENDAR_SETUP = Capability.CALENDAR_SETUP.value


# --- plumbing --------------------------------------------------------------------------------


class CalendarApi(APIView):
    """Reads need calendar.view; writes need `write_access`."""

    access = CALENDAR_VIEW
    write_access = CALENDAR_MANAGE

    def check_permissions(self, request: Request) -> None:
        self.access = CALENDAR_VIEW if request.method in SAFE_METHODS else self.write_access
        super().check_permissions(request)


class CalendarListApi(CalendarApi):
    pagination_class = Pagination  # read by the schema, so the list shows as a page


def request_actor(request: Request) -> User:
    return cast(User, request.user)


def json_body(request: Request) -> dict[str, Any]:
    """The JSON object sent (bad JSON is DRF's 400 already); anything else is a 400."""
    data = request.data
    if not isinstance(data, dict):
        raise exceptions.ValidationError({"non_field_errors": ["Send a JSON object."]})
    return data


def validated(serializer_class: type[serializers.Serializer[Any]], data: Any) -> dict[str, Any]:
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


def paginated(
    view: APIView,
    request: Request,
    queryset: models.QuerySet[Any],
    serializer_class: type[serializers.BaseSerializer[Any]],
) -> Response:
    paginator = Pagination()
    rows = paginator.paginate_queryset(queryset, request, view=view)
    return paginator.get_paginated_response(serializer_class(rows, many=True).data)


def service_errors(error: DjangoValidationError, **renamed: str) -> exceptions.ValidationError:
    """A service's field map, with the service's names for fields mapped to the API's."""
    return field_map_error(error, names=renamed)


def query_error(name: str, error: serializers.ValidationError) -> exceptions.ValidationError:
    return exceptions.ValidationError({name: error.detail})


def field_errors(name: str, fields: dict[str, list[str]]) -> OpenApiResponse:
    return OpenApiResponse(
        response=ErrorSerializer,
        description="Field errors; nothing was saved.",
        examples=[
            OpenApiExample(
                name,
                value=error_body("invalid", "Some fields are not valid.", fields),
                response_only=True,
                status_codes=["400"],
            )
        ],
    )


def not_found(label: str) -> OpenApiResponse:
    return OpenApiResponse(
        response=ErrorSerializer,
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


def date_param(request: Request, name: str) -> dt.date | None:
    raw = request.query_params.get(name, "").strip()
    if not raw:
        return None
    try:
        return parse_clinic_date(raw)
    except serializers.ValidationError as error:
        raise query_error(name, error) from None
