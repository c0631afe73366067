"""Operators with and without a second factor, and clients of the operator console."""

from __future__ import annotations

import time

from django.conf import settings
from django.test import Client

from shared_apps.accounts.models import User
from shared_apps.two_factor import totp
from shared_apps.two_factor.services import totp_device_confirm, totp_device_start
from shared_apps.user_sessions import store
from tests import factories
from tests.shared_apps.two_factor.helpers import code_for, steady

CONSOLE = "/operator/"
SIGN_IN = "/operator/sign-in/"
VERIFY = "/operator/sign-in/two-factor/"
ENROL = "/operator/sign-in/two-factor/set-up/"


def operator_create(*, email: str | None = None, two_factor: bool = True) -> User:
    """An operator; with two-factor on unless asked otherwise (made on `public`, as the
    console's own enrolment does)."""
    user = factories.user_create(email=email, is_operator=True)
    if two_factor:
        two_factor_on(user)
    return user


def two_factor_on(user: User) -> list[str]:
    """Confirmed with the previous step's code, so the current one can still sign in."""
    secret = totp_device_start(user=user)
    steady()
    codes = totp_device_confirm(user=user, code=totp.code_at_step(secret, totp.time_step() - 1))
    assert codes is not None
    return codes


def public_client() -> Client:
    return Client(HTTP_HOST=settings.BASE_DOMAIN)


def console_client(user: User, *, method: str = "totp") -> Client:
    """A client on the public site with a session as if `user` signed in with `method`."""
    client = public_client()
    client.force_login(user)
    session = client.session
    now = time.time()
    session[store.SIGN_IN_METHOD] = method
    session[store.SIGNED_IN_AT] = now
    session[store.LAST_SEEN_AT] = now
    session.save()
    return client


def password_step(client: Client, email: str, password: str = factories.PASSWORD):  # type: ignore[no-untyped-def]
    return client.post(SIGN_IN, {"email": email, "password": password})


def sign_in_through_the_pages(client: Client, user: User) -> None:
    """Password, then the current authenticator code: the real way in."""
    assert password_step(client, user.email)["Location"] == VERIFY
    steady()
    response = client.post(VERIFY, {"code": code_for(user)})
    assert response.status_code == 302, response.content
    assert response["Location"] == CONSOLE
