"""Idle timeout (per clinic), absolute lifetime, and the session rows people can list."""

from __future__ import annotations

import time

import pytest
from django.conf import settings
from django.test import Client
from django_tenants.utils import tenant_context

from shared_apps.clinics.models import Clinic
from shared_apps.user_sessions import store
from shared_apps.user_sessions.models import UserSession
from tenant_apps.audit.models import AuditEvent
from tests import factories

pytestmark = pytest.mark.django_db

MINUTE = 60


def signed_in_client(clinic, user) -> Client:
    client = Client(
        HTTP_HOST=factories.host_of(clinic), HTTP_USER_AGENT="Mozilla/5.0 Firefox/133.0"
    )
    response = client.post("/sign-in/", {"username": user.email, "password": factories.PASSWORD})
    assert response.status_code == 302
    return client


def session_key(client: Client) -> str:
    return client.cookies[settings.SESSION_COOKIE_NAME].value


def shift_clock(client: Client, clinic, **seconds_ago: float) -> None:
    """Pretend the session's sign-in / last activity happened that many seconds ago."""
    with tenant_context(clinic):
        session = store.SessionStore(session_key=session_key(client))
        for key, ago in seconds_ago.items():
            session[key] = time.time() - ago
        session.save()


def test_the_session_row_knows_whose_it_is(clinic_a, owner_a):
    client = signed_in_client(clinic_a, owner_a)
    with tenant_context(clinic_a):
        row = UserSession.objects.get(session_key=session_key(client))
    assert row.user_id == owner_a.pk
    assert row.signed_in_at is not None
    assert row.last_seen_at is not None
    assert row.ip_address == "127.0.0.1"
    assert "Firefox" in row.user_agent


def test_an_idle_session_ends_after_the_default_30_minutes(clinic_a, owner_a):
    client = signed_in_client(clinic_a, owner_a)
    shift_clock(client, clinic_a, **{store.LAST_SEEN_AT: 29 * MINUTE})
    assert client.get("/").status_code == 200
    shift_clock(client, clinic_a, **{store.LAST_SEEN_AT: 31 * MINUTE})
    old_key = session_key(client)
    response = client.get("/", follow=True)
    assert response.redirect_chain[-1][0].startswith("/sign-in/")
    assert b"period of inactivity" in response.content
    with tenant_context(clinic_a):
        assert not UserSession.objects.filter(session_key=old_key).exists()
        event = AuditEvent.objects.filter(action="sign_out").latest("id")
    assert event.details == {"reason": "idle"}
    assert event.actor_id == owner_a.pk


def test_each_clinic_sets_its_own_idle_timeout(clinic_a, owner_a):
    Clinic.objects.filter(pk=clinic_a.pk).update(session_idle_minutes=120)
    client = signed_in_client(clinic_a, owner_a)
    shift_clock(client, clinic_a, **{store.LAST_SEEN_AT: 90 * MINUTE})
    assert client.get("/").status_code == 200
    shift_clock(client, clinic_a, **{store.LAST_SEEN_AT: 121 * MINUTE})
    assert client.get("/").status_code == 302


def test_a_busy_session_still_ends_12_hours_after_sign_in(clinic_a, owner_a):
    client = signed_in_client(clinic_a, owner_a)
    shift_clock(client, clinic_a, **{store.SIGNED_IN_AT: 11 * 60 * MINUTE, store.LAST_SEEN_AT: 5})
    assert client.get("/").status_code == 200
    shift_clock(
        client, clinic_a, **{store.SIGNED_IN_AT: 12 * 60 * MINUTE + 1, store.LAST_SEEN_AT: 5}
    )
    response = client.get("/", follow=True)
    assert b"after 12 hours" in response.content
    assert "_auth_user_id" not in client.session


def test_activity_is_recorded_at_most_once_a_minute(clinic_a, owner_a):
    client = signed_in_client(clinic_a, owner_a)

    def last_seen() -> float:
        with tenant_context(clinic_a):
            return store.SessionStore(session_key=session_key(client))[store.LAST_SEEN_AT]

    shift_clock(client, clinic_a, **{store.LAST_SEEN_AT: 30})
    before = last_seen()
    client.get("/")
    assert last_seen() == before  # within the minute: no session write
    shift_clock(client, clinic_a, **{store.LAST_SEEN_AT: 2 * MINUTE})
    client.get("/")
    assert time.time() - last_seen() < 5
    with tenant_context(clinic_a):
        row = UserSession.objects.get(session_key=session_key(client))
    # The database expiry follows the idle timeout, so abandoned sessions are purgeable.
    remaining = (row.expire_date.timestamp() - time.time()) / MINUTE
    assert 29 < remaining <= 30


def test_sign_in_sign_out_and_failures_are_audited(clinic_a, owner_a):
    client = Client(HTTP_HOST=factories.host_of(clinic_a))
    client.post("/sign-in/", {"username": owner_a.email, "password": "not it"})
    client.post("/sign-in/", {"username": owner_a.email, "password": factories.PASSWORD})
    client.post("/sign-out/")
    with tenant_context(clinic_a):
        events = list(AuditEvent.objects.order_by("id").values("action", "actor_email", "details"))
    assert [e["action"] for e in events[-3:]] == ["sign_in.failed", "sign_in", "sign_out"]
    assert events[-3]["actor_email"] == owner_a.email
    assert events[-2]["details"] == {"method": "password"}
    assert events[-1]["details"] == {"reason": "sign_out"}


def test_requiring_two_factor_ends_sessions_opened_with_a_password_alone(
    clinic_a, owner_a, practitioner_a, django_capture_on_commit_callbacks
):
    owner = signed_in_client(clinic_a, owner_a)
    practitioner = signed_in_client(clinic_a, practitioner_a)
    # On commit, the routing map that hands requests their clinic learns the new policy.
    with django_capture_on_commit_callbacks(execute=True):
        response = owner.post(
            "/settings/", {"session_idle_minutes": "30", "require_two_factor": "on"}
        )
    assert response.status_code == 302
    # Everyone signed in with a password alone, the owner included, signs in again.
    for client in (practitioner, owner):
        page = client.get("/", follow=True)
        assert page.redirect_chain[-1][0].startswith("/sign-in/")
        assert b"now requires two-factor sign-in" in page.content
    # ... and the next sign-in goes through setting up the second factor.
    again = Client(HTTP_HOST=factories.host_of(clinic_a))
    response = again.post(
        "/sign-in/", {"username": practitioner_a.email, "password": factories.PASSWORD}
    )
    assert response["Location"] == "/sign-in/two-factor/set-up/"
