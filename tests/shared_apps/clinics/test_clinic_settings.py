"""The clinic's settings page: owners set the security policy everyone signs in under."""

from __future__ import annotations

import pytest
from django_tenants.utils import tenant_context

from shared_apps.accounts.models import Role
from shared_apps.clinics.models import Clinic
from tenant_apps.audit.models import AuditEvent
from tests import factories

pytestmark = pytest.mark.django_db


def security(clinic) -> tuple[int, bool]:
    clinic = Clinic.objects.get(pk=clinic.pk)
    return clinic.session_idle_minutes, clinic.require_two_factor


def test_the_owner_sets_the_idle_timeout_and_requires_two_factor(clinic_a, owner_a, clinic_client):
    client = clinic_client(clinic_a, owner_a)
    page = client.get("/settings/")
    assert page.status_code == 200
    assert b"MARK-A Smile Dental" in page.content
    response = client.post("/settings/", {"session_idle_minutes": "15", "require_two_factor": "on"})
    assert response.status_code == 302
    assert security(clinic_a) == (15, True)
    with tenant_context(clinic_a):
        event = AuditEvent.objects.filter(action="clinic.security_updated").latest("id")
    assert event.actor_id == owner_a.pk
    assert sorted(event.details["changed"]) == ["require_two_factor", "session_idle_minutes"]


@pytest.mark.parametrize("value", ["4", "721", "half an hour", ""])
def test_an_out_of_range_timeout_is_a_field_error_and_changes_nothing(
    clinic_a, owner_a, clinic_client, value
):
    response = clinic_client(clinic_a, owner_a).post(
        "/settings/", {"session_idle_minutes": value, "require_two_factor": "on"}
    )
    assert response.status_code == 400
    assert b"field-error" in response.content
    assert security(clinic_a) == (30, False)


def test_a_practice_manager_sees_the_policy_but_cannot_change_it(clinic_a, clinic_client):
    manager = factories.user_create(email="manager@clinic-a.example")
    factories.membership_add(user=manager, clinic=clinic_a, role=Role.ADMIN)
    client = clinic_client(clinic_a, manager)
    page = client.get("/settings/")
    assert page.status_code == 200
    assert b"Only the clinic's owners can change these." in page.content
    refused = client.post("/settings/", {"session_idle_minutes": "600"})
    assert refused.status_code == 403
    assert security(clinic_a) == (30, False)


def test_front_desk_staff_cannot_open_the_settings(clinic_a, receptionist_a, clinic_client):
    client = clinic_client(clinic_a, receptionist_a)
    assert client.get("/settings/").status_code == 403
    assert client.post("/settings/", {"session_idle_minutes": "600"}).status_code == 403
    assert security(clinic_a) == (30, False)


def test_another_clinics_owner_cannot_change_this_clinics_policy(
    clinic_a, clinic_b, outsider_b, clinic_client
):
    # B's owner with a session on B, replayed against A's host: anonymous there.
    client = clinic_client(clinic_b, outsider_b)
    client.defaults["HTTP_HOST"] = factories.host_of(clinic_a)
    response = client.post("/settings/", {"session_idle_minutes": "600"})
    assert response.status_code == 302
    assert response["Location"].startswith("/sign-in/")
    assert security(clinic_a) == (30, False)
    assert security(clinic_b) == (30, False)
