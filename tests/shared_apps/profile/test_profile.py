"""The profile page: name, email change (re-authenticated, confirmed), password change."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from django.utils import timezone
from django_tenants.utils import tenant_context

from shared_apps.accounts.models import SignInThrottle
from shared_apps.profile.models import EmailChange, PasswordReset
from tenant_apps.audit.models import AuditEvent
from tests import factories
from tests.shared_apps.profile.conftest import NEW_PASSWORD
from tests.support.mailbox import links_in

pytestmark = pytest.mark.django_db


def audit_actions(clinic, user) -> list[str]:
    with tenant_context(clinic):
        events = AuditEvent.objects.filter(actor_id=user.pk).order_by("id")
        return list(events.values_list("action", flat=True))


@pytest.fixture
def post(django_capture_on_commit_callbacks):
    """`post(client, action, **fields)`: submit one of the profile page's forms."""

    def submit(client, action, **fields):
        data = {"action": action, **{f"{action}-{name}": value for name, value in fields.items()}}
        with django_capture_on_commit_callbacks(execute=True):
            return client.post("/profile/", data)

    return submit


def email_change_path(message) -> str:
    return urlsplit(links_in(message)[0]).path


# --- the page -----------------------------------------------------------------------------


def test_the_page_needs_a_signed_in_member(clinic_a, clinic_client):
    response = clinic_client(clinic_a).get("/profile/")
    assert response.status_code == 302
    assert response["Location"] == "/sign-in/?next=/profile/"


def test_the_page_shows_the_person_and_marks_its_place_in_the_navigation(
    clinic_a, clinic_client, person
):
    user = person(clinic_a)
    response = clinic_client(clinic_a, user).get("/profile/")
    assert response.status_code == 200
    assert user.email.encode() in response.content
    assert b'<a href="/profile/" aria-current="page">Profile</a>' in response.content
    assert b'<a href="/profile/sessions/">Sessions</a>' in response.content
    sessions = clinic_client(clinic_a, user).get("/profile/sessions/")
    assert b'<a href="/profile/sessions/" aria-current="page">Sessions</a>' in sessions.content
    assert b'<a href="/profile/" aria-current' not in sessions.content


def test_an_unknown_action_is_a_bad_request(clinic_a, clinic_client, person):
    client = clinic_client(clinic_a, person(clinic_a))
    assert client.post("/profile/", {"action": "delete-everything"}).status_code == 400


# --- name ---------------------------------------------------------------------------------


def test_a_member_changes_their_name_and_it_is_audited(clinic_a, clinic_client, person, post):
    user = person(clinic_a)
    response = post(clinic_client(clinic_a, user), "name", full_name="  Ada   Lovelace ")
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.full_name == "Ada Lovelace"
    assert audit_actions(clinic_a, user)[-1] == "profile.updated"


def test_an_empty_name_is_a_field_error(clinic_a, clinic_client, person, post):
    user = person(clinic_a, full_name="Kept Name")
    response = post(clinic_client(clinic_a, user), "name", full_name="   ")
    assert response.status_code == 400
    assert b"This field is required." in response.content
    user.refresh_from_db()
    assert user.full_name == "Kept Name"


# --- email --------------------------------------------------------------------------------


def test_an_email_change_needs_the_current_password(clinic_a, clinic_client, person, post, mailbox):
    user = person(clinic_a)
    response = post(
        clinic_client(clinic_a, user), "email", new_email="new@example.com", current_password="no"
    )
    assert response.status_code == 400
    assert b"That is not your current password." in response.content
    assert mailbox == []
    assert not EmailChange.objects.filter(user=user).exists()
    # A wrong password here counts like a failed sign-in.
    assert SignInThrottle.objects.get(clinic=clinic_a, email=user.email).failures == 1


def test_guessing_the_password_on_the_profile_page_meets_the_sign_in_lock(
    clinic_a, clinic_client, person, post, settings, mailbox
):
    settings.SIGN_IN_MAX_FAILURES = 2
    user = person(clinic_a)
    client = clinic_client(clinic_a, user)
    for guess in ("guess one", "guess two"):
        post(client, "password", current_password=guess, new_password=NEW_PASSWORD,
             new_password_confirm=NEW_PASSWORD)  # fmt: skip
    response = post(
        client, "email", new_email="new@example.com", current_password=factories.PASSWORD
    )
    assert response.status_code == 400
    assert b"Too many wrong passwords" in response.content
    assert mailbox == []


