"""The API root: which clinic this API serves and who is calling."""

from __future__ import annotations

from typing import cast

from drf_spectacular.utils import extend_schema, inline_serializer
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from shared_apps.accounts.access import ANY_MEMBER, ANYONE, request_membership
from shared_apps.accounts.models import Membership, User


class ApiSchemaApi(SpectacularAPIView):
    """The OpenAPI description: no clinic data in it, so clients may read it first."""

    access = ANYONE


class ApiDocsView(SpectacularSwaggerView):
    access = ANYONE


class ApiRootApi(APIView):
    """Which clinic this API serves and who is calling: the first call a client makes."""

    access = ANY_MEMBER

    @extend_schema(
        operation_id="api_root",
        responses=inline_serializer(
            "ApiRoot",
            {
                "clinic": inline_serializer(
                    "ApiRootClinic",
                    {
                        "name": serializers.CharField(),
                        "subdomain": serializers.CharField(),
                        "clinic_type": serializers.CharField(),
                        "time_zone": serializers.CharField(),
                        "currency": serializers.CharField(),
                    },
                ),
                "user": inline_serializer(
                    "ApiRootUser",
                    {"email": serializers.EmailField(), "role": serializers.CharField()},
                ),
                "version": serializers.CharField(),
            },
        ),
    )
    def get(self, request: Request) -> Response:
        clinic = request.tenant  # type: ignore[attr-defined]
        user = cast(User, request.user)
        membership = cast(Membership, request_membership(request))  # ClinicAccess checked it
        return Response(
            {
                "clinic": {
                    "name": clinic.name,
                    "subdomain": clinic.subdomain,
                    "clinic_type": clinic.clinic_type,
                    "time_zone": clinic.time_zone,
                    "currency": clinic.currency,
                },
                "user": {"email": user.email, "role": membership.role},
                "version": "v1",
            }
        )
