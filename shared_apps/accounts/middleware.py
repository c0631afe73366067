"""Refuse any authenticated request from a user who is not (or no longer) a member here."""

from __future__ import annotations

from collections.abc import Callable

from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse

from shared_apps.accounts.selectors import get_active_membership


class ClinicMembershipMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = request.user
        clinic_id = getattr(getattr(request, "tenant", None), "pk", None)
        if user.is_authenticated:
            membership = None
            if clinic_id is not None:
                membership = get_active_membership(user=user, clinic_id=clinic_id)
            if membership is None:
                # Checked on every request, not at sign-in only: removing someone from a
                # clinic takes effect on their very next click.
                logout(request)
            request.membership = membership  # type: ignore[attr-defined]
        else:
            request.membership = None  # type: ignore[attr-defined]
        return self.get_response(request)
