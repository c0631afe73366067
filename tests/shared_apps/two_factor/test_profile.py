"""The profile page: turning two-factor on and off, new codes, a new phone, all behind
the password (ASVS 7.5.1)."""

import pytest
from django.test import Client
from django_tenants.utils import tenant_context

from shared_apps.two_factor import totp
from shared_apps.two_factor.models import RecoveryCode, TotpDevice
from shared_apps.two_factor.services import recovery_code_use
from tenant_apps.audit.models import AuditEvent
from tests import factories
from tests.shared_apps.two_factor.helpers import code_for, steady, stored_secret, two_factor_on

pytestmark = pytest.mark.django_db

PAGE = "/profile/two-factor/"


def audited(clinic, user, action) -> bool:
    with tenant_context(clinic):
        return AuditEvent.objects.filter(action=action, actor_id=user.pk).exists()


def test_the_page_needs_a_signed_in_member(clinic_a):
    response = Client(HTTP_HOST=factories.host_of(clinic_a)).get(PAGE)
    assert response.status_code == 302
    assert response["Location"] == f"/sign-in/?next={PAGE}"


def test_the_page_says_off(clinic_a, practitioner_a, clinic_client):
    page = clinic_client(clinic_a, practitioner_a).get(PAGE)
    assert page.status_code == 200
    assert b'<span class="tf-badge">Off</span>' in page.content
    assert b"<svg" not in page.content  # no secret before the password


@pytest.mark.parametrize(
    ("password", "error"), [("", b"Enter your password"), ("guess", b"not your password")]
)
def test_turning_on_needs_the_password(clinic_a, practitioner_a, clinic_client, password, error):
    client = clinic_client(clinic_a, practitioner_a)
    response = client.post(PAGE, {"action": "start", "password": password})
    assert response.status_code == 400
    assert error in response.content
    assert b"<svg" not in response.content
    assert not TotpDevice.objects.filter(user=practitioner_a).exists()


def test_wrong_passwords_here_count_towards_the_lock(
    clinic_a, practitioner_a, clinic_client, settings
):
    client = clinic_client(clinic_a, practitioner_a)
    for _ in range(settings.SIGN_IN_MAX_FAILURES):
        client.post(PAGE, {"action": "start", "password": "guess"})
    # Even the right password is refused while locked.
    response = client.post(PAGE, {"action": "start", "password": factories.PASSWORD})
    assert response.status_code == 400
    assert b"Too many wrong passwords" in response.content
    assert not TotpDevice.objects.filter(user=practitioner_a).exists()


def test_turning_on_shows_the_qr_then_the_codes_once(clinic_a, practitioner_a, clinic_client):
    client = clinic_client(clinic_a, practitioner_a)
    setup = client.post(PAGE, {"action": "start", "password": factories.PASSWORD})
    assert setup.status_code == 200
    assert b"<svg" in setup.content
    device = TotpDevice.objects.get(user=practitioner_a)
    assert totp.grouped(stored_secret(practitioner_a)).encode() in setup.content
    assert device.confirmed_at is None

    wrong = client.post(PAGE, {"action": "confirm", "code": "abc"})
    assert wrong.status_code == 400
    assert b"A code is 6 digits" in wrong.content
    steady()
    done = client.post(PAGE, {"action": "confirm", "code": code_for(practitioner_a)})
    assert done.status_code == 200
    codes = done.context["codes"]
    assert len(codes) == 10
    assert all(code.encode() in done.content for code in codes)
    assert TotpDevice.objects.get(user=practitioner_a).confirmed_at is not None
    assert audited(clinic_a, practitioner_a, "two_factor.enabled")

    page = client.get(PAGE)
    assert b"tf-badge tf-on" in page.content
    assert b"10 recovery codes left" in page.content
    assert all(code.encode() not in page.content for code in codes)


def test_confirming_without_the_password_step_is_refused(clinic_a, practitioner_a, clinic_client):
    client = clinic_client(clinic_a, practitioner_a)
    # A secret started elsewhere (say the sign-in set-up in another tab) is not enough.
    with tenant_context(clinic_a):
        from shared_apps.two_factor.services import totp_device_start

        secret = totp_device_start(user=practitioner_a)
    steady()
    response = client.post(PAGE, {"action": "confirm", "code": totp.code_at(secret)})
    assert response.status_code == 302
    assert TotpDevice.objects.get(user=practitioner_a).confirmed_at is None


