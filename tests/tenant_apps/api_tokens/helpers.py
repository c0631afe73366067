"""Making tokens and calling the API with them, for the API token tests."""

from __future__ import annotations

from typing import Any

from django_tenants.utils import tenant_context
from rest_framework.test import APIClient

from tenant_apps.api_tokens.models import ApiToken
from tenant_apps.api_tokens.services import api_token_create
from tests import factories


def token_for(clinic: Any, user: Any, name: str = "script") -> str:
    """A fresh plain token of `user` in `clinic`, made through the real service."""
    with tenant_context(clinic):
        _, plain_token = api_token_create(actor=user, name=name)
    return plain_token


def bearer_client(clinic: Any, authorization: str) -> APIClient:
    """An API client on `clinic`'s host that sends this Authorization header, no cookies."""
    return APIClient(HTTP_HOST=factories.host_of(clinic), HTTP_AUTHORIZATION=authorization)


def with_token(clinic: Any, token: str) -> APIClient:
    return bearer_client(clinic, f"Bearer {token}")


def token_row(clinic: Any, **filters: Any) -> ApiToken:
    with tenant_context(clinic):
        return ApiToken.objects.get(**filters)
