"""Self-service clinic signup on the public site: the writes, from form to first sign-in.

    signup_request  the form: a pending ClinicSignup (the subdomain reserved for 24 h) and a
                    verification email; the same person submitting again re-sends the link
    signup_verify   the emailed link, confirmed with a POST: the owner's account, then the
                    provisioning task (tasks.signup_provision -> signup_provision here)
    signup_renew    an expired link: a new one for the same details (nothing typed is lost)
    signup_retry    a failed creation: another subdomain (or the same one), same details
    signup_handoff_issue / signup_handoff_redeem
                    a 2-minute, single-use token that signs the new owner in on the clinic's
                    own host (sessions live per clinic, so the public site cannot do it)

The public site keeps no session: each step is reached through an unguessable token that
only the person has (the emailed link, the progress page's address), stored as a SHA-256.

An email that already has an account: the clinic is attached to that account, whose
password is left as it is (the one typed at signup is dropped), and the hand-off sends an
account with an authenticator to the clinic's sign-in page rather than past its second
factor. Proving the email address is what a password reset proves, so an account without
second factor may be signed in directly.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from django.contrib.auth.hashers import make_password
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.crypto import salted_hmac

from drcrm.link_tokens import link_token_hash, link_token_new
from drcrm.mail import public_url, send_email_on_commit
from drcrm.tasks import enqueue_on_commit
from provisioning.models import ClinicSignup
from provisioning.services import ProvisioningStep, clinic_create, clinic_host
from provisioning.signup_selectors import (
    owner_account_of,
    owner_signs_in_directly,
    pending_signup_of,
    progress_cache_key,
    subdomain_problem,
)
from shared_apps.accounts.models import Membership, Role, User
from shared_apps.clinics.models import Clinic
from shared_apps.operators.services import operator_event_record

logger = logging.getLogger(__name__)

VERIFICATION_HOURS = 24
HANDOFF_SECONDS = 120
# After this long the progress page no longer signs anyone in: it points at the sign-in page.
HANDOFF_WINDOW = timedelta(minutes=30)
# A double-clicked submit (or an impatient second one) sends no second email.
RESEND_COOLDOWN_SECONDS = 15
PROGRESS_TTL_SECONDS = 3600
SOMETHING_WENT_WRONG = (
    "Something went wrong on our side while creating your clinic. Nothing was created; "
    "try again in a moment."
)
ACCOUNT_UNUSABLE = (
    "This email address cannot own a new clinic. Sign up with another address, or contact support."
)


class SignupNotRetryable(Exception):
    """The signup is not in a state that allows this step (already done, or under way)."""


class HandoffRefused(Exception):
    def __init__(self, *, gone: bool) -> None:
        super().__init__("hand-off link gone" if gone else "hand-off link unknown here")
        self.gone = gone


@dataclass(frozen=True)
class SignupDetails:
    clinic_name: str
    subdomain: str
    clinic_type: str
    country: str
    time_zone: str
    currency: str
    owner_name: str
    owner_email: str
    password: str


# --- the form -----------------------------------------------------------------------------


def signup_request(*, details: SignupDetails) -> ClinicSignup:
    """Record a signup and email its verification link; ValidationError if the address
    went to someone else meanwhile (field map)."""
    with transaction.atomic():
        _lock_subdomain(details.subdomain)
        signup = pending_signup_of(owner_email=details.owner_email, subdomain=details.subdomain)
        problem = subdomain_problem(
            details.subdomain,
            owner_email=details.owner_email,
            exclude_signup_id=signup.pk if signup is not None else None,
        )
        if problem is not None:
            raise ValidationError({"subdomain": [problem]})
        if signup is not None and not _cooldown_passed(signup):
            return signup  # a second click of the same submit: the first email stands
        signup = _signup_save(signup or ClinicSignup(), details)
        _verification_send(signup)
        operator_event_record(actor=None, action="signup.request", details={"signup": signup.pk})
    return signup


def _signup_save(signup: ClinicSignup, details: SignupDetails) -> ClinicSignup:
    signup.clinic_name = details.clinic_name.strip()
    signup.subdomain = details.subdomain
    signup.clinic_type = details.clinic_type
    signup.country = details.country
    signup.time_zone = details.time_zone
    signup.currency = details.currency
    signup.owner_name = details.owner_name.strip()
    signup.owner_email = details.owner_email.strip()
    # Django's hash (bcrypt_sha256), never the password itself.
    signup.password_hash = make_password(details.password)
    signup.status = ClinicSignup.Status.PENDING
    return signup


def _verification_send(signup: ClinicSignup) -> None:
    """A new link (the previous one dies with its hash) valid for VERIFICATION_HOURS."""
    token, token_hash = link_token_new()
    signup.verification_token_hash = token_hash
    signup.verification_expires_at = timezone.now() + timedelta(hours=VERIFICATION_HOURS)
    signup.save()
    cache.set(_cooldown_key(signup), True, RESEND_COOLDOWN_SECONDS)
    send_email_on_commit(
        to=signup.owner_email,
        subject=f"Confirm your email to create {signup.clinic_name}",
        template="provisioning/signup_verify",
        context={
            "signup": signup,
            "verify_url": public_url(f"/signup/verify/{token}/"),
            "valid_hours": VERIFICATION_HOURS,
            "clinic_host": clinic_host(signup.subdomain),
        },
        idempotency_key=f"signup-verify/{signup.pk}/{token_hash[:16]}",
    )


def _cooldown_key(signup: ClinicSignup) -> str:
    return f"provisioning:signup:{signup.pk}:sent"


def cooldown_forget(signup: ClinicSignup) -> None:
    cache.delete(_cooldown_key(signup))


def _cooldown_passed(signup: ClinicSignup) -> bool:
    return not cache.get(_cooldown_key(signup))


def _lock_subdomain(subdomain: str) -> None:
    """Serialise everything that reserves `subdomain` until this transaction ends.

    Two people racing for one address (or one person's double click) queue here, so the
    second sees the first's reservation instead of both getting one.
    """
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_advisory_xact_lock(hashtext(%s))", [f"signup:{subdomain.lower()}"]
        )


# --- the emailed link ---------------------------------------------------------------------


def progress_token_for(verification_token: str) -> str:
    """The progress page's token, derived from the link that was verified.

    Derived (keyed with SECRET_KEY) rather than random, so opening the same link again
    leads to the same progress page; only its hash is stored, like every link token.
    """
    return salted_hmac("provisioning.signup.progress", verification_token).hexdigest()


def signup_verify(*, signup: ClinicSignup, token: str) -> str:
    """Confirm the email behind `token`: the owner's account, then the clinic's creation.

    Returns the progress token. A signup already verified just gets its progress token back.
    """
    progress_token = progress_token_for(token)
    with transaction.atomic():
        signup = ClinicSignup.objects.select_for_update().get(pk=signup.pk)
        if signup.status != ClinicSignup.Status.PENDING:
            return progress_token
        now = timezone.now()
        signup.verified_at = now
        signup.progress_token_hash = link_token_hash(progress_token)
        user = _owner_account(signup)
        if user is None:
            _failed(signup, ACCOUNT_UNUSABLE)
        else:
            signup.status = ClinicSignup.Status.PROVISIONING
            signup.save()
            _provisioning_enqueue(signup)
        operator_event_record(actor=None, action="signup.verify", details={"signup": signup.pk})
    return progress_token


def _owner_account(signup: ClinicSignup) -> User | None:
    """The account that will own the clinic: a new one, or the existing one (unchanged).

    None for an account that must not get a clinic this way: deactivated, or an operator's
    (operators run the fleet and are kept out of clinics).
    """
    user = owner_account_of(signup)
    if user is None:
        user = User(email=signup.owner_email, full_name=signup.owner_name)
        user.password = signup.password_hash  # already Django's hash
        try:
            with transaction.atomic():  # a savepoint: another signup of this address may win
                user.save()
        except IntegrityError:
            user = owner_account_of(signup)
        return user
    if not user.is_active or user.is_operator:
        return None
    return user


def _provisioning_enqueue(signup: ClinicSignup) -> None:
    cache.set(
        progress_cache_key(signup.pk),
        {"step": "", "queued_at": timezone.now().timestamp()},
        PROGRESS_TTL_SECONDS,
    )
    from provisioning.tasks import signup_provision  # the task module imports this one

    enqueue_on_commit(signup_provision, signup.pk)


def signup_renew(*, signup: ClinicSignup, subdomain: str) -> ClinicSignup:
    """A fresh verification link for an expired signup; the address may change meanwhile."""
    with transaction.atomic():
        _lock_subdomain(subdomain)
        signup = ClinicSignup.objects.select_for_update().get(pk=signup.pk)
        if signup.status != ClinicSignup.Status.PENDING:
            raise SignupNotRetryable()
        problem = subdomain_problem(subdomain, exclude_signup_id=signup.pk)
        if problem is not None:
            raise ValidationError({"subdomain": [problem]})
        signup.subdomain = subdomain
        _verification_send(signup)
        operator_event_record(actor=None, action="signup.renew", details={"signup": signup.pk})
    return signup


def signup_retry(*, signup: ClinicSignup, subdomain: str) -> ClinicSignup:
    """Try again after a failure, with the subdomain the person now chose."""
    with transaction.atomic():
        _lock_subdomain(subdomain)
        signup = ClinicSignup.objects.select_for_update().get(pk=signup.pk)
        if signup.status != ClinicSignup.Status.FAILED or signup.failure_reason == (
            ACCOUNT_UNUSABLE
        ):
            raise SignupNotRetryable()
        problem = subdomain_problem(subdomain, exclude_signup_id=signup.pk)
        if problem is not None:
            raise ValidationError({"subdomain": [problem]})
        signup.subdomain = subdomain
        signup.status = ClinicSignup.Status.PROVISIONING
        signup.failure_reason = ""
        signup.progress_step = ""
        signup.save()
        _provisioning_enqueue(signup)
        operator_event_record(actor=None, action="signup.retry", details={"signup": signup.pk})
    return signup


# --- the task -----------------------------------------------------------------------------


def signup_provision(*, signup_id: int) -> str:
    """Create the signup's clinic (the Celery task's body); returns the final status.

    Safe to run twice (Celery redelivers after a lost worker): only a signup still
    `provisioning` is worked on, and a clinic this signup already made is adopted.
    """
    signup = ClinicSignup.objects.filter(pk=signup_id).first()
    if signup is None or signup.status != ClinicSignup.Status.PROVISIONING:
        return signup.status if signup is not None else "missing"
    user = owner_account_of(signup)
    if user is None:
        return _finish_failed(signup.pk, ACCOUNT_UNUSABLE)

    def report(step: ProvisioningStep) -> None:
        cache.set(progress_cache_key(signup_id), {"step": step.value}, PROGRESS_TTL_SECONDS)

    try:
        clinic = clinic_create(
            actor=None,
            name=signup.clinic_name,
            subdomain=signup.subdomain,
            clinic_type=signup.clinic_type,
            owner=user,
            time_zone=signup.time_zone,
            currency=signup.currency,
            country=signup.country,
            on_step=report,
        )
    except ValidationError as exc:
        adopted = _clinic_made_earlier(signup, user)
        if adopted is None:
            return _finish_failed(signup.pk, _reason(exc))
        clinic = adopted
    except Exception:
        logger.exception("signup %s: creating the clinic failed", signup.pk)
        return _finish_failed(signup.pk, SOMETHING_WENT_WRONG)
    return _finish_completed(signup.pk, clinic)


def _clinic_made_earlier(signup: ClinicSignup, user: User) -> Clinic | None:
    """A clinic this very signup created before its worker died (so the row still says
    provisioning): same subdomain, owned by the signup's account, made after verification."""
    clinic: Clinic | None = (
        Clinic.objects.filter(
            subdomain__iexact=signup.subdomain,
            created_at__gte=signup.verified_at or signup.created_at,
            memberships__user=user,
            memberships__role=Role.OWNER,
        )
        .distinct()
        .first()
    )
    return clinic


