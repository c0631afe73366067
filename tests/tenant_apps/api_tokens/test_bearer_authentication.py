"""`Authorization: Bearer <token>` on /api/v1/: who it acts as, and everything it refuses."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from django_tenants.utils import tenant_context
from rest_framework.test import APIClient

from shared_apps.accounts.models import Membership, Role, User
from shared_apps.accounts.roles import Capability
from tenant_apps.api_tokens.models import ApiToken
from tenant_apps.api_tokens.services import api_token_revoke
from tests import factories
from tests.isolation.markers import assert_no_marker, marker
from tests.tenant_apps.api_tokens.helpers import bearer_client, token_for, token_row, with_token

pytestmark = pytest.mark.django_db

CHALLENGE = 'Bearer realm="api"'


def assert_refused(response, code: str) -> None:
    assert response.status_code == 401, response.content
    assert response["WWW-Authenticate"] == CHALLENGE
    assert response.json()["error"]["code"] == code


def test_a_token_acts_as_its_owner_with_the_role_of_their_membership(
    clinic_a, owner_a, practitioner_a
):
    for user, role in [(owner_a, "owner"), (practitioner_a, "practitioner")]:
        response = with_token(clinic_a, token_for(clinic_a, user)).get("/api/v1/")
        assert response.status_code == 200
        assert response.json()["user"] == {"email": user.email, "role": role}


def test_a_token_can_only_do_what_its_owners_role_allows(clinic_a, owner_a, practitioner_a):
    owner = with_token(clinic_a, token_for(clinic_a, owner_a)).get("/api/v1/staff/members/")
    assert owner.status_code == 200
    refused = with_token(clinic_a, token_for(clinic_a, practitioner_a)).get(
        "/api/v1/staff/members/"
    )
    assert refused.status_code == 403
    assert Capability.STAFF_MANAGE.value in refused.json()["error"]["message"]


def test_anonymous_api_calls_get_401_and_the_bearer_challenge(api_client, clinic_a):
    response = api_client(clinic_a).get("/api/v1/")
    assert_refused(response, "not_authenticated")


@pytest.mark.parametrize(
    "header",
    [
        "Bearer",
        "Bearer ",
        "Bearer drcrm_abc drcrm_def",
        "Token {token}",
        "Basic dXNlcjpwYXNz",
        "{token}",
        "",
    ],
)
def test_a_malformed_authorization_header_is_refused_with_the_challenge(clinic_a, owner_a, header):
    token = token_for(clinic_a, owner_a)
    response = bearer_client(clinic_a, header.format(token=token)).get("/api/v1/")
    assert_refused(response, "bad_authorization_header")
    assert "Authorization: Bearer <token>" in response.json()["error"]["message"]


@pytest.mark.parametrize("junk", ["drcrm_", "drcrm_" + "x" * 43, "not-even-ours", "é" * 10])
def test_a_token_we_never_issued_is_refused(clinic_a, junk):
    assert_refused(with_token(clinic_a, junk).get("/api/v1/"), "invalid_token")


def test_the_scheme_name_is_case_insensitive(clinic_a, owner_a):
    token = token_for(clinic_a, owner_a)
    assert bearer_client(clinic_a, f"bearer {token}").get("/api/v1/").status_code == 200


def test_a_revoked_token_is_refused(clinic_a, owner_a):
    token = token_for(clinic_a, owner_a)
    client = with_token(clinic_a, token)
    assert client.get("/api/v1/").status_code == 200
    with tenant_context(clinic_a):
        api_token_revoke(actor=owner_a, token=ApiToken.objects.get(user_id=owner_a.pk))
    assert_refused(client.get("/api/v1/"), "invalid_token")


def test_a_token_of_clinic_a_is_worthless_on_clinic_b(clinic_a, clinic_b, owner_a):
    # Even for a person who works at both clinics: the token exists in A's schema only.
    Membership.objects.create(user=owner_a, clinic=clinic_b, role=Role.ADMIN)
    token = token_for(clinic_a, owner_a)
    assert with_token(clinic_a, token).get("/api/v1/").status_code == 200
    response = with_token(clinic_b, token).get("/api/v1/")
    assert_refused(response, "invalid_token")
    assert_no_marker(response.content, marker(clinic_b))
    assert_no_marker(response.content, marker(clinic_a))
    listing = with_token(clinic_b, token).get("/api/v1/auth/tokens/")
    assert listing.status_code == 401
    assert_no_marker(listing.content, marker(clinic_b))


def test_a_token_stops_working_when_the_membership_is_deactivated(clinic_a, practitioner_a):
    client = with_token(clinic_a, token_for(clinic_a, practitioner_a))
    assert client.get("/api/v1/").status_code == 200
    Membership.objects.filter(user=practitioner_a, clinic=clinic_a).update(is_active=False)
    response = client.get("/api/v1/")
    assert_refused(response, "not_a_member")
    assert "no longer an active member" in response.json()["error"]["message"]


def test_a_token_of_a_disabled_account_is_refused(clinic_a, practitioner_a):
    client = with_token(clinic_a, token_for(clinic_a, practitioner_a))
    User.objects.filter(pk=practitioner_a.pk).update(is_active=False)
    response = client.get("/api/v1/")
    assert_refused(response, "user_inactive")
    assert "disabled" in response.json()["error"]["message"]


def test_last_used_is_recorded_but_written_at_most_once_a_minute(clinic_a, owner_a):
    token = token_for(clinic_a, owner_a)
    assert token_row(clinic_a, user_id=owner_a.pk).last_used_at is None
    client = with_token(clinic_a, token)
    before = timezone.now()
    client.get("/api/v1/")
    first = token_row(clinic_a, user_id=owner_a.pk).last_used_at
    assert first is not None
    assert first >= before
    client.get("/api/v1/")
    client.get("/api/v1/auth/tokens/")
    assert token_row(clinic_a, user_id=owner_a.pk).last_used_at == first
    two_minutes_ago = timezone.now() - timedelta(minutes=2)
    with tenant_context(clinic_a):
        ApiToken.objects.filter(user_id=owner_a.pk).update(last_used_at=two_minutes_ago)
    client.get("/api/v1/")
    assert token_row(clinic_a, user_id=owner_a.pk).last_used_at > two_minutes_ago


def test_a_token_request_is_not_csrf_checked_but_a_session_request_is(clinic_a, owner_a):
    host = factories.host_of(clinic_a)
    keep = token_for(clinic_a, owner_a, "keep")
    token_for(clinic_a, owner_a, "spend")
    spend_id = token_row(clinic_a, name="spend").pk

    session = APIClient(enforce_csrf_checks=True, HTTP_HOST=host)
    with tenant_context(clinic_a):
        session.force_login(owner_a)
    refused = session.delete(f"/api/v1/auth/tokens/{spend_id}/")
    assert refused.status_code == 403
    assert "CSRF" in refused.json()["error"]["message"]
    assert token_row(clinic_a, pk=spend_id).is_active

    # The same browser-less call with a token instead: no CSRF token needed.
    with_bearer = APIClient(enforce_csrf_checks=True, HTTP_HOST=host)
    with_bearer.credentials(HTTP_AUTHORIZATION=f"Bearer {keep}")
    assert with_bearer.delete(f"/api/v1/auth/tokens/{spend_id}/").status_code == 204
    assert not token_row(clinic_a, pk=spend_id).is_active
