"""The staff page: who may open it, role changes, deactivation, and the rules that hold."""

from __future__ import annotations

import pytest
from django.test import Client
from django_tenants.utils import tenant_context

from shared_apps.accounts.models import Membership, Role
from shared_apps.staff.errors import StaffChangeRefused
from shared_apps.staff.models import Invite
from shared_apps.staff.services import (
    invite_create,
    membership_change_role,
    membership_deactivate,
)
from shared_apps.user_sessions.models import UserSession
from tenant_apps.audit.models import AuditEvent
from tests import factories
from tests.shared_apps.staff.helpers import audit_actions, audit_event, membership_of, sign_in

pytestmark = pytest.mark.django_db


def _an_invite(clinic, actor, email="someone@example.com", role=Role.ASSISTANT) -> Invite:
    with tenant_context(clinic):
        return invite_create(actor=actor, clinic=clinic, email=email, role=role)


def test_the_staff_page_lists_members_invites_and_what_each_role_may_do(
    clinic_a, owner_a, practitioner_a, receptionist_a, clinic_client
):
    _an_invite(clinic_a, owner_a, "pending.person@example.com")
    client = clinic_client(clinic_a, owner_a)
    sign_in(Client(HTTP_HOST=factories.host_of(clinic_a)), owner_a.email, factories.PASSWORD)

    response = client.get("/staff/")

    assert response.status_code == 200
    html = response.content.decode()
    for text in (
        "Olivia Owner",
        "Pat Practitioner",
        practitioner_a.email,
        "Rita Reception",
        "pending.person@example.com",
        "Invite someone",
        "Practice manager",
        "Everything, including",
        "take payments",
    ):
        assert text in html
    assert "MARK-B" not in html
    assert "Oscar" not in html
    rows = {row.membership.user_id: row for row in response.context["members"]}
    assert rows[owner_a.pk].is_you
    assert not rows[owner_a.pk].may_change
    assert rows[owner_a.pk].last_sign_in_at is not None  # from clinic A's audit trail
    assert rows[practitioner_a.pk].may_change
    # Each role's line is read from the capabilities table.
    summaries = dict(response.context["role_summaries"])
    assert "clinical" not in summaries["Receptionist"]
    assert "clinical" not in summaries["Practice manager"]
    assert "sign prescriptions" in summaries["Practitioner"]


@pytest.mark.parametrize("who", ["practitioner_a", "receptionist_a"])
def test_members_without_staff_manage_get_403_everywhere(
    who, request, clinic_a, owner_a, practitioner_a, clinic_client, api_client
):
    user = request.getfixturevalue(who)
    invite = _an_invite(clinic_a, owner_a)
    target = membership_of(practitioner_a, clinic_a).pk
    client = clinic_client(clinic_a, user)
    posts = {
        "/staff/invites/": {"email": "x@example.com", "role": "owner"},
        f"/staff/invites/{invite.pk}/resend/": {},
        f"/staff/invites/{invite.pk}/revoke/": {},
        f"/staff/members/{target}/role/": {"role": "owner"},
        f"/staff/members/{target}/deactivate/": {},
        f"/staff/members/{target}/reactivate/": {},
    }

    assert client.get("/staff/").status_code == 403
    for path, data in posts.items():
        assert client.post(path, data).status_code == 403, path
    api = api_client(clinic_a, user)
    assert api.get("/api/v1/staff/invites/").status_code == 403
    assert api.get("/api/v1/staff/members/").status_code == 403
    assert (
        api.post("/api/v1/staff/invites/", {"email": "x@example.com", "role": "owner"}).status_code
        == 403
    )
    assert api.post(f"/api/v1/staff/invites/{invite.pk}/resend/").status_code == 403
    assert api.delete(f"/api/v1/staff/invites/{invite.pk}/").status_code == 403
    assert api.patch(f"/api/v1/staff/members/{target}/", {"role": "owner"}).status_code == 403
    # Nothing changed.
    invite.refresh_from_db()
    assert (invite.sent_count, invite.revoked_at) == (1, None)
    assert membership_of(practitioner_a, clinic_a).role == Role.PRACTITIONER
    assert Invite.objects.count() == 1


