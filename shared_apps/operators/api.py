"""The platform API, `/api/platform/v1/` on the public site: operators' scripts list,
create, suspend and resume clinics.

Every view declares `access = OPERATOR` and takes only operator tokens (no session, no
clinic token); every write goes through provisioning/services.py, which records the
OperatorEvent. Answers use the clinic API's error shape (drcrm/rest.py): 400 with a field
map, 404 for an unknown subdomain, 409 when the clinic's status forbids the change.
"""

from __future__ import annotations

from typing import Any, NoReturn, cast
from urllib.parse import urlencode

from django.core.exceptions import ValidationError as DjangoValidationError
from django.urls import reverse
from drf_spectacular.utils import extend_schema
from drf_spectacular.views import SpectacularAPIView
from rest_framework import exceptions, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from drcrm.rest import field_map_error
from provisioning.selectors import (
    clinic_for_operator,
    clinic_usage_get,
    clinics_with_usage,
)
from provisioning.services import clinic_create, clinic_resume, clinic_suspend
from shared_apps.accounts.access import OPERATOR
from shared_apps.accounts.models import User
from shared_apps.clinics.models import Clinic
from shared_apps.operators.authentication import (
    OperatorAccess,
    OperatorTokenAuthentication,
    OperatorTokenThrottle,
)
from shared_apps.operators.serializers import (
    ClinicCreateSerializer,
    ClinicListQuerySerializer,
    ClinicListSerializer,
    ClinicSerializer,
    ResumeSerializer,
    SuspendSerializer,
)


class Conflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "The clinic's status does not allow this."
    default_code = "conflict"


class PlatformApiView(APIView):
    """Operators only, by token only, throttled per token."""

    access = OPERATOR
    authentication_classes = [OperatorTokenAuthentication]
    permission_classes = [OperatorAccess]
    throttle_classes = [OperatorTokenThrottle]


def _actor(request: Request) -> User:
    return cast(User, request.user)


def _refused(error: DjangoValidationError) -> NoReturn:
    """A service's ValidationError as the API's answer: 409 for a status that forbids the
    change, else 400 with the field map."""
    if hasattr(error, "error_dict") and set(error.message_dict) == {"status"}:
        raise Conflict(" ".join(error.message_dict["status"]))
    raise field_map_error(error)


def _clinic_body(clinic: Clinic) -> dict[str, Any]:
    return cast(dict[str, Any], ClinicSerializer(clinic_usage_get(clinic=clinic)).data)


def _page_url(request: Request, query: dict[str, Any], page: int) -> str:
    params = {key: value for key, value in {**query, "page": page}.items() if value != ""}
    return request.build_absolute_uri(request.path) + "?" + urlencode(params)


class ClinicListApi(PlatformApiView):
    """The clinic fleet with usage counts; POST creates a clinic and invites its owner."""

    @extend_schema(
        operation_id="platform_clinics_list",
        parameters=[ClinicListQuerySerializer],
        responses=ClinicListSerializer,
        description=(
            "Clinics by name, `page_size` (at most 200) at a time. `search` matches the "
            "name, the subdomain or an owner's email, ignoring case."
        ),
    )
    def get(self, request: Request) -> Response:
        query = ClinicListQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        params = query.validated_data
        page, page_size = params["page"], params["page_size"]
        usages, total = clinics_with_usage(
            search=params["search"],
            status=params["status"],
            limit=page_size,
            offset=(page - 1) * page_size,
        )
        return Response(
            {
                "count": total,
                "next": _page_url(request, params, page + 1) if page * page_size < total else None,
                "previous": _page_url(request, params, page - 1) if page > 1 else None,
                "results": ClinicSerializer(usages, many=True).data,
            }
        )

    @extend_schema(
        operation_id="platform_clinics_create",
        request=ClinicCreateSerializer,
        responses={201: ClinicSerializer},
        description=(
            "Creates the clinic (schema, address, registry row) in one transaction and "
            "emails `owner_email` an owner invite once it is committed."
        ),
    )
    def post(self, request: Request) -> Response:
        data = ClinicCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            clinic = clinic_create(actor=_actor(request), **data.validated_data)
        except DjangoValidationError as error:
            _refused(error)
        location = reverse("platform-api-clinic", kwargs={"subdomain": clinic.subdomain})
        return Response(
            _clinic_body(clinic), status=status.HTTP_201_CREATED, headers={"Location": location}
        )


class ClinicDetailApi(PlatformApiView):
    """One clinic, by its subdomain, with its usage."""

    @extend_schema(operation_id="platform_clinics_retrieve", responses=ClinicSerializer)
    def get(self, request: Request, subdomain: str) -> Response:
        return Response(_clinic_body(clinic_for_operator(subdomain=subdomain)))


class ClinicSuspendApi(PlatformApiView):
    """Suspend a clinic, with the reason (kept in the registry)."""

    @extend_schema(
        operation_id="platform_clinics_suspend",
        request=SuspendSerializer,
        responses=ClinicSerializer,
        description="Closes the clinic to everyone (its pages answer 403) until resumed. "
        "409 unless the clinic is active.",
    )
    def post(self, request: Request, subdomain: str) -> Response:
        clinic = clinic_for_operator(subdomain=subdomain)
        data = SuspendSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            clinic = clinic_suspend(
                actor=_actor(request), clinic=clinic, reason=data.validated_data["reason"]
            )
        except DjangoValidationError as error:
            _refused(error)
        return Response(_clinic_body(clinic))


class ClinicResumeApi(PlatformApiView):
    """Resume a suspended clinic."""

    @extend_schema(
        operation_id="platform_clinics_resume",
        request=ResumeSerializer,
        responses=ClinicSerializer,
        description="Opens a suspended clinic again. 409 unless the clinic is suspended.",
    )
    def post(self, request: Request, subdomain: str) -> Response:
        clinic = clinic_for_operator(subdomain=subdomain)
        data = ResumeSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            clinic = clinic_resume(
                actor=_actor(request), clinic=clinic, reason=data.validated_data["reason"]
            )
        except DjangoValidationError as error:
            _refused(error)
        return Response(_clinic_body(clinic))


class PlatformSchemaApi(SpectacularAPIView):
    """The platform API's own OpenAPI description, for operators only. api_urls.py passes
    it the platform endpoints as its only `patterns`, so it lists nothing else (and the
    clinic schema, served from the clinic URL list, never lists them)."""

    access = OPERATOR
    authentication_classes = [OperatorTokenAuthentication]
    permission_classes = [OperatorAccess]
    throttle_classes = [OperatorTokenThrottle]
    custom_settings = {
        "TITLE": "DR. CRM platform API",
        "DESCRIPTION": (
            "The operators' API, on the public site (`https://drcrm.cloud/api/platform/v1/`). "
            "Authenticate with an operator token from the operator console."
        ),
        "SCHEMA_PATH_PREFIX": r"/api/platform/v1",
    }
