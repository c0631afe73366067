"""Every credential a clinic issues is worthless on another clinic's host.

The person here works in both clinics, so each refusal comes from the credential being
bound to its clinic, not from the person lacking access to the other one. Along the way,
nothing secret (passwords, tokens, links, session keys) may reach the logs.
"""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.test import Client
from django_tenants.utils import tenant_context

from drcrm.logging import redact_secrets
from shared_apps.accounts.models import Membership, Role, User
from tenant_apps.api_tokens.services import api_token_create
from tests import factories
from tests.support.mailbox import links_in

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "a completely new passphrase 42"


@pytest.fixture
def both_clinics_person(clinic_a, clinic_b) -> User:
    person = factories.user_create(email="locum@example.com", full_name="Lee Locum")
    factories.membership_add(user=person, clinic=clinic_a, role=Role.PRACTITIONER)
    factories.membership_add(user=person, clinic=clinic_b, role=Role.PRACTITIONER)
    return person


@pytest.fixture
def log_text(caplog: pytest.LogCaptureFixture):
    caplog.set_level(logging.DEBUG)
    return lambda: "\n".join(record.getMessage() for record in caplog.records)


def on_host_of(clinic, link: str) -> str:
    """The path of `link`, to be requested on `clinic`'s host instead of the one it names."""
    return urlsplit(link).path


def test_a_session_of_clinic_a_is_anonymous_on_clinic_b(clinic_a, clinic_b, both_clinics_person):
    a = Client(HTTP_HOST=factories.host_of(clinic_a))
    response = a.post(
        "/sign-in/", {"username": both_clinics_person.email, "password": factories.PASSWORD}
    )
    assert response.status_code == 302
    b = Client(HTTP_HOST=factories.host_of(clinic_b))
    b.cookies[settings.SESSION_COOKIE_NAME] = a.cookies[settings.SESSION_COOKIE_NAME].value
    page = b.get("/")
    assert page.status_code == 302
    assert page["Location"].startswith("/sign-in/")
    assert b.get("/api/v1/").status_code in (401, 403)


def test_a_reset_link_of_clinic_a_does_nothing_on_clinic_b(
    clinic_a, clinic_b, both_clinics_person, mailbox, django_capture_on_commit_callbacks, log_text
):
    with django_capture_on_commit_callbacks(execute=True):
        Client(HTTP_HOST=factories.host_of(clinic_a)).post(
            "/password-reset/", {"email": both_clinics_person.email}
        )
    [message] = mailbox
    [link] = [link for link in links_in(message) if "/password-reset/" in link]
    assert urlsplit(link).hostname == factories.host_of(clinic_a)

    b = Client(HTTP_HOST=factories.host_of(clinic_b))
    opened = b.get(on_host_of(clinic_b, link), follow=True)
    assert opened.status_code == 404
    assert b"MARK-A" not in opened.content
    person = User.objects.get(pk=both_clinics_person.pk)
    assert person.check_password(factories.PASSWORD)

    # On its own clinic the same link still works: it was refused, not spent.
    a = Client(HTTP_HOST=factories.host_of(clinic_a))
    form = a.get(on_host_of(clinic_a, link), follow=True)
    assert form.status_code == 200
    token = urlsplit(link).path.rstrip("/").rsplit("/", 1)[-1]
    assert token not in log_text()


def test_an_invite_of_clinic_a_cannot_be_accepted_on_clinic_b(
    clinic_a, clinic_b, owner_a, mailbox, django_capture_on_commit_callbacks, log_text
):
    owner = Client(HTTP_HOST=factories.host_of(clinic_a))
    owner.post("/sign-in/", {"username": owner_a.email, "password": factories.PASSWORD})
    with django_capture_on_commit_callbacks(execute=True):
        sent = owner.post(
            "/staff/invites/", {"email": "newcomer@example.com", "role": Role.ASSISTANT}
        )
    assert sent.status_code == 302
    [message] = mailbox
    [link] = [link for link in links_in(message) if "/invite/" in link]

    b = Client(HTTP_HOST=factories.host_of(clinic_b))
    page = b.get(on_host_of(clinic_b, link))
    assert page.status_code == 404
    accepted = b.post(
        on_host_of(clinic_b, link),
        {"full_name": "New Comer", "password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD},
    )
    assert accepted.status_code == 404
    assert not User.objects.filter(email="newcomer@example.com").exists()
    assert not Membership.objects.filter(clinic=clinic_b, user__email="newcomer@example.com")
    token = urlsplit(link).path.rstrip("/").rsplit("/", 1)[-1]
    assert token not in log_text()


def test_an_api_token_of_clinic_a_is_unknown_on_clinic_b(
    clinic_a, clinic_b, both_clinics_person, log_text
):
    with tenant_context(clinic_a):
        _, token = api_token_create(actor=both_clinics_person, name="sync")
    auth = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    on_a = Client(HTTP_HOST=factories.host_of(clinic_a)).get("/api/v1/", **auth)
    assert on_a.status_code == 200
    assert on_a.json()["clinic"]["name"] == "MARK-A Smile Dental"
    on_b = Client(HTTP_HOST=factories.host_of(clinic_b)).get("/api/v1/", **auth)
    assert on_b.status_code == 401
    assert b"MARK-B" not in on_b.content
    assert b"MARK-A" not in on_b.content
    assert token not in log_text()


def test_passwords_never_reach_the_logs(clinic_a, both_clinics_person, log_text):
    client = Client(HTTP_HOST=factories.host_of(clinic_a))
    client.post("/sign-in/", {"username": both_clinics_person.email, "password": "wrong-guess-xyz"})
    client.post(
        "/sign-in/", {"username": both_clinics_person.email, "password": factories.PASSWORD}
    )
    session_key = client.cookies[settings.SESSION_COOKIE_NAME].value
    logs = log_text()
    assert "wrong-guess-xyz" not in logs
    assert factories.PASSWORD not in logs
    assert session_key not in logs


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("Not Found: /invite/abc123_-XYZ/", "Not Found: /invite/[redacted]/"),
        ("GET /password-reset/tok3n/ HTTP/1.1", "GET /password-reset/[redacted]/ HTTP/1.1"),
        ("GET /profile/email/t0k/?x=1", "GET /profile/email/[redacted]/?x=1"),
        ("Authorization: Bearer drcrm_s3cret", "Authorization: Bearer [redacted]"),
        ("GET /staff/invites/ HTTP/1.1", "GET /staff/invites/ HTTP/1.1"),
    ],
)
def test_request_lines_lose_their_link_tokens(line, expected):
    assert redact_secrets(line) == expected
