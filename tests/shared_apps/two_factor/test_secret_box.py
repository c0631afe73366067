"""Authenticator secrets are encrypted at rest, keys rotate, and a lost key fails softly."""

import importlib
import io
import logging
from types import SimpleNamespace

import pytest
from cryptography.fernet import Fernet, InvalidToken
from django.apps import apps as global_apps
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import Client, override_settings
from django.utils import timezone
from django_tenants.utils import tenant_context

from shared_apps.two_factor import totp
from shared_apps.two_factor.models import TotpDevice
from shared_apps.two_factor.secret_box import UnreadableSecret, seal, unseal
from shared_apps.two_factor.selectors import secret_being_set_up
from shared_apps.two_factor.services import totp_device_confirm, totp_device_start, totp_verify
from tests import factories
from tests.shared_apps.two_factor.helpers import (
    code_for,
    password_step,
    steady,
    stored_secret,
    two_factor_on,
)

pytestmark = pytest.mark.django_db

VERIFY = "/sign-in/two-factor/"
SECRET = "JBSWY3DPEHPK3PXP"


def new_key() -> str:
    return Fernet.generate_key().decode("ascii")


def raw_column(user, field: str = "secret") -> str:
    """What a database dump would show."""
    return TotpDevice.objects.filter(user=user).values_list(field, flat=True).get()


def test_the_database_never_holds_the_secret_in_clear(clinic_a, practitioner_a):
    with tenant_context(clinic_a):
        plain = totp_device_start(user=practitioner_a)
    assert raw_column(practitioner_a) != plain
    assert raw_column(practitioner_a).startswith("gAAAAA")
    assert plain not in raw_column(practitioner_a)

    two_factor_on(practitioner_a, clinic_a)
    confirmed = stored_secret(practitioner_a)
    assert raw_column(practitioner_a).startswith("gAAAAA")
    assert confirmed not in raw_column(practitioner_a)

    # Moving to a new phone: the waiting secret is encrypted too.
    with tenant_context(clinic_a):
        waiting = totp_device_start(user=practitioner_a)
    assert raw_column(practitioner_a, "pending_secret").startswith("gAAAAA")
    assert waiting not in raw_column(practitioner_a, "pending_secret")


def test_seal_and_unseal_round_trip():
    token = seal(SECRET)
    assert token != SECRET
    assert token.startswith("gAAAAA")
    assert unseal(token) == SECRET
    # A fresh nonce each time: equal secrets do not give equal columns.
    assert seal(SECRET) != token


def test_a_key_rotation_keeps_old_values_readable_and_seals_with_the_new_key():
    old, new = new_key(), new_key()
    with override_settings(TWO_FACTOR_ENCRYPTION_KEYS=[old]):
        sealed_before = seal(SECRET)
    with override_settings(TWO_FACTOR_ENCRYPTION_KEYS=[new, old]):
        assert unseal(sealed_before) == SECRET
        sealed_after = seal(SECRET)
    assert Fernet(new).decrypt(sealed_after.encode()) == SECRET.encode()
    with pytest.raises(InvalidToken):
        Fernet(old).decrypt(sealed_after.encode())
    # Once the old key is dropped, what only it sealed no longer opens.
    with override_settings(TWO_FACTOR_ENCRYPTION_KEYS=[new]), pytest.raises(UnreadableSecret):
        unseal(sealed_before)


def test_an_authenticator_set_up_before_a_rotation_still_signs_in(clinic_a, practitioner_a):
    old, new = new_key(), new_key()
    with override_settings(TWO_FACTOR_ENCRYPTION_KEYS=[old]):
        two_factor_on(practitioner_a, clinic_a)
        steady()
        code = code_for(practitioner_a)
    with override_settings(TWO_FACTOR_ENCRYPTION_KEYS=[new, old]), tenant_context(clinic_a):
        assert totp_verify(user=practitioner_a, code=code) is True


def test_garbage_does_not_unseal():
    for value in (SECRET, "", "gAAAAAnot-a-token", "é"):
        with pytest.raises(UnreadableSecret):
            unseal(value)


