"""Signing in with a second factor, through the pages, as a browser would."""

import pytest
from django.conf import settings
from django.test import Client
from django_tenants.utils import tenant_context

from shared_apps.accounts.models import Role
from shared_apps.two_factor import totp
from shared_apps.two_factor.models import RecoveryCode, TotpDevice
from shared_apps.user_sessions.models import UserSession
from tenant_apps.audit.models import AuditEvent
from tests import factories
from tests.shared_apps.two_factor.helpers import (
    code_for,
    password_step,
    session_key,
    steady,
    stored_secret,
    two_factor_on,
    wrong_code_for,
)

pytestmark = pytest.mark.django_db

VERIFY = "/sign-in/two-factor/"
ENROL = "/sign-in/two-factor/set-up/"


def client_of(clinic) -> Client:
    return Client(HTTP_HOST=factories.host_of(clinic))


def last_sign_in(clinic, user) -> AuditEvent | None:
    with tenant_context(clinic):
        return AuditEvent.objects.filter(action="sign_in", actor_id=user.pk).first()


def is_signed_in(client: Client) -> bool:
    return client.get("/").status_code == 200


def test_password_then_code_signs_in_with_a_new_session_key(clinic_a, practitioner_a):
    two_factor_on(practitioner_a, clinic_a)
    client = client_of(clinic_a)
    response = password_step(client, practitioner_a.email)
    assert response.status_code == 302
    assert response["Location"] == VERIFY

    page = client.get(VERIFY)
    assert page.status_code == 200
    assert b'autocomplete="one-time-code"' in page.content
    assert b'inputmode="numeric"' in page.content
    assert b"recovery code instead" in page.content

    pending_key = session_key(client)
    steady()
    response = client.post(VERIFY, {"code": code_for(practitioner_a)})
    assert response.status_code == 302
    assert response["Location"] == "/"
    assert session_key(client) != pending_key
    dashboard = client.get("/")
    assert dashboard.status_code == 200
    assert b"Pat Practitioner" in dashboard.content
    event = last_sign_in(clinic_a, practitioner_a)
    assert event is not None
    assert event.details == {"method": "totp"}


def test_the_password_alone_does_not_reach_the_dashboard(clinic_a, practitioner_a):
    two_factor_on(practitioner_a, clinic_a)
    client = client_of(clinic_a)
    password_step(client, practitioner_a.email)
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"] == "/sign-in/?next=/"
    assert client.get("/profile/two-factor/").status_code == 302
    assert last_sign_in(clinic_a, practitioner_a) is None


def test_the_next_address_survives_the_second_step(clinic_a, practitioner_a):
    two_factor_on(practitioner_a, clinic_a)
    client = client_of(clinic_a)
    client.post(
        "/sign-in/",
        {"username": practitioner_a.email, "password": factories.PASSWORD, "next": "/patients/"},
    )
    steady()
    response = client.post(VERIFY, {"code": code_for(practitioner_a)})
    assert response["Location"] == "/patients/"


def test_without_a_pending_sign_in_the_code_page_sends_to_sign_in(clinic_a, practitioner_a):
    two_factor_on(practitioner_a, clinic_a)
    client = client_of(clinic_a)
    for response in (
        client.get(VERIFY),
        client.get(ENROL),
        client.post(VERIFY, {"code": "123456"}),
    ):
        assert response.status_code == 302
        assert response["Location"] == "/sign-in/"
    assert not is_signed_in(client)


@pytest.mark.parametrize(
    ("typed", "error"),
    [
        ("abcdef", b"A code is 6 digits"),
        ("12345", b"A code is 6 digits"),
        ("1234567", b"A code is 6 digits"),
        ("", b"Enter the 6-digit code"),
    ],
)
def test_malformed_codes_get_a_field_error(clinic_a, practitioner_a, typed, error):
    two_factor_on(practitioner_a, clinic_a)
    client = client_of(clinic_a)
    password_step(client, practitioner_a.email)
    response = client.post(VERIFY, {"code": typed})
    assert response.status_code == 400
    assert error in response.content
    assert b'class="field-error"' in response.content
    assert not is_signed_in(client)


def test_a_code_with_spaces_is_accepted(clinic_a, practitioner_a):
    two_factor_on(practitioner_a, clinic_a)
    client = client_of(clinic_a)
    password_step(client, practitioner_a.email)
    steady()
    code = code_for(practitioner_a)
    assert client.post(VERIFY, {"code": f"{code[:3]} {code[3:]}"}).status_code == 302
    assert is_signed_in(client)