def _reason(exc: ValidationError) -> str:
    if hasattr(exc, "error_dict"):
        messages = [message for errors in exc.message_dict.values() for message in errors]
    else:
        messages = exc.messages
    return " ".join(messages)[:500] or SOMETHING_WENT_WRONG


def _finish_completed(signup_id: int, clinic: Clinic) -> str:
    with transaction.atomic():
        signup = ClinicSignup.objects.select_for_update().get(pk=signup_id)
        signup.status = ClinicSignup.Status.COMPLETED
        signup.clinic = clinic
        signup.completed_at = timezone.now()
        signup.progress_step = ProvisioningStep.ACTIVATE.value
        signup.failure_reason = ""
        signup.save()
        operator_event_record(
            actor=None, action="signup.complete", clinic=clinic, details={"signup": signup.pk}
        )
    cache.delete(progress_cache_key(signup_id))
    return signup.status


def _finish_failed(signup_id: int, reason: str) -> str:
    with transaction.atomic():
        signup = ClinicSignup.objects.select_for_update().get(pk=signup_id)
        _failed(signup, reason)
        operator_event_record(actor=None, action="signup.fail", details={"signup": signup.pk})
    cache.delete(progress_cache_key(signup_id))
    return signup.status


def _failed(signup: ClinicSignup, reason: str) -> None:
    signup.status = ClinicSignup.Status.FAILED
    signup.failure_reason = reason
    signup.save()


