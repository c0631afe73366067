"""Deny by default: every page and API endpoint declares who may open it.

A view is one of
- `public_view`: anyone, signed in or not (sign-in, password reset, invite acceptance);
- `member_view`: any active member of this clinic (dashboard, own profile);
- `capability_view(Capability.X)`: members whose role grants X (see `roles.py`).

API views set `access = ...` as a class attribute; `ClinicAccess` (the default DRF
permission) refuses a view that declares nothing. `tests/shared_apps/accounts/
test_roles_and_access.py` walks every URL and fails on an undeclared view.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any, TypeVar, cast

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from rest_framework import exceptions as api_exceptions
from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from shared_apps.accounts.models import Membership
from shared_apps.accounts.roles import Capability, role_can
from shared_apps.accounts.selectors import get_active_membership

logger = logging.getLogger(__name__)

ANYONE = "anyone"
ANY_MEMBER = "any-member"
# Platform operators, on the public site only (the operator API and console); no role in
# any clinic grants it, so a clinic's ClinicAccess never lets it through.
OPERATOR = "operator"

ViewT = TypeVar("ViewT", bound=Callable[..., Any])


def declared_access(view: Any) -> str | None:
    """What a URL's callback declares, looking through `as_view()` wrappers."""
    for candidate in (view, getattr(view, "view_class", None), getattr(view, "cls", None)):
        access = getattr(candidate, "access", None)
        if access is not None:
            return str(access)
    return None


def page_refusal(request: HttpRequest, access: str) -> HttpResponse | None:
    """None if `request` may open a page that declares `access`, else the refusal."""
    if access == ANYONE:
        return None
    membership: Membership | None = getattr(request, "membership", None)
    if membership is None:
        return redirect_to_login(request.get_full_path())
    if access != ANY_MEMBER and not role_can(membership.role, access):
        _log_denial(membership, access, request.path)
        raise PermissionDenied(f"Your role does not allow this ({access}).")
    return None


def _declare(access: str) -> Callable[[ViewT], ViewT]:
    def decorate(view: ViewT) -> ViewT:
        @functools.wraps(view)
        def guarded(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            refusal = page_refusal(request, access)
            if refusal is not None:
                return refusal
            return cast(HttpResponse, view(request, *args, **kwargs))

        guarded.access = access  # type: ignore[attr-defined]
        return cast(ViewT, guarded)

    return decorate


public_view = _declare(ANYONE)
member_view = _declare(ANY_MEMBER)


def capability_view(capability: Capability) -> Callable[[ViewT], ViewT]:
    return _declare(capability.value)


def request_membership(request: Request) -> Membership | None:
    """The caller's membership here, whether they came with a session or a Bearer token.

    The membership middleware has already resolved session users; a token user is only
    known once DRF has authenticated the request, so it is looked up here, once.
    """
    django_request = request._request
    user = request.user
    cached: Membership | None = getattr(django_request, "membership", None)
    if cached is not None and cached.user_id == user.pk:
        return cached
    tenant = getattr(django_request, "tenant", None)
    if not user.is_authenticated or getattr(tenant, "pk", None) is None:
        return None
    membership = get_active_membership(user=user, clinic_id=tenant.pk)  # type: ignore[union-attr]
    django_request.membership = membership  # type: ignore[attr-defined]
    return membership


class ClinicAccess(BasePermission):
    """The default permission of every API view: reads the view's declared `access`."""

    def has_permission(self, request: Request, view: Any) -> bool:
        access = declared_access(view)
        if access is None:
            return False  # a view that declares nothing is closed, not open
        if access == ANYONE:
            return True
        membership = request_membership(request)
        if membership is None:
            if not request.user.is_authenticated:
                raise api_exceptions.NotAuthenticated()
            return False
        if access == ANY_MEMBER or role_can(membership.role, access):
            return True
        _log_denial(membership, access, request.path)
        raise api_exceptions.PermissionDenied(f"Your role does not allow this ({access}).")


def _log_denial(membership: Membership, access: str, path: str) -> None:
    # Failed authorisation attempts are security events (ASVS 16.3.2): logged, never silent.
    logger.warning(
        "access denied: user %s (%s) lacks %s for %s",
        membership.user_id,
        membership.role,
        access,
        path,
    )