def test_a_signed_out_visitor_is_sent_to_sign_in(clinic_a, clinic_client):
    response = clinic_client(clinic_a).get("/staff/")
    assert response.status_code == 302
    assert response["Location"] == "/sign-in/?next=/staff/"


def test_the_owner_changes_a_role(clinic_a, owner_a, practitioner_a, clinic_client):
    client = clinic_client(clinic_a, owner_a)
    membership = membership_of(practitioner_a, clinic_a)

    response = client.post(f"/staff/members/{membership.pk}/role/", {"role": "assistant"})

    assert response.status_code == 302
    assert "Pat Practitioner is now Assistant." in client.get("/staff/").content.decode()
    assert membership_of(practitioner_a, clinic_a).role == Role.ASSISTANT
    event = audit_event(clinic_a, "membership.role_changed", target_id=str(membership.pk))
    assert event.actor_id == owner_a.pk
    assert event.details == {"user": practitioner_a.pk, "from": "practitioner", "to": "assistant"}


def test_an_unknown_role_is_a_400_and_changes_nothing(
    clinic_a, owner_a, practitioner_a, clinic_client
):
    membership = membership_of(practitioner_a, clinic_a)
    response = clinic_client(clinic_a, owner_a).post(
        f"/staff/members/{membership.pk}/role/", {"role": "overlord"}
    )
    assert response.status_code == 400
    assert "Choose one of the roles" in response.content.decode()
    assert membership_of(practitioner_a, clinic_a).role == Role.PRACTITIONER


def test_the_last_owner_can_be_neither_demoted_nor_deactivated(
    clinic_a, owner_a, clinic_client, api_client
):
    client = clinic_client(clinic_a, owner_a)
    own = membership_of(owner_a, clinic_a)

    demoted = client.post(f"/staff/members/{own.pk}/role/", {"role": "admin"})
    deactivated = client.post(f"/staff/members/{own.pk}/deactivate/")
    via_api = api_client(clinic_a, owner_a).patch(
        f"/api/v1/staff/members/{own.pk}/", {"role": "admin"}, format="json"
    )

    for response in (demoted, deactivated):
        assert response.status_code == 400
        assert "last active owner" in response.content.decode()
    assert via_api.status_code == 400
    assert "last active owner" in via_api.json()["error"]["fields"]["role"][0]
    own.refresh_from_db()
    assert (own.role, own.is_active) == (Role.OWNER, True)
    assert audit_actions(clinic_a, action__startswith="membership.") == []


def test_nobody_changes_their_own_role_or_deactivates_themselves(clinic_a, owner_a, clinic_client):
    second_owner = factories.user_create(full_name="Second Owner")
    factories.membership_add(user=second_owner, clinic=clinic_a, role=Role.OWNER)
    client = clinic_client(clinic_a, owner_a)
    own = membership_of(owner_a, clinic_a)

    demoted = client.post(f"/staff/members/{own.pk}/role/", {"role": "admin"})
    deactivated = client.post(f"/staff/members/{own.pk}/deactivate/")

    assert "You cannot change the role of yourself" in demoted.content.decode()
    assert "You cannot deactivate yourself" in deactivated.content.decode()
    assert demoted.status_code == deactivated.status_code == 400
    assert membership_of(owner_a, clinic_a).role == Role.OWNER
    # Another owner may, now that there are two.
    other = clinic_client(clinic_a, second_owner)
    assert other.post(f"/staff/members/{own.pk}/role/", {"role": "admin"}).status_code == 302
    assert membership_of(owner_a, clinic_a).role == Role.ADMIN


