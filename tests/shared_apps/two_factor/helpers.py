"""Shared steps for the two-factor tests: codes computed with our own RFC-tested module."""

from __future__ import annotations

import time

from django.conf import settings
from django.test import Client
from django_tenants.utils import tenant_context

from shared_apps.accounts.models import User
from shared_apps.two_factor import totp
from shared_apps.two_factor.models import TotpDevice
from shared_apps.two_factor.secret_box import unseal
from shared_apps.two_factor.services import totp_device_confirm, totp_device_start
from tests import factories


def steady() -> None:
    """Wait, if needed, until 3 s or more remain in the current 30 s step, so a code
    computed now still belongs to the same step when the server checks it."""
    remaining = totp.STEP_SECONDS - time.time() % totp.STEP_SECONDS
    if remaining < 3:
        time.sleep(remaining + 0.05)


def stored_secret(user: User, *, pending: bool = False) -> str:
    """The user's secret (or the one waiting for a new phone) in clear: the column holds it
    encrypted."""
    device = TotpDevice.objects.get(user=user)
    return unseal(device.pending_secret if pending else device.secret)


def code_for(user: User, offset: int = 0) -> str:
    """The code the user's app shows `offset` steps from now."""
    return totp.code_at_step(stored_secret(user), totp.time_step() + offset)


def wrong_code_for(user: User) -> str:
    """A well-formed code that matches no step of the drift window."""
    window = {code_for(user, offset) for offset in (-1, 0, 1)}
    return next(f"{n:06d}" for n in range(1_000_000) if f"{n:06d}" not in window)


def two_factor_on(user: User, clinic: object) -> list[str]:
    """Turn two-factor on the way the pages do; returns the recovery codes.

    Confirmed with the previous step's code, so the current step's code is still
    unused and can sign in straight away.
    """
    with tenant_context(clinic):
        secret = totp_device_start(user=user)
        steady()
        codes = totp_device_confirm(user=user, code=totp.code_at_step(secret, totp.time_step() - 1))
    assert codes is not None
    return codes


def password_step(client: Client, email: str, password: str = factories.PASSWORD):  # type: ignore[no-untyped-def]
    return client.post("/sign-in/", {"username": email, "password": password})


def session_key(client: Client) -> str:
    return client.cookies[settings.SESSION_COOKIE_NAME].value
