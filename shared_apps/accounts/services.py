"""Writes about signing in: the throttle on failed attempts and the audit of sign-ins.

Every function runs in the schema of the site being signed in to: on a clinic's site its
audit rows land in that clinic's trail; on the public site (operator console), where
`clinic_id` is None, in the platform's operator trail.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from shared_apps.accounts.models import User
from shared_apps.accounts.selectors import sign_in_throttles_of
from shared_apps.operators.services import security_event_record


def sign_in_failure_record(*, clinic_id: int | None, email: str) -> datetime | None:
    """Count a failed sign-in; returns when the address is locked until, if it now is.

    The row is locked (SELECT ... FOR UPDATE) so parallel guesses are all counted: a
    burst of simultaneous attempts cannot slip past the limit.
    """
    email = email.strip().lower()
    now = timezone.now()
    window = timedelta(seconds=settings.SIGN_IN_FAILURE_WINDOW_SECONDS)
    with transaction.atomic():
        throttle, _ = (
            sign_in_throttles_of(clinic_id=clinic_id, email=email)
            .select_for_update()
            .get_or_create(
                defaults={"clinic_id": clinic_id, "email": email, "window_started_at": now}
            )
        )
        if now - throttle.window_started_at > window:
            throttle.failures, throttle.window_started_at = 0, now
        throttle.failures += 1
        if throttle.failures >= settings.SIGN_IN_MAX_FAILURES:
            throttle.locked_until = now + timedelta(seconds=settings.SIGN_IN_LOCK_SECONDS)
            throttle.failures, throttle.window_started_at = 0, now
        throttle.save()
        security_event_record(
            actor=None,
            actor_email=email,
            action="sign_in.failed",
            details={"locked": throttle.locked_until is not None and throttle.locked_until > now},
        )
    return throttle.locked_until if throttle.locked_until and throttle.locked_until > now else None


def sign_in_failures_clear(*, clinic_id: int | None, email: str) -> None:
    sign_in_throttles_of(clinic_id=clinic_id, email=email).delete()


def sign_in_record(*, user: User, method: str) -> None:
    """Audit a completed sign-in; `method` is "password" or the second factor used."""
    security_event_record(actor=user, action="sign_in", target=user, details={"method": method})


def sign_out_record(*, user: User, reason: str) -> None:
    """Audit the end of a session: "sign_out" (asked for), "idle", "expired"."""
    security_event_record(actor=user, action="sign_out", target=user, details={"reason": reason})
