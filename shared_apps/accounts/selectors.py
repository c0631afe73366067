from __future__ import annotations

import math
from datetime import datetime

from django.contrib.auth.models import AnonymousUser
from django.db.models import QuerySet
from django.utils import timezone

from shared_apps.accounts.models import Membership, SignInThrottle, User
from shared_apps.clinics.models import Clinic


def get_active_membership(*, user: User | AnonymousUser, clinic_id: int) -> Membership | None:
    """The user's membership in the clinic if it lets them in today, else None."""
    if not user.is_authenticated or not user.is_active:
        return None
    return (
        Membership.objects.filter(user_id=user.pk, clinic_id=clinic_id, is_active=True)
        .select_related("clinic")
        .first()
    )


def get_active_membership_here(*, user: User | AnonymousUser, clinic: Clinic) -> Membership | None:
    """`get_active_membership` for the clinic a request is on, asked on every request.

    The same check, but the clinic row the request already holds becomes the membership's
    clinic instead of being joined in again, and (one row per user and clinic) nothing
    needs ordering: the cheapest query the check can be, not a cached answer.
    """
    if not user.is_authenticated or not user.is_active:
        return None
    found = Membership.objects.filter(user_id=user.pk, clinic_id=clinic.pk, is_active=True)[:1]
    membership = next(iter(found), None)
    if membership is not None:
        membership.clinic = clinic
    return membership


def sign_in_locked_message(until: datetime) -> str:
    """What every form that checks a password or code says while the address is locked."""
    minutes = max(1, math.ceil((until - timezone.now()).total_seconds() / 60))
    return (
        "Too many wrong passwords or codes for this email. For your security, sign-in is "
        f"paused for {minutes} minute{'s' if minutes != 1 else ''}. "
        "You can reset your password meanwhile."
    )


def sign_in_locked_until(*, clinic_id: int | None, email: str) -> datetime | None:
    """When the lock on this address at this clinic (None: the public site) ends, or None
    if it may try now."""
    throttle = sign_in_throttles_of(clinic_id=clinic_id, email=email)
    locked_until = throttle.values_list("locked_until", flat=True).first()
    if locked_until is None or locked_until <= timezone.now():
        return None
    return locked_until


def sign_in_throttles_of(*, clinic_id: int | None, email: str) -> QuerySet[SignInThrottle]:
    """The throttle row of this address at this clinic, or on the public site (None)."""
    throttles = SignInThrottle.objects.filter(email=email.strip().lower())
    if clinic_id is None:
        return throttles.filter(clinic__isnull=True)
    return throttles.filter(clinic_id=clinic_id)
