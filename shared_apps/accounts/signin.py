"""The steps of a sign-in that need the request: start, pending second factor, finish.

`views.sign_in` checks the password; when a second factor is due, the user is parked in the
session as *pending* (not signed in) and the two-factor views finish the job with
`sign_in_complete`. Nothing here decides *whether* a second factor is due: that is
`two_factor.selectors.second_factor_step`.
"""

from __future__ import annotations

import time
from typing import Any

from django.conf import settings
from django.contrib.auth import login
from django.http import HttpRequest
from django.shortcuts import resolve_url
from django.utils.http import url_has_allowed_host_and_scheme

from drcrm.request_context import current as current_request_context
from shared_apps.accounts.models import User
from shared_apps.accounts.services import sign_in_record
from shared_apps.user_sessions import store

PENDING_KEY = "drcrm_pending_sign_in"
# How long someone has to type their authenticator code after the password step.
PENDING_SECONDS = 5 * 60
BACKEND = "shared_apps.accounts.backends.ClinicMemberBackend"
# Sign-in methods that included a second factor.
SECOND_FACTOR_METHODS = frozenset({"totp", "recovery_code"})


def safe_next(request: HttpRequest, candidate: str | None) -> str:
    """Where to go after signing in: `candidate` if it is a path on this host, else home.

    Only paths: `redirect()` would take a bare word such as "staff" for a view name.
    """
    if (
        candidate
        and candidate.startswith("/")
        and url_has_allowed_host_and_scheme(
            candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        )
    ):
        return candidate
    return resolve_url(settings.LOGIN_REDIRECT_URL)


def idle_seconds(request: HttpRequest) -> int:
    tenant = getattr(request, "tenant", None)
    if getattr(tenant, "is_public", False):
        # The operator console: one short, fixed timeout for everyone who runs the fleet.
        return int(settings.OPERATOR_SESSION_IDLE_MINUTES) * 60
    minutes = getattr(tenant, "session_idle_minutes", None)
    return int(minutes or 30) * 60


def sign_in_complete(request: HttpRequest, user: User, *, method: str) -> None:
    """Sign `user` in: a new session key, the policy timestamps, an audit row."""
    request.session.pop(PENDING_KEY, None)
    login(request, user, backend=BACKEND)  # rotates the session key (no fixation)
    now = time.time()
    session = request.session
    session[store.SIGNED_IN_AT] = now
    session[store.LAST_SEEN_AT] = now
    session[store.IP_ADDRESS] = current_request_context().client_ip
    session[store.USER_AGENT] = request.headers.get("User-Agent", "")[:300]
    session[store.SIGN_IN_METHOD] = method
    session.set_expiry(idle_seconds(request))
    sign_in_record(user=user, method=method)


def pending_sign_in_start(request: HttpRequest, user: User, *, next_url: str) -> None:
    """Remember that `user` passed the password step and owes a second factor."""
    request.session.cycle_key()
    request.session[PENDING_KEY] = {"user_id": user.pk, "at": time.time(), "next": next_url}


def pending_sign_in(request: HttpRequest) -> tuple[User, str] | None:
    """The user (and where they were going) waiting for a second factor, if still valid."""
    pending: dict[str, Any] | None = request.session.get(PENDING_KEY)
    if not pending or time.time() - float(pending.get("at", 0)) > PENDING_SECONDS:
        request.session.pop(PENDING_KEY, None)
        return None
    user = User.objects.filter(pk=int(pending.get("user_id") or 0), is_active=True).first()
    if user is None:
        return None
    return user, str(pending.get("next") or "")


def pending_sign_in_cancel(request: HttpRequest) -> None:
    request.session.pop(PENDING_KEY, None)
