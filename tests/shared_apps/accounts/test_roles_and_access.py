"""Roles x capabilities, and deny by default: every URL declares who may open it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.test import RequestFactory
from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework import exceptions as api_exceptions
from rest_framework.request import Request
from rest_framework.views import APIView

from shared_apps.accounts.access import (
    ANY_MEMBER,
    ANYONE,
    ClinicAccess,
    capability_view,
    declared_access,
)
from shared_apps.accounts.models import Membership, Role, User
from shared_apps.accounts.roles import (
    ROLE_CAPABILITIES,
    Capability,
    role_can,
    roles_table_markdown,
)
from tests import factories

README = Path(__file__).resolve().parents[3] / "README.md"

CLINICAL = {
    Capability.CLINICAL_VIEW,
    Capability.CLINICAL_WRITE,
    Capability.CLINICAL_SIGN,
    Capability.PRESCRIPTIONS_SIGN,
    Capability.DOCUMENTS_VIEW_CLINICAL,
}

# Pages and endpoints anyone may open. Adding a public URL means adding it here, on purpose.
PUBLIC_URLS = {
    "clinic": {
        "sign-in",
        "password-reset",
        "password-reset-confirm",
        "invite-accept",
        "two-factor-verify",
        "two-factor-enrol",
        "api-schema",
        "api-docs",
        "api-token-create",
        "signup-welcome",  # the new owner's one-time hand-off from the public signup
    },
    "public": {
        "landing",
        "privacy",
        "find-my-clinic",
        # Self-service signup: each page past the form needs a token only its person has.
        "signup",
        "signup-check-subdomain",
        "signup-verify",
        "signup-progress",
        "signup-status",
        "signup-continue",
        # The operator console's sign-in steps; every other console page is operator_view.
        "operator-sign-in",
        "operator-two-factor-verify",
        "operator-two-factor-enrol",
    },
}


def walk(patterns: list[Any], prefix: str = "") -> Iterator[tuple[str, str | None, Any]]:
    """(route, name, callback) for every URL under `patterns`, includes followed."""
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from walk(pattern.url_patterns, prefix + str(pattern.pattern))
        elif isinstance(pattern, URLPattern):
            yield prefix + str(pattern.pattern), pattern.name, pattern.callback


def urls_of(site: str) -> list[tuple[str, str | None, Any]]:
    urlconf = "drcrm.urls_tenant" if site == "clinic" else "drcrm.urls_public"
    return list(walk(get_resolver(urlconf).url_patterns))


# --- the table itself ---------------------------------------------------------------------


def test_the_owner_may_do_everything():
    assert ROLE_CAPABILITIES[Role.OWNER] == frozenset(Capability)


@pytest.mark.parametrize("role", [Role.ADMIN, Role.RECEPTIONIST, Role.BILLING])
def test_non_clinical_roles_never_see_clinical_content(role):
    assert not (ROLE_CAPABILITIES[role] & CLINICAL)


def test_only_owners_delete_the_clinic_or_change_its_security():
    for role in Role:
        expected = role == Role.OWNER
        assert role_can(role, Capability.CLINIC_DELETE) is expected
        assert role_can(role, Capability.CLINIC_SECURITY) is expected


def test_practitioners_sign_and_assistants_only_read_clinical_notes():
    assert role_can(Role.PRACTITIONER, Capability.CLINICAL_SIGN)
    assert role_can(Role.PRACTITIONER, Capability.PRESCRIPTIONS_SIGN)
    assert role_can(Role.ASSISTANT, Capability.CLINICAL_VIEW)
    assert not role_can(Role.ASSISTANT, Capability.CLINICAL_WRITE)
    assert not role_can(Role.ASSISTANT, Capability.PRESCRIPTIONS_SIGN)


def test_staff_management_belongs_to_owners_and_practice_managers():
    assert {role for role in Role if role_can(role, Capability.STAFF_MANAGE)} == {
        Role.OWNER,
        Role.ADMIN,
    }


def test_unknown_roles_and_capabilities_grant_nothing():
    assert not role_can("superuser", Capability.PATIENTS_VIEW)
    assert not role_can(Role.OWNER, "patients.delete_everything")


def test_the_readme_shows_the_table_the_code_enforces():
    assert roles_table_markdown() in README.read_text()


# --- every role x every capability, through the real guards --------------------------------


def request_as(role: str) -> HttpRequest:
    request = RequestFactory().get("/somewhere/")
    request.user = AnonymousUser()
    request.membership = Membership(role=role)  # type: ignore[attr-defined]
    return request


@pytest.mark.parametrize("capability", list(Capability))
@pytest.mark.parametrize("role", list(Role))
def test_a_page_opens_exactly_for_the_roles_granting_its_capability(role, capability):
    @capability_view(capability)
    def page(request: HttpRequest) -> HttpResponse:
        return HttpResponse("inside")

    if role_can(role, capability):
        assert page(request_as(role)).content == b"inside"
    else:
        with pytest.raises(PermissionDenied):
            page(request_as(role))


@pytest.mark.parametrize("capability", list(Capability))
@pytest.mark.parametrize("role", list(Role))
def test_an_endpoint_opens_exactly_for_the_roles_granting_its_capability(role, capability):
    class Endpoint(APIView):
        access = capability.value

    django_request = request_as(role)
    request = Request(django_request)
    request.user = User(pk=1, email="x@example.com")  # an authenticated caller
    django_request.membership.user_id = 1  # type: ignore[attr-defined]
    if role_can(role, capability):
        assert ClinicAccess().has_permission(request, Endpoint())
    else:
        with pytest.raises(api_exceptions.PermissionDenied):
            ClinicAccess().has_permission(request, Endpoint())


def test_an_endpoint_that_declares_nothing_is_closed():
    request = Request(request_as(Role.OWNER))
    assert ClinicAccess().has_permission(request, APIView()) is False


# --- deny by default, over the real URL lists ----------------------------------------------


@pytest.mark.parametrize("site", ["clinic", "public"])
def test_every_url_declares_who_may_open_it(site):
    undeclared = [route for route, _, callback in urls_of(site) if not declared_access(callback)]
    assert undeclared == [], f"views without an access declaration: {undeclared}"


@pytest.mark.parametrize("site", ["clinic", "public"])
def test_only_the_listed_urls_are_open_to_anyone(site):
    open_urls = {name for _, name, view in urls_of(site) if declared_access(view) == ANYONE}
    assert open_urls == PUBLIC_URLS[site]


def test_every_declared_capability_exists():
    known = {capability.value for capability in Capability} | {ANYONE, ANY_MEMBER}
    for route, _, callback in urls_of("clinic"):
        assert declared_access(callback) in known, route


def test_no_api_view_replaces_the_default_permission():
    for route, _, callback in urls_of("clinic"):
        view_class = getattr(callback, "cls", None)
        if view_class is None or not issubclass(view_class, APIView):
            continue
        assert ClinicAccess in view_class.permission_classes, route


# --- the same, end to end: each role of clinic A opens each page ----------------------------


def simple_pages() -> list[tuple[str, str]]:
    """(path, declared access) of every clinic page that takes no argument and is GET-able."""
    pages = []
    for route, _, callback in urls_of("clinic"):
        access = declared_access(callback)
        if "<" in route or route.startswith("api/") or access in (None, ANYONE):
            continue
        if route in {"sign-out/"}:
            continue  # POST only
        pages.append(("/" + route, str(access)))
    return pages


@pytest.fixture
def member_of_each_role(clinic_a) -> dict[str, Any]:
    members = {}
    for role in Role:
        user = factories.user_create(email=f"{role.value}.walk@clinic-a.example")
        factories.membership_add(user=user, clinic=clinic_a, role=role)
        members[role.value] = user
    return members


@pytest.mark.django_db
def test_each_role_opens_exactly_the_pages_its_capabilities_allow(
    clinic_a, clinic_client, member_of_each_role
):
    pages = simple_pages()
    assert len(pages) >= 8, pages  # the walk found the real pages, not an empty list
    for role, user in member_of_each_role.items():
        client = clinic_client(clinic_a, user)
        for path, access in pages:
            status = client.get(path).status_code
            allowed = access == ANY_MEMBER or role_can(role, access)
            assert (status == 403) is (not allowed), (role, path, status)
            assert status < 500, (role, path, status)
