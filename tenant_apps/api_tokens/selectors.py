"""Reading API tokens: a person's own list, one of theirs, and the lookup behind a request."""

from __future__ import annotations

from django.db.models import F, QuerySet
from django.http import Http404

from shared_apps.accounts.models import User
from tenant_apps.api_tokens.models import ApiToken
from tenant_apps.api_tokens.tokens import token_digest, token_has_our_shape


def api_tokens_of(*, user: User) -> QuerySet[ApiToken]:
    """The user's tokens in this clinic: live ones first, newest first."""
    return ApiToken.objects.filter(user_id=user.pk).order_by(
        F("revoked_at").desc(nulls_first=True), "-created_at", "-id"
    )


def get_api_token_for(*, user: User, token_id: int) -> ApiToken:
    """One of the user's tokens; someone else's is as missing as one that never existed."""
    token = ApiToken.objects.filter(pk=token_id, user_id=user.pk).first()
    if token is None:
        raise Http404("No such API token.")
    return token


def active_api_token_matching(*, plain_token: str) -> ApiToken | None:
    """The live token a caller presented, looked up by its hash in this clinic's schema only."""
    if not token_has_our_shape(plain_token):
        return None
    return ApiToken.objects.filter(
        token_hash=token_digest(plain_token), revoked_at__isnull=True
    ).first()
