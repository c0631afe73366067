"""Operators, their tokens and a client of the platform API, for the operator tests."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from rest_framework.test import APIClient

from shared_apps.operators.services import operator_token_create
from tests import factories

PLATFORM_API = "/api/platform/v1"


def operator_create(**fields: Any) -> Any:
    return factories.user_create(is_operator=True, **fields)


def operator_token_for(operator: Any, name: str = "fleet script") -> str:
    """A fresh plain operator token of `operator`, made through the real service."""
    _, plain_token = operator_token_create(actor=operator, name=name)
    return plain_token


def platform_client(authorization: str | None = None, host: str | None = None) -> APIClient:
    """An API client on the public site (or `host`) with this Authorization header."""
    headers = {"HTTP_HOST": host or settings.BASE_DOMAIN}
    if authorization is not None:
        headers["HTTP_AUTHORIZATION"] = authorization
    return APIClient(**headers)


def with_operator_token(token: str, host: str | None = None) -> APIClient:
    return platform_client(f"Bearer {token}", host=host)