def test_an_admin_cannot_touch_owners_or_make_one(
    clinic_a, owner_a, admin_a, practitioner_a, clinic_client
):
    client = clinic_client(clinic_a, admin_a)
    owner = membership_of(owner_a, clinic_a)
    practitioner = membership_of(practitioner_a, clinic_a)

    assert client.post(f"/staff/members/{owner.pk}/role/", {"role": "admin"}).status_code == 403
    assert client.post(f"/staff/members/{owner.pk}/deactivate/").status_code == 403
    promoted = client.post(f"/staff/members/{practitioner.pk}/role/", {"role": "owner"})
    assert promoted.status_code == 403
    assert "Only an owner can" in promoted.content.decode()
    assert membership_of(owner_a, clinic_a).is_active
    assert membership_of(practitioner_a, clinic_a).role == Role.PRACTITIONER
    # Other roles are the admin's to give.
    assert (
        client.post(f"/staff/members/{practitioner.pk}/role/", {"role": "admin"}).status_code == 302
    )
    assert membership_of(practitioner_a, clinic_a).role == Role.ADMIN


def test_deactivation_ends_the_members_sessions_at_once(
    clinic_a, owner_a, practitioner_a, clinic_client
):
    practitioner = Client(HTTP_HOST=factories.host_of(clinic_a))
    assert sign_in(practitioner, practitioner_a.email, factories.PASSWORD).status_code == 302
    assert practitioner.get("/").status_code == 200
    membership = membership_of(practitioner_a, clinic_a)
    with tenant_context(clinic_a):
        assert UserSession.objects.filter(user_id=practitioner_a.pk).exists()

    owner = clinic_client(clinic_a, owner_a)
    response = owner.post(f"/staff/members/{membership.pk}/deactivate/")

    assert response.status_code == 302
    with tenant_context(clinic_a):
        assert not UserSession.objects.filter(user_id=practitioner_a.pk).exists()
    next_click = practitioner.get("/patients/")
    assert next_click.status_code == 302
    assert next_click["Location"].startswith("/sign-in/")
    # Nor can they sign in again, here; nor use the API.
    again = Client(HTTP_HOST=factories.host_of(clinic_a))
    assert sign_in(again, practitioner_a.email, factories.PASSWORD).status_code == 400
    assert practitioner.get("/api/v1/").status_code in (401, 403)
    event = audit_event(clinic_a, "membership.deactivated", target_id=str(membership.pk))
    assert event.details == {"user": practitioner_a.pk, "sessions_ended": 1}
    assert "Deactivated" in owner.get("/staff/").content.decode()

    reactivated = owner.post(f"/staff/members/{membership.pk}/reactivate/")

    assert reactivated.status_code == 302
    assert membership_of(practitioner_a, clinic_a).is_active
    assert sign_in(again, practitioner_a.email, factories.PASSWORD).status_code == 302
    event = audit_event(clinic_a, "membership.reactivated", target_id=str(membership.pk))
    assert event.details == {"user": practitioner_a.pk, "role": "practitioner"}


def test_a_deactivated_member_invited_back_returns_with_the_new_role(
    clinic_a, owner_a, practitioner_a, clinic_client, send_invite
):
    membership = membership_of(practitioner_a, clinic_a)
    owner = clinic_client(clinic_a, owner_a)
    owner.post(f"/staff/members/{membership.pk}/deactivate/")

    _, path = send_invite(owner, practitioner_a.email, Role.RECEPTIONIST)
    visitor = Client(HTTP_HOST=factories.host_of(clinic_a))
    accepted = visitor.post(path, {"password": factories.PASSWORD})

    assert accepted.status_code == 302
    membership.refresh_from_db()
    assert (membership.is_active, membership.role) == (True, Role.RECEPTIONIST)
    assert Membership.objects.filter(user=practitioner_a).count() == 1


def test_two_owners_cannot_leave_the_clinic_ownerless(clinic_a, owner_a):
    second_owner = factories.user_create()
    second = factories.membership_add(user=second_owner, clinic=clinic_a, role=Role.OWNER)
    with tenant_context(clinic_a):
        membership_deactivate(actor=owner_a, membership=second)
        # The other way round is refused: owner_a is now the last one.
        with pytest.raises(StaffChangeRefused):
            membership_change_role(
                actor=owner_a, membership=membership_of(owner_a, clinic_a), role=Role.ADMIN
            )
    assert Membership.objects.filter(clinic=clinic_a, role=Role.OWNER, is_active=True).count() == 1


