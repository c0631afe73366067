"""Services: replay protection, recovery codes, turning two-factor on, off and over."""

import hashlib

import pytest
from django.core.exceptions import ValidationError
from django_tenants.utils import tenant_context

from shared_apps.two_factor import totp
from shared_apps.two_factor.models import RecoveryCode, TotpDevice
from shared_apps.two_factor.selectors import SecondFactorStep, second_factor_step
from shared_apps.two_factor.services import (
    recovery_code_use,
    recovery_codes_regenerate,
    totp_device_confirm,
    totp_device_remove,
    totp_device_start,
    totp_verify,
)
from tenant_apps.audit.models import AuditEvent
from tests.shared_apps.two_factor.helpers import code_for, steady, stored_secret, two_factor_on

pytestmark = pytest.mark.django_db


def actions(clinic, user) -> list[str]:
    with tenant_context(clinic):
        return list(
            AuditEvent.objects.filter(target_id=str(user.pk), action__startswith="two_factor.")
            .order_by("id")
            .values_list("action", flat=True)
        )


def test_a_code_works_once(clinic_a, practitioner_a):
    two_factor_on(practitioner_a, clinic_a)
    steady()
    code = code_for(practitioner_a)
    with tenant_context(clinic_a):
        assert totp_verify(user=practitioner_a, code=code) is True
        assert totp_verify(user=practitioner_a, code=code) is False


def test_an_older_code_is_refused_after_a_newer_one(clinic_a, practitioner_a):
    two_factor_on(practitioner_a, clinic_a)
    steady()
    older, newer = code_for(practitioner_a, 0), code_for(practitioner_a, 1)
    with tenant_context(clinic_a):
        assert totp_verify(user=practitioner_a, code=newer) is True
        assert totp_verify(user=practitioner_a, code=older) is False
    device = TotpDevice.objects.get(user=practitioner_a)
    assert device.last_used_step == totp.time_step() + 1


def test_codes_one_step_off_pass_and_two_steps_off_fail(clinic_a, practitioner_a):
    two_factor_on(practitioner_a, clinic_a)  # spends the previous step's code
    steady()
    with tenant_context(clinic_a):
        assert totp_verify(user=practitioner_a, code=code_for(practitioner_a, -2)) is False
        assert totp_verify(user=practitioner_a, code=code_for(practitioner_a, 2)) is False
        assert totp_verify(user=practitioner_a, code=code_for(practitioner_a, 1)) is True


def test_a_wrong_code_is_audited(clinic_a, practitioner_a):
    two_factor_on(practitioner_a, clinic_a)
    with tenant_context(clinic_a):
        assert totp_verify(user=practitioner_a, code="not-a-code") is False
    assert actions(clinic_a, practitioner_a) == ["two_factor.enabled", "two_factor.failed"]


def test_without_a_confirmed_device_no_code_passes(clinic_a, practitioner_a):
    with tenant_context(clinic_a):
        secret = totp_device_start(user=practitioner_a)
        steady()
        code = totp.code_at(secret)
        assert totp_verify(user=practitioner_a, code=code) is False
    assert second_factor_step(user=practitioner_a, require_two_factor=False) == (
        SecondFactorStep.NONE
    )


def test_confirming_spends_the_code_and_makes_ten_hashed_recovery_codes(clinic_a, practitioner_a):
    with tenant_context(clinic_a):
        secret = totp_device_start(user=practitioner_a)
        steady()
        code = totp.code_at(secret)
        assert (
            totp_device_confirm(
                user=practitioner_a, code="000000" if code != "000000" else "111111"
            )
            is None
        )
        codes = totp_device_confirm(user=practitioner_a, code=code)
        assert codes is not None
        # The confirming code cannot sign anyone in afterwards.
        assert totp_verify(user=practitioner_a, code=code) is False
    assert len(codes) == len(set(codes)) == 10
    assert all(len(c) == 9 and c[4] == "-" for c in codes)
    stored = set(
        RecoveryCode.objects.filter(user=practitioner_a).values_list("code_hash", flat=True)
    )
    normalised = (c.replace("-", "") for c in codes)
    assert stored == {hashlib.sha256(c.encode()).hexdigest() for c in normalised}
    assert second_factor_step(user=practitioner_a, require_two_factor=False) == (
        SecondFactorStep.VERIFY
    )


