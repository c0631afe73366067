"""Password reset: one link, one hour, one clinic; the same answer for everyone."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from django.urls import reverse
from django.utils import timezone
from django_tenants.utils import tenant_context

from shared_apps.accounts.models import Membership
from shared_apps.profile.models import PasswordReset
from shared_apps.two_factor.models import TotpDevice
from tenant_apps.audit.models import AuditEvent
from tests import factories
from tests.shared_apps.profile.conftest import NEW_PASSWORD
from tests.support.mailbox import links_in

pytestmark = pytest.mark.django_db

SET_PASSWORD = "/password-reset/new-password/"


@pytest.fixture
def ask(django_capture_on_commit_callbacks):
    """`ask(client, email)`: request a reset, running the after-commit email task."""

    def post(client, email):
        with django_capture_on_commit_callbacks(execute=True):
            return client.post("/password-reset/", {"email": email})

    return post


def link_path(message) -> str:
    return urlsplit(links_in(message)[0]).path


def set_password(client, password=NEW_PASSWORD, confirm=None):
    data = {"new_password": password, "new_password_confirm": confirm or password}
    return client.post(SET_PASSWORD, data)


def test_a_member_resets_the_password_by_email_and_every_session_ends(
    clinic_a, clinic_client, person, ask, mailbox, django_capture_on_commit_callbacks
):
    user = person(clinic_a)
    other_device = clinic_client(clinic_a, user)
    assert other_device.get("/").status_code == 200
    visitor = clinic_client(clinic_a)

    response = ask(visitor, user.email.upper())  # addresses match in any case
    assert response.status_code == 200
    [message] = mailbox
    assert message.to == [user.email]
    [link, *_] = links_in(message)
    assert urlsplit(link).hostname == factories.host_of(clinic_a)
    assert urlsplit(link).path.startswith("/password-reset/")

    opened = visitor.get(urlsplit(link).path)
    # The token leaves the address bar at once and is never sent on as a Referer.
    assert opened.status_code == 302
    assert opened["Location"] == SET_PASSWORD
    assert opened["Referrer-Policy"] == "no-referrer"
    page = visitor.get(SET_PASSWORD)
    assert page.status_code == 200
    assert page["Referrer-Policy"] == "no-referrer"
    assert user.email.encode() in page.content

    with django_capture_on_commit_callbacks(execute=True):
        done = set_password(visitor)
    assert done.status_code == 302
    assert done["Location"] == reverse("sign-in")
    assert b"Your password has been changed" in visitor.get("/sign-in/").content
    # The person also hears of it by email, in case it was not them.
    [_, notice] = mailbox
    assert notice.to == [user.email]
    assert "was changed" in notice.subject

    user.refresh_from_db()
    assert not user.check_password(factories.PASSWORD)
    assert user.check_password(NEW_PASSWORD)
    assert other_device.get("/").status_code == 302  # signed out
    fresh = clinic_client(clinic_a)
    old = fresh.post("/sign-in/", {"username": user.email, "password": factories.PASSWORD})
    assert old.status_code == 400
    new = fresh.post("/sign-in/", {"username": user.email, "password": NEW_PASSWORD})
    assert new.status_code == 302
    assert fresh.get("/").status_code == 200
    with tenant_context(clinic_a):
        actions = set(
            AuditEvent.objects.filter(target_id=str(user.pk)).values_list("action", flat=True)
        )
    assert {"password.reset_requested", "password.reset"} <= actions


def test_the_reset_does_not_sign_anyone_in(clinic_a, clinic_client, person, ask, mailbox):
    user = person(clinic_a)
    visitor = clinic_client(clinic_a)
    ask(visitor, user.email)
    visitor.get(link_path(mailbox[0]))
    set_password(visitor)
    assert "_auth_user_id" not in visitor.session
    assert visitor.get("/").status_code == 302


def test_after_a_reset_a_user_with_two_factor_still_faces_the_second_factor(
    clinic_a, clinic_client, person, ask, mailbox
):
    user = person(clinic_a)
    TotpDevice.objects.create(user=user, secret="JBSWY3DPEHPK3PXP", confirmed_at=timezone.now())
    visitor = clinic_client(clinic_a)
    ask(visitor, user.email)
    visitor.get(link_path(mailbox[0]))
    assert set_password(visitor).status_code == 302

    response = visitor.post("/sign-in/", {"username": user.email, "password": NEW_PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == reverse("two-factor-verify")
    assert "_auth_user_id" not in visitor.session


def test_the_answer_is_the_same_for_a_member_a_stranger_and_an_unknown_address(
    clinic_a, practitioner_a, outsider_b, clinic_client, ask, mailbox
):
    responses = [
        ask(clinic_client(clinic_a), email)
        for email in (practitioner_a.email, outsider_b.email, "nobody@example.com")
    ]
    assert [response.status_code for response in responses] == [200, 200, 200]
    assert responses[0].content == responses[1].content == responses[2].content
    # Only the member of this clinic gets an email; a member of clinic B does not.
    assert [message.to for message in mailbox] == [[practitioner_a.email]]


def test_a_malformed_address_is_a_field_error(clinic_a, clinic_client, ask, mailbox):
    response = ask(clinic_client(clinic_a), "not-an-address")
    assert response.status_code == 400
    assert b"Enter a valid email address." in response.content
    assert mailbox == []


def test_at_most_three_reset_emails_per_address_per_hour_across_clinics(
    clinic_a, clinic_b, clinic_client, person, ask, mailbox
):
    user = person(clinic_a, clinic_b)
    answers = {ask(clinic_client(clinic_a), user.email).content for _ in range(2)}
    ask(clinic_client(clinic_b), user.email)
    ask(clinic_client(clinic_b), user.email)
    answers.add(ask(clinic_client(clinic_a), user.email).content)
    assert len(mailbox) == 3
    assert len(answers) == 1  # the limit is invisible to whoever asks
    assert PasswordReset.objects.filter(user=user).count() == 3

    an_hour_ago = timezone.now() - timedelta(minutes=61)
    PasswordReset.objects.filter(user=user).update(created_at=an_hour_ago)
    ask(clinic_client(clinic_a), user.email)
    assert len(mailbox) == 4


def test_a_link_works_once(clinic_a, clinic_client, person, ask, mailbox):
    user = person(clinic_a)
    visitor = clinic_client(clinic_a)
    ask(visitor, user.email)
    path = link_path(mailbox[0])
    visitor.get(path)
    set_password(visitor)

    again = clinic_client(clinic_a)
    response = again.get(path)
    assert response.status_code == 410
    assert response["Referrer-Policy"] == "no-referrer"
    assert b"expired or was already used" in response.content
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)


def test_a_link_opened_in_two_tabs_sets_the_password_once(
    clinic_a, clinic_client, person, ask, mailbox
):
    user = person(clinic_a)
    first, second = clinic_client(clinic_a), clinic_client(clinic_a)
    ask(first, user.email)
    path = link_path(mailbox[0])
    first.get(path)
    second.get(path)
    assert set_password(first).status_code == 302
    assert set_password(second, "another passphrase entirely").status_code == 410
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)


def test_an_expired_link_is_refused_and_nothing_changes(
    clinic_a, clinic_client, person, ask, mailbox
):
    user = person(clinic_a)
    visitor = clinic_client(clinic_a)
    ask(visitor, user.email)
    PasswordReset.objects.filter(user=user).update(expires_at=timezone.now() - timedelta(1))
    assert visitor.get(link_path(mailbox[0])).status_code == 410
    assert set_password(visitor).status_code == 404  # no reset was opened in this browser
    user.refresh_from_db()
    assert user.check_password(factories.PASSWORD)


def test_a_link_that_expires_while_the_form_is_open_is_refused(
    clinic_a, clinic_client, person, ask, mailbox
):
    user = person(clinic_a)
    visitor = clinic_client(clinic_a)
    ask(visitor, user.email)
    visitor.get(link_path(mailbox[0]))
    PasswordReset.objects.filter(user=user).update(expires_at=timezone.now() - timedelta(1))
    assert set_password(visitor).status_code == 410
    user.refresh_from_db()
    assert user.check_password(factories.PASSWORD)


@pytest.mark.parametrize("token", ["x" * 43, "x" * 5000, "nope"])
def test_an_unknown_token_is_refused(clinic_a, clinic_client, token):
    response = clinic_client(clinic_a).get(f"/password-reset/{token}/")
    assert response.status_code == 404
    assert b"does not work here" in response.content


def test_a_link_from_clinic_a_is_worthless_on_clinic_b(
    clinic_a, clinic_b, clinic_client, person, ask, mailbox
):
    user = person(clinic_a, clinic_b)  # a member of both: only the host tells them apart
    ask(clinic_client(clinic_a), user.email)
    path = link_path(mailbox[0])
    on_b = clinic_client(clinic_b)
    response = on_b.get(path)
    assert response.status_code == 404
    assert b"MARK-A" not in response.content
    assert set_password(on_b).status_code == 404
    user.refresh_from_db()
    assert user.check_password(factories.PASSWORD)
    # Still good where it was issued.
    assert clinic_client(clinic_a).get(path).status_code == 302


def test_someone_removed_from_the_clinic_cannot_use_a_link_they_were_sent(
    clinic_a, clinic_client, person, ask, mailbox
):
    user = person(clinic_a)
    ask(clinic_client(clinic_a), user.email)
    Membership.objects.filter(user=user).update(is_active=False)
    assert clinic_client(clinic_a).get(link_path(mailbox[0])).status_code == 404


@pytest.mark.parametrize(
    ("password", "confirm", "field_error"),
    [
        ("short", "short", b"This password is too short."),
        ("password123", "password123", b"This password is too common."),
        ("1234567890123", "1234567890123", b"This password is entirely numeric."),
        (NEW_PASSWORD, "something else entirely", b"The two passwords do not match."),
    ],
)
def test_a_weak_or_mistyped_new_password_is_a_field_error_and_the_link_stays_usable(
    clinic_a, clinic_client, person, ask, mailbox, password, confirm, field_error
):
    user = person(clinic_a)
    visitor = clinic_client(clinic_a)
    ask(visitor, user.email)
    visitor.get(link_path(mailbox[0]))
    response = set_password(visitor, password, confirm)
    assert response.status_code == 400
    assert field_error in response.content
    assert b'class="field-error"' in response.content
    user.refresh_from_db()
    assert user.check_password(factories.PASSWORD)
    assert set_password(visitor).status_code == 302


def test_a_reset_ends_the_other_open_links_of_the_person(
    clinic_a, clinic_client, person, ask, mailbox
):
    user = person(clinic_a)
    visitor = clinic_client(clinic_a)
    ask(visitor, user.email)
    ask(visitor, user.email)
    first, second = (link_path(message) for message in mailbox)
    visitor.get(second)
    set_password(visitor)
    assert clinic_client(clinic_a).get(first).status_code == 410


def test_the_emailed_link_only_answers_get(clinic_a, clinic_client, person, ask, mailbox):
    user = person(clinic_a)
    visitor = clinic_client(clinic_a)
    ask(visitor, user.email)
    assert visitor.post(link_path(mailbox[0]), {"new_password": "x"}).status_code == 405
