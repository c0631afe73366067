"""Helpers of the staff tests (fixtures are in conftest.py)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlparse

from django.core.mail import EmailMessage
from django.test import Client
from django_tenants.utils import tenant_context

from shared_apps.accounts.models import Membership, User
from shared_apps.staff.models import Invite
from tenant_apps.audit.models import AuditEvent
from tests.support.mailbox import links_in

NEW_PASSWORD = "a long and fresh passphrase 42"


def invite_path(message: EmailMessage) -> str:
    """The path of the one invite link in an invite email."""
    [link] = [link for link in links_in(message) if "/invite/" in link]
    return urlparse(link).path


# Every row these helpers see was written by the running test: the only rows that outlive
# a test (a live server's, which the append-only trail keeps) come from the browser tests,
# and those run last (tests/conftest.py).
def audit_actions(clinic: Any, **filters: Any) -> list[str]:
    with tenant_context(clinic):
        return list(
            AuditEvent.objects.filter(**filters).order_by("id").values_list("action", flat=True)
        )


def audit_event(clinic: Any, action: str, **filters: Any) -> AuditEvent:
    with tenant_context(clinic):
        return AuditEvent.objects.filter(action=action, **filters).latest("id")


def membership_of(user: User, clinic: Any) -> Membership:
    return Membership.objects.get(user=user, clinic=clinic)


def open_invite(clinic: Any, email: str) -> Invite:
    return Invite.objects.get(
        clinic=clinic, email__iexact=email, accepted_at__isnull=True, revoked_at__isnull=True
    )


def new_account_form(full_name: str = "Nina Newcomer", password: str = NEW_PASSWORD) -> dict:
    return {"full_name": full_name, "password": password, "password_confirm": password}


def sign_in(client: Client, email: str, password: str) -> Any:
    return client.post("/sign-in/", {"username": email, "password": password})
