"""Reads of the self-service signup: subdomain availability, signups behind link tokens,
and where a clinic's creation has got to.

A pending signup reserves its subdomain until its verification link expires, and a signup
being provisioned holds it until it is done: the live check and the form both see those
reservations, so two people cannot both verify the same address.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet
from django.http import Http404
from django.utils import timezone

from drcrm.link_tokens import link_token_hash, link_token_looks_valid
from provisioning.models import ClinicSignup
from provisioning.services import ProvisioningStep, validate_subdomain
from shared_apps.accounts.models import User
from shared_apps.two_factor.selectors import SecondFactorStep, second_factor_step

TAKEN = "This address is already taken."
# The progress page says so when no worker has picked the signup up after this long.
SLOW_START_SECONDS = 10
STEPS: tuple[ProvisioningStep, ...] = tuple(ProvisioningStep)


class SignupLinkExpired(Exception):
    """The verification link was right but is past its 24 hours (the signup is kept)."""

    def __init__(self, signup: ClinicSignup) -> None:
        super().__init__("This verification link has expired.")
        self.signup = signup


# --- subdomains ---------------------------------------------------------------------------


def reservations_of(subdomain: str) -> QuerySet[ClinicSignup]:
    """Signups that hold `subdomain` right now (case-insensitively)."""
    now = timezone.now()
    return ClinicSignup.objects.filter(subdomain__iexact=subdomain).filter(
        Q(status=ClinicSignup.Status.PROVISIONING)
        | Q(status=ClinicSignup.Status.PENDING, verification_expires_at__gt=now)
    )


def subdomain_problem(
    subdomain: str, *, owner_email: str = "", exclude_signup_id: int | None = None
) -> str | None:
    """Why `subdomain` cannot be had (malformed, reserved, taken, held), or None.

    A pending signup of the same `owner_email` does not count against it: submitting the
    form again re-sends the link rather than refusing the person their own reservation.
    """
    try:
        validate_subdomain(subdomain)
    except ValidationError as exc:
        return " ".join(exc.messages)
    held = reservations_of(subdomain)
    if exclude_signup_id is not None:
        held = held.exclude(pk=exclude_signup_id)
    if owner_email:
        held = held.exclude(status=ClinicSignup.Status.PENDING, owner_email__iexact=owner_email)
    if held.exists():
        return TAKEN
    return None


def subdomain_availability(subdomain: str) -> dict[str, Any]:
    """The live check's answer: {"available": bool, "message": str}."""
    problem = subdomain_problem(subdomain)
    if problem is None:
        return {"available": True, "message": "This address is available."}
    return {"available": False, "message": problem}


def pending_signups_count(*, owner_email: str) -> int:
    """How many unexpired signups of this address wait for their email to be confirmed."""
    return ClinicSignup.objects.filter(
        status=ClinicSignup.Status.PENDING,
        owner_email__iexact=owner_email,
        verification_expires_at__gt=timezone.now(),
    ).count()


def pending_signup_of(*, owner_email: str, subdomain: str) -> ClinicSignup | None:
    """The person's own pending signup for this address, expired or not (re-sent, reused)."""
    return (
        ClinicSignup.objects.filter(
            status=ClinicSignup.Status.PENDING,
            owner_email__iexact=owner_email,
            subdomain__iexact=subdomain,
        )
        .order_by("-created_at")
        .first()
    )


# --- signups behind links -----------------------------------------------------------------


def get_signup_for_verification_token(token: str) -> ClinicSignup:
    """The signup of an emailed link; Http404 if unknown, SignupLinkExpired if too old.

    A link that was already used still answers with its signup (it leads back to the same
    progress page), so only a still-pending signup can expire.
    """
    if not link_token_looks_valid(token):
        raise Http404("No such signup link.")
    signup = ClinicSignup.objects.filter(verification_token_hash=link_token_hash(token)).first()
    if signup is None:
        raise Http404("No such signup link.")
    expired = signup.verification_expires_at <= timezone.now()
    if signup.status == ClinicSignup.Status.PENDING and expired:
        raise SignupLinkExpired(signup)
    return signup


