"""Invites: the email, the link, accepting it once, and every way a link can be worthless."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone
from django_tenants.utils import tenant_context

from shared_apps.accounts.models import Membership, Role, User
from shared_apps.staff.errors import StaffChangeRefused
from shared_apps.staff.models import Invite
from shared_apps.staff.services import invite_create
from tests import factories
from tests.shared_apps.staff.helpers import (
    NEW_PASSWORD,
    audit_actions,
    audit_event,
    invite_path,
    new_account_form,
    open_invite,
    sign_in,
)

pytestmark = pytest.mark.django_db

NEWCOMER = "nina.newcomer@example.com"


def test_an_invite_emails_a_link_that_makes_the_account_and_the_membership(
    clinic_a, owner_a, clinic_client, mailbox, send_invite
):
    response, path = send_invite(clinic_client(clinic_a, owner_a), NEWCOMER, Role.PRACTITIONER)

    assert response.status_code == 302
    assert response["Location"] == "/staff/"
    [message] = mailbox
    assert message.to == [NEWCOMER]
    assert (
        message.extra_headers["Idempotency-Key"] == f"invite/{open_invite(clinic_a, NEWCOMER).pk}/1"
    )
    for body in (message.body, message.alternatives[0][0]):
        assert "MARK-A Smile Dental" in body
        assert "Olivia Owner" in body
        assert "Practitioner" in body
        assert "72 hours" in body
    assert message.body.count(f"http://clinic-a.localhost:8000{path}") == 1
    token = path.split("/")[2]
    invite = open_invite(clinic_a, NEWCOMER)
    # Only a hash of the token is kept: the link in the email is its only copy.
    assert invite.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token not in str(Invite.objects.filter(pk=invite.pk).values().get())
    assert (
        timedelta(hours=71, minutes=59) < invite.expires_at - timezone.now() <= timedelta(hours=72)
    )

    visitor = Client(HTTP_HOST=factories.host_of(clinic_a))
    page = visitor.get(path)
    assert page.status_code == 200
    for text in ("MARK-A Smile Dental", NEWCOMER, "Practitioner", "Olivia Owner", "Create"):
        assert text in page.content.decode()

    accepted = visitor.post(path, new_account_form())

    assert accepted.status_code == 302
    assert accepted["Location"] == "/"
    dashboard = visitor.get("/")
    assert dashboard.status_code == 200
    assert "Nina Newcomer" in dashboard.content.decode()
    user = User.objects.get(email__iexact=NEWCOMER)
    membership = Membership.objects.get(user=user, clinic=clinic_a)
    assert (membership.role, membership.is_active, membership.invited_by) == (
        Role.PRACTITIONER,
        True,
        owner_a,
    )
    invite.refresh_from_db()
    assert invite.accepted_by == user
    assert invite.accepted_at is not None
    accepted_event = audit_event(clinic_a, "invite.accepted", target_id=str(invite.pk))
    assert accepted_event.actor_id == user.pk
    assert accepted_event.details == {
        "membership": membership.pk,
        "role": "practitioner",
        "new_account": True,
    }
    created_event = audit_event(clinic_a, "invite.created", target_id=str(invite.pk))
    assert (created_event.actor_id, created_event.details) == (owner_a.pk, {"role": "practitioner"})
    sign_in_event = audit_event(clinic_a, "sign_in", actor_id=user.pk)
    assert sign_in_event.details == {"method": "invite"}

    # The new password works on the sign-in page like any other.
    later = Client(HTTP_HOST=factories.host_of(clinic_a))
    assert sign_in(later, NEWCOMER, NEW_PASSWORD)["Location"] == "/"


def test_someone_with_an_account_joins_a_second_clinic_with_the_same_account(
    clinic_a, owner_a, outsider_b, clinic_client, send_invite
):
    _, path = send_invite(clinic_client(clinic_a, owner_a), outsider_b.email, Role.ADMIN)
    visitor = Client(HTTP_HOST=factories.host_of(clinic_a))

    page = visitor.get(path)
    assert "already has a DR. CRM account" in page.content.decode()
    assert 'name="full_name"' not in page.content.decode()
    # Only the account's own password lets it join: holding the link is not enough.
    wrong = visitor.post(path, {"password": "not the password at all"})
    assert wrong.status_code == 400
    assert "That is not the password of this account." in wrong.content.decode()
    assert not Membership.objects.filter(user=outsider_b, clinic=clinic_a).exists()

    accepted = visitor.post(path, {"password": factories.PASSWORD})

    assert accepted.status_code == 302
    assert User.objects.filter(email__iexact=outsider_b.email).count() == 1
    roles = dict(Membership.objects.filter(user=outsider_b).values_list("clinic_id", "role"))
    assert roles == {
        clinic_a.pk: Role.ADMIN,
        outsider_b.memberships.get(role=Role.OWNER).clinic_id: Role.OWNER,
    }
    outsider_b.refresh_from_db()
    assert outsider_b.check_password(factories.PASSWORD)  # the account is untouched
    assert audit_event(clinic_a, "invite.accepted").details["new_account"] is False


def test_an_expired_link_says_so_with_410_and_changes_nothing(
    clinic_a, owner_a, clinic_client, send_invite
):
    _, path = send_invite(clinic_client(clinic_a, owner_a), NEWCOMER)
    Invite.objects.filter(email=NEWCOMER).update(expires_at=timezone.now() - timedelta(seconds=1))
    visitor = Client(HTTP_HOST=factories.host_of(clinic_a))

    for response in (visitor.get(path), visitor.post(path, new_account_form())):
        assert response.status_code == 410
        assert "This invitation has expired" in response.content.decode()
        assert "Ask the clinic for a new invite" in response.content.decode()
    assert not User.objects.filter(email__iexact=NEWCOMER).exists()
    assert open_invite(clinic_a, NEWCOMER).accepted_at is None


def test_a_used_link_is_worthless_and_a_double_submit_makes_one_membership(
    clinic_a, owner_a, clinic_client, send_invite
):
    _, path = send_invite(clinic_client(clinic_a, owner_a), NEWCOMER)
    first, second = (Client(HTTP_HOST=factories.host_of(clinic_a)) for _ in range(2))
    first.get(path)
    second.get(path)  # both pages are open when the two posts arrive

    accepted = first.post(path, new_account_form())
    again = second.post(path, new_account_form(full_name="Someone Else"))

    assert accepted.status_code == 302
    assert again.status_code == 404
    assert "already been used" in again.content.decode()
    assert Membership.objects.filter(user__email__iexact=NEWCOMER).count() == 1
    assert User.objects.get(email__iexact=NEWCOMER).full_name == "Nina Newcomer"
    assert Client(HTTP_HOST=factories.host_of(clinic_a)).get(path).status_code == 404
    assert audit_actions(clinic_a, action="invite.accepted") == ["invite.accepted"]


def test_a_revoked_link_is_worthless(clinic_a, owner_a, clinic_client, send_invite):
    owner = clinic_client(clinic_a, owner_a)
    _, path = send_invite(owner, NEWCOMER)
    invite = open_invite(clinic_a, NEWCOMER)

    revoked = owner.post(f"/staff/invites/{invite.pk}/revoke/")

    assert revoked.status_code == 302
    assert "withdrawn" in owner.get("/staff/").content.decode()
    visitor = Client(HTTP_HOST=factories.host_of(clinic_a))
    for response in (visitor.get(path), visitor.post(path, new_account_form())):
        assert response.status_code == 404
        assert "withdrawn by the clinic" in response.content.decode()
    assert not User.objects.filter(email__iexact=NEWCOMER).exists()
    assert audit_actions(clinic_a, action="invite.revoked", target_id=str(invite.pk)) == [
        "invite.revoked"
    ]


def test_resending_kills_the_old_link(
    clinic_a, owner_a, clinic_client, mailbox, send_invite, django_capture_on_commit_callbacks
):
    owner = clinic_client(clinic_a, owner_a)
    _, old_path = send_invite(owner, NEWCOMER)
    invite = open_invite(clinic_a, NEWCOMER)

    with django_capture_on_commit_callbacks(execute=True):
        resent = owner.post(f"/staff/invites/{invite.pk}/resend/")

    assert resent.status_code == 302
    new_path = invite_path(mailbox[-1])
    assert new_path != old_path
    assert mailbox[-1].extra_headers["Idempotency-Key"] == f"invite/{invite.pk}/2"
    visitor = Client(HTTP_HOST=factories.host_of(clinic_a))
    assert visitor.get(old_path).status_code == 404
    assert visitor.get(new_path).status_code == 200
    invite.refresh_from_db()
    assert invite.sent_count == 2
    event = audit_event(clinic_a, "invite.resent", target_id=str(invite.pk))
    assert event.details == {"role": "practitioner", "sent_count": 2}


def test_inviting_an_open_address_again_resends_with_the_new_role(
    clinic_a, owner_a, clinic_client, mailbox, send_invite
):
    owner = clinic_client(clinic_a, owner_a)
    _, first = send_invite(owner, NEWCOMER, Role.RECEPTIONIST)
    response, second = send_invite(owner, NEWCOMER.upper(), Role.ASSISTANT)

    assert response.status_code == 302
    invite = Invite.objects.get(clinic=clinic_a, email__iexact=NEWCOMER)  # still one
    assert (invite.role, invite.sent_count) == (Role.ASSISTANT, 2)
    visitor = Client(HTTP_HOST=factories.host_of(clinic_a))
    assert visitor.get(first).status_code == 404
    assert "Assistant" in visitor.get(second).content.decode()


def test_an_invite_to_another_clinic_is_unknown_here(
    clinic_a, clinic_b, owner_a, clinic_client, send_invite
):
    _, path = send_invite(clinic_client(clinic_a, owner_a), NEWCOMER)
    on_b = Client(HTTP_HOST=factories.host_of(clinic_b))

    for response in (on_b.get(path), on_b.post(path, new_account_form())):
        assert response.status_code == 404
        html = response.content.decode()
        assert "This invitation link is not valid." in html
        assert "MARK-A" not in html
        assert "Olivia" not in html
    assert not User.objects.filter(email__iexact=NEWCOMER).exists()
    assert open_invite(clinic_a, NEWCOMER).accepted_at is None
    assert not Membership.objects.filter(user__email__iexact=NEWCOMER).exists()
    # Still good where it belongs.
    assert Client(HTTP_HOST=factories.host_of(clinic_a)).get(path).status_code == 200


def test_a_made_up_link_gets_the_friendly_404(clinic_a):
    response = Client(HTTP_HOST=factories.host_of(clinic_a)).get("/invite/not-a-real-token/")
    assert response.status_code == 404
    assert "Ask the clinic for a new invite" in response.content.decode()


@pytest.mark.parametrize(
    ("form", "field", "message"),
    [
        (new_account_form(password="short"), "password", "too short"),
        (new_account_form(password="password1234"), "password", "too common"),
        (new_account_form(password="12345678901234"), "password", "entirely numeric"),
        (new_account_form(full_name=""), "full_name", "This field is required."),
        (
            {**new_account_form(), "password_confirm": "something else entirely"},
            "password_confirm",
            "not the same",
        ),
    ],
)
def test_bad_input_on_the_accept_page_changes_nothing(
    clinic_a, owner_a, clinic_client, send_invite, form, field, message
):
    _, path = send_invite(clinic_client(clinic_a, owner_a), NEWCOMER)
    visitor = Client(HTTP_HOST=factories.host_of(clinic_a))

    response = visitor.post(path, form)

    assert response.status_code == 400
    assert message in response.context["form"].errors[field][0]
    assert not User.objects.filter(email__iexact=NEWCOMER).exists()
    assert open_invite(clinic_a, NEWCOMER).accepted_at is None
    assert "_auth_user_id" not in visitor.session


def test_the_service_validates_the_password_too(clinic_a, owner_a, send_invite, clinic_client):
    from shared_apps.staff.services import invite_accept

    _, path = send_invite(clinic_client(clinic_a, owner_a), NEWCOMER)
    token = path.split("/")[2]
    with tenant_context(clinic_a), pytest.raises(StaffChangeRefused) as refused:
        invite_accept(token=token, clinic=clinic_a, full_name="Nina", password="short")
    assert refused.value.field == "password"
    assert not User.objects.filter(email__iexact=NEWCOMER).exists()


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"email": "not-an-email", "role": "practitioner"}, "email"),
        ({"email": "", "role": "practitioner"}, "email"),
        ({"email": NEWCOMER, "role": "overlord"}, "role"),
        ({"email": NEWCOMER}, "role"),
    ],
)
def test_bad_input_on_the_invite_form_is_a_400_with_field_errors(
    clinic_a, owner_a, clinic_client, mailbox, data, field
):
    response = clinic_client(clinic_a, owner_a).post("/staff/invites/", data)

    assert response.status_code == 400
    assert response.context["invite_form"].errors[field]
    assert not Invite.objects.filter(clinic=clinic_a).exists()
    assert mailbox == []


def test_an_active_member_cannot_be_invited_again(
    clinic_a, owner_a, practitioner_a, clinic_client, mailbox
):
    response = clinic_client(clinic_a, owner_a).post(
        "/staff/invites/", {"email": practitioner_a.email.upper(), "role": "admin"}
    )

    assert response.status_code == 400
    assert (
        "is already a member of this clinic" in response.context["invite_form"].errors["email"][0]
    )
    assert not Invite.objects.exists()
    assert mailbox == []


def test_an_admin_cannot_invite_an_owner(clinic_a, admin_a, clinic_client, mailbox):
    page = clinic_client(clinic_a, admin_a).get("/staff/")
    assert '<option value="owner"' not in page.content.decode()

    response = clinic_client(clinic_a, admin_a).post(
        "/staff/invites/", {"email": NEWCOMER, "role": "owner"}
    )

    assert response.status_code == 400  # not one of the roles the form offers an admin
    assert not Invite.objects.exists()
    # The service says no as well, whatever the caller.
    with tenant_context(clinic_a), pytest.raises(StaffChangeRefused) as refused:
        invite_create(actor=admin_a, clinic=clinic_a, email=NEWCOMER, role=Role.OWNER)
    assert refused.value.forbidden
    assert mailbox == []


def test_an_admin_invites_other_roles(clinic_a, admin_a, clinic_client, send_invite):
    response, path = send_invite(clinic_client(clinic_a, admin_a), NEWCOMER, Role.BILLING)
    assert response.status_code == 302
    assert path is not None
    assert open_invite(clinic_a, NEWCOMER).invited_by == admin_a


def test_someone_else_signed_in_here_is_signed_out_first(
    clinic_a, owner_a, receptionist_a, clinic_client, send_invite
):
    _, path = send_invite(clinic_client(clinic_a, owner_a), NEWCOMER)
    receptionist = clinic_client(clinic_a, receptionist_a)

    page = receptionist.get(path)

    assert page.status_code == 200
    assert f"You were signed out of {receptionist_a.email}" in page.content.decode()
    assert "_auth_user_id" not in receptionist.session
    assert receptionist.post(path, new_account_form())["Location"] == "/"
    assert receptionist.get("/").context["user"].email == NEWCOMER


def test_with_two_factor_required_the_newcomer_is_sent_to_sign_in(
    clinic_a, owner_a, clinic_client, send_invite
):
    clinic_a.require_two_factor = True
    clinic_a.save(update_fields=["require_two_factor"])
    try:
        _, path = send_invite(clinic_client(clinic_a, owner_a), NEWCOMER)
        visitor = Client(HTTP_HOST=factories.host_of(clinic_a))

        response = visitor.post(path, new_account_form())

        assert response.status_code == 302
        assert response["Location"] == "/sign-in/"
        assert "_auth_user_id" not in visitor.session
        assert "Welcome! Sign in to continue." in visitor.get("/sign-in/").content.decode()
        assert Membership.objects.filter(user__email__iexact=NEWCOMER, clinic=clinic_a).exists()
    finally:
        clinic_a.require_two_factor = False  # the object is shared by every test
        clinic_a.save(update_fields=["require_two_factor"])


def test_wrong_passwords_on_the_accept_page_count_against_the_sign_in_throttle(
    clinic_a, owner_a, outsider_b, clinic_client, send_invite, settings
):
    _, path = send_invite(clinic_client(clinic_a, owner_a), outsider_b.email)
    visitor = Client(HTTP_HOST=factories.host_of(clinic_a))

    for _ in range(settings.SIGN_IN_MAX_FAILURES):
        assert visitor.post(path, {"password": "a wrong guess!"}).status_code == 400
    locked = visitor.post(path, {"password": factories.PASSWORD})  # right, but too late

    assert locked.status_code == 400
    assert "Too many wrong passwords" in locked.content.decode()
    assert not Membership.objects.filter(user=outsider_b, clinic=clinic_a).exists()


def test_a_member_signed_in_as_the_invited_account_just_uses_it_up(
    clinic_a, owner_a, clinic_client, send_invite
):
    _, path = send_invite(clinic_client(clinic_a, owner_a), NEWCOMER, Role.ADMIN)
    # Meanwhile they joined some other way, and are signed in here as that account.
    newcomer = factories.user_create(email=NEWCOMER, full_name="Nina Newcomer")
    factories.membership_add(user=newcomer, clinic=clinic_a, role=Role.RECEPTIONIST)
    client = clinic_client(clinic_a, newcomer)

    page = client.get(path)
    assert "You are signed in as" in page.content.decode()
    assert 'name="password"' not in page.content.decode()
    accepted = client.post(path)

    assert accepted["Location"] == "/"
    assert client.get("/").status_code == 200  # still signed in
    # An invite does not silently change the role of someone already here.
    assert Membership.objects.get(user=newcomer, clinic=clinic_a).role == Role.RECEPTIONIST
    assert Invite.objects.get(email=NEWCOMER).accepted_by == newcomer
