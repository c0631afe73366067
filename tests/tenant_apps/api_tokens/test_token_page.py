"""The profile page: create a token (shown once), list, revoke."""

from __future__ import annotations

import hashlib
import re

import pytest
from django_tenants.utils import tenant_context

from tenant_apps.api_tokens.models import ApiToken
from tenant_apps.api_tokens.services import MAX_ACTIVE_TOKENS_PER_USER
from tenant_apps.audit.models import AuditEvent
from tests.isolation.markers import assert_no_marker, marker
from tests.tenant_apps.api_tokens.helpers import token_for, token_row, with_token

pytestmark = pytest.mark.django_db

PAGE = "/profile/api-tokens/"
SHOWN_TOKEN = re.compile(r'value="(drcrm_[A-Za-z0-9_-]{43})"')


def create_on_page(client, name: str) -> str:
    """Create a token through the page and return it as the page shows it (once)."""
    response = client.post(PAGE, {"name": name})
    assert response.status_code == 302, response.content
    page = client.get(PAGE)
    found = SHOWN_TOKEN.search(page.content.decode())
    assert found, "the new token is not on the page"
    return found.group(1)


def test_a_token_made_on_the_page_is_shown_once_and_works_on_the_api(
    clinic_a, clinic_client, practitioner_a
):
    client = clinic_client(clinic_a, practitioner_a)
    response = client.post(PAGE, {"name": "Lab results import"})
    assert response.status_code == 302
    page = client.get(PAGE)
    assert page.status_code == 200
    assert "no-store" in page["Cache-Control"]
    html = page.content.decode()
    assert "it will not be shown again" in html
    token = SHOWN_TOKEN.search(html).group(1)  # type: ignore[union-attr]
    assert "navigator.clipboard" in html  # the copy button: inline, no third-party script
    assert re.search(r"<script[^>]+src=\"(https?:)?//", html) is None

    again = client.get(PAGE).content.decode()  # a reload: listed, never shown again
    assert token not in again
    assert "Lab results import" in again
    assert token[:12] + "…" in again

    body = with_token(clinic_a, token).get("/api/v1/").json()
    assert body["user"] == {"email": practitioner_a.email, "role": "practitioner"}
    with tenant_context(clinic_a):
        event = AuditEvent.objects.filter(action="api_token.created").latest("id")
    assert (event.actor_id, event.source) == (practitioner_a.pk, "web")


def test_only_a_hash_of_the_token_is_stored(clinic_a, clinic_client, owner_a):
    token = create_on_page(clinic_client(clinic_a, owner_a), "ci")
    row = token_row(clinic_a, user_id=owner_a.pk)
    assert row.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert row.prefix == token[:12]
    with tenant_context(clinic_a):
        stored = list(ApiToken.objects.filter(pk=row.pk).values_list())
    assert token not in repr(stored)


def test_the_page_lists_only_the_members_own_tokens(
    clinic_a, clinic_b, clinic_client, owner_a, practitioner_a, outsider_b
):
    token_for(clinic_a, practitioner_a, "practitioner's script")
    token_for(clinic_b, outsider_b, marker(clinic_b, "token"))
    html = clinic_client(clinic_a, owner_a).get(PAGE).content.decode()
    assert "no API tokens" in html
    assert "practitioner&#x27;s script" not in html
    assert_no_marker(html, marker(clinic_b))


@pytest.mark.parametrize(
    ("name", "message"),
    [("", "This field is required"), ("   ", "This field is required"), ("x" * 101, "at most")],
)
def test_a_bad_name_is_a_field_error(clinic_a, clinic_client, owner_a, name, message):
    response = clinic_client(clinic_a, owner_a).post(PAGE, {"name": name})
    assert response.status_code == 400
    assert b"field-error" in response.content
    assert message.encode() in response.content
    with tenant_context(clinic_a):
        assert not ApiToken.objects.exists()


def test_a_name_in_use_by_an_active_token_is_refused_until_that_one_is_revoked(
    clinic_a, clinic_client, owner_a
):
    client = clinic_client(clinic_a, owner_a)
    create_on_page(client, "Backup")
    response = client.post(PAGE, {"name": "backup"})
    assert response.status_code == 400
    assert b"already have an active token with this name" in response.content
    token_id = token_row(clinic_a, name="Backup").pk
    assert client.post(f"{PAGE}{token_id}/revoke/").status_code == 302
    create_on_page(client, "backup")


def test_the_number_of_active_tokens_is_capped(clinic_a, clinic_client, owner_a):
    for n in range(MAX_ACTIVE_TOKENS_PER_USER):
        token_for(clinic_a, owner_a, f"token {n}")
    response = clinic_client(clinic_a, owner_a).post(PAGE, {"name": "one too many"})
    assert response.status_code == 400
    assert b"revoke one you no longer use" in response.content


def test_revoking_on_the_page_stops_the_token(clinic_a, clinic_client, owner_a):
    client = clinic_client(clinic_a, owner_a)
    token = create_on_page(client, "old laptop")
    token_id = token_row(clinic_a, name="old laptop").pk
    response = client.post(f"{PAGE}{token_id}/revoke/", follow=True)
    assert b"revoked" in response.content
    assert b"Revoked" in response.content  # the list shows its status
    assert with_token(clinic_a, token).get("/api/v1/").status_code == 401
    with tenant_context(clinic_a):
        event = AuditEvent.objects.filter(action="api_token.revoked").latest("id")
    assert event.target_id == str(token_id)


def test_nobody_revokes_someone_elses_token(clinic_a, clinic_client, owner_a, practitioner_a):
    token = token_for(clinic_a, practitioner_a)
    token_id = token_row(clinic_a, user_id=practitioner_a.pk).pk
    # Not even the clinic's owner: they deactivate the membership instead.
    response = clinic_client(clinic_a, owner_a).post(f"{PAGE}{token_id}/revoke/")
    assert response.status_code == 404
    assert with_token(clinic_a, token).get("/api/v1/").status_code == 200


def test_revoking_needs_a_post(clinic_a, clinic_client, owner_a):
    token_for(clinic_a, owner_a)
    token_id = token_row(clinic_a, user_id=owner_a.pk).pk
    assert clinic_client(clinic_a, owner_a).get(f"{PAGE}{token_id}/revoke/").status_code == 405
    assert token_row(clinic_a, pk=token_id).is_active


def test_the_page_sits_in_the_profile_navigation(clinic_a, clinic_client, receptionist_a):
    html = clinic_client(clinic_a, receptionist_a).get(PAGE).content.decode()
    assert 'data-testid="profile-nav"' in html
    assert f'href="{PAGE}" aria-current="page"' in html


@pytest.mark.parametrize("token_id", ["999999", "9" * 30])
def test_revoking_an_unknown_token_is_a_404(clinic_a, clinic_client, owner_a, token_id):
    response = clinic_client(clinic_a, owner_a).post(f"{PAGE}{token_id}/revoke/")
    assert response.status_code == 404


def test_the_page_needs_a_signed_in_member(clinic_a, clinic_client):
    response = clinic_client(clinic_a).get(PAGE)
    assert response.status_code == 302
    assert "/sign-in/" in response["Location"]