def test_a_secret_sealed_with_an_unknown_key_fails_cleanly_and_a_recovery_code_still_works(
    clinic_a, practitioner_a, caplog
):
    codes = two_factor_on(practitioner_a, clinic_a)
    plain = stored_secret(practitioner_a)
    # As if the key that sealed it had been removed from TWO_FACTOR_ENCRYPTION_KEYS.
    foreign = Fernet(new_key()).encrypt(plain.encode()).decode("ascii")
    TotpDevice.objects.filter(user=practitioner_a).update(secret=foreign)

    client = Client(HTTP_HOST=factories.host_of(clinic_a))
    assert password_step(client, practitioner_a.email)["Location"] == VERIFY
    steady()
    with caplog.at_level(logging.ERROR, logger="shared_apps.two_factor.selectors"):
        response = client.post(VERIFY, {"code": totp.code_at(plain)})
    assert response.status_code == 400
    assert b"That code is not right" in response.content
    assert client.get("/").status_code == 302  # not signed in
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1
    assert f"user {practitioner_a.pk}" in errors[0].getMessage()
    assert plain not in errors[0].getMessage()
    assert foreign not in errors[0].getMessage()

    response = client.post(VERIFY, {"method": "recovery", "recovery_code": codes[0]})
    assert response.status_code == 302
    assert client.get("/").status_code == 200


def test_an_unreadable_secret_being_set_up_is_neither_shown_nor_confirmed(clinic_a, practitioner_a):
    foreign = Fernet(new_key()).encrypt(SECRET.encode()).decode("ascii")
    TotpDevice.objects.create(user=practitioner_a, secret=foreign)
    assert secret_being_set_up(user=practitioner_a) is None
    with tenant_context(clinic_a):
        assert totp_device_confirm(user=practitioner_a, code=totp.code_at(SECRET)) is None
        # Starting again replaces it with a readable one.
        fresh = totp_device_start(user=practitioner_a)
    assert secret_being_set_up(user=practitioner_a) == fresh


def test_the_migration_seals_plain_values_and_leaves_sealed_ones_alone(
    practitioner_a, receptionist_a
):
    migration = importlib.import_module("shared_apps.two_factor.migrations.0003_seal_secrets")
    TotpDevice.objects.create(
        user=practitioner_a,
        secret=SECRET,
        pending_secret="KRSXG5CTMVRXEZLU",
        confirmed_at=timezone.now(),
    )
    already = seal("MFRGGZDFMZTWQ2LK")
    TotpDevice.objects.create(user=receptionist_a, secret=already)

    migration.seal_plain_secrets(global_apps, SimpleNamespace(connection=connection))

    assert raw_column(practitioner_a).startswith("gAAAAA")
    assert stored_secret(practitioner_a) == SECRET
    assert stored_secret(practitioner_a, pending=True) == "KRSXG5CTMVRXEZLU"
    assert raw_column(receptionist_a) == already
    assert raw_column(receptionist_a, "pending_secret") == ""


def test_the_reseal_command_moves_every_secret_to_the_new_key(clinic_a, practitioner_a, settings):
    old, new = new_key(), new_key()
    settings.TWO_FACTOR_ENCRYPTION_KEYS = [old]
    two_factor_on(practitioner_a, clinic_a)
    secret = stored_secret(practitioner_a)
    settings.TWO_FACTOR_ENCRYPTION_KEYS = [new, old]  # step 1 of a rotation: new key first
    call_command("two_factor_reseal", stdout=io.StringIO())
    settings.TWO_FACTOR_ENCRYPTION_KEYS = [new]  # step 3: the old key is gone
    assert stored_secret(practitioner_a) == secret


def test_the_reseal_command_names_what_no_key_opens_and_fails(clinic_a, practitioner_a, settings):
    settings.TWO_FACTOR_ENCRYPTION_KEYS = [new_key()]
    two_factor_on(practitioner_a, clinic_a)
    before = raw_column(practitioner_a)
    settings.TWO_FACTOR_ENCRYPTION_KEYS = [new_key()]  # the sealing key was lost
    with pytest.raises(CommandError, match=rf"user ids {practitioner_a.pk}\b"):
        call_command("two_factor_reseal", stdout=io.StringIO())
    assert raw_column(practitioner_a) == before  # nothing overwritten