def test_new_recovery_codes_need_the_password(clinic_a, practitioner_a, clinic_client):
    old = two_factor_on(practitioner_a, clinic_a)
    client = clinic_client(clinic_a, practitioner_a)
    refused = client.post(PAGE, {"action": "regenerate", "password": "guess"})
    assert refused.status_code == 400
    page = client.post(PAGE, {"action": "regenerate", "password": factories.PASSWORD})
    assert page.status_code == 200
    new = page.context["codes"]
    assert set(new).isdisjoint(old)
    with tenant_context(clinic_a):
        assert recovery_code_use(user=practitioner_a, code=old[0]) is False
        assert recovery_code_use(user=practitioner_a, code=new[0]) is True


def test_turning_off_needs_the_password(clinic_a, practitioner_a, clinic_client):
    two_factor_on(practitioner_a, clinic_a)
    client = clinic_client(clinic_a, practitioner_a)
    refused = client.post(PAGE, {"action": "disable", "password": "guess"})
    assert refused.status_code == 400
    assert b"not your password" in refused.content
    assert TotpDevice.objects.filter(user=practitioner_a).exists()
    response = client.post(PAGE, {"action": "disable", "password": factories.PASSWORD})
    assert response.status_code == 302
    assert not TotpDevice.objects.filter(user=practitioner_a).exists()
    assert not RecoveryCode.objects.filter(user=practitioner_a).exists()
    assert audited(clinic_a, practitioner_a, "two_factor.disabled")
    assert b"Two-factor sign-in is off." in client.get(PAGE).content


def test_turning_off_is_refused_where_the_clinic_requires_it(
    clinic_a, practitioner_a, clinic_client, require_2fa
):
    two_factor_on(practitioner_a, clinic_a)
    require_2fa(clinic_a)
    client = clinic_client(clinic_a, practitioner_a)
    response = client.post(PAGE, {"action": "disable", "password": factories.PASSWORD})
    assert response.status_code == 400
    assert b"MARK-A Smile Dental requires two-factor sign-in" in response.content
    assert TotpDevice.objects.filter(user=practitioner_a, confirmed_at__isnull=False).exists()


def test_turning_off_on_another_clinic_is_refused_too(
    clinic_a, clinic_b, require_2fa, clinic_client
):
    # The authenticator is the person's: clinic B's site must not strip what A requires.
    person = factories.user_create(email="two-clinics@example.com")
    factories.membership_add(user=person, clinic=clinic_a, role="practitioner")
    factories.membership_add(user=person, clinic=clinic_b, role="practitioner")
    two_factor_on(person, clinic_b)
    require_2fa(clinic_a)
    response = clinic_client(clinic_b, person).post(
        PAGE, {"action": "disable", "password": factories.PASSWORD}
    )
    assert response.status_code == 400
    assert TotpDevice.objects.filter(user=person).exists()


def test_moving_to_a_new_phone(clinic_a, practitioner_a, clinic_client):
    two_factor_on(practitioner_a, clinic_a)
    old_secret = stored_secret(practitioner_a)
    client = clinic_client(clinic_a, practitioner_a)
    setup = client.post(PAGE, {"action": "start", "password": factories.PASSWORD})
    assert setup.status_code == 200
    assert b"Move to a new phone" in setup.content
    new_secret = stored_secret(practitioner_a, pending=True)
    assert new_secret
    assert totp.grouped(new_secret).encode() in setup.content
    steady()
    # The old phone's code does not confirm the new one.
    assert (
        client.post(PAGE, {"action": "confirm", "code": totp.code_at(old_secret)}).status_code
        == 400
    )
    done = client.post(PAGE, {"action": "confirm", "code": totp.code_at(new_secret)})
    assert done.status_code == 200
    assert stored_secret(practitioner_a) == new_secret


def test_an_unknown_action_is_a_400(clinic_a, practitioner_a, clinic_client):
    response = clinic_client(clinic_a, practitioner_a).post(PAGE, {"action": "explode"})
    assert response.status_code == 400
