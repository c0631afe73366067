"""Writes about a person's own account: getting back in, and what they manage themselves.

Everything on a clinic host runs in that clinic's schema, so its audit rows land in that
clinic's trail. The one exception is "find my clinic", which runs on the public site (see
`clinic_list_email_send`).
"""

from __future__ import annotations

import hashlib
import logging
import time
import zoneinfo
from datetime import timedelta

from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.utils import timezone
from redis.exceptions import RedisError

from drcrm.link_tokens import link_token_new
from drcrm.mail import clinic_url, send_email_on_commit
from shared_apps.accounts.models import User
from shared_apps.accounts.services import sign_in_failures_clear
from shared_apps.clinics.models import Clinic
from shared_apps.profile.models import EmailChange, PasswordReset
from shared_apps.profile.selectors import (
    LinkUnusable,
    active_member_by_email,
    clinics_of_email,
    email_in_use,
    password_resets_since,
    session_public_id,
)
from shared_apps.user_sessions.models import UserSession
from shared_apps.user_sessions.services import sessions_end_for_user
from tenant_apps.audit.services import audit_record

logger = logging.getLogger(__name__)

PASSWORD_RESET_LIFETIME = timedelta(hours=1)
# Reset emails one address may be sent per hour, across all clinics: enough for a typo or
# a slow inbox, too few to use us to flood someone's mailbox.
PASSWORD_RESET_MAX_PER_HOUR = 3
# Long enough to find the email on another device tomorrow morning.
EMAIL_CHANGE_LIFETIME = timedelta(hours=24)
FIND_MY_CLINIC_INTERVAL_SECONDS = 10 * 60


class EmailTaken(Exception):
    """Another account already signs in with that address."""


# --- find my clinic (public site) ---------------------------------------------------------


def find_my_clinic_throttle_key(email: str) -> str:
    # A hash, so the cache holds no list of addresses people typed.
    digest = hashlib.sha256(email.strip().lower().encode()).hexdigest()
    return f"profile:find-my-clinic:{digest}"


def _find_my_clinic_slot_take(email: str) -> bool:
    """Claim this address's one email per interval; False if one went out recently."""
    try:
        return bool(
            cache.add(find_my_clinic_throttle_key(email), 1, FIND_MY_CLINIC_INTERVAL_SECONDS)
        )
    except RedisError:
        # Better an extra email than none: the idempotency key still lets the provider
        # deliver at most one per address and interval.
        logger.warning("find my clinic: cache unavailable, sending without the per-address limit")
        return True


