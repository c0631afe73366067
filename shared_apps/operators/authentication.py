"""`Authorization: Bearer <token>` on the public site's `/api/platform/v1/`: an operator
token acts as the platform operator who made it.

Operator tokens live in `public` (OperatorToken) and are looked up by their SHA-256 only;
a clinic's personal API token is a row in that clinic's schema and matches nothing here,
and an operator token matches nothing on a clinic's `/api/v1/`. Nothing here reads or
sets a cookie, so the public site still sets none; no session means no CSRF to check.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db.models import Q
from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.throttling import SimpleRateThrottle

from drcrm.link_tokens import link_token_hash, link_token_looks_valid
from shared_apps.accounts.access import OPERATOR, declared_access
from shared_apps.accounts.models import User
from shared_apps.operators.models import OperatorToken

SCHEME = "bearer"
USAGE = "Send an operator token as `Authorization: Bearer <token>`."
# `last_used_at` is precise to this many seconds: a busy script costs one write a minute.
LAST_USED_RESOLUTION = timedelta(seconds=60)


class OperatorTokenAuthentication(BaseAuthentication):
    def authenticate(self, request: Request) -> tuple[User, OperatorToken] | None:
        header = request.META.get("HTTP_AUTHORIZATION")
        if header is None:
            return None  # anonymous: OperatorAccess answers 401 (no session to fall back on)
        token = operator_token_matching(plain_token=_token_in(header))
        if token is None:
            raise exceptions.AuthenticationFailed(
                "This operator token is not valid: it is unknown, revoked or expired.",
                code="invalid_token",
            )
        if not token.user.is_active:
            raise exceptions.AuthenticationFailed(
                "The account this operator token belongs to is disabled.", code="user_inactive"
            )
        operator_token_mark_used(token=token)
        return token.user, token

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="platform"'


def operator_token_matching(*, plain_token: str) -> OperatorToken | None:
    """The live (not revoked, not expired) token a caller presented, with its user."""
    if not link_token_looks_valid(plain_token):
        return None  # junk is refused before hashing
    return (
        OperatorToken.objects.select_related("user")
        .filter(token_hash=link_token_hash(plain_token), revoked_at__isnull=True)
        .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=timezone.now()))
        .first()
    )


def operator_token_mark_used(*, token: OperatorToken) -> None:
    """Record that `token` was just used, at most once a minute (conditional in SQL, so
    parallel requests of one script write the row once between them). Not an event: it
    happens on every call."""
    now = timezone.now()
    threshold = now - LAST_USED_RESOLUTION
    if token.last_used_at is not None and token.last_used_at >= threshold:
        return
    OperatorToken.objects.filter(pk=token.pk).filter(
        Q(last_used_at__isnull=True) | Q(last_used_at__lt=threshold)
    ).update(last_used_at=now)


def _token_in(header: str) -> str:
    """The token of a well-formed `Bearer <token>` header; anything else is refused."""
    parts = header.split()
    if not parts or parts[0].lower() != SCHEME:
        raise exceptions.AuthenticationFailed(
            f"Unsupported Authorization scheme. {USAGE}", code="bad_authorization_header"
        )
    if len(parts) != 2:
        raise exceptions.AuthenticationFailed(
            f"Expected `Bearer <token>`. {USAGE}", code="bad_authorization_header"
        )
    return parts[1]


class OperatorAccess(BasePermission):
    """The permission of every platform API view: an active platform operator, checked
    on every request (operator rights can be taken away while a token lives)."""

    message = "This account is not a platform operator."

    def has_permission(self, request: Request, view: Any) -> bool:
        if declared_access(view) != OPERATOR:
            return False  # only views that declare operator access are served here
        user = request.user
        if not user.is_authenticated:
            raise exceptions.NotAuthenticated(f"No operator token. {USAGE}")
        return bool(getattr(user, "is_operator", False) and user.is_active)


class OperatorTokenThrottle(SimpleRateThrottle):
    """Requests per operator token (settings.OPERATOR_API_THROTTLE_RATE, e.g. "300/minute").

    The rate is read from settings at each request rather than at import (DRF's default),
    so it follows the environment and tests can change it."""

    scope = "operator_api"

    def get_rate(self) -> str | None:
        return str(settings.OPERATOR_API_THROTTLE_RATE) or None

    def allow_request(self, request: Request, view: Any) -> bool:
        # DRF computes the rate in __init__; recompute it in case settings changed.
        self.rate = self.get_rate()
        self.num_requests, self.duration = self.parse_rate(self.rate)
        return super().allow_request(request, view)

    def get_cache_key(self, request: Request, view: Any) -> str | None:
        token = request.auth
        if not isinstance(token, OperatorToken):
            return None
        return self.cache_format % {"scope": self.scope, "ident": token.pk}


class OperatorTokenScheme(OpenApiAuthenticationExtension):  # type: ignore[no-untyped-call]
    target_class = "shared_apps.operators.authentication.OperatorTokenAuthentication"
    name = "operatorToken"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "http",
            "scheme": "bearer",
            "description": (
                "An operator token, made in the operator console. It works on the "
                "platform API only, and only while its holder is a platform operator."
            ),
        }
