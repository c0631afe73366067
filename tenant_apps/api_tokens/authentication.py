"""`Authorization: Bearer <token>` on a clinic's /api/v1/: a personal API token acts as its
owner, with the role of their membership in this clinic.

The token is looked up in the current clinic's schema only, so a token made on clinic A
matches nothing on clinic B. A request carrying a token is never CSRF-checked: DRF checks
CSRF inside `SessionAuthentication` only, and a browser never attaches this header by
itself, so another site cannot make a victim's browser send it.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication
from rest_framework.request import Request

from shared_apps.accounts.models import User
from shared_apps.accounts.selectors import get_active_membership
from tenant_apps.api_tokens.models import ApiToken
from tenant_apps.api_tokens.selectors import active_api_token_matching
from tenant_apps.api_tokens.services import api_token_mark_used

SCHEME = "bearer"
USAGE = "Send a personal API token as `Authorization: Bearer <token>`."


class BearerTokenAuthentication(BaseAuthentication):
    def authenticate(self, request: Request) -> tuple[User, ApiToken] | None:
        header = request.META.get("HTTP_AUTHORIZATION")
        if header is None:
            return None  # no token: the session (if any) decides
        plain_token = _token_in(header)
        clinic_id = getattr(getattr(request._request, "tenant", None), "pk", None)
        token = active_api_token_matching(plain_token=plain_token) if clinic_id else None
        if token is None:
            raise exceptions.AuthenticationFailed(
                "This API token is not valid here: it is unknown to this clinic or was revoked.",
                code="invalid_token",
            )
        user = User.objects.filter(pk=token.user_id).first()
        if user is None or not user.is_active:
            raise exceptions.AuthenticationFailed(
                "The account this API token belongs to is disabled.", code="user_inactive"
            )
        membership = get_active_membership(user=user, clinic_id=clinic_id)  # type: ignore[arg-type]
        if membership is None:
            raise exceptions.AuthenticationFailed(
                "The owner of this API token is no longer an active member of this clinic.",
                code="not_a_member",
            )
        # `request_membership()` (and so `ClinicAccess`) reuses it instead of asking again.
        request._request.membership = membership  # type: ignore[attr-defined]
        api_token_mark_used(token=token)
        return user, token

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="api"'


def _token_in(header: str) -> str:
    """The token of a well-formed `Bearer <token>` header; anything else is refused.

    A header that is present but not ours is an error rather than "no credentials": a
    script with a typo in its scheme should hear about it, not be served as anonymous.
    """
    parts = header.split()
    if not parts or parts[0].lower() != SCHEME:
        raise exceptions.AuthenticationFailed(
            f"Unsupported Authorization scheme. {USAGE}", code="bad_authorization_header"
        )
    if len(parts) == 1:
        raise exceptions.AuthenticationFailed(
            f"No token after `Bearer`. {USAGE}", code="bad_authorization_header"
        )
    if len(parts) > 2:
        raise exceptions.AuthenticationFailed(
            f"An API token contains no spaces. {USAGE}", code="bad_authorization_header"
        )
    return parts[1]


class BearerTokenScheme(OpenApiAuthenticationExtension):  # type: ignore[no-untyped-call]
    target_class = "tenant_apps.api_tokens.authentication.BearerTokenAuthentication"
    name = "bearerToken"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "http",
            "scheme": "bearer",
            "description": (
                "A personal API token (`drcrm_...`), made on the profile page or with "
                "`POST /api/v1/auth/tokens/`. It works on the clinic it was made for only."
            ),
        }
