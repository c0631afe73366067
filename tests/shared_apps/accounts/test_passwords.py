"""Passwords: bcrypt_sha256 only, long passphrases whole (no 72-byte truncation), upgrades."""

from __future__ import annotations

import pytest
from django.contrib.auth.hashers import make_password
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.test import Client

from shared_apps.accounts.models import User
from tests import factories

pytestmark = pytest.mark.django_db

LONG_ASCII = "correct horse battery staple " * 3 + "and a bit more than seventy-two b"
MULTIBYTE = "пароль-très-long-密码-パスワード-" * 3


def test_passwords_are_stored_as_bcrypt_sha256():
    user = factories.user_create()
    assert user.password.startswith("bcrypt_sha256$")


def test_a_100_byte_password_works_and_its_72_byte_prefix_does_not():
    password = LONG_ASCII[:100]
    assert len(password.encode()) == 100
    user = factories.user_create()
    user.set_password(password)
    assert user.check_password(password)
    assert not user.check_password(password[:72])


def test_a_multibyte_passphrase_works_and_its_72_byte_prefix_does_not():
    encoded = MULTIBYTE.encode()
    assert len(encoded) > 100
    prefix = encoded[:72].decode(errors="ignore")
    user = factories.user_create()
    user.set_password(MULTIBYTE)
    assert user.check_password(MULTIBYTE)
    assert not user.check_password(prefix)


def test_long_passphrases_pass_the_validators():
    validate_password("a" * 3 + LONG_ASCII * 4)  # ~400 characters: no error


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("short9char", None),  # 10 characters: fine
        ("nine-char", "at least 10 characters"),
        ("password123", "too common"),
        ("8473629104758", "entirely numeric"),
        ("x" * 1025, "at most 1024 characters"),
    ],
)
def test_the_password_rules(password, message):
    if message is None:
        validate_password(password)
        return
    with pytest.raises(ValidationError) as error:
        validate_password(password)
    assert message in " ".join(error.value.messages)


def test_an_older_hash_is_upgraded_at_the_next_sign_in(clinic_a, practitioner_a):
    User.objects.filter(pk=practitioner_a.pk).update(
        password=make_password(factories.PASSWORD, hasher="pbkdf2_sha256")
    )
    client = Client(HTTP_HOST=factories.host_of(clinic_a))
    response = client.post(
        "/sign-in/", {"username": practitioner_a.email, "password": factories.PASSWORD}
    )
    assert response.status_code == 302
    assert User.objects.get(pk=practitioner_a.pk).password.startswith("bcrypt_sha256$")


def test_sign_in_accepts_a_long_multibyte_passphrase(clinic_a):
    # A user of its own: the shared personas must keep their password for later tests.
    person = factories.user_create()
    person.set_password(MULTIBYTE)
    person.save()
    factories.membership_add(user=person, clinic=clinic_a, role="assistant")
    client = Client(HTTP_HOST=factories.host_of(clinic_a))
    prefix = MULTIBYTE.encode()[:72].decode(errors="ignore")
    refused = client.post("/sign-in/", {"username": person.email, "password": prefix})
    assert refused.status_code == 400
    accepted = client.post("/sign-in/", {"username": person.email, "password": MULTIBYTE})
    assert accepted.status_code == 302
