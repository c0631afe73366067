"""The platform API: list, create, retrieve, suspend and resume clinics, and its schema."""

from __future__ import annotations

import json

import pytest

from shared_apps.clinics.models import Clinic
from shared_apps.operators.models import OperatorEvent
from shared_apps.staff.models import Invite
from tests.platform.test_hostile_input import FIELD_NAMES, NASTY_VALUES, PATH_ARGUMENTS
from tests.shared_apps.operators.helpers import (
    PLATFORM_API,
    operator_create,
    operator_token_for,
    platform_client,
    with_operator_token,
)

pytestmark = pytest.mark.django_db

CLINICS = f"{PLATFORM_API}/clinics/"
NEW_CLINIC = {
    "name": "Harbour Dental",
    "subdomain": "harbour-dental",
    "clinic_type": "dental",
    "owner_email": "dr.harbour@example.com",
    "country": "GB",
    "time_zone": "Europe/London",
    "currency": "GBP",
}


@pytest.fixture
def operator(world):
    return operator_create(email="ops@drcrm.example")


@pytest.fixture
def client(operator):
    return with_operator_token(operator_token_for(operator))


def fields_of(response) -> dict[str, list[str]]:
    assert response.status_code == 400, response.content
    return response.json()["error"]["fields"]


# --- list --------------------------------------------------------------------------------


def test_the_list_shows_each_clinic_with_its_usage(client, clinic_a):
    response = client.get(CLINICS)
    assert response.status_code == 200
    by_subdomain = {c["subdomain"]: c for c in response.json()["results"]}
    a = by_subdomain["clinic-a"]
    assert a["name"] == "MARK-A Smile Dental"
    assert a["host"] == "clinic-a.localhost"
    assert a["status"] == "active"
    assert a["owner_emails"] == ["owner@clinic-a.example"]
    assert a["usage"]["members"] == 3
    assert a["usage"]["patients"] == 0
    assert a["usage"]["storage_bytes"] > 0
    assert a["schema_up_to_date"] is True
    assert "schema_name" not in a  # an internal name, not the operators' business


def test_the_list_searches_filters_and_pages(client, clinic_b):
    found = client.get(CLINICS, {"search": "OWNER@CLINIC-B"}).json()
    assert [c["subdomain"] for c in found["results"]] == ["clinic-b"]
    assert found["count"] == 1
    assert client.get(CLINICS, {"status": "suspended"}).json()["count"] == 0
    first = client.get(CLINICS, {"page_size": 1}).json()
    assert len(first["results"]) == 1
    assert first["previous"] is None
    assert "page=2" in first["next"]
    assert "page_size=1" in first["next"]
    second = client.get(first["next"]).json()
    assert second["results"][0]["subdomain"] != first["results"][0]["subdomain"]
    assert "page=1" in second["previous"]
    beyond = client.get(CLINICS, {"page": 1000}).json()
    assert beyond["results"] == []
    assert beyond["next"] is None


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"page": "0"}, "page"),
        ({"page": "two"}, "page"),
        ({"page_size": "201"}, "page_size"),
        ({"status": "deleted"}, "status"),
        ({"search": "x" * 201}, "search"),
    ],
)
def test_bad_list_parameters_get_400_with_the_field(client, query, field):
    assert field in fields_of(client.get(CLINICS, query))


# --- create ------------------------------------------------------------------------------


