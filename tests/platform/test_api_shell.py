"""The API shell: /api/v1/ per clinic, one error format, OpenAPI, request ids."""

import pytest
from rest_framework import exceptions

from drcrm.rest import exception_handler

pytestmark = pytest.mark.django_db


def test_the_api_refuses_anonymous_callers_in_the_error_format(api_client, clinic_a):
    response = api_client(clinic_a).get("/api/v1/")
    assert response.status_code in (401, 403)
    assert response.json() == {
        "error": {
            "code": "not_authenticated",
            "message": "Authentication credentials were not provided.",
            "fields": {},
        }
    }


def test_the_api_root_describes_the_callers_clinic_and_role(api_client, clinic_a, receptionist_a):
    response = api_client(clinic_a, receptionist_a).get("/api/v1/")
    assert response.status_code == 200
    body = response.json()
    assert body["clinic"]["name"] == "MARK-A Smile Dental"
    assert body["clinic"]["subdomain"] == "clinic-a"
    assert body["user"] == {"email": receptionist_a.email, "role": "receptionist"}
    assert "MARK-B" not in response.content.decode()


def test_an_unknown_api_path_answers_json_in_the_error_format(api_client, clinic_a, owner_a):
    response = api_client(clinic_a, owner_a).get("/api/v1/no-such-thing/")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_a_method_the_endpoint_lacks_answers_405_in_the_error_format(api_client, clinic_a, owner_a):
    response = api_client(clinic_a, owner_a).delete("/api/v1/")
    assert response.status_code == 405
    assert response.json()["error"]["code"] == "method_not_allowed"


def test_validation_errors_become_a_flat_field_map():
    exc = exceptions.ValidationError(
        {
            "name": ["Enter a name."],
            "address": {"city": ["Too long."]},
            "phones": [{}, {"n": ["x"]}],
        }
    )
    response = exception_handler(exc, {})
    assert response is not None
    assert response.status_code == 400
    assert response.data == {
        "error": {
            "code": "invalid",
            "message": "Some fields are not valid.",
            "fields": {
                "name": ["Enter a name."],
                "address.city": ["Too long."],
                "phones.1.n": ["x"],
            },
        }
    }


def test_the_openapi_schema_and_docs_are_served_on_clinic_hosts(api_client, clinic_a):
    client = api_client(clinic_a)
    schema = client.get("/api/v1/schema/", HTTP_ACCEPT="application/json")
    assert schema.status_code == 200
    assert "/api/v1/" in schema.json()["paths"]
    docs = client.get("/api/v1/docs/")
    assert docs.status_code == 200
    # The docs page loads its scripts from our own static files, not from a CDN.
    assert b"cdn.jsdelivr" not in docs.content
    assert b"/static/drf_spectacular_sidecar/" in docs.content


def test_every_response_carries_a_request_id(api_client, clinic_a, public_client):
    generated = api_client(clinic_a).get("/api/v1/")["X-Request-ID"]
    assert len(generated) == 32
    echoed = public_client.get("/", HTTP_X_REQUEST_ID="lb-1234abcd")["X-Request-ID"]
    assert echoed == "lb-1234abcd"
    unsafe = public_client.get("/", HTTP_X_REQUEST_ID="<script>x</script>")["X-Request-ID"]
    assert unsafe != "<script>x</script>"
    assert len(unsafe) == 32


def test_pagination_caps_the_page_size_and_links_the_next_page():
    from rest_framework.request import Request
    from rest_framework.test import APIRequestFactory

    from drcrm.rest import Pagination

    request = Request(APIRequestFactory().get("/api/v1/things/", {"page_size": 1000}))
    paginator = Pagination()
    page = paginator.paginate_queryset(list(range(450)), request)
    assert page == list(range(200))
    body = paginator.get_paginated_response(page).data
    assert body["count"] == 450
    assert "page=2" in body["next"]
