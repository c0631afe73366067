"""The 400/403/404/500 page set, on both URL confs: HTML for people, JSON for the API."""

import json

import pytest
from django.test import RequestFactory
from django.urls import get_resolver

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("urlconf", ["drcrm.urls_tenant", "drcrm.urls_public"])
@pytest.mark.parametrize(
    ("status", "title"),
    [
        (400, b"Bad request"),
        (403, b"Not allowed"),
        (404, b"Page not found"),
        (500, b"Something went wrong"),
    ],
)
def test_each_error_handler_renders_its_page(urlconf, status, title):
    handler = get_resolver(urlconf).resolve_error_handler(status)
    request = RequestFactory().get("/somewhere/")
    response = handler(request) if status == 500 else handler(request, exception=None)
    assert response.status_code == status
    assert title in response.content
    assert b"<!doctype html>" in response.content


@pytest.mark.parametrize("status", [400, 403, 404, 500])
def test_api_paths_get_the_json_error_format(status):
    handler = get_resolver("drcrm.urls_tenant").resolve_error_handler(status)
    request = RequestFactory().get("/api/v1/anything/")
    response = handler(request) if status == 500 else handler(request, exception=None)
    assert response.status_code == status
    body = json.loads(response.content)
    assert set(body["error"]) == {"code", "message", "fields"}


def test_an_unknown_page_on_a_clinic_host_gets_the_404_page(clinic_client, clinic_a, owner_a):
    response = clinic_client(clinic_a, owner_a).get("/no-such-page/")
    assert response.status_code == 404
    assert b"Page not found" in response.content