def test_create_makes_the_clinic_and_invites_its_owner(
    client, operator, mailbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(CLINICS, NEW_CLINIC, format="json")
    assert response.status_code == 201, response.content
    assert response["Location"] == f"{CLINICS}harbour-dental/"
    body = response.json()
    assert body["subdomain"] == "harbour-dental"
    assert body["status"] == "active"
    assert body["owner_emails"] == []  # not until the invite is accepted
    clinic = Clinic.objects.get(subdomain="harbour-dental")
    assert (clinic.currency, clinic.time_zone, clinic.country) == ("GBP", "Europe/London", "GB")
    invite = Invite.objects.get(clinic=clinic)
    assert (invite.email, invite.role) == ("dr.harbour@example.com", "owner")
    [message] = mailbox
    assert message.to == ["dr.harbour@example.com"]
    event = OperatorEvent.objects.get(action="clinic.create", clinic_id=clinic.pk)
    assert (event.actor_id, event.source) == (operator.pk, "api")


def test_create_reports_every_bad_field(client, clinic_a):
    fields = fields_of(
        client.post(
            CLINICS,
            {**NEW_CLINIC, "subdomain": "clinic-a", "currency": "euro", "time_zone": "Mars/Base"},
            format="json",
        )
    )
    assert fields["subdomain"] == ["This address is already taken."]
    assert "currency" in fields
    assert "time_zone" in fields
    assert not Clinic.objects.filter(name="Harbour Dental").exists()


def test_create_refuses_missing_and_malformed_fields(client):
    fields = fields_of(client.post(CLINICS, {"owner_email": "nobody"}, format="json"))
    assert set(fields) == {"name", "subdomain", "clinic_type", "owner_email"}
    fields = fields_of(client.post(CLINICS, {**NEW_CLINIC, "subdomain": "www"}, format="json"))
    assert fields == {"subdomain": ["This address is reserved."]}


# --- retrieve, suspend, resume -----------------------------------------------------------


def test_retrieve_by_subdomain_and_404_for_an_unknown_one(client, clinic_b):
    response = client.get(f"{CLINICS}clinic-b/")
    assert response.status_code == 200
    assert response.json()["clinic_type"] == "medical"
    missing = client.get(f"{CLINICS}no-such-clinic/")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "not_found"


def test_suspend_then_resume_with_their_events(client, operator, clinic_b):
    response = client.post(
        f"{CLINICS}clinic-b/suspend/", {"reason": "Unpaid since March"}, format="json"
    )
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "suspended"
    assert response.json()["status_reason"] == "Unpaid since March"
    response = client.post(f"{CLINICS}clinic-b/resume/", {}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "active"
    events = OperatorEvent.objects.filter(clinic_id=clinic_b.pk, actor_id=operator.pk)
    assert list(events.order_by("pk").values_list("action", flat=True)) == [
        "clinic.suspend",
        "clinic.resume",
    ]


def test_suspend_needs_a_reason(client, clinic_b):
    assert "reason" in fields_of(client.post(f"{CLINICS}clinic-b/suspend/", {}, format="json"))
    assert "reason" in fields_of(
        client.post(f"{CLINICS}clinic-b/suspend/", {"reason": "   "}, format="json")
    )


def test_a_status_that_forbids_the_change_gets_409(client, clinic_b):
    resume = client.post(f"{CLINICS}clinic-b/resume/", {}, format="json")
    assert resume.status_code == 409
    error = resume.json()["error"]
    assert (error["code"], error["message"]) == ("conflict", "The clinic is active.")
    client.post(f"{CLINICS}clinic-b/suspend/", {"reason": "Fraud check"}, format="json")
    again = client.post(f"{CLINICS}clinic-b/suspend/", {"reason": "Again"}, format="json")
    assert again.status_code == 409
    assert again.json()["error"]["message"] == "The clinic is suspended."


def test_suspend_and_resume_of_an_unknown_clinic_get_404(client):
    for action in ("suspend", "resume"):
        response = client.post(f"{CLINICS}nowhere/{action}/", {"reason": "x"}, format="json")
        assert response.status_code == 404


# --- the schemas -------------------------------------------------------------------------


def test_the_platform_schema_lists_only_platform_endpoints(client):
    response = client.get(f"{PLATFORM_API}/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    schema = json.loads(response.content)
    assert set(schema["paths"]) == {
        "/api/platform/v1/clinics/",
        "/api/platform/v1/clinics/{subdomain}/",
        "/api/platform/v1/clinics/{subdomain}/suspend/",
        "/api/platform/v1/clinics/{subdomain}/resume/",
    }
    assert "operatorToken" in schema["components"]["securitySchemes"]
    assert "bearerToken" not in schema["components"]["securitySchemes"]


def test_the_platform_schema_needs_an_operator_token(world):
    assert platform_client().get(f"{PLATFORM_API}/schema/").status_code == 401


def test_the_clinic_schema_lists_no_platform_endpoint(api_client, clinic_a):
    response = api_client(clinic_a).get(
        "/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json"
    )
    assert response.status_code == 200
    paths = json.loads(response.content)["paths"]
    assert paths
    assert not [p for p in paths if "platform" in p]
    assert all(p.startswith("/api/v1/") for p in paths)


# --- hostile input, signed in as an operator ---------------------------------------------


def test_the_platform_api_survives_hostile_input(client, clinic_b):
    routes = ["", "{s}/", "{s}/suspend/", "{s}/resume/"]
    paths = [CLINICS + route.format(s=junk) for route in routes for junk in PATH_ARGUMENTS]
    paths += [CLINICS + route.format(s="clinic-b") for route in routes]
    for path in paths:
        assert client.get(path).status_code < 500, path
        for value in NASTY_VALUES:
            data = dict.fromkeys([*FIELD_NAMES, *NEW_CLINIC, "reason"], value)
            for body in (data, {"subdomain": [1, {"x": None}], "reason": {"a": 1}}):
                response = client.post(path, body, format="json")
                assert response.status_code < 500, (path, response.status_code)
        response = client.post(path, "{not json", content_type="application/json")
        assert response.status_code < 500, path
    for value in NASTY_VALUES:
        assert client.get(CLINICS, {"search": value, "status": value}).status_code < 500
    # No hostile value made a clinic.
    assert not Clinic.objects.exclude(subdomain__in=["clinic-a", "clinic-b"]).exists()
