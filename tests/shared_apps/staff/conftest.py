"""Fixtures and helpers of the staff tests: an admin of clinic A, invites sent for real."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.core.mail import EmailMessage
from django.test import Client

from shared_apps.accounts.models import Role, User
from tests import factories
from tests.shared_apps.staff.helpers import invite_path
from tests.support.mailbox import mailbox  # noqa: F401


@pytest.fixture
def admin_a(clinic_a: Any) -> User:
    admin = factories.user_create(email="admin@clinic-a.example", full_name="Adam Admin")
    factories.membership_add(user=admin, clinic=clinic_a, role=Role.ADMIN)
    return admin


@pytest.fixture
def send_invite(
    mailbox: list[EmailMessage],  # noqa: F811
    django_capture_on_commit_callbacks: Any,
) -> Callable[..., tuple[Any, str | None]]:
    """`send_invite(client, email, role)`: posts the staff page's invite form like a person.

    Returns the response and the path of the link in the email it sent (None if none).
    """

    def send(client: Client, email: str, role: str = Role.PRACTITIONER) -> tuple[Any, str | None]:
        before = len(mailbox)
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post("/staff/invites/", {"email": email, "role": role})
        sent = mailbox[before:]
        return response, invite_path(sent[-1]) if sent else None

    return send