# --- hand-off to the clinic's host --------------------------------------------------------


def signup_handoff_issue(*, signup: ClinicSignup) -> str | None:
    """A one-time token that signs the owner in on the new clinic, or None when they must
    sign in themselves (an authenticator, a hand-off already used, or too late)."""
    with transaction.atomic():
        signup = (
            ClinicSignup.objects.select_for_update(of=("self",))
            .select_related("clinic")
            .get(pk=signup.pk)
        )
        if (
            signup.status != ClinicSignup.Status.COMPLETED
            or signup.clinic is None
            or signup.handoff_used_at is not None
            or signup.completed_at is None
            or timezone.now() - signup.completed_at > HANDOFF_WINDOW
        ):
            return None
        user = owner_account_of(signup)
        if user is None or not owner_signs_in_directly(signup, user):
            return None
        token, token_hash = link_token_new()  # replaces any earlier, unused one
        signup.handoff_token_hash = token_hash
        signup.handoff_expires_at = timezone.now() + timedelta(seconds=HANDOFF_SECONDS)
        signup.save(update_fields=["handoff_token_hash", "handoff_expires_at"])
    return token


def signup_handoff_redeem(*, clinic: Clinic, token: str) -> User:
    """The owner `token` signs in on `clinic`, spending it; HandoffRefused otherwise.

    The token counts only on the clinic its signup created: clinic A's never opens B.
    """
    signup = ClinicSignup.objects.filter(
        handoff_token_hash=link_token_hash(token), clinic_id=clinic.pk
    ).first()
    if signup is None:
        raise HandoffRefused(gone=False)
    now = timezone.now()
    spent = ClinicSignup.objects.filter(
        pk=signup.pk, handoff_used_at__isnull=True, handoff_expires_at__gt=now
    ).update(handoff_used_at=now)  # one UPDATE: of two racing requests, one wins
    if not spent:
        raise HandoffRefused(gone=True)
    user = owner_account_of(signup)
    if (
        user is None
        or not user.is_active
        or not Membership.objects.filter(user=user, clinic=clinic, is_active=True).exists()
        or not owner_signs_in_directly(signup, user)
    ):
        raise HandoffRefused(gone=True)
    return user
