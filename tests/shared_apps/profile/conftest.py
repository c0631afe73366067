"""Helpers of the profile tests: fresh people, signing in through the real form."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from shared_apps.accounts.models import Role, User
from tests import factories

NEW_PASSWORD = "a brand new passphrase for spring"


@pytest.fixture
def person(db: None) -> Callable[..., User]:
    """`person(clinic, ...)`: a new user, an active practitioner of each clinic given."""

    def make(*clinics: Any, **fields: Any) -> User:
        user = factories.user_create(**fields)
        for clinic in clinics:
            factories.membership_add(user=user, clinic=clinic, role=Role.PRACTITIONER)
        return user

    return make


@pytest.fixture
def device(db: None) -> Callable[..., Client]:
    """`device(clinic, user, user_agent)`: a client signed in through the sign-in form,
    so the session records its device like a real one."""

    def sign_in(clinic: Any, user: User, user_agent: str = "") -> Client:
        client = Client(HTTP_HOST=factories.host_of(clinic), HTTP_USER_AGENT=user_agent)
        response = client.post(
            "/sign-in/", {"username": user.email, "password": factories.PASSWORD}
        )
        assert response.status_code == 302, response.content
        return client

    return sign_in