def test_starting_again_replaces_an_unconfirmed_secret(clinic_a, practitioner_a):
    with tenant_context(clinic_a):
        first = totp_device_start(user=practitioner_a)
        second = totp_device_start(user=practitioner_a)
    assert first != second
    assert stored_secret(practitioner_a) == second


def test_a_recovery_code_works_once_whatever_its_case_spaces_or_dashes(clinic_a, practitioner_a):
    codes = two_factor_on(practitioner_a, clinic_a)
    typed = f"  {codes[0].upper().replace('-', ' ')} "
    with tenant_context(clinic_a):
        assert recovery_code_use(user=practitioner_a, code=typed) is True
        assert recovery_code_use(user=practitioner_a, code=codes[0]) is False
        assert recovery_code_use(user=practitioner_a, code=codes[1].replace("-", "")) is True
    assert RecoveryCode.objects.filter(user=practitioner_a, used_at__isnull=True).count() == 8
    assert actions(clinic_a, practitioner_a)[-3:] == [
        "two_factor.recovery_code_used",
        "two_factor.failed",
        "two_factor.recovery_code_used",
    ]


def test_new_recovery_codes_replace_the_old_ones(clinic_a, practitioner_a):
    old = two_factor_on(practitioner_a, clinic_a)
    with tenant_context(clinic_a):
        new = recovery_codes_regenerate(user=practitioner_a)
        assert recovery_code_use(user=practitioner_a, code=old[0]) is False
        assert recovery_code_use(user=practitioner_a, code=new[0]) is True
    assert "two_factor.recovery_codes_regenerated" in actions(clinic_a, practitioner_a)


def test_recovery_codes_need_two_factor_on(clinic_a, practitioner_a):
    with tenant_context(clinic_a), pytest.raises(ValidationError):
        recovery_codes_regenerate(user=practitioner_a)


def test_turning_off_forgets_the_device_and_the_codes(clinic_a, practitioner_a):
    codes = two_factor_on(practitioner_a, clinic_a)
    with tenant_context(clinic_a):
        totp_device_remove(user=practitioner_a)
        assert recovery_code_use(user=practitioner_a, code=codes[0]) is False
    assert not TotpDevice.objects.filter(user=practitioner_a).exists()
    assert not RecoveryCode.objects.filter(user=practitioner_a).exists()
    assert "two_factor.disabled" in actions(clinic_a, practitioner_a)


def test_turning_off_is_refused_while_a_clinic_requires_it(clinic_a, practitioner_a, require_2fa):
    two_factor_on(practitioner_a, clinic_a)
    require_2fa(clinic_a)
    with tenant_context(clinic_a), pytest.raises(ValidationError, match="requires two-factor"):
        totp_device_remove(user=practitioner_a)
    assert TotpDevice.objects.filter(user=practitioner_a, confirmed_at__isnull=False).exists()


def test_moving_to_a_new_phone_keeps_the_old_one_until_the_new_one_works(clinic_a, practitioner_a):
    two_factor_on(practitioner_a, clinic_a)
    old_secret = stored_secret(practitioner_a)
    with tenant_context(clinic_a):
        new_secret = totp_device_start(user=practitioner_a)
        steady()
        # Still on, still the old phone.
        assert totp_verify(user=practitioner_a, code=totp.code_at(old_secret)) is True
        codes = totp_device_confirm(
            user=practitioner_a, code=totp.code_at_step(new_secret, totp.time_step() + 1)
        )
        assert codes is not None
    assert stored_secret(practitioner_a) == new_secret
    assert TotpDevice.objects.get(user=practitioner_a).pending_secret == ""
