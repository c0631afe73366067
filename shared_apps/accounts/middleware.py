"""Who may stay signed in: members only, and not past the idle timeout or the lifetime."""

from __future__ import annotations

import time
from collections.abc import Callable

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse

from shared_apps.accounts.selectors import get_active_membership_here
from shared_apps.accounts.services import sign_out_record
from shared_apps.accounts.signin import SECOND_FACTOR_METHODS, idle_seconds
from shared_apps.user_sessions import store

END_MESSAGES = {
    "idle": "Your session ended after a period of inactivity. Please sign in again.",
    "expired": "Your session ended after 12 hours. Please sign in again.",
    "two_factor_required": (
        "This clinic now requires two-factor sign-in. Please sign in again to set it up."
    ),
}


def on_public_site(request: HttpRequest) -> bool:
    return bool(getattr(getattr(request, "tenant", None), "is_public", False))


def operator_session_valid(request: HttpRequest) -> bool:
    """A session on the public site belongs to an active operator who passed two-factor."""
    user = request.user
    return (
        user.is_authenticated
        and user.is_active
        and bool(getattr(user, "is_operator", False))
        and request.session.get(store.SIGN_IN_METHOD) in SECOND_FACTOR_METHODS
    )


class ClinicMembershipMiddleware:
    """Refuse any authenticated request from a user who is not (or no longer) a member here.

    On the public site the only sessions are the operator console's: a user stays signed
    in there only while an active operator, and only if the session passed two-factor.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = request.user
        clinic = getattr(request, "tenant", None)
        if user.is_authenticated:
            membership = None
            if on_public_site(request):
                # Revoking the operator flag takes effect on the very next click, too.
                if not operator_session_valid(request):
                    logout(request)
            else:
                if getattr(clinic, "pk", None) is not None:
                    membership = get_active_membership_here(user=user, clinic=clinic)  # type: ignore[arg-type]
                if membership is None:
                    # Checked on every request, not at sign-in only: removing someone from a
                    # clinic takes effect on their very next click.
                    logout(request)
            request.membership = membership  # type: ignore[attr-defined]
        else:
            request.membership = None  # type: ignore[attr-defined]
        return self.get_response(request)


class SessionPolicyMiddleware:
    """Ends sessions that sat idle too long (per clinic; on the public site the operator
    console's fixed OPERATOR_SESSION_IDLE_MINUTES) or outlived the absolute lifetime.

    The policy clock lives in the session data. "Last seen" is written at most once per
    SESSION_TOUCH_INTERVAL_SECONDS, so an active user costs one session write a minute,
    not one per request.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.user.is_authenticated:
            self._apply(request)
        return self.get_response(request)

    def _apply(self, request: HttpRequest) -> None:
        session = request.session
        now = time.time()
        signed_in_at = session.get(store.SIGNED_IN_AT)
        last_seen_at = session.get(store.LAST_SEEN_AT)
        if signed_in_at is None or last_seen_at is None:
            # A session made outside the sign-in view (tests' force_login): start its clock.
            session[store.SIGNED_IN_AT] = session[store.LAST_SEEN_AT] = now
            return
        idle = idle_seconds(request)
        if now - signed_in_at > settings.SESSION_ABSOLUTE_LIFETIME_SECONDS:
            self._end(request, reason="expired")
        elif now - last_seen_at > idle:
            self._end(request, reason="idle")
        elif self._lacks_required_second_factor(request):
            self._end(request, reason="two_factor_required")
        elif now - last_seen_at > settings.SESSION_TOUCH_INTERVAL_SECONDS:
            session[store.LAST_SEEN_AT] = now
            session.set_expiry(idle)

    @staticmethod
    def _lacks_required_second_factor(request: HttpRequest) -> bool:
        """An owner just required two-factor sign-in, and this session was opened without.

        Sessions opened before the policy must not run on for hours: they end, and the next
        sign-in asks for (or sets up) the second factor.
        """
        if not getattr(getattr(request, "tenant", None), "require_two_factor", False):
            return False
        method = request.session.get(store.SIGN_IN_METHOD)
        return method is not None and method not in SECOND_FACTOR_METHODS

    @staticmethod
    def _end(request: HttpRequest, *, reason: str) -> None:
        sign_out_record(user=request.user, reason=reason)  # type: ignore[arg-type]
        logout(request)
        messages.info(request, END_MESSAGES[reason])
        request.membership = None  # type: ignore[attr-defined]