def test_wrong_codes_are_400_and_lock_like_wrong_passwords(clinic_a, practitioner_a):
    two_factor_on(practitioner_a, clinic_a)
    client = client_of(clinic_a)
    password_step(client, practitioner_a.email)
    for _ in range(settings.SIGN_IN_MAX_FAILURES - 1):
        wrong = wrong_code_for(practitioner_a)
        response = client.post(VERIFY, {"code": wrong})
        assert response.status_code == 400
        assert b"That code is not right" in response.content
        assert f'value="{wrong}"'.encode() not in response.content  # emptied for the next try
    response = client.post(VERIFY, {"code": wrong_code_for(practitioner_a)})
    # The limit is reached: the pending sign-in is gone, back to the start with the reason.
    assert response.status_code == 302
    assert response["Location"] == "/sign-in/"
    assert b"sign-in is paused" in client.get("/sign-in/").content
    steady()
    response = client.post(VERIFY, {"code": code_for(practitioner_a)})
    assert response["Location"] == "/sign-in/"
    assert not is_signed_in(client)
    # The lock holds on the password form too, for this email on this clinic.
    locked = password_step(client_of(clinic_a), practitioner_a.email)
    assert locked.status_code == 400
    assert b"sign-in is paused" in locked.content
    with tenant_context(clinic_a):
        failed = AuditEvent.objects.filter(actor_email=practitioner_a.email)
        assert failed.filter(action="sign_in.failed").count() == settings.SIGN_IN_MAX_FAILURES
        assert failed.filter(action="two_factor.failed").count() == settings.SIGN_IN_MAX_FAILURES


def test_a_locked_account_cannot_use_its_pending_sign_in(clinic_a, practitioner_a):
    two_factor_on(practitioner_a, clinic_a)
    client = client_of(clinic_a)
    password_step(client, practitioner_a.email)
    # Someone else burns the attempts for this email meanwhile (on the password form).
    other = client_of(clinic_a)
    for _ in range(settings.SIGN_IN_MAX_FAILURES):
        password_step(other, practitioner_a.email, "wrong password!")
    steady()
    response = client.post(VERIFY, {"code": code_for(practitioner_a)})
    assert response.status_code == 302
    assert response["Location"] == "/sign-in/"
    assert not is_signed_in(client)
    # The code was not even checked, so it was not spent.
    assert TotpDevice.objects.get(user=practitioner_a).last_used_step < totp.time_step()


def test_a_recovery_code_signs_in_once(clinic_a, practitioner_a):
    codes = two_factor_on(practitioner_a, clinic_a)
    client = client_of(clinic_a)
    password_step(client, practitioner_a.email)
    page = client.get(VERIFY, {"method": "recovery"})
    assert b'name="recovery_code"' in page.content
    response = client.post(VERIFY, {"method": "recovery", "recovery_code": codes[0].upper()})
    assert response.status_code == 302
    assert is_signed_in(client)
    event = last_sign_in(clinic_a, practitioner_a)
    assert event is not None
    assert event.details == {"method": "recovery_code"}
    assert RecoveryCode.objects.filter(user=practitioner_a, used_at__isnull=True).count() == 9

    again = client_of(clinic_a)
    password_step(again, practitioner_a.email)
    response = again.post(VERIFY, {"method": "recovery", "recovery_code": codes[0]})
    assert response.status_code == 400
    assert b"used already" in response.content
    assert not is_signed_in(again)


@pytest.mark.parametrize("typed", ["", "abc", "abcd-efgh-ijkl", "0000-0000"])
def test_malformed_recovery_codes_get_a_field_error(clinic_a, practitioner_a, typed):
    two_factor_on(practitioner_a, clinic_a)
    client = client_of(clinic_a)
    password_step(client, practitioner_a.email)
    response = client.post(VERIFY, {"method": "recovery", "recovery_code": typed})
    assert response.status_code == 400
    assert b'class="field-error"' in response.content


