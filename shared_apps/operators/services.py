"""Writes of the operators app: the platform's own audit trail, operator accounts and
operator API tokens."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import models, transaction
from django.utils import timezone

from drcrm import request_context
from drcrm.link_tokens import link_token_new
from drcrm.tenancy import on_public_schema
from shared_apps.accounts.models import User
from shared_apps.clinics.models import Clinic
from shared_apps.operators.models import OperatorEvent, OperatorToken
from tenant_apps.audit.services import audit_record

# How many characters of a token its list shows, so operators can tell tokens apart.
TOKEN_PREFIX_LENGTH = 8
MAX_TOKEN_NAME = 100


def operator_event_record(
    *,
    actor: User | None,
    action: str,
    clinic: Clinic | None = None,
    details: dict[str, Any] | None = None,
    actor_email: str = "",
) -> OperatorEvent:
    """Append one platform-level event (clinic created, suspended, token issued, ...).

    `details` holds ids and short codes only, as in a clinic's audit trail: no patient
    data ever reaches `public`. `actor_email` names who was attempting something when
    there is no user to point at (a failed operator sign-in).
    """
    context = request_context.current()
    is_user = actor is not None and getattr(actor, "is_authenticated", False)
    return OperatorEvent.objects.create(
        actor_id=actor.pk if is_user and actor is not None else None,
        actor_email=actor.email if is_user and actor is not None else actor_email[:254],
        action=action,
        clinic_id=clinic.pk if clinic is not None else None,
        clinic_subdomain=clinic.subdomain if clinic is not None else "",
        details=details or {},
        source=context.source,
        client_ip=context.client_ip,
        request_id=context.request_id if context.request_id != "-" else "",
    )


def security_event_record(
    *,
    actor: Any | None,
    action: str,
    target: models.Model | None = None,
    details: dict[str, Any] | None = None,
    actor_email: str = "",
) -> None:
    """Record a sign-in or second-factor event where the person was signing in.

    On a clinic's site that is the clinic's audit trail; on the public site (the operator
    console) there is no clinic, so it is the platform's operator trail.
    """
    if on_public_schema():
        operator_event_record(actor=actor, action=action, details=details, actor_email=actor_email)
    else:
        audit_record(
            actor=actor, action=action, target=target, details=details, actor_email=actor_email
        )


# ---- operator accounts (the `operator` command) -------------------------------------------


def operator_account_create(
    *, actor: User | None, email: str, full_name: str, password: str
) -> User:
    """A new platform operator. They set up two-factor sign-in at their first sign-in."""
    email = email.strip()
    errors: dict[str, list[str]] = {}
    try:
        validate_email(email)
    except ValidationError:
        errors["email"] = ["Enter a valid email address."]
    if not errors and User.objects.filter(email__iexact=email).exists():
        errors["email"] = ["An account with this email exists; grant it operator rights instead."]
    if not full_name.strip():
        errors["full_name"] = ["Enter the operator's name."]
    elif len(full_name.strip()) > 200:
        errors["full_name"] = ["Use at most 200 characters."]
    try:
        validate_password(password, User(email=email, full_name=full_name))
    except ValidationError as exc:
        errors["password"] = exc.messages
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        user = User.objects.create_user(
            email, password, full_name=full_name.strip(), is_operator=True
        )
        operator_event_record(actor=actor, action="operator.created", details={"user": user.pk})
    return user


def operator_grant(*, actor: User | None, user: User) -> User:
    """Make an existing account a platform operator (idempotent: no event if it was)."""
    return _operator_flag_set(actor=actor, user=user, value=True)


def operator_revoke(*, actor: User | None, user: User) -> User:
    """Take operator rights away; their console session ends on its next request and
    their operator API tokens are revoked."""
    return _operator_flag_set(actor=actor, user=user, value=False)


def _operator_flag_set(*, actor: User | None, user: User, value: bool) -> User:
    with transaction.atomic():
        user = User.objects.select_for_update().get(pk=user.pk)
        if user.is_operator == value:
            return user
        user.is_operator = value
        user.save(update_fields=["is_operator"])
        revoked = 0
        if not value:
            revoked = OperatorToken.objects.filter(user=user, revoked_at__isnull=True).update(
                revoked_at=timezone.now()
            )
        operator_event_record(
            actor=actor,
            action="operator.granted" if value else "operator.revoked",
            details={"user": user.pk, "tokens_revoked": revoked},
        )
    return user


# ---- operator API tokens ------------------------------------------------------------------


def operator_token_create(*, actor: User, name: str) -> tuple[OperatorToken, str]:
    """A new Bearer token for the operator API; returns it with the token in clear, which
    is never stored (only its SHA-256, as `drcrm.link_tokens` makes it)."""
    name = name.strip()
    if not name:
        raise ValidationError({"name": ["Name the token after what will use it."]})
    if len(name) > MAX_TOKEN_NAME:
        raise ValidationError({"name": [f"Use at most {MAX_TOKEN_NAME} characters."]})
    if not actor.is_operator or not actor.is_active:
        raise ValidationError("Only platform operators hold operator tokens.", code="forbidden")
    token, token_hash = link_token_new()
    with transaction.atomic():
        operator_token = OperatorToken.objects.create(
            user=actor, name=name, token_hash=token_hash, prefix=token[:TOKEN_PREFIX_LENGTH]
        )
        operator_event_record(
            actor=actor, action="operator_token.created", details={"token": operator_token.pk}
        )
    return operator_token, token


def operator_token_revoke(*, actor: User, token: OperatorToken) -> OperatorToken:
    """Revoke one of the actor's own tokens (revoking twice changes nothing)."""
    with transaction.atomic():
        token = OperatorToken.objects.select_for_update().get(pk=token.pk)
        if token.user_id != actor.pk:
            raise ValidationError("Operators revoke only their own tokens.", code="forbidden")
        if token.revoked_at is None:
            token.revoked_at = timezone.now()
            token.save(update_fields=["revoked_at"])
            operator_event_record(
                actor=actor, action="operator_token.revoked", details={"token": token.pk}
            )
    return token
