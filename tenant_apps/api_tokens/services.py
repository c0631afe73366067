"""Writes about API tokens: create (the plain token is returned once), revoke, mark as used."""

from __future__ import annotations

import unicodedata
from datetime import timedelta

from django.core.exceptions import NON_FIELD_ERRORS, PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from shared_apps.accounts.models import User
from tenant_apps.api_tokens.models import ApiToken
from tenant_apps.api_tokens.tokens import token_digest, token_display_prefix, token_new
from tenant_apps.audit.services import audit_record

NAME_MAX_LENGTH = 100
# Enough for every script and integration a person runs; a cap keeps forgotten tokens in view.
MAX_ACTIVE_TOKENS_PER_USER = 20
# `last_used_at` is precise to this many seconds: a busy client costs one write a minute.
LAST_USED_RESOLUTION = timedelta(seconds=60)
DUPLICATE_NAME = "You already have an active token with this name: choose another."


def api_token_create(*, actor: User, name: str) -> tuple[ApiToken, str]:
    """A new token for `actor` in the current clinic; returns it with the plain token.

    The plain token exists only in the return value: the row keeps its SHA-256.
    """
    name = _valid_name(name)
    try:
        with transaction.atomic():
            # One person's creations queue on their user row, so two parallel requests
            # cannot both pass the name and count checks below.
            User.objects.select_for_update().filter(pk=actor.pk).exists()
            _check_room_for(actor=actor, name=name)
            plain_token = token_new()
            token = ApiToken.objects.create(
                user_id=actor.pk,
                name=name,
                prefix=token_display_prefix(plain_token),
                token_hash=token_digest(plain_token),
            )
            audit_record(actor=actor, action="api_token.created", target=token)
    except IntegrityError as exc:
        # The database's case folding can differ from Python's on rare letters: its unique
        # constraint has the last word on "same name", and it gets the same answer.
        raise ValidationError({"name": [DUPLICATE_NAME]}) from exc
    return token, plain_token


def api_token_revoke(*, actor: User, token: ApiToken) -> ApiToken:
    """Revoke one of `actor`'s own tokens; revoking a revoked token changes nothing.

    Only the token's owner may: an owner or admin who wants someone out deactivates the
    membership, which stops every token of that person here at their next request.
    """
    if token.user_id != actor.pk:
        raise PermissionDenied("Only the person a token belongs to can revoke it.")
    with transaction.atomic():
        token = ApiToken.objects.select_for_update().get(pk=token.pk)
        if token.revoked_at is not None:
            return token
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        audit_record(actor=actor, action="api_token.revoked", target=token)
    return token


def api_token_mark_used(*, token: ApiToken) -> None:
    """Record that `token` was just used, unless that was already recorded in the last minute.

    Not audited (it happens on every API call) and conditional in SQL, so parallel requests
    of a busy client write the row at most once per minute between them.
    """
    now = timezone.now()
    threshold = now - LAST_USED_RESOLUTION
    if token.last_used_at is not None and token.last_used_at >= threshold:
        return  # known fresh from the row we just read: not even an UPDATE
    ApiToken.objects.filter(pk=token.pk).filter(
        Q(last_used_at__isnull=True) | Q(last_used_at__lt=threshold)
    ).update(last_used_at=now)


def _valid_name(name: str) -> str:
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": ["Give the token a name, e.g. the script that uses it."]})
    if len(name) > NAME_MAX_LENGTH:
        raise ValidationError({"name": [f"Use at most {NAME_MAX_LENGTH} characters."]})
    if any(unicodedata.category(character) == "Cc" for character in name):
        raise ValidationError({"name": ["Keep the name on one line, without control characters."]})
    return name


def _check_room_for(*, actor: User, name: str) -> None:
    active = ApiToken.objects.filter(user_id=actor.pk, revoked_at__isnull=True)
    if active.filter(name__iexact=name).exists():
        raise ValidationError({"name": [DUPLICATE_NAME]})
    if active.count() >= MAX_ACTIVE_TOKENS_PER_USER:
        raise ValidationError(
            {
                NON_FIELD_ERRORS: [
                    f"You already have {MAX_ACTIVE_TOKENS_PER_USER} active tokens, the most "
                    "allowed in a clinic: revoke one you no longer use first."
                ]
            }
        )