def get_signup_for_progress_token(token: str) -> ClinicSignup:
    if not link_token_looks_valid(token):
        raise Http404("No such signup.")
    signup = (
        ClinicSignup.objects.filter(progress_token_hash=link_token_hash(token))
        .exclude(progress_token_hash="")
        .select_related("clinic")
        .first()
    )
    if signup is None:
        raise Http404("No such signup.")
    return signup


def owner_account_of(signup: ClinicSignup) -> User | None:
    return User.objects.filter(email__iexact=signup.owner_email).first()


def owner_signs_in_directly(signup: ClinicSignup, user: User) -> bool:
    """Whether the hand-off may sign the owner in, or they must use the sign-in page.

    An account with an authenticator (one that existed before the signup) is sent to the
    sign-in page: proving the email address must never stand in for its second factor.
    """
    clinic = signup.clinic
    required = bool(clinic is not None and clinic.require_two_factor)
    return second_factor_step(user=user, require_two_factor=required) == SecondFactorStep.NONE


# --- progress -----------------------------------------------------------------------------


def progress_cache_key(signup_id: int) -> str:
    # The task writes it from inside clinic creation's transaction, which no other
    # connection can see until it commits: so the steps go through Redis, not the row.
    return f"provisioning:signup:{signup_id}:progress"


@dataclass(frozen=True)
class Progress:
    state: str  # waiting | running | completed | failed | pending
    step: str = ""
    step_index: int = -1  # index into STEPS of the step under way, -1 before the first
    message: str = ""
    failure_reason: str = ""
    steps: list[dict[str, Any]] = field(default_factory=list)

    @property
    def percent(self) -> int:
        if self.state == "completed":
            return 100
        if self.step_index < 0:
            return 3
        return int(100 * (self.step_index + 0.5) / len(STEPS))

    def as_json(self) -> dict[str, Any]:
        return {
            "state": self.state,
            "step": self.step,
            "percent": self.percent,
            "message": self.message,
            "failure_reason": self.failure_reason,
            "steps": self.steps,
        }


def signup_progress(signup: ClinicSignup) -> Progress:
    """Where the creation of the signup's clinic has got to, for the page and its JSON."""
    status = signup.status
    if status == ClinicSignup.Status.COMPLETED:
        return Progress(
            state="completed",
            step_index=len(STEPS),
            message="Your clinic is ready.",
            steps=_steps(len(STEPS)),
        )
    if status == ClinicSignup.Status.FAILED:
        return Progress(
            state="failed",
            message="We could not create your clinic.",
            failure_reason=signup.failure_reason,
            steps=_steps(-1),
        )
    if status == ClinicSignup.Status.PENDING:
        return Progress(state="pending", message="Waiting for email verification.")
    reported: dict[str, Any] | None = cache.get(progress_cache_key(signup.pk))
    if not reported or not reported.get("step"):
        waited = time.time() - (reported or {}).get("queued_at", _timestamp(signup))
        message = "Waiting for our servers to start on your clinic…"
        if waited > SLOW_START_SECONDS:
            message = (
                "This is taking longer than usual to start. Your details are saved and "
                "we are still on it: keep this page open."
            )
        return Progress(state="waiting", message=message, steps=_steps(-1))
    index = _step_index(str(reported["step"]))
    return Progress(
        state="running",
        step=str(reported["step"]),
        step_index=index,
        message=STEPS[index].label + "…" if index >= 0 else "",
        steps=_steps(index),
    )


def _timestamp(signup: ClinicSignup) -> float:
    return (signup.verified_at or signup.created_at or timezone.now()).timestamp()


def _step_index(value: str) -> int:
    for index, step in enumerate(STEPS):
        if step.value == value:
            return index
    return -1


def _steps(current: int) -> list[dict[str, Any]]:
    def state_of(index: int) -> str:
        if index < current:
            return "done"
        return "current" if index == current else "todo"

    return [
        {"step": step.value, "label": step.label, "state": state_of(index)}
        for index, step in enumerate(STEPS)
    ]