def clinic_list_email_send(*, email: str) -> bool:
    """Email the address the clinics it may sign in to; True if an email was enqueued.

    Nothing is sent to an address without an active membership in an open clinic, and at
    most one email per address every FIND_MY_CLINIC_INTERVAL_SECONDS. The caller answers
    the same either way, so the result is for tests and logs only. No actor: anyone may ask.
    """
    found = clinics_of_email(email=email)
    if found is None or not _find_my_clinic_slot_take(email):
        return False
    user, clinics = found
    bucket = int(time.time() // FIND_MY_CLINIC_INTERVAL_SECONDS)
    send_email_on_commit(
        to=user.email,
        subject="Your clinics on DR. CRM",
        template="find_my_clinic",
        context={
            "user_name": user.full_name,
            "clinics": [
                {"name": clinic.name, "sign_in_url": clinic_url(clinic, "/sign-in/")}
                for clinic in clinics
            ],
        },
        idempotency_key=f"find-my-clinic/{user.pk}/{bucket}",
    )
    # No audit row: this runs on the public site, with the connection on `public`, and the
    # audit trail lives in each clinic's schema (audit_record refuses to run on `public`).
    # Nor does any one clinic own the event: it is about all of them, or none.
    return True


# --- password reset -----------------------------------------------------------------------


def password_reset_request(
    *, actor: User | None, clinic: Clinic, email: str
) -> PasswordReset | None:
    """Email a reset link if `email` is an active member here; None when nothing was sent.

    `actor` is whoever asked (None for an anonymous visitor, the usual case). The caller
    must answer the same whether or not a link was sent.
    """
    user = active_member_by_email(clinic_id=clinic.pk, email=email)
    if user is None:
        return None
    with transaction.atomic():
        # One request per person at a time, so a burst of parallel requests cannot all
        # count the same few rows and slip past the limit together.
        User.objects.select_for_update().filter(pk=user.pk).first()
        since = timezone.now() - timedelta(hours=1)
        if password_resets_since(user_id=user.pk, since=since) >= PASSWORD_RESET_MAX_PER_HOUR:
            audit_record(
                actor=actor,
                action="password.reset_requested",
                target=user,
                details={"throttled": True},
            )
            return None
        token, digest = link_token_new()
        reset = PasswordReset.objects.create(
            clinic=clinic,
            user=user,
            token_hash=digest,
            expires_at=timezone.now() + PASSWORD_RESET_LIFETIME,
        )
        audit_record(
            actor=actor,
            action="password.reset_requested",
            target=user,
            details={"reset_id": reset.pk, "throttled": False},
        )
        send_email_on_commit(
            to=user.email,
            subject=f"Reset your password for {clinic.name}",
            template="password_reset",
            context={
                "user_name": user.full_name,
                "reset_url": clinic_url(clinic, f"/password-reset/{token}/"),
                "lifetime_minutes": int(PASSWORD_RESET_LIFETIME.total_seconds() // 60),
            },
            idempotency_key=f"password-reset/{reset.pk}",
            clinic=clinic,
        )
    return reset


def password_reset_complete(*, reset: PasswordReset, new_password: str) -> User:
    """Set the new password through a reset link and end every session of the person here.

    No actor parameter: whoever holds the link acts as the account's owner, who is the one
    the audit row names. Raises LinkUnusable if the link was used meanwhile.
    """
    with transaction.atomic():
        reset = PasswordReset.objects.select_for_update().select_related("user").get(pk=reset.pk)
        if not reset.is_usable:
            raise LinkUnusable
        user = reset.user
        user.set_password(new_password)
        user.save(update_fields=["password"])
        # This link and any other still open, on any clinic: the question they answer is settled.
        PasswordReset.objects.filter(user=user, used_at__isnull=True).update(used_at=timezone.now())
        # Sessions here end now; sessions on other clinics end on their next request, when
        # Django finds their password hash no longer matches.
        ended = sessions_end_for_user(user_id=user.pk)
        # Proving control of the mailbox is the way out of a sign-in lock.
        sign_in_failures_clear(clinic_id=reset.clinic_id, email=user.email)
        event = audit_record(
            actor=user,
            action="password.reset",
            target=user,
            details={"reset_id": reset.pk, "sessions_ended": ended},
        )
        _password_changed_notice(user=user, clinic=reset.clinic, event_id=event.pk)
    return user


# --- profile ------------------------------------------------------------------------------


def profile_update(*, actor: User, full_name: str) -> User:
    full_name = " ".join(full_name.split())
    if full_name == actor.full_name:
        return actor
    with transaction.atomic():
        actor.full_name = full_name
        actor.save(update_fields=["full_name"])
        audit_record(
            actor=actor, action="profile.updated", target=actor, details={"fields": ["full_name"]}
        )
    return actor


def email_change_request(*, actor: User, clinic: Clinic, new_email: str) -> EmailChange:
    """Send a confirmation link to the new address and a notice to the current one.

    The caller has re-authenticated the actor. Raises EmailTaken if another account uses
    the address.
    """
    new_email = User.objects.normalize_email(new_email.strip())
    if email_in_use(email=new_email, exclude_user_id=actor.pk):
        raise EmailTaken
    with transaction.atomic():
        # Only the latest request counts: a link sent to a mistyped address dies here.
        EmailChange.objects.filter(user=actor, used_at__isnull=True).update(used_at=timezone.now())
        token, digest = link_token_new()
        change = EmailChange.objects.create(
            clinic=clinic,
            user=actor,
            token_hash=digest,
            new_email=new_email,
            expires_at=timezone.now() + EMAIL_CHANGE_LIFETIME,
        )
        audit_record(
            actor=actor,
            action="email.change_requested",
            target=actor,
            details={"email_change_id": change.pk},
        )
        send_email_on_commit(
            to=new_email,
            subject=f"Confirm your new email address for {clinic.name}",
            template="email_change",
            context={
                "user_name": actor.full_name,
                "new_email": new_email,
                "confirm_url": clinic_url(clinic, f"/profile/email/{token}/"),
                "lifetime_hours": int(EMAIL_CHANGE_LIFETIME.total_seconds() // 3600),
            },
            idempotency_key=f"email-change/{change.pk}",
            clinic=clinic,
        )
        # The current address hears about it too: if this was not its owner, they can act
        # (reset the password) before the link is used.
        send_email_on_commit(
            to=actor.email,
            subject=f"A change of your email address was requested at {clinic.name}",
            template="email_change_notice",
            context={
                "user_name": actor.full_name,
                "new_email": new_email,
                "reset_url": clinic_url(clinic, "/password-reset/"),
            },
            idempotency_key=f"email-change-notice/{change.pk}",
            clinic=clinic,
        )
    return change


def email_change_confirm(*, actor: User, change: EmailChange) -> User:
    """Make the confirmed address the actor's login. Raises LinkUnusable or EmailTaken."""
    with transaction.atomic():
        change = EmailChange.objects.select_for_update().get(pk=change.pk, user_id=actor.pk)
        if not change.is_usable:
            raise LinkUnusable
        if email_in_use(email=change.new_email, exclude_user_id=actor.pk):
            raise EmailTaken
        old_email = actor.email
        actor.email = change.new_email
        try:
            with transaction.atomic():
                actor.save(update_fields=["email"])
        except IntegrityError as exc:  # taken by someone else a moment ago
            actor.email = old_email
            raise EmailTaken from exc
        now = timezone.now()
        EmailChange.objects.filter(user=actor, used_at__isnull=True).update(used_at=now)
        # Reset links already mailed to the old address must not outlive it.
        PasswordReset.objects.filter(user=actor, used_at__isnull=True).update(used_at=now)
        audit_record(
            actor=actor,
            action="email.changed",
            target=actor,
            details={"email_change_id": change.pk},
        )
    return actor


def password_change(
    *, actor: User, clinic: Clinic, new_password: str, keep_session_key: str | None
) -> int:
    """Set a new password (the caller checked the current one); end the actor's other
    sessions here. Returns how many sessions ended.

    Sessions on other clinics need no visit: their stored password hash no longer
    matches, so Django signs them out on their next request.
    """
    with transaction.atomic():
        actor.set_password(new_password)
        actor.save(update_fields=["password"])
        # A reset link still in someone's inbox would undo the change behind the user's back.
        PasswordReset.objects.filter(user=actor, used_at__isnull=True).update(
            used_at=timezone.now()
        )
        ended = sessions_end_for_user(user_id=actor.pk, keep_session_key=keep_session_key)
        event = audit_record(
            actor=actor, action="password.changed", target=actor, details={"sessions_ended": ended}
        )
        _password_changed_notice(user=actor, clinic=clinic, event_id=event.pk)
    return ended


def _password_changed_notice(*, user: User, clinic: Clinic, event_id: int) -> None:
    """Tell the person their password changed: if it was not them, they learn it now."""
    send_email_on_commit(
        to=user.email,
        subject=f"Your password for {clinic.name} was changed",
        template="password_changed",
        context={
            "user_name": user.full_name or user.email,
            "changed_at": timezone.localtime(timezone.now(), zoneinfo.ZoneInfo(clinic.time_zone)),
            "reset_url": clinic_url(clinic, "/password-reset/"),
        },
        # Audit ids are per clinic schema; the clinic's id makes the key unique platform-wide.
        idempotency_key=f"password-changed/{clinic.pk}/{event_id}",
        clinic=clinic,
    )


# --- sessions -----------------------------------------------------------------------------


def session_end(*, actor: User, session: UserSession) -> None:
    """End one of the actor's sessions in this clinic (signs that device out)."""
    with transaction.atomic():
        ended, _ = UserSession.objects.filter(
            session_key=session.session_key, user_id=actor.pk
        ).delete()
        audit_record(
            actor=actor,
            action="session.ended",
            target=actor,
            # The public id, never the key: the key is a credential.
            details={
                "scope": "one",
                "session": session_public_id(session.session_key),
                "ended": ended,
            },
        )


def sessions_end_others(*, actor: User, keep_session_key: str) -> int:
    """ "Sign out everywhere else": every session of the actor in this clinic but this one."""
    with transaction.atomic():
        ended = sessions_end_for_user(user_id=actor.pk, keep_session_key=keep_session_key)
        audit_record(
            actor=actor,
            action="session.ended",
            target=actor,
            details={"scope": "others", "ended": ended},
        )
    return ended
