"""Signing in to the operator console: password, then a second factor that is never
optional; and which sessions the public site keeps."""

from __future__ import annotations

import time

import pytest
from django.conf import settings
from django.test import Client

from shared_apps.accounts.models import SignInThrottle
from shared_apps.operators.models import OperatorEvent
from shared_apps.two_factor.models import TotpDevice
from shared_apps.user_sessions import store
from tests import factories
from tests.shared_apps.operators.console_helpers import (
    CONSOLE,
    ENROL,
    SIGN_IN,
    VERIFY,
    console_client,
    operator_create,
    password_step,
    public_client,
    sign_in_through_the_pages,
    two_factor_on,
)
from tests.shared_apps.two_factor.helpers import code_for, steady, wrong_code_for

pytestmark = pytest.mark.django_db

WRONG = b"That email and password do not match an operator account."


def console_opens(client: Client) -> bool:
    response = client.get(CONSOLE)
    assert response.status_code in (200, 302), response.status_code
    return response.status_code == 200


def test_an_operator_signs_in_with_password_and_code():
    operator = operator_create()
    client = public_client()
    response = password_step(client, operator.email.upper())  # case-insensitive
    assert response.status_code == 302
    assert response["Location"] == VERIFY
    assert not console_opens(client)  # the password alone opens nothing
    steady()
    response = client.post(VERIFY, {"code": code_for(operator)})
    assert response["Location"] == CONSOLE
    assert console_opens(client)
    event = OperatorEvent.objects.filter(action="sign_in", actor_id=operator.pk).get()
    assert event.details == {"method": "totp"}
    assert client.session.get_expiry_age() == settings.OPERATOR_SESSION_IDLE_MINUTES * 60


def test_an_operator_without_a_second_factor_must_set_one_up_first():
    operator = operator_create(two_factor=False)
    client = public_client()
    assert password_step(client, operator.email)["Location"] == ENROL
    # Not the code page, not the console: enrolment comes before anything else.
    assert client.get(VERIFY)["Location"] == ENROL
    assert not console_opens(client)
    page = client.get(ENROL)
    assert page.status_code == 200
    assert b'data-testid="totp-secret"' in page.content
    steady()
    codes_page = client.post(ENROL, {"code": code_for(operator)})
    assert codes_page.status_code == 200
    assert b'data-testid="recovery-codes"' in codes_page.content
    assert TotpDevice.objects.get(user=operator).is_confirmed
    assert not console_opens(client)  # not before "I saved them"
    response = client.post(ENROL, {"action": "continue"})
    assert response["Location"] == CONSOLE
    assert console_opens(client)


def test_a_wrong_setup_code_is_a_field_error():
    operator = operator_create(two_factor=False)
    client = public_client()
    password_step(client, operator.email)
    client.get(ENROL)
    response = client.post(ENROL, {"code": wrong_code_for(operator)})
    assert response.status_code == 400
    assert b"field-error" in response.content
    assert not console_opens(client)


def test_a_recovery_code_signs_in_too():
    operator = factories.user_create(is_operator=True)
    codes = two_factor_on(operator)
    client = public_client()
    password_step(client, operator.email)
    response = client.post(VERIFY, {"method": "recovery", "recovery_code": codes[0]})
    assert response["Location"] == CONSOLE
    assert console_opens(client)
    assert client.session[store.SIGN_IN_METHOD] == "recovery_code"


def test_a_wrong_code_is_refused_and_counted():
    operator = operator_create()
    client = public_client()
    password_step(client, operator.email)
    response = client.post(VERIFY, {"code": wrong_code_for(operator)})
    assert response.status_code == 400
    assert not console_opens(client)
    throttle = SignInThrottle.objects.get(clinic__isnull=True, email=operator.email)
    assert throttle.failures == 1
    assert OperatorEvent.objects.filter(action="two_factor.failed", actor_email=operator.email)


def test_a_non_operator_gets_the_same_answer_as_a_wrong_password(owner_a):
    operator = operator_create()
    answers = [
        password_step(public_client(), owner_a.email),  # a clinic owner, not an operator
        password_step(public_client(), operator.email, "not the password"),
        password_step(public_client(), "nobody@example.com"),
    ]
    for response in answers:
        assert response.status_code == 400
        assert WRONG in response.content
        assert settings.SESSION_COOKIE_NAME not in response.cookies  # no pending step either