def test_an_email_change_is_confirmed_from_the_new_address_once(
    clinic_a, clinic_client, person, post, mailbox
):
    user = person(clinic_a)
    old_email = user.email
    client = clinic_client(clinic_a, user)
    response = post(
        client, "email", new_email="Fresh.Start@Example.com", current_password=factories.PASSWORD
    )
    assert response.status_code == 302
    confirmation, notice = mailbox
    assert confirmation.to == ["Fresh.Start@example.com"]
    assert urlsplit(links_in(confirmation)[0]).hostname == factories.host_of(clinic_a)
    assert notice.to == [old_email]
    assert "Fresh.Start@example.com" in notice.body
    assert b"Waiting for confirmation" in client.get("/profile/").content
    user.refresh_from_db()
    assert user.email == old_email  # nothing changes before the link is opened

    path = email_change_path(confirmation)
    page = client.get(path)
    assert page.status_code == 200
    assert page["Referrer-Policy"] == "no-referrer"
    assert b"Fresh.Start@example.com" in page.content
    user.refresh_from_db()
    assert user.email == old_email  # opening the link is not confirming it

    confirmed = client.post(path)
    assert confirmed.status_code == 302
    assert confirmed["Location"] == "/profile/"
    user.refresh_from_db()
    assert user.email == "Fresh.Start@example.com"
    assert client.post(path).status_code == 410
    assert client.get(path).status_code == 410
    actions = audit_actions(clinic_a, user)
    assert actions[-2:] == ["email.change_requested", "email.changed"]
    # The new address signs in from now on; the old one does not.
    fresh = clinic_client(clinic_a)
    old = fresh.post("/sign-in/", {"username": old_email, "password": factories.PASSWORD})
    assert old.status_code == 400
    new_login = {"username": "fresh.start@example.com", "password": factories.PASSWORD}
    new = fresh.post("/sign-in/", new_login)
    assert new.status_code == 302


def test_only_the_signed_in_owner_may_confirm(clinic_a, clinic_client, person, post, mailbox):
    user, colleague = person(clinic_a), person(clinic_a)
    post(clinic_client(clinic_a, user), "email", new_email="mine@example.com",
         current_password=factories.PASSWORD)  # fmt: skip
    path = email_change_path(mailbox[0])

    signed_out = clinic_client(clinic_a).get(path)
    assert signed_out.status_code == 302
    assert signed_out["Location"].startswith("/sign-in/?next=/profile/email/")
    someone_else = clinic_client(clinic_a, colleague)
    assert someone_else.get(path).status_code == 404
    assert someone_else.post(path).status_code == 404
    assert not type(user).objects.filter(email="mine@example.com").exists()


def test_a_confirmation_link_from_clinic_a_is_worthless_on_clinic_b(
    clinic_a, clinic_b, clinic_client, person, post, mailbox
):
    user = person(clinic_a, clinic_b)
    post(clinic_client(clinic_a, user), "email", new_email="moved@example.com",
         current_password=factories.PASSWORD)  # fmt: skip
    path = email_change_path(mailbox[0])
    on_b = clinic_client(clinic_b, user)
    response = on_b.post(path)
    assert response.status_code == 404
    assert b"MARK-A" not in response.content
    user.refresh_from_db()
    assert user.email != "moved@example.com"


def test_an_expired_confirmation_link_changes_nothing(
    clinic_a, clinic_client, person, post, mailbox
):
    user = person(clinic_a)
    client = clinic_client(clinic_a, user)
    post(client, "email", new_email="late@example.com", current_password=factories.PASSWORD)
    EmailChange.objects.filter(user=user).update(expires_at=timezone.now() - timedelta(1))
    path = email_change_path(mailbox[0])
    assert client.get(path).status_code == 410
    assert client.post(path).status_code == 410
    user.refresh_from_db()
    assert user.email != "late@example.com"


def test_a_new_request_voids_the_previous_link(clinic_a, clinic_client, person, post, mailbox):
    user = person(clinic_a)
    client = clinic_client(clinic_a, user)
    post(client, "email", new_email="typo@exampel.com", current_password=factories.PASSWORD)
    post(client, "email", new_email="right@example.com", current_password=factories.PASSWORD)
    typo, right = email_change_path(mailbox[0]), email_change_path(mailbox[2])
    assert client.post(typo).status_code == 410
    assert client.post(right).status_code == 302
    user.refresh_from_db()
    assert user.email == "right@example.com"


