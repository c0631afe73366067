"""Reads for the profile pages and the account links (password reset, email change).

A link is looked up by the hash of the presented token *and* the clinic whose host it is
presented on: a token issued on clinic A is simply not found on clinic B. "Not found" and
"someone else's" are the same Http404; a real link that is spent or expired raises
`LinkUnusable`, which the pages answer with 410.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.contrib.auth.models import AnonymousUser
from django.db.models import QuerySet
from django.http import Http404
from django.utils import timezone
from django.utils.crypto import constant_time_compare, salted_hmac

from drcrm.link_tokens import link_token_hash, link_token_looks_valid
from shared_apps.accounts.models import Membership, User
from shared_apps.accounts.selectors import get_active_membership
from shared_apps.clinics.models import Clinic
from shared_apps.profile.devices import device_summary
from shared_apps.profile.models import EmailChange, PasswordReset
from shared_apps.user_sessions.models import UserSession
from shared_apps.user_sessions.selectors import sessions_of_user


class LinkUnusable(Exception):
    """The link exists here but was already used or has expired."""


def _usable(link: PasswordReset | EmailChange) -> None:
    if not link.is_usable:
        raise LinkUnusable


# --- people and clinics -------------------------------------------------------------------


def active_member_by_email(*, clinic_id: int, email: str) -> User | None:
    """The active user with this address (any case) who is an active member of the clinic."""
    user = User.objects.filter(email__iexact=email.strip(), is_active=True).first()
    if user is None or get_active_membership(user=user, clinic_id=clinic_id) is None:
        return None
    return user


def clinics_of_email(*, email: str) -> tuple[User, list[Clinic]] | None:
    """The active user with this address and the open clinics they actively belong to."""
    user = User.objects.filter(email__iexact=email.strip(), is_active=True).first()
    if user is None:
        return None
    memberships = (
        Membership.objects.filter(user=user, is_active=True, clinic__status=Clinic.Status.ACTIVE)
        .select_related("clinic")
        .order_by("clinic__name", "clinic_id")
    )
    clinics = [membership.clinic for membership in memberships]
    return (user, clinics) if clinics else None


def email_in_use(*, email: str, exclude_user_id: int) -> bool:
    """Whether another account already signs in with this address (compared in any case)."""
    return User.objects.filter(email__iexact=email.strip()).exclude(pk=exclude_user_id).exists()


# --- password resets ----------------------------------------------------------------------


def password_resets_since(*, user_id: int, since: datetime) -> int:
    """How many reset emails the address was sent since `since`, on any clinic."""
    return PasswordReset.objects.filter(user_id=user_id, created_at__gte=since).count()


def _usable_reset_here(resets: QuerySet[PasswordReset], clinic_id: int) -> PasswordReset:
    reset = resets.filter(clinic_id=clinic_id).select_related("user").first()
    # Someone removed from the clinic since asking can no longer set a password through it.
    if reset is None or get_active_membership(user=reset.user, clinic_id=clinic_id) is None:
        raise Http404("No such password reset link here.")
    _usable(reset)
    return reset


def get_password_reset_for_token(*, clinic_id: int, token: str) -> PasswordReset:
    """The usable reset behind `token` on this clinic; Http404 or LinkUnusable otherwise."""
    if not link_token_looks_valid(token):
        raise Http404("No such password reset link here.")
    return _usable_reset_here(
        PasswordReset.objects.filter(token_hash=link_token_hash(token)), clinic_id
    )


def get_password_reset_for(*, clinic_id: int, reset_id: int) -> PasswordReset:
    """The usable reset `reset_id` (remembered by the session that presented its token)."""
    return _usable_reset_here(PasswordReset.objects.filter(pk=reset_id), clinic_id)


# --- email changes ------------------------------------------------------------------------


def get_email_change_for_token(*, clinic_id: int, user_id: int, token: str) -> EmailChange:
    """The usable email change of this user on this clinic behind `token`."""
    if not link_token_looks_valid(token):
        raise Http404("No such confirmation link here.")
    change = EmailChange.objects.filter(
        token_hash=link_token_hash(token), clinic_id=clinic_id, user_id=user_id
    ).first()
    if change is None:
        raise Http404("No such confirmation link here.")
    _usable(change)
    return change


def pending_email_change_of(*, clinic_id: int, user_id: int) -> EmailChange | None:
    """The latest open email change the user asked for here, for the profile page."""
    return (
        EmailChange.objects.filter(
            clinic_id=clinic_id,
            user_id=user_id,
            used_at__isnull=True,
            expires_at__gt=timezone.now(),
        )
        .order_by("-created_at")
        .first()
    )


# --- sessions -----------------------------------------------------------------------------


def session_public_id(session_key: str) -> str:
    """The id a session goes by in pages and forms.

    Never the session key itself: that is the cookie's value, and must not end up in HTML,
    URLs or logs where it could be lifted and replayed.
    """
    return salted_hmac("drcrm.profile.session", session_key).hexdigest()[:32]


@dataclass(frozen=True)
class SessionRow:
    public_id: str
    device: str
    user_agent: str
    ip_address: str | None
    signed_in_at: datetime | None
    last_seen_at: datetime | None
    expires_at: datetime
    is_current: bool

    @property
    def seen_just_now(self) -> bool:
        # Activity is recorded once a minute: within that, "0 minutes ago" says nothing.
        return self.last_seen_at is not None and timezone.now() - self.last_seen_at < timedelta(
            minutes=1
        )


def session_rows_of(*, user_id: int, current_session_key: str | None) -> list[SessionRow]:
    """The user's live sessions in this clinic, this device's first, then by last use."""
    rows = [
        SessionRow(
            public_id=session_public_id(session.session_key),
            device=device_summary(session.user_agent),
            user_agent=session.user_agent,
            ip_address=session.ip_address,
            signed_in_at=session.signed_in_at,
            last_seen_at=session.last_seen_at,
            expires_at=session.expire_date,
            is_current=session.session_key == current_session_key,
        )
        for session in sessions_of_user(user_id=user_id)
    ]
    return sorted(rows, key=lambda row: not row.is_current)  # stable: keeps last-use order


def get_session_of_user_for(*, user: User | AnonymousUser, public_id: str) -> UserSession:
    """One of the user's own live sessions here; Http404 for anyone else's or none."""
    if user.is_authenticated and public_id:
        for session in sessions_of_user(user_id=user.pk):
            if constant_time_compare(session_public_id(session.session_key), public_id):
                return session
    raise Http404("No such session.")
