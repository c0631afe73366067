"""`/api/v1/auth/tokens/`: trade an email and password for a token (scripts), list and
revoke one's own tokens.

Trading credentials for a token is a sign-in by other means, so it is held to the same
rules as the sign-in form: the same database-backed lock per clinic and email, the same
one answer for a wrong password, an unknown email and a non-member, and the same second
factor.
"""

from __future__ import annotations

import math
from typing import Any, cast

from django.contrib.auth import authenticate
from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import exceptions, serializers, status
from rest_framework.generics import GenericAPIView
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from drcrm.rest import field_map_error
from shared_apps.accounts.access import ANY_MEMBER, ANYONE
from shared_apps.accounts.models import User
from shared_apps.accounts.passwords import MAX_PASSWORD_LENGTH
from shared_apps.accounts.selectors import sign_in_locked_message, sign_in_locked_until
from shared_apps.accounts.services import sign_in_failure_record, sign_in_failures_clear
from shared_apps.clinics.models import Clinic
from shared_apps.two_factor.selectors import confirmed_device_of
from shared_apps.two_factor.services import totp_verify
from tenant_apps.api_tokens.models import ApiToken
from tenant_apps.api_tokens.selectors import api_tokens_of, get_api_token_for
from tenant_apps.api_tokens.services import NAME_MAX_LENGTH, api_token_create, api_token_revoke

INVALID_CREDENTIALS = "That email and password do not match an account of this clinic."


class ApiTokenSerializer(serializers.ModelSerializer[ApiToken]):
    is_active = serializers.BooleanField(read_only=True)

    class Meta:
        model = ApiToken
        fields = ["id", "name", "prefix", "created_at", "last_used_at", "revoked_at", "is_active"]
        read_only_fields = fields


class ApiTokenCreateSerializer(serializers.Serializer[Any]):
    email = serializers.EmailField(max_length=254)
    password = serializers.CharField(
        max_length=MAX_PASSWORD_LENGTH, trim_whitespace=False, style={"input_type": "password"}
    )
    name = serializers.CharField(
        max_length=NAME_MAX_LENGTH, help_text="What the token is for, e.g. the script using it."
    )
    otp = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=16,
        help_text="The current code of the authenticator app, if two-factor sign-in is on.",
    )


class ApiTokenCreatedSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    name = serializers.CharField()
    prefix = serializers.CharField()
    token = serializers.CharField(help_text="The token itself: shown in this response only.")
    created_at = serializers.DateTimeField()


class ApiTokensApi(GenericAPIView[ApiToken]):
    """List your tokens (signed in), or trade your email and password for a new one."""

    # The URL is open: POST is how a script without a session gets its first token. Every
    # other method needs a member, chosen per request in `check_permissions` below.
    access = ANYONE
    serializer_class = ApiTokenSerializer

    def check_permissions(self, request: Request) -> None:
        self.access = ANYONE if request.method == "POST" else ANY_MEMBER
        super().check_permissions(request)

    def get_queryset(self) -> Any:
        return api_tokens_of(user=cast(User, self.request.user))

    @extend_schema(
        operation_id="api_tokens_list",
        summary="List your API tokens",
        description="Your tokens for this clinic, live ones first. The secret is never listed.",
        responses=ApiTokenSerializer(many=True),
    )
    def get(self, request: Request) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(ApiTokenSerializer(page, many=True).data)

    @extend_schema(
        operation_id="api_tokens_create",
        summary="Create an API token with your email and password",
        description=(
            "For scripts that have no token yet. Held to the sign-in form's rules: failed "
            "attempts lock the email at this clinic for a while, and an account with "
            "two-factor sign-in must send the current authenticator code as `otp`. The "
            "token is in this response only."
        ),
        auth=[],
        request=ApiTokenCreateSerializer,
        responses={
            201: ApiTokenCreatedSerializer,
            400: OpenApiResponse(description="Missing or malformed fields (`fields` says which)."),
            401: OpenApiResponse(
                description=(
                    "`invalid_credentials` (one answer for a wrong password, an unknown email "
                    "and a non-member), `otp_required` or `invalid_otp`."
                )
            ),
            403: OpenApiResponse(
                description="`two_factor_setup_required`: the clinic requires two-factor "
                "sign-in and this account has none yet; sign in on the web to set it up."
            ),
            429: OpenApiResponse(
                description="`locked`: too many failed attempts for this email here; "
                "`Retry-After` says when to try again."
            ),
        },
    )
    @sensitive_variables("data", "serializer")
    def post(self, request: Request) -> Response:
        serializer = ApiTokenCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        clinic = cast(Clinic, request.tenant)  # type: ignore[attr-defined]
        email = data["email"].strip().lower()
        _refuse_while_locked(clinic_id=clinic.pk, email=email)
        user = authenticate(request._request, username=email, password=data["password"])
        if user is None:
            raise _failure(clinic_id=clinic.pk, email=email, refusal=_invalid_credentials())
        _check_second_factor(user=user, clinic=clinic, email=email, otp=data.get("otp", ""))
        sign_in_failures_clear(clinic_id=clinic.pk, email=email)
        try:
            token, plain_token = api_token_create(actor=user, name=data["name"])
        except DjangoValidationError as exc:
            raise field_map_error(exc) from exc
        body = {
            "id": token.pk,
            "name": token.name,
            "prefix": token.prefix,
            "token": plain_token,
            "created_at": token.created_at,
        }
        response = Response(ApiTokenCreatedSerializer(body).data, status=status.HTTP_201_CREATED)
        response["Cache-Control"] = "no-store"  # a secret: no cache may keep a copy
        return response