def test_an_address_another_account_uses_is_refused_when_asking(
    clinic_a, clinic_client, person, practitioner_a, post, mailbox
):
    user = person(clinic_a)
    response = post(
        clinic_client(clinic_a, user),
        "email",
        new_email=practitioner_a.email.upper(),
        current_password=factories.PASSWORD,
    )
    assert response.status_code == 400
    assert b"Another account already uses this address." in response.content
    assert mailbox == []


def test_an_address_taken_meanwhile_is_refused_when_confirming(
    clinic_a, clinic_client, person, post, mailbox
):
    user = person(clinic_a)
    client = clinic_client(clinic_a, user)
    post(client, "email", new_email="contested@example.com", current_password=factories.PASSWORD)
    factories.user_create(email="Contested@Example.com")
    response = client.post(email_change_path(mailbox[0]))
    assert response.status_code == 400
    assert b"Another account now uses this address" in response.content
    user.refresh_from_db()
    assert user.email != "contested@example.com"


def test_the_current_address_is_not_a_change(clinic_a, clinic_client, person, post, mailbox):
    user = person(clinic_a)
    response = post(
        clinic_client(clinic_a, user),
        "email",
        new_email=user.email.upper(),
        current_password=factories.PASSWORD,
    )
    assert response.status_code == 400
    assert b"That is already your email address." in response.content


def test_a_changed_address_voids_reset_links_sent_to_the_old_one(
    clinic_a, clinic_client, person, post, mailbox, django_capture_on_commit_callbacks
):
    user = person(clinic_a)
    with django_capture_on_commit_callbacks(execute=True):
        clinic_client(clinic_a).post("/password-reset/", {"email": user.email})
    client = clinic_client(clinic_a, user)
    post(client, "email", new_email="after@example.com", current_password=factories.PASSWORD)
    client.post(email_change_path(mailbox[1]))
    assert not PasswordReset.objects.filter(user=user, used_at__isnull=True).exists()
    assert clinic_client(clinic_a).get(urlsplit(links_in(mailbox[0])[0]).path).status_code == 410


# --- password -----------------------------------------------------------------------------


def change_password(post, client, *, current=factories.PASSWORD, new=NEW_PASSWORD, confirm=None):
    return post(
        client,
        "password",
        current_password=current,
        new_password=new,
        new_password_confirm=confirm or new,
    )


def test_a_password_change_ends_the_other_sessions_here_and_at_other_clinics(
    clinic_a, clinic_b, clinic_client, person, post
):
    user = person(clinic_a, clinic_b)
    this_device = clinic_client(clinic_a, user)
    other_device = clinic_client(clinic_a, user)
    at_clinic_b = clinic_client(clinic_b, user)
    for client in (this_device, other_device, at_clinic_b):
        assert client.get("/").status_code == 200

    response = change_password(post, this_device)
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)
    assert this_device.get("/profile/").status_code == 200  # still signed in
    assert other_device.get("/").status_code == 302
    # Clinic B's session row still exists, but its password hash no longer matches.
    assert at_clinic_b.get("/").status_code == 302
    assert "_auth_user_id" not in at_clinic_b.session
    assert audit_actions(clinic_a, user)[-1] == "password.changed"


def test_a_password_change_needs_the_current_password(clinic_a, clinic_client, person, post):
    user = person(clinic_a)
    response = change_password(post, clinic_client(clinic_a, user), current="not it")
    assert response.status_code == 400
    assert b"That is not your current password." in response.content
    user.refresh_from_db()
    assert user.check_password(factories.PASSWORD)


@pytest.mark.parametrize(
    ("new", "confirm", "field_error"),
    [
        ("short", "short", b"This password is too short."),
        ("password123", "password123", b"This password is too common."),
        (NEW_PASSWORD, "not the same at all", b"The two passwords do not match."),
    ],
)
def test_a_weak_or_mistyped_new_password_is_a_field_error(
    clinic_a, clinic_client, person, post, new, confirm, field_error
):
    user = person(clinic_a)
    response = change_password(post, clinic_client(clinic_a, user), new=new, confirm=confirm)
    assert response.status_code == 400
    assert field_error in response.content
    user.refresh_from_db()
    assert user.check_password(factories.PASSWORD)


def test_the_person_is_told_by_email_that_their_password_changed(
    clinic_a, clinic_client, person, post, mailbox
):
    user = person(clinic_a)
    assert change_password(post, clinic_client(clinic_a, user)).status_code == 302
    [notice] = mailbox
    assert notice.to == [user.email]
    assert "MARK-A Smile Dental" in notice.subject
    assert "was changed" in notice.subject
    assert NEW_PASSWORD not in notice.body
    assert any(link.endswith("/password-reset/") for link in links_in(notice))