def test_repeated_failures_lock_the_address_on_the_public_site_only(clinic_a, owner_a):
    operator = operator_create()
    client = public_client()
    for _ in range(settings.SIGN_IN_MAX_FAILURES):
        password_step(client, operator.email, "guess")
    response = password_step(client, operator.email)  # the right password, too late
    assert response.status_code == 400
    assert b"paused" in response.content
    assert not console_opens(client)
    throttle = SignInThrottle.objects.get(email=operator.email)
    assert throttle.clinic_id is None
    assert throttle.locked_until is not None
    # The public lock is its own: the same address is not locked at a clinic.
    assert not SignInThrottle.objects.filter(clinic=clinic_a).exists()


def test_the_sign_in_page_sets_no_cookie_for_visitors():
    client = public_client()
    for path in (SIGN_IN, CONSOLE, VERIFY, ENROL, "/operator/tokens/"):
        response = client.get(path)
        assert response.status_code in (200, 302), path
        assert response.cookies == {}, path


def test_anonymous_visitors_are_sent_to_the_operator_sign_in():
    response = public_client().get("/operator/tokens/")
    assert response.status_code == 302
    assert response["Location"] == f"{SIGN_IN}?next=/operator/tokens/"


def test_a_sign_in_posted_from_another_site_is_refused():
    operator = operator_create()
    client = public_client()
    response = client.post(
        SIGN_IN,
        {"email": operator.email, "password": factories.PASSWORD},
        HTTP_ORIGIN="https://evil.example",
    )
    assert response.status_code == 403
    assert settings.SESSION_COOKIE_NAME not in response.cookies


def test_next_leads_back_into_the_console_only():
    operator = operator_create()
    client = public_client()
    response = client.post(
        SIGN_IN,
        {"email": operator.email, "password": factories.PASSWORD, "next": "/operator/tokens/"},
    )
    steady()
    response = client.post(VERIFY, {"code": code_for(operator)})
    assert response["Location"] == "/operator/tokens/"
    other = operator_create()
    client = public_client()
    client.post(
        SIGN_IN,
        {"email": other.email, "password": factories.PASSWORD, "next": "https://evil.example/"},
    )
    steady()
    assert client.post(VERIFY, {"code": code_for(other)})["Location"] == CONSOLE


# ---- which sessions the public site keeps ------------------------------------------------


def test_a_session_without_a_second_factor_is_ended():
    operator = operator_create()
    client = console_client(operator, method="password")
    assert not console_opens(client)
    assert "_auth_user_id" not in client.session


def test_a_clinic_member_who_is_no_operator_cannot_use_the_console(owner_a, clinic_a):
    # Even with a public-site session claiming a second factor (a clinic's cookie is
    # host-only and never reaches the apex anyway).
    client = console_client(owner_a)
    assert not console_opens(client)
    assert "_auth_user_id" not in client.session


def test_losing_the_operator_flag_ends_the_session_on_the_next_click():
    operator = operator_create()
    client = console_client(operator)
    assert console_opens(client)
    operator.is_operator = False
    operator.save(update_fields=["is_operator"])
    assert not console_opens(client)


def test_an_idle_operator_session_ends_after_the_fixed_timeout():
    operator = operator_create()
    client = console_client(operator)
    session = client.session
    idle = settings.OPERATOR_SESSION_IDLE_MINUTES * 60
    session[store.LAST_SEEN_AT] = time.time() - idle - 5
    session.save()
    assert not console_opens(client)
    assert OperatorEvent.objects.filter(action="sign_out", actor_id=operator.pk).get().details == {
        "reason": "idle"
    }


def test_an_operator_signs_out():
    operator = operator_create()
    client = public_client()
    sign_in_through_the_pages(client, operator)
    response = client.post("/operator/sign-out/")
    assert response["Location"] == SIGN_IN
    assert not console_opens(client)
    assert OperatorEvent.objects.filter(action="sign_out", actor_id=operator.pk).exists()


def test_the_console_does_not_exist_on_a_clinic_site(clinic_a, clinic_client):
    operator = operator_create()
    client = clinic_client(clinic_a)
    assert client.get(CONSOLE).status_code == 404
    assert client.post(SIGN_IN, {"email": operator.email, "password": "x"}).status_code == 404