class ApiTokenApi(APIView):
    """One of your tokens."""

    access = ANY_MEMBER

    @extend_schema(
        operation_id="api_tokens_revoke",
        summary="Revoke one of your API tokens",
        description="It stops working at once. Revoking a revoked token is not an error.",
        responses={204: None},
    )
    def delete(self, request: Request, token_id: int) -> Response:
        user = cast(User, request.user)
        token = get_api_token_for(user=user, token_id=token_id)
        api_token_revoke(actor=user, token=token)
        return Response(status=status.HTTP_204_NO_CONTENT)


def _refuse_while_locked(*, clinic_id: int, email: str) -> None:
    """Locked: the password is not even checked, so guessing on gains nothing."""
    locked_until = sign_in_locked_until(clinic_id=clinic_id, email=email)
    if locked_until is not None:
        raise _locked(locked_until)


def _failure(*, clinic_id: int, email: str, refusal: exceptions.APIException) -> Exception:
    """Count a failed attempt; the refusal to raise, or the lock if this one set it."""
    locked_until = sign_in_failure_record(clinic_id=clinic_id, email=email)
    return _locked(locked_until) if locked_until is not None else refusal


def _check_second_factor(*, user: User, clinic: Clinic, email: str, otp: str) -> None:
    if confirmed_device_of(user) is None:
        if clinic.require_two_factor:
            raise exceptions.PermissionDenied(
                "This clinic requires two-factor sign-in and your account has no authenticator "
                "app yet. Sign in on the web once to set it up, then create a token.",
                code="two_factor_setup_required",
            )
        return
    if not otp.strip():
        raise exceptions.AuthenticationFailed(
            "This account uses two-factor sign-in: send the current code of your "
            "authenticator app as `otp`.",
            code="otp_required",
        )
    if not totp_verify(user=user, code=otp.strip()):
        # Counted like a wrong password: the lock also caps guessing codes.
        raise _failure(
            clinic_id=clinic.pk,
            email=email,
            refusal=exceptions.AuthenticationFailed(
                "That authenticator code is not valid (or was already used). Send the current one.",
                code="invalid_otp",
            ),
        )


def _invalid_credentials() -> exceptions.APIException:
    return exceptions.AuthenticationFailed(INVALID_CREDENTIALS, code="invalid_credentials")


def _locked(until: Any) -> exceptions.Throttled:
    seconds = max(1, math.ceil((until - timezone.now()).total_seconds()))
    return exceptions.Throttled(wait=seconds, detail=sign_in_locked_message(until), code="locked")