def test_every_staff_action_leaves_its_audit_row(
    clinic_a, owner_a, practitioner_a, clinic_client, send_invite
):
    owner = clinic_client(clinic_a, owner_a)
    membership = membership_of(practitioner_a, clinic_a)
    _, path = send_invite(owner, "first@example.com")
    first = Invite.objects.get(email="first@example.com")
    owner.post(f"/staff/invites/{first.pk}/resend/")
    owner.post(f"/staff/invites/{first.pk}/revoke/")
    _, path = send_invite(owner, "second@example.com")
    Client(HTTP_HOST=factories.host_of(clinic_a)).post(
        path,
        {
            "full_name": "Second",
            "password": "a fine long passphrase",
            "password_confirm": "a fine long passphrase",
        },
    )
    owner.post(f"/staff/members/{membership.pk}/role/", {"role": "assistant"})
    owner.post(f"/staff/members/{membership.pk}/deactivate/")
    owner.post(f"/staff/members/{membership.pk}/reactivate/")

    actions = audit_actions(clinic_a, action__regex=r"^(invite|membership)\.")
    assert actions == [
        "invite.created",
        "invite.resent",
        "invite.revoked",
        "invite.created",
        "invite.accepted",
        "membership.role_changed",
        "membership.deactivated",
        "membership.reactivated",
    ]
    # Ids and codes only: no addresses or names in the trail.
    with tenant_context(clinic_a):
        for details in AuditEvent.objects.filter(
            action__regex=r"^(invite|membership)\."
        ).values_list("details", flat=True):
            assert "@" not in str(details)


def test_clinic_b_cannot_see_or_touch_clinic_a_staff(
    clinic_a, clinic_b, owner_a, practitioner_a, outsider_b, clinic_client, api_client
):
    invite = _an_invite(clinic_a, owner_a, "a-only@example.com")
    target = membership_of(practitioner_a, clinic_a)
    b_page = clinic_client(clinic_b, outsider_b)
    b_api = api_client(clinic_b, outsider_b)

    html = b_page.get("/staff/").content.decode()
    assert "a-only@example.com" not in html
    assert "Pat Practitioner" not in html
    assert "MARK-A" not in html
    for path, data in {
        f"/staff/invites/{invite.pk}/resend/": {},
        f"/staff/invites/{invite.pk}/revoke/": {},
        f"/staff/members/{target.pk}/role/": {"role": "receptionist"},
        f"/staff/members/{target.pk}/deactivate/": {},
        f"/staff/members/{target.pk}/reactivate/": {},
    }.items():
        assert b_page.post(path, data).status_code == 404, path
    assert b_api.get(f"/api/v1/staff/invites/{invite.pk}/").status_code == 404
    assert b_api.post(f"/api/v1/staff/invites/{invite.pk}/resend/").status_code == 404
    assert b_api.delete(f"/api/v1/staff/invites/{invite.pk}/").status_code == 404
    assert b_api.get(f"/api/v1/staff/members/{target.pk}/").status_code == 404
    patched = b_api.patch(
        f"/api/v1/staff/members/{target.pk}/", {"is_active": False}, format="json"
    )
    assert patched.status_code == 404
    listed = b_api.get("/api/v1/staff/members/").json()
    assert {m["email"] for m in listed["results"]} == {outsider_b.email}
    assert b_api.get("/api/v1/staff/invites/").json()["results"] == []
    # Nothing changed in A.
    invite.refresh_from_db()
    assert (invite.sent_count, invite.revoked_at) == (1, None)
    target.refresh_from_db()
    assert (target.role, target.is_active) == (Role.PRACTITIONER, True)
    # And A's staff page never shows B.
    a_html = clinic_client(clinic_a, owner_a).get("/staff/").content.decode()
    assert "MARK-B" not in a_html
    assert outsider_b.email not in a_html
