"""`/api/v1/staff/`: the same rules as the page, as JSON."""

from __future__ import annotations

import pytest

from shared_apps.accounts.models import Role
from shared_apps.staff.models import Invite
from tests import factories
from tests.shared_apps.staff.helpers import audit_actions, invite_path, membership_of

pytestmark = pytest.mark.django_db

NEWCOMER = "api.newcomer@example.com"
INVITE_FIELDS = {
    "id",
    "email",
    "role",
    "status",
    "invited_by",
    "created_at",
    "last_sent_at",
    "sent_count",
    "expires_at",
}


def test_owner_invites_lists_resends_and_revokes(
    clinic_a, owner_a, api_client, mailbox, django_capture_on_commit_callbacks
):
    api = api_client(clinic_a, owner_a)

    with django_capture_on_commit_callbacks(execute=True):
        created = api.post(
            "/api/v1/staff/invites/", {"email": NEWCOMER, "role": "assistant"}, format="json"
        )

    assert created.status_code == 201
    body = created.json()
    assert set(body) == INVITE_FIELDS  # no token, no hash
    assert (body["email"], body["role"], body["status"], body["sent_count"]) == (
        NEWCOMER,
        "assistant",
        "pending",
        1,
    )
    assert body["invited_by"] == "Olivia Owner"
    [message] = mailbox
    first_path = invite_path(message)
    listed = api.get("/api/v1/staff/invites/").json()
    assert [invite["id"] for invite in listed["results"]] == [body["id"]]

    with django_capture_on_commit_callbacks(execute=True):
        again = api.post(
            "/api/v1/staff/invites/", {"email": NEWCOMER, "role": "billing"}, format="json"
        )
        resent = api.post(f"/api/v1/staff/invites/{body['id']}/resend/")

    assert again.status_code == 200  # an open invite is re-sent, not duplicated
    assert (again.json()["id"], again.json()["role"]) == (body["id"], "billing")
    assert resent.status_code == 200
    assert resent.json()["sent_count"] == 3
    assert len(mailbox) == 3
    assert mailbox[-1].extra_headers["Idempotency-Key"] == f"invite/{body['id']}/3"
    assert invite_path(mailbox[-1]) != first_path

    revoked = api.delete(f"/api/v1/staff/invites/{body['id']}/")

    assert revoked.status_code == 204
    assert api.get("/api/v1/staff/invites/").json()["results"] == []
    assert api.get(f"/api/v1/staff/invites/{body['id']}/").json()["status"] == "revoked"
    twice = api.delete(f"/api/v1/staff/invites/{body['id']}/")
    assert twice.status_code == 400
    assert audit_actions(clinic_a, action__startswith="invite.") == [
        "invite.created",
        "invite.resent",
        "invite.resent",
        "invite.revoked",
    ]


@pytest.mark.parametrize(
    ("data", "fields"),
    [
        ({"email": "not an email", "role": "assistant"}, {"email"}),
        ({"email": NEWCOMER, "role": "overlord"}, {"role"}),
        ({}, {"email", "role"}),
    ],
)
def test_bad_invite_input_is_a_400_with_the_field_map(
    clinic_a, owner_a, api_client, mailbox, data, fields
):
    response = api_client(clinic_a, owner_a).post("/api/v1/staff/invites/", data, format="json")

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert set(error["fields"]) == fields
    assert not Invite.objects.exists()
    assert mailbox == []


def test_inviting_a_member_is_a_400(clinic_a, owner_a, practitioner_a, api_client):
    response = api_client(clinic_a, owner_a).post(
        "/api/v1/staff/invites/", {"email": practitioner_a.email, "role": "admin"}, format="json"
    )
    assert response.status_code == 400
    assert "already a member" in response.json()["error"]["fields"]["email"][0]


def test_an_admin_cannot_invite_an_owner_through_the_api(clinic_a, admin_a, api_client, mailbox):
    response = api_client(clinic_a, admin_a).post(
        "/api/v1/staff/invites/", {"email": NEWCOMER, "role": "owner"}, format="json"
    )
    assert response.status_code == 403
    assert "Only an owner can" in response.json()["error"]["message"]
    assert not Invite.objects.exists()


def test_members_list_and_patch(clinic_a, owner_a, practitioner_a, receptionist_a, api_client):
    api = api_client(clinic_a, owner_a)

    listed = api.get("/api/v1/staff/members/")

    assert listed.status_code == 200
    members = {m["email"]: m for m in listed.json()["results"]}
    assert set(members) == {owner_a.email, practitioner_a.email, receptionist_a.email}
    assert members[practitioner_a.email]["role"] == "practitioner"
    assert set(members[owner_a.email]) == {
        "id",
        "user_id",
        "full_name",
        "email",
        "role",
        "is_active",
        "joined_at",
        "last_sign_in_at",
    }
    target = members[practitioner_a.email]["id"]

    patched = api.patch(
        f"/api/v1/staff/members/{target}/", {"role": "assistant", "is_active": False}, format="json"
    )

    assert patched.status_code == 200
    assert (patched.json()["role"], patched.json()["is_active"]) == ("assistant", False)
    membership = membership_of(practitioner_a, clinic_a)
    assert (membership.role, membership.is_active) == (Role.ASSISTANT, False)
    assert api.patch(f"/api/v1/staff/members/{target}/", {"is_active": True}, format="json").json()[
        "is_active"
    ]
    assert audit_actions(clinic_a, action__startswith="membership.") == [
        "membership.role_changed",
        "membership.deactivated",
        "membership.reactivated",
    ]


def test_a_patch_that_breaks_a_rule_changes_nothing_at_all(clinic_a, owner_a, api_client):
    second_owner = factories.user_create()
    other = factories.membership_add(user=second_owner, clinic=clinic_a, role=Role.OWNER)
    api = api_client(clinic_a, second_owner)

    # Deactivating oneself is refused, so the whole PATCH is.
    response = api.patch(
        f"/api/v1/staff/members/{other.pk}/", {"role": "owner", "is_active": False}, format="json"
    )
    mixed = api.patch(
        f"/api/v1/staff/members/{membership_of(owner_a, clinic_a).pk}/",
        {"role": "admin", "is_active": "maybe"},
        format="json",
    )

    assert response.status_code == 400
    assert "deactivate yourself" in response.json()["error"]["fields"]["non_field_errors"][0]
    assert mixed.status_code == 400
    assert set(mixed.json()["error"]["fields"]) == {"is_active"}
    assert membership_of(owner_a, clinic_a).role == Role.OWNER
    assert audit_actions(clinic_a, action__startswith="membership.") == []


def test_the_api_needs_a_member(clinic_a, api_client):
    response = api_client(clinic_a).get("/api/v1/staff/members/")
    assert response.status_code in (401, 403)
    assert "error" in response.json()
