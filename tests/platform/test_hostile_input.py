"""Nothing a person can type gets a 500: every page and endpoint, fed hostile input.

Walks the real URL lists (as the roles test does), fills path arguments with junk, and
posts every field name the product's forms use with values that break naive code: NUL
bytes (PostgreSQL refuses them in text), megabyte strings, wrong types, markup.
"""

from __future__ import annotations

import json
import re

import pytest
from django.test import Client

from shared_apps.accounts.models import Membership
from tests import factories
from tests.shared_apps.accounts.test_roles_and_access import urls_of

pytestmark = pytest.mark.django_db

NASTY_VALUES = ["\x00", "a\x00b@example.com", "x" * 100_000, "<script>alert(1)</script>", "-1"]
FIELD_NAMES = [
    "username", "password", "email", "name", "full_name", "role", "code", "otp", "token",
    "new_email", "current_password", "new_password1", "new_password2", "password_confirm",
    "session_idle_minutes", "require_two_factor", "action", "method", "next", "is_active",
    "session", "email-new_email", "password-current_password", "name-full_name",
]  # fmt: skip
PATH_ARGUMENTS = ["0", "999999999", "9" * 30, "not-a-token", "%00", "x" * 300]


def concrete_paths(site: str, real_ids: tuple[int, ...] = ()) -> list[str]:
    """Every route of `site`, its path arguments replaced by each junk value (and id)."""
    paths = set()
    for route, _, _ in urls_of(site):
        for junk in [*PATH_ARGUMENTS, *map(str, real_ids)]:
            paths.add("/" + re.sub(r"<[^>]+>", junk, route))
    return sorted(paths)


def hostile_posts() -> list[dict[str, str]]:
    return [dict.fromkeys(FIELD_NAMES, value) for value in NASTY_VALUES]


def assert_no_server_error(client: Client, path: str) -> None:
    response = client.get(path)
    assert response.status_code < 500, ("GET", path, response.status_code)
    for data in hostile_posts():
        response = client.post(path, data)
        assert response.status_code < 500, ("POST", path, response.status_code, data["email"][:20])
    if path.startswith("/api/"):
        for body in ("{not json", json.dumps({n: [1, {"x": None}] for n in FIELD_NAMES})):
            for method in (client.post, client.patch):
                response = method(path, body, content_type="application/json")
                assert response.status_code < 500, (method.__name__, path, response.status_code)


def test_the_walk_reaches_the_routes_with_arguments():
    paths = concrete_paths("clinic")
    assert "/invite/not-a-token/" in paths
    assert "/staff/members/999999999/role/" in paths


def test_the_clinic_site_survives_hostile_input_signed_out(clinic_a):
    client = Client(HTTP_HOST=factories.host_of(clinic_a))
    for path in concrete_paths("clinic"):
        assert_no_server_error(client, path)


@pytest.mark.parametrize("persona", ["owner_a", "receptionist_a"])
def test_the_clinic_site_survives_hostile_input_signed_in(
    clinic_a, clinic_client, persona, request, receptionist_a
):
    # Real ids too, so the hostile values reach the forms behind an existing record.
    membership = Membership.objects.get(clinic=clinic_a, user=receptionist_a)
    for path in concrete_paths("clinic", real_ids=(membership.pk,)):
        if path == "/sign-out/":
            continue  # would end the session the rest of the walk needs
        # A fresh session per path: a hostile post may legitimately end the current one.
        client = clinic_client(clinic_a, request.getfixturevalue(persona))
        assert_no_server_error(client, path)


def test_the_public_site_survives_hostile_input(public_client):
    for path in concrete_paths("public"):
        assert_no_server_error(public_client, path)
