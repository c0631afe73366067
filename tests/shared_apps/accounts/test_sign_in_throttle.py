"""Repeated failures lock an address on one clinic, in the database, for a while."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone

from shared_apps.accounts.models import Membership, Role, SignInThrottle
from tests import factories

pytestmark = pytest.mark.django_db

LOCKED = b"sign-in is paused"


def attempt(clinic, email: str, password: str):
    client = Client(HTTP_HOST=factories.host_of(clinic))
    return client.post("/sign-in/", {"username": email, "password": password})


def fail_until_locked(clinic, email: str) -> None:
    for n in range(settings.SIGN_IN_MAX_FAILURES):
        response = attempt(clinic, email, f"wrong guess {n}")
        assert response.status_code == 400
    assert LOCKED in response.content  # the last failure says so straight away


def test_the_right_password_is_refused_while_the_address_is_locked(clinic_a, owner_a):
    fail_until_locked(clinic_a, owner_a.email)
    response = attempt(clinic_a, owner_a.email, factories.PASSWORD)
    assert response.status_code == 400
    assert LOCKED in response.content
    assert "_auth_user_id" not in response.wsgi_request.session


def test_the_lock_covers_any_spelling_of_the_address(clinic_a, owner_a):
    fail_until_locked(clinic_a, owner_a.email)
    assert LOCKED in attempt(clinic_a, owner_a.email.upper(), factories.PASSWORD).content


def test_unknown_addresses_lock_the_same_way(clinic_a):
    # Same behaviour whether or not an account exists: the lock is no oracle.
    fail_until_locked(clinic_a, "nobody@example.com")


def test_the_lock_is_per_clinic_and_per_address(clinic_a, clinic_b, owner_a, practitioner_a):
    Membership.objects.create(user=owner_a, clinic=clinic_b, role=Role.ADMIN)
    fail_until_locked(clinic_a, owner_a.email)
    assert attempt(clinic_b, owner_a.email, factories.PASSWORD).status_code == 302
    assert attempt(clinic_a, practitioner_a.email, factories.PASSWORD).status_code == 302


def test_the_lock_ends_after_its_cool_off(clinic_a, owner_a):
    fail_until_locked(clinic_a, owner_a.email)
    SignInThrottle.objects.filter(clinic=clinic_a).update(
        locked_until=timezone.now() - timedelta(seconds=1)
    )
    assert attempt(clinic_a, owner_a.email, factories.PASSWORD).status_code == 302


def test_a_success_forgets_earlier_failures(clinic_a, owner_a):
    for n in range(settings.SIGN_IN_MAX_FAILURES - 1):
        attempt(clinic_a, owner_a.email, f"typo {n}")
    assert attempt(clinic_a, owner_a.email, factories.PASSWORD).status_code == 302
    assert not SignInThrottle.objects.filter(clinic=clinic_a, email=owner_a.email).exists()
    response = attempt(clinic_a, owner_a.email, "one more typo")
    assert LOCKED not in response.content


def test_failures_outside_the_window_start_a_new_count(clinic_a, owner_a):
    for n in range(settings.SIGN_IN_MAX_FAILURES - 1):
        attempt(clinic_a, owner_a.email, f"typo {n}")
    window = timedelta(seconds=settings.SIGN_IN_FAILURE_WINDOW_SECONDS + 1)
    SignInThrottle.objects.filter(clinic=clinic_a).update(window_started_at=timezone.now() - window)
    assert LOCKED not in attempt(clinic_a, owner_a.email, "late typo").content


def test_the_lock_holds_when_redis_is_down(clinic_a, owner_a, settings):
    fail_until_locked(clinic_a, owner_a.email)
    settings.CACHES = {
        "default": {
            **settings.CACHES["default"],
            "LOCATION": "redis://127.0.0.1:1/0",  # nothing listens there
        }
    }  # Django's setting_changed handler rebuilds the cache connections
    response = attempt(clinic_a, owner_a.email, factories.PASSWORD)
    assert response.status_code == 400
    assert LOCKED in response.content


def test_a_malformed_address_is_a_field_error_not_a_counted_failure(clinic_a):
    response = attempt(clinic_a, "not an email", "whatever")
    assert response.status_code == 400
    assert b"Enter a valid email address." in response.content
    assert not SignInThrottle.objects.exists()