def test_a_pending_sign_in_of_clinic_a_is_worthless_on_clinic_b(clinic_a, clinic_b):
    person = factories.user_create(email="both@example.com")
    factories.membership_add(user=person, clinic=clinic_a, role=Role.PRACTITIONER)
    factories.membership_add(user=person, clinic=clinic_b, role=Role.PRACTITIONER)
    two_factor_on(person, clinic_a)
    client_a = client_of(clinic_a)
    assert password_step(client_a, person.email)["Location"] == VERIFY
    cookie = session_key(client_a)
    with tenant_context(clinic_a):
        assert UserSession.objects.filter(session_key=cookie).exists()
    with tenant_context(clinic_b):
        assert not UserSession.objects.filter(session_key=cookie).exists()

    # The same person, on clinic B's host, with clinic A's pending cookie and a right code.
    client_b = client_of(clinic_b)
    client_b.cookies[settings.SESSION_COOKIE_NAME] = cookie
    assert client_b.get(VERIFY)["Location"] == "/sign-in/"
    steady()
    code = code_for(person)
    response = client_b.post(VERIFY, {"code": code})
    assert response.status_code == 302
    assert response["Location"] == "/sign-in/"
    assert client_b.get("/")["Location"].startswith("/sign-in/")
    assert b"MARK-A" not in client_b.get("/sign-in/").content
    assert last_sign_in(clinic_b, person) is None

    # Clinic B did not even spend the code: it still finishes the sign-in on A.
    response = client_a.post(VERIFY, {"code": code})
    assert response["Location"] == "/"
    assert is_signed_in(client_a)


# ---- a clinic that requires two-factor ----------------------------------------------------


def test_a_member_without_two_factor_must_set_it_up_and_cannot_skip(
    clinic_a, receptionist_a, require_2fa
):
    require_2fa(clinic_a)
    client = client_of(clinic_a)
    response = password_step(client, receptionist_a.email)
    assert response["Location"] == ENROL
    # No way around it: not the dashboard, not the code page.
    assert client.get("/")["Location"] == "/sign-in/?next=/"
    assert client.get(VERIFY)["Location"] == ENROL
    assert client.post(ENROL, {"action": "continue"})["Location"] == ENROL

    page = client.get(ENROL)
    assert page.status_code == 200
    assert b"<svg" in page.content
    assert b"MARK-A Smile Dental" in page.content
    secret = stored_secret(receptionist_a)
    grouped = " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))
    assert grouped.encode() in page.content
    # Reloading shows the same secret: the one already scanned stays valid.
    client.get(ENROL)
    assert stored_secret(receptionist_a) == secret

    assert client.post(ENROL, {"code": "12345"}).status_code == 400
    response = client.post(ENROL, {"code": wrong_code_for(receptionist_a)})
    assert response.status_code == 400
    assert b"does not match" in response.content
    assert not is_signed_in(client)

    steady()
    codes_page = client.post(ENROL, {"code": code_for(receptionist_a)})
    assert codes_page.status_code == 200
    codes = codes_page.context["codes"]
    assert len(codes) == 10
    for code in codes:
        assert code.encode() in codes_page.content
    assert b"I saved them, continue" in codes_page.content
    # Still not signed in until the codes are acknowledged.
    assert client.get("/")["Location"] == "/sign-in/?next=/"

    response = client.post(ENROL, {"action": "continue"})
    assert response.status_code == 302
    assert response["Location"] == "/"
    assert is_signed_in(client)
    event = last_sign_in(clinic_a, receptionist_a)
    assert event is not None
    assert event.details == {"method": "totp"}
    with tenant_context(clinic_a):
        assert AuditEvent.objects.filter(
            action="two_factor.enabled", actor_id=receptionist_a.pk
        ).exists()


def test_the_recovery_codes_page_cannot_be_shown_again(clinic_a, receptionist_a, require_2fa):
    require_2fa(clinic_a)
    client = client_of(clinic_a)
    password_step(client, receptionist_a.email)
    client.get(ENROL)
    steady()
    code = code_for(receptionist_a)
    codes = client.post(ENROL, {"code": code}).context["codes"]
    # Leaving the page (or posting the code again): the codes are gone, the code page asks.
    again = client.get(ENROL)
    assert again["Location"] == VERIFY
    repost = client.post(ENROL, {"code": code})
    assert repost["Location"] == VERIFY
    assert client.post(ENROL, {"action": "continue"})["Location"] == ENROL
    page = client.get(VERIFY)
    assert all(c.encode() not in page.content for c in codes)
    assert not is_signed_in(client)
    steady()
    assert client.post(VERIFY, {"code": code_for(receptionist_a, 1)})["Location"] == "/"


def test_a_member_with_two_factor_is_asked_for_a_code_where_it_is_required(
    clinic_a, practitioner_a, require_2fa
):
    require_2fa(clinic_a)
    two_factor_on(practitioner_a, clinic_a)
    client = client_of(clinic_a)
    assert password_step(client, practitioner_a.email)["Location"] == VERIFY
    assert client.get(ENROL)["Location"] == VERIFY
